//! Shared test fixtures: a real `pigeon-hub` process on a loopback port, users, a folder
//! store, and test media.
#![allow(dead_code)]
// Test fixtures: a failed setup step should stop the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::Utc;
use pigeon_store::protocol::{
    BlobKind, BlobRef, Limits, MessageId, NewAttachment, NewMessage, User, UserName,
};
use pigeon_store::{upload_file, FolderStore, HubClient, RetryPolicy, Store};
use sha2::{Digest, Sha256};

mod cluster;
mod engines;
pub use cluster::*;
pub use engines::*;

pub const HUB_BIN: &str = env!("CARGO_BIN_EXE_pigeon-hub");

/// Limits small enough for tests to hit.
pub fn test_limits() -> Limits {
    Limits {
        max_attachment_bytes: 1024 * 1024,
        max_attachments: 3,
        max_recipients: 3,
        max_json_bytes: 64 * 1024,
        max_chunk_bytes: 4 * 1024 * 1024,
        ..Limits::default()
    }
}

fn limits_toml(l: &Limits) -> String {
    format!(
        "[limits]\nmax_clip_bytes = {}\nmax_attachment_bytes = {}\nmax_attachments = {}\nmax_recipients = {}\nmax_json_bytes = {}\nmax_chunk_bytes = {}\n",
        l.max_clip_bytes, l.max_attachment_bytes, l.max_attachments, l.max_recipients, l.max_json_bytes, l.max_chunk_bytes
    )
}

/// Writes `DATA/hub.toml`: the engines' keys and `[blobs]` table (see [`engine_toml`]),
/// `extra_toml` (top-level keys) and `limits`; returns its path.
pub fn write_hub_config(
    data: &Path,
    (engine_top, engine_blobs): (String, String),
    limits: &Limits,
    extra_toml: &str,
) -> PathBuf {
    std::fs::create_dir_all(data).unwrap();
    let config = data.join("hub.toml");
    std::fs::write(
        &config,
        format!(
            "{engine_top}{extra_toml}\n{}{engine_blobs}",
            limits_toml(limits)
        ),
    )
    .unwrap();
    config
}

/// Starts `pigeon-hub serve` with `config` on `data` and `port` (0: a free one);
/// returns the child and the URL it printed.
pub fn spawn_hub(config: &Path, data: &Path, port: u16) -> (Child, String) {
    std::fs::create_dir_all(data).unwrap();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data.join("hub.log"))
        .unwrap();
    let mut child = Command::new(HUB_BIN)
        .args(["--config"])
        .arg(config)
        .arg("--data")
        .arg(data)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("PIGEON_HUB_LOG", "info")
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
                "hub did not start; log: {}",
                std::fs::read_to_string(data.join("hub.log")).unwrap_or_default()
            )
        });
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    (child, url)
}

/// A child process stopped (SIGTERM, then waited for) when the test ends or fails, so
/// nothing is left running.
pub struct Stopping(pub Option<Child>);

impl Stopping {
    /// Stops it now; its exit status, or `None` when it was stopped before.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut c = self.0.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        c.wait().ok()
    }
}

impl Drop for Stopping {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `pigeon-hub serve` child process (or, in cluster mode, several behind HAProxy).
pub struct HubProcess {
    child: Option<Child>,
    pub url: String,
    pub port: u16,
    pub data: PathBuf,
    pub config: PathBuf,
    /// In cluster mode: the hubs and the balancer, `url` being the balancer's.
    pub cluster: Option<Cluster>,
}

impl HubProcess {
    /// Starts a hub on `data` with the test limits; `port` 0 picks a free one.
    pub fn start(data: &Path, port: u16) -> Self {
        Self::start_with(data, port, &test_limits(), "")
    }

    pub fn start_with(data: &Path, port: u16, limits: &Limits, extra_toml: &str) -> Self {
        let config = write_hub_config(data, engine_toml(data), limits, extra_toml);
        if engine() == Engine::Cluster {
            let cluster = Cluster::start(&config, data, port, CLUSTER_HUBS);
            return HubProcess {
                child: None,
                url: cluster.url.clone(),
                port: cluster.port,
                data: data.to_path_buf(),
                config,
                cluster: Some(cluster),
            };
        }
        let (child, url) = spawn_hub(&config, data, port);
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        HubProcess {
            child: Some(child),
            url,
            port,
            data: data.to_path_buf(),
            config,
            cluster: None,
        }
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(mut cluster) = self.cluster.take() {
            cluster.kill();
        }
    }

    /// SIGTERM and wait for a graceful exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("hub running");
        Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .unwrap();
        c.wait().unwrap()
    }

    /// Waits for the hub to exit (after a signal sent elsewhere).
    pub fn terminate_wait(&mut self) -> std::process::ExitStatus {
        self.child.take().expect("hub running").wait().unwrap()
    }

    /// Everything the metadata database holds, as bytes: the SQLite file, or what
    /// `pg_dump` writes of the hub's PostgreSQL database.
    pub fn stored_metadata(&self) -> Vec<u8> {
        match engine() {
            Engine::Sqlite => {
                let mut bytes = std::fs::read(self.data.join("hub.sqlite3")).unwrap();
                if let Ok(wal) = std::fs::read(self.data.join("hub.sqlite3-wal")) {
                    bytes.extend(wal);
                }
                bytes
            }
            Engine::Postgres | Engine::Cluster => {
                let out = Command::new("pg_dump")
                    .arg(postgres_url(&self.data))
                    .output()
                    .expect("run pg_dump");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                out.stdout
            }
        }
    }

    /// The keys of every stored blob object, relative to the hub's blob root: files
    /// under `DATA/blobs`, or objects under the hub's prefix in the bucket (listed by
    /// rclone, a client that is not ours).
    pub fn object_keys(&self) -> Vec<String> {
        match engine() {
            Engine::Sqlite => {
                let root = self.data.join("blobs");
                walk(&root)
                    .into_iter()
                    .map(|p| p.strip_prefix(&root).unwrap().to_string_lossy().to_string())
                    .collect()
            }
            Engine::Postgres | Engine::Cluster => {
                let out = Servers::shared()
                    .rclone(&["lsf", "-R", "--files-only"], &server_name(&self.data))
                    .output()
                    .expect("run rclone");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                String::from_utf8(out.stdout)
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect()
            }
        }
    }

    /// Runs one SQL statement on the hub's database (the test's own client: rusqlite or
    /// psql), for faults no API call can make.
    pub fn sql_execute(&self, sql: &str) {
        match engine() {
            Engine::Sqlite => {
                let c = rusqlite::Connection::open(self.data.join("hub.sqlite3")).unwrap();
                c.busy_timeout(Duration::from_secs(10)).unwrap();
                c.execute_batch(sql).unwrap();
            }
            Engine::Postgres | Engine::Cluster => {
                psql(&postgres_url(&self.data), sql);
            }
        }
    }

    /// The number a `SELECT COUNT(*)` statement answers on the hub's database.
    pub fn sql_count(&self, sql: &str) -> i64 {
        match engine() {
            Engine::Sqlite => {
                let c = rusqlite::Connection::open(self.data.join("hub.sqlite3")).unwrap();
                c.busy_timeout(Duration::from_secs(10)).unwrap();
                c.query_row(sql, [], |r| r.get(0)).unwrap()
            }
            Engine::Postgres | Engine::Cluster => {
                psql(&postgres_url(&self.data), sql).trim().parse().unwrap()
            }
        }
    }

    /// Stores an object straight into the hub's blob storage, around the hub (what a
    /// hub killed after writing a part leaves behind).
    pub fn put_object(&self, key: &str, bytes: &[u8]) {
        match engine() {
            Engine::Sqlite => {
                let path = self.data.join("blobs").join(key);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, bytes).unwrap();
            }
            Engine::Postgres | Engine::Cluster => {
                let mut child = Servers::shared()
                    .rclone(&["rcat"], &format!("{}/{key}", server_name(&self.data)))
                    .stdin(Stdio::piped())
                    .spawn()
                    .expect("run rclone");
                use std::io::Write;
                child.stdin.take().unwrap().write_all(bytes).unwrap();
                assert!(child.wait().unwrap().success());
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Adds a user through the CLI and returns the printed token.
    pub fn add_user(&self, name: &str) -> String {
        add_hub_user(&self.data, name)
    }

    /// POSTs JSON to the raw API (bypassing `HubClient`) and returns the JSON answer.
    pub async fn post_json(
        &self,
        path: &str,
        token: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Creates an attachment blob through the raw API and returns its id.
    pub async fn create_attachment_blob(&self, token: &str, content_type: &str) -> String {
        let created = self
            .post_json(
                "/v1/blobs",
                token,
                serde_json::json!({"kind": "attachment", "content_type": content_type}),
            )
            .await;
        created["id"].as_str().unwrap().to_string()
    }

    pub fn client(&self, token: &str) -> HubClient {
        HubClient::new(&self.url, token)
            .unwrap()
            .with_retry(RetryPolicy {
                attempts: 3,
                first_delay: Duration::from_millis(50),
                max_delay: Duration::from_millis(200),
            })
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `pigeon-hub` command for the hub on `data`, with its configuration when it has
/// been started (so it finds the same engines).
pub fn hub_command(data: &Path) -> Command {
    let mut command = Command::new(HUB_BIN);
    let config = data.join("hub.toml");
    if config.exists() {
        command.arg("--config").arg(config);
    }
    command.arg("--data").arg(data);
    command
}

pub fn add_hub_user(data: &Path, name: &str) -> String {
    let out = hub_command(data)
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

/// Three users (alice, bob, carol) on one backend, plus what keeps it alive.
pub struct Team {
    pub alice: Arc<dyn Store>,
    pub bob: Arc<dyn Store>,
    pub carol: Arc<dyn Store>,
    pub hub: Option<HubProcess>,
    pub dir: tempfile::TempDir,
}

pub const NAMES: [&str; 3] = ["alice", "bob", "carol"];

pub async fn hub_team() -> Team {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(&dir.path().join("hub"), 0);
    let stores: Vec<Arc<dyn Store>> = NAMES
        .iter()
        .map(|n| Arc::new(hub.client(&hub.add_user(n))) as Arc<dyn Store>)
        .collect();
    Team {
        alice: stores[0].clone(),
        bob: stores[1].clone(),
        carol: stores[2].clone(),
        hub: Some(hub),
        dir,
    }
}

pub async fn folder_team() -> Team {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("shared");
    FolderStore::init(&root, test_limits()).await.unwrap();
    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    for n in NAMES {
        let name = UserName::parse(n).unwrap();
        FolderStore::add_user(
            &root,
            &User {
                name: name.clone(),
                display_name: n.to_uppercase(),
                time_zone: "Europe/Berlin".into(),
            },
        )
        .await
        .unwrap();
        stores.push(Arc::new(
            FolderStore::open(&root, &name)
                .await
                .unwrap()
                .with_poll_interval(Duration::from_millis(50)),
        ));
    }
    Team {
        alice: stores[0].clone(),
        bob: stores[1].clone(),
        carol: stores[2].clone(),
        hub: None,
        dir,
    }
}

/// A real 1-second fragmented MP4 (ffmpeg CLI), made once per test binary.
pub fn test_clip() -> PathBuf {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("pigeon-clip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("clip.mp4");
        let status = Command::new("ffmpeg")
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc=d=1:s=160x120:r=10",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-g",
                "5",
                "-movflags",
                "frag_keyframe+empty_moov+default_base_moof",
                "-f",
                "mp4",
            ])
            .arg(&path)
            .status()
            .expect("ffmpeg CLI (Debian package ffmpeg, installed by scripts/setup)");
        assert!(status.success());
        path
    })
    .clone()
}

pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn new_id() -> MessageId {
    MessageId::parse(uuid::Uuid::new_v4().to_string()).unwrap()
}

pub fn user(n: &str) -> UserName {
    UserName::parse(n).unwrap()
}

pub async fn upload_clip(store: &Arc<dyn Store>) -> BlobRef {
    upload_file(
        store.clone(),
        &test_clip(),
        BlobKind::Clip,
        "video/mp4",
        None,
    )
    .await
    .unwrap()
}

pub async fn upload_attachment(store: &Arc<dyn Store>, dir: &Path, bytes: &[u8]) -> BlobRef {
    let path = write_file(dir, &format!("att-{}", uuid::Uuid::new_v4()), bytes);
    upload_file(
        store.clone(),
        &path,
        BlobKind::Attachment,
        "application/pdf",
        None,
    )
    .await
    .unwrap()
}

/// A valid message from the uploaded clip to `to`.
pub fn message(clip: &BlobRef, to: &[&str], subject: &str) -> NewMessage {
    NewMessage {
        id: new_id(),
        recipients: to.iter().map(|n| user(n)).collect(),
        subject: subject.to_string(),
        text: Some("please review".into()),
        clip: Some(clip.id.clone()),
        attachments: vec![],
        poster: None,
        duration_ms: None,
        respond_by: Utc::now() + chrono::Duration::hours(24),
        respond_by_tz: "Europe/Berlin".into(),
        in_reply_to: None,
        at_ms: None,
        chapter: None,
        chapters: vec![],
        acknowledge_only: false,
        deadlines: vec![],
        working_hours_each: None,
    }
}

pub fn attach(m: &mut NewMessage, blob: &BlobRef, name: &str) {
    m.attachments.push(NewAttachment {
        blob: blob.id.clone(),
        name: name.to_string(),
    });
}

/// A benchmark binary's `main`: runs `bench` on a multi-threaded runtime when started
/// by `cargo bench`, and only prints `usage` when `cargo test --all-targets` runs it
/// without `--bench`.
pub fn bench_main(usage: &str, bench: impl std::future::Future<Output = ()>) {
    if !std::env::args().any(|a| a == "--bench") {
        println!("{usage}");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench);
}
