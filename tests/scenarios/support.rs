//! Fixtures for the cross-crate scenarios: the built `pigeon` and `pigeon-hub`
//! binaries, a real hub process on a loopback port, users each with their own
//! `PIGEON_HOME` signed in to a hub or a shared folder, and recordings marked with
//! chapters while they run.
//!
//! This is test support only: it is not a client library and nothing ships it.

// A fixture that cannot set up fails the test that uses it, as a test's own unwrap does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

/// A binary built next to the test executable (`scripts/test` runs `cargo build
/// --workspace` first; the target dir follows `CARGO_TARGET_DIR` through the exe path).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace` before the scenarios (scripts/test does)",
        path.display()
    );
    path
}

/// A `pigeon-hub serve` child process.
pub struct Hub {
    child: Option<Child>,
    pub url: String,
    pub port: u16,
    pub data: PathBuf,
}

impl Hub {
    /// Starts a hub on `data`; `port` 0 picks a free one.
    pub fn start(data: &Path, port: u16) -> Self {
        std::fs::create_dir_all(data).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.join("hub.log"))
            .unwrap();
        let mut child = Command::new(binary("pigeon-hub"))
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start pigeon-hub");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| {
                panic!(
                    "the hub did not start; log: {}",
                    std::fs::read_to_string(data.join("hub.log")).unwrap_or_default()
                )
            });
        let url = line.trim().rsplit(' ').next().unwrap().to_string();
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        Hub {
            child: Some(child),
            url,
            port,
            data: data.to_path_buf(),
        }
    }

    /// Adds a user and returns the token the hub printed.
    pub fn add_user(&self, name: &str) -> String {
        let out = Command::new(binary("pigeon-hub"))
            .arg("--data")
            .arg(&self.data)
            .args(["user", "add", name, "--tz", "Europe/Berlin"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "user add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// SIGKILL: the hub gets no chance to finish anything.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Where a scenario's users meet: one hub process, or one shared folder.
#[derive(Clone, Copy)]
pub enum Backend {
    Hub,
    Folder,
}

/// The users `names`, each with a home under `dir`, signed in to one hub started here
/// (returned: it runs as long as the test keeps it) or to the folder `dir/shared-folder`.
pub fn signed_in<const N: usize>(
    backend: Backend,
    dir: &Path,
    names: [&str; N],
) -> (Option<Hub>, [User; N]) {
    let hub = matches!(backend, Backend::Hub).then(|| Hub::start(&dir.join("hub"), 0));
    let users = names.map(|name| {
        let user = User::new(dir, name);
        match &hub {
            Some(hub) => {
                user.login_hub(hub);
            }
            None => {
                user.login_folder(&dir.join("shared-folder"));
            }
        }
        user
    });
    (hub, users)
}

/// A JSON value that must be a string.
pub fn text(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected text, got {v}"))
}

/// One user of the `pigeon` CLI with a private `PIGEON_HOME`.
pub struct User {
    pub name: String,
    pub home: PathBuf,
    /// The instant the next commands start their manual clock at (`PIGEON_TEST_CLOCK`);
    /// `None` for the wall clock.
    pub clock: std::cell::RefCell<Option<String>>,
}

impl User {
    pub fn new(root: &Path, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            home: root.join(format!("home-{name}")),
            clock: std::cell::RefCell::new(None),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(binary("pigeon"));
        c.args(args)
            .env("PIGEON_HOME", &self.home)
            .env("TZ", "Europe/Berlin");
        if let Some(at) = self.clock.borrow().as_deref() {
            c.env("PIGEON_TEST_CLOCK", at);
        }
        c
    }

    /// Runs the next commands as if it were `at` (RFC 3339).
    pub fn set_clock(&self, at: &str) {
        *self.clock.borrow_mut() = Some(at.to_owned());
    }

    /// Signs in to `hub` with a token the hub makes for this user.
    pub fn login_hub(&self, hub: &Hub) -> Value {
        let token = hub.add_user(&self.name);
        self.json(&["login", "--hub", &hub.url, "--token", &token])
    }

    /// Signs in to the shared folder `store` under this user's name.
    pub fn login_folder(&self, store: &Path) -> Value {
        let store = store.to_str().expect("test paths are UTF-8");
        self.json(&["login", "--folder", store, "--name", &self.name])
    }

    /// Runs `pigeon ARGS`, whatever the outcome.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run pigeon")
    }

    /// Runs `pigeon --json ARGS`, which must succeed, and parses the last line printed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert!(
            out.status.success(),
            "{} `pigeon {}` failed: {}",
            self.name,
            all.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let last = text.lines().last().unwrap_or_default();
        serde_json::from_str(last)
            .unwrap_or_else(|e| panic!("`pigeon {}` printed {text:?}: {e}", all.join(" ")))
    }
}

/// The sha256 of a file, hex.
pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// The agenda PDF committed in `assets/`.
pub fn agenda_pdf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../assets/agenda.pdf")
        .canonicalize()
        .expect("assets/agenda.pdf")
}

/// Checks `condition` until it answers `Some`, and returns that; fails the test after
/// `limit`, naming `what` it waited for. The pause between checks is only a polling
/// interval: every wait ends on the condition, never on a guessed duration.
pub fn wait_for<T>(limit: Duration, what: &str, mut condition: impl FnMut() -> Option<T>) -> T {
    let started = std::time::Instant::now();
    loop {
        if let Some(value) = condition() {
            return value;
        }
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Ends a running `pigeon record` (started without `--seconds`) as Ctrl-C at a terminal
/// does: a clean stop, so the recording ends when the test says, not when a clock that
/// a loaded machine outruns says. Returns what it printed.
pub fn interrupt(child: Child) -> Output {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(
        status.success(),
        "SIGINT could not be sent to pigeon record"
    );
    child.wait_with_output().expect("pigeon record to end")
}

impl User {
    /// The draft being recorded (or the newest draft), as `pigeon drafts` shows it.
    pub fn recording_draft(&self) -> Option<Value> {
        let drafts = self.json(&["drafts"]);
        drafts["drafts"].as_array()?.last().cloned()
    }

    /// The chapters of the draft being recorded, once there are `count` of them.
    pub fn draft_chapters(&self, count: usize) -> Vec<Value> {
        wait_for(
            Duration::from_secs(30),
            &format!("{count} chapters in the draft"),
            || {
                let chapters = self.recording_draft()?["chapters"].as_array()?.clone();
                (chapters.len() >= count).then_some(chapters)
            },
        )
    }

    /// Waits until the clip of the draft being recorded grew `count` times past
    /// `after` bytes (a fragment a second); returns how many bytes it has announced then.
    pub fn fragments_after(&self, after: u64, count: usize) -> u64 {
        let (mut seen, mut last) = (0, after);
        wait_for(
            Duration::from_secs(30),
            &format!("{count} more fragment(s)"),
            || {
                let now = self.recording_draft()?["clip_announced"].as_u64()?;
                if now > last {
                    seen += 1;
                    last = now;
                }
                (seen >= count).then_some(last)
            },
        )
    }
}

/// Records the synthetic source with the agenda `agenda` and presses "next item" (a
/// line `n` on stdin) `marks` times: first once a fragment of pictures follows the
/// clip's header (so the mark is not refused as too close to the first chapter's
/// start), then each `fragments` fragments after the one before. Stops it (Ctrl-C)
/// `fragments` fragments after the last mark, once the test has seen it: the machine's
/// pace decides nothing. Returns the draft as `pigeon --json record` printed it and
/// the chapters the draft had by then.
pub fn record_with_marks(
    user: &User,
    agenda: &str,
    marks: usize,
    fragments: usize,
) -> (Value, Vec<Value>) {
    use std::io::Write as _;

    let mut child = user
        .command(&[
            "--json",
            "record",
            "--source",
            "synthetic",
            "--chapters",
            agenda,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut keys = child.stdin.take().unwrap();
    let mut announced = user.fragments_after(0, 2);
    let mut chapters = Vec::new();
    for mark in 0..marks {
        if mark > 0 {
            announced = user.fragments_after(announced, fragments);
        }
        keys.write_all(b"n\n").unwrap();
        keys.flush().unwrap();
        chapters = user.draft_chapters(mark + 2);
    }
    user.fragments_after(announced, fragments);
    drop(keys);
    let out = interrupt(child);
    assert!(
        out.status.success(),
        "record failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    let draft = printed
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|v| v.get("draft").is_some())
        .unwrap_or_else(|| panic!("record printed no draft: {printed:?}"));
    (draft, chapters)
}
