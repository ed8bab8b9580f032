//! A headless Wayland session for one test (`scripts/wayland-session`: sway's
//! headless backend, PipeWire, WirePlumber, xdg-desktop-portal and -wlr), and
//! the pictures the tests show on it and read back.
#![allow(dead_code)]
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "test helpers: a panic is the test failing"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the session may take to come up on a loaded machine.
const START_LIMIT: Duration = Duration::from_secs(60);

/// The running session. Dropping it stops the script, which stops every
/// process it started by pid; if this test process dies instead, the script
/// sees its stdin close and does the same.
pub struct WaylandSession {
    script: Child,
    dir: tempfile::TempDir,
    pub vars: Vec<(String, String)>,
}

/// Exit status of the script when a part of the session cannot run here.
const CANNOT_START: i32 = 77;

impl WaylandSession {
    /// Starts a session (`args` go to the script, e.g. `--size 1280x720`) and
    /// makes this process one of its clients: its variables are set and
    /// `DISPLAY` is removed. None, said loudly, only when a part of the
    /// session cannot start on this machine; any other failure panics.
    ///
    /// Changes this process's environment: call it once, first thing in a
    /// test (nextest runs each test in its own process).
    pub fn start(args: &[&str]) -> Option<WaylandSession> {
        let dir = tempfile::tempdir().expect("tempdir");
        let env_file = dir.path().join("session.env");
        let log = dir.path().join("session.log");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/wayland-session");
        let mut command = Command::new(&script);
        command
            .args(args)
            .arg("--env-file")
            .arg(&env_file)
            .arg("--")
            .arg("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("session log"))
            .env_remove("DISPLAY");
        let child = command.spawn().expect("run scripts/wayland-session");
        let mut session = WaylandSession {
            script: child,
            dir,
            vars: Vec::new(),
        };
        let deadline = Instant::now() + START_LIMIT;
        while !env_file.exists() {
            if let Some(status) = session
                .script
                .try_wait()
                .expect("wait for the session script")
            {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                if status.code() == Some(CANNOT_START) {
                    eprintln!(
                        "\n*** SKIPPED: the headless Wayland session cannot start on this machine \
                         (scripts/wayland-session {args:?} exited with {status}):\n{log}\n"
                    );
                    return None;
                }
                panic!("scripts/wayland-session {args:?} failed ({status}):\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "the Wayland session did not come up within {START_LIMIT:?}:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let env = std::fs::read_to_string(&env_file).expect("read the session's variables");
        for line in env.lines() {
            if let Some((key, value)) = line.split_once('=') {
                session.vars.push((key.to_string(), value.to_string()));
            }
        }
        // This test process owns its environment: nextest runs one test per process.
        std::env::remove_var("DISPLAY");
        for (key, value) in &session.vars {
            std::env::set_var(key, value);
        }
        println!("wayland session up: {:?}", session.vars);
        Some(session)
    }

    pub fn var(&self, key: &str) -> &str {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("the session exports no {key}"))
    }

    /// A command run inside the session (swaymsg, grim), with its variables.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .env_remove("DISPLAY");
        command
    }

    /// `swaymsg ARGS`, which must succeed.
    pub fn swaymsg(&self, args: &[&str]) -> String {
        let out = self
            .command("swaymsg")
            .args(args)
            .output()
            .expect("run swaymsg");
        assert!(
            out.status.success(),
            "swaymsg {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// What the compositor shows, as grim captures it.
    pub fn screenshot(&self) -> Picture {
        let path = self.dir.path().join("grim.ppm");
        let status = self
            .command("grim")
            .args(["-t", "ppm"])
            .arg(&path)
            .status()
            .expect("run grim");
        assert!(status.success(), "grim failed: {status}");
        Picture::read_ppm(&path)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for WaylandSession {
    fn drop(&mut self) {
        // Closing stdin ends `cat`, and with it the session.
        drop(self.script.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.script.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    eprintln!("the Wayland session did not stop within 30 s; killing its script");
                    let _ = self.script.kill();
                    let _ = self.script.wait();
                    return;
                }
            }
        }
    }
}

/// A packed RGB picture.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

impl Picture {
    /// Colour blocks and fine stripes, so a wrong channel order, a shift, a
    /// wrong stride or a scaled picture all show in the PSNR.
    pub fn test_card(width: u32, height: u32) -> Picture {
        const COLOURS: [[u8; 3]; 6] = [
            [0xd0, 0x30, 0x30],
            [0x30, 0xb0, 0x40],
            [0x30, 0x50, 0xd0],
            [0xe0, 0xd0, 0x40],
            [0x20, 0x20, 0x20],
            [0xf0, 0xf0, 0xf0],
        ];
        let mut rgb = Vec::with_capacity((width * height * 3) as usize);
        for y in 0..height {
            for x in 0..width {
                let px = if y < height / 2 {
                    COLOURS[(x * 6 / width) as usize]
                } else if x < width / 2 {
                    // Vertical stripes 8 pixels wide, like large text strokes.
                    if (x / 8) % 2 == 0 {
                        [0xf0, 0xf0, 0xf0]
                    } else {
                        [0x10, 0x10, 0x40]
                    }
                } else {
                    // A slow gradient.
                    let v = ((x - width / 2) * 255 / (width / 2).max(1)) as u8;
                    [v, 255 - v, (y * 255 / height) as u8]
                };
                rgb.extend_from_slice(&px);
            }
        }
        Picture { width, height, rgb }
    }

    pub fn write_ppm(&self, path: &Path) {
        let mut file = std::fs::File::create(path).expect("create picture");
        write!(file, "P6\n{} {}\n255\n", self.width, self.height).expect("write header");
        file.write_all(&self.rgb).expect("write picture");
    }

    pub fn read_ppm(path: &Path) -> Picture {
        let bytes = std::fs::read(path).expect("read picture");
        // "P6" WS width WS height WS maxval ONE-WS data (no comments from grim or ffmpeg).
        let mut fields = Vec::new();
        let mut at = 0;
        while fields.len() < 4 {
            while bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            let start = at;
            while !bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
        }
        assert_eq!(fields[0], "P6", "{} is not a binary PPM", path.display());
        assert_eq!(fields[3], "255");
        let (width, height): (u32, u32) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        let rgb = bytes[at + 1..].to_vec();
        assert_eq!(
            rgb.len(),
            (width * height * 3) as usize,
            "{}",
            path.display()
        );
        Picture { width, height, rgb }
    }

    /// Peak signal-to-noise ratio in dB over all three channels.
    pub fn psnr(&self, other: &Picture) -> f64 {
        assert_eq!((self.width, self.height), (other.width, other.height));
        let sum: f64 = self
            .rgb
            .iter()
            .zip(&other.rgb)
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
            .sum();
        let mse = sum / self.rgb.len() as f64;
        if mse == 0.0 {
            return f64::INFINITY;
        }
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }

    /// Mean colour of the rectangle (x, y, w, h).
    pub fn mean(&self, x: u32, y: u32, w: u32, h: u32) -> [f64; 3] {
        let mut sum = [0f64; 3];
        for row in y..y + h {
            for col in x..x + w {
                let i = ((row * self.width + col) * 3) as usize;
                for (total, &v) in sum.iter_mut().zip(&self.rgb[i..i + 3]) {
                    *total += f64::from(v);
                }
            }
        }
        let n = f64::from(w * h);
        sum.map(|s| s / n)
    }
}

/// The picture at `at` seconds of a clip, decoded by the ffmpeg CLI.
pub fn frame_of_clip(clip: &Path, at: f64, dir: &Path) -> Picture {
    let out: PathBuf = dir.join(format!("frame-{at:.2}.ppm"));
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-ss", &format!("{at:.3}"), "-i"])
        .arg(clip)
        .args(["-frames:v", "1", "-f", "image2", "-vcodec", "ppm"])
        .arg(&out)
        .status()
        .expect("run ffmpeg");
    assert!(
        status.success(),
        "ffmpeg could not decode {}",
        clip.display()
    );
    Picture::read_ppm(&out)
}

/// The recorded BGRX pixels of a frame as a packed RGB picture.
pub fn picture_of_bgr0(width: u32, height: u32, data: &[u8]) -> Picture {
    let rgb = data
        .chunks_exact(4)
        .flat_map(|px| [px[2], px[1], px[0]])
        .collect();
    Picture { width, height, rgb }
}
