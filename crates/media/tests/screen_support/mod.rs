//! What the screen tests (and the screen benchmark) share: a window with known
//! content on the X display, screenshots taken with ImageMagick's `import`,
//! PSNR, and a screen source driven without a recorder.
//!
//! They need the X display of `scripts/test-env` (Xvfb 1920x1080x24).
#![allow(dead_code)]
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "test helpers: a panic is the test failing"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver};
use pigeon_media::screen::{list_screens, open_screen, ScreenChoice, ScreenTarget};
use pigeon_media::source::{Sink, SourceContext, SourceMessage};
use pigeon_media::{Clock, VideoFrame, VideoSource};

/// Generous for a loaded 2-core machine.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Panics with what to do when the test runs without a display.
pub fn require_display() {
    assert!(
        std::env::var("DISPLAY").is_ok_and(|d| !d.is_empty()),
        "the screen tests need an X display: run them inside scripts/test-env"
    );
}

/// Runs a command and panics with its stderr when it fails.
pub fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Polls `done` every 20 ms until it holds, or panics naming `what`.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The colour blocks of the test picture: (x, y, w, h, rgb) inside it.
pub const BLOCKS: [(u32, u32, u32, u32, [u8; 3]); 3] = [
    (20, 20, 280, 160, [220, 30, 30]),
    (340, 20, 280, 160, [30, 160, 60]),
    (20, 220, 280, 160, [30, 60, 200]),
];
pub const PICTURE_SIZE: (u32, u32) = (640, 400);

/// A window on the display showing a picture with text and colour blocks
/// (ImageMagick's `display`, a plain top-level window: Xvfb has no window
/// manager). Closed when dropped.
pub struct ShownPicture {
    child: Option<Child>,
    pub title: String,
    pub window: u32,
    /// Where the picture's top left pixel is on the screen.
    pub x: i32,
    pub y: i32,
    _dir: tempfile::TempDir,
}

impl ShownPicture {
    pub fn show(title: &str, x: i32, y: i32) -> ShownPicture {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("picture.png");
        make_picture(&png, title);
        let log = dir.path().join("display.log");
        let spawn = || {
            Command::new("display")
                .args(["-title", title, "-geometry", &format!("+{x}+{y}")])
                .arg(&png)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("ImageMagick's display (scripts/setup installs imagemagick)")
        };
        let mut child = spawn();
        let mut spawns = 1;
        let mut window = None;
        wait_until(&format!("the window {title:?} on the screen"), || {
            if let Ok(Some(status)) = child.try_wait() {
                let said = std::fs::read_to_string(&log).unwrap_or_default();
                // Xvfb on a loaded machine now and then refuses a connection (three in a row
                // were seen): try again, a few times.
                assert!(
                    said.contains("unable to open X server") && spawns < 6,
                    "display exited ({status}): {said}"
                );
                spawns += 1;
                child = spawn();
            }
            window = find_window(title).map(|c| match c.target {
                ScreenTarget::Window(id) => id,
                _ => unreachable!(),
            });
            window.is_some()
        });
        let window = window.unwrap();
        // The picture starts inside the window's border.
        let info = String::from_utf8(run(
            Command::new("xwininfo").args(["-id", &window.to_string()])
        ))
        .unwrap();
        let field = |name: &str| -> i32 {
            info.lines()
                .find_map(|l| l.trim().strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("xwininfo -id has no {name}: {info}"))
        };
        let border = field("Border width:");
        let (x, y) = (
            field("Absolute upper-left X:") + border,
            field("Absolute upper-left Y:") + border,
        );
        let shown = ShownPicture {
            child: Some(child),
            title: title.into(),
            window,
            x,
            y,
            _dir: dir,
        };
        // Mapped is not yet drawn, and `display` shows a grey info bar over
        // the top rows while it loads: wait until the first block shows and
        // the top left corner is the picture's white.
        let (bx, by, _, _, colour) = BLOCKS[0];
        wait_until("the picture drawn in its window", || {
            let shot = screenshot();
            let (x, y) = (x as u32, y as u32);
            close(&shot.pixel(x + bx + 10, y + by + 10), &colour, 8)
                && shot.pixel(x + 4, y + 4) == [255, 255, 255]
                && shot.pixel(x + 320, y + 8) == [255, 255, 255]
        });
        // And until it has stopped changing (it draws its frame last).
        let (w, h) = PICTURE_SIZE;
        let crop = || screenshot().crop(x as u32, y as u32, w, h).rgb;
        let mut before = crop();
        wait_until("the picture settled in its window", || {
            std::thread::sleep(Duration::from_millis(100));
            let now = crop();
            std::mem::replace(&mut before, now) == before
        });
        shown
    }

    /// Closes the window (its program exits).
    /// Returns once the window is gone from the screen (a program that exits
    /// leaves its windows to the server for a moment).
    pub fn close(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            let window = self.window;
            wait_until(&format!("the window {:?} gone", self.title), || {
                list_screens()
                    .is_ok_and(|all| all.iter().all(|c| c.target != ScreenTarget::Window(window)))
            });
        }
    }
}

impl Drop for ShownPicture {
    fn drop(&mut self) {
        self.close();
    }
}

/// The entry `list_screens` gives for the window titled `title`.
pub fn find_window(title: &str) -> Option<ScreenChoice> {
    list_screens()
        .ok()?
        .into_iter()
        .find(|c| matches!(c.target, ScreenTarget::Window(_)) && c.name == title)
}

/// White, three colour blocks, and the title as black text.
fn make_picture(png: &Path, title: &str) {
    let mut cmd = Command::new("convert");
    cmd.args(["-size", "640x400", "xc:white"]);
    for (x, y, w, h, [r, g, b]) in BLOCKS {
        cmd.args([
            "-fill",
            &format!("rgb({r},{g},{b})"),
            "-draw",
            &format!("rectangle {x},{y} {},{}", x + w - 1, y + h - 1),
        ]);
    }
    cmd.args([
        "-fill",
        "black",
        "-font",
        "DejaVu-Sans",
        "-pointsize",
        "36",
        "-annotate",
        "+330,300",
        title,
    ]);
    cmd.arg(png);
    run(&mut cmd);
}

/// Packed RGB.
pub struct Rgb {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

impl Rgb {
    pub fn of_bgr0(frame: &VideoFrame) -> Rgb {
        assert_eq!(frame.format, pigeon_media::PixelFormat::Bgr0);
        let rgb = frame
            .data
            .chunks_exact(4)
            .flat_map(|p| [p[2], p[1], p[0]])
            .collect();
        Rgb {
            width: frame.width,
            height: frame.height,
            rgb,
        }
    }

    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let at = ((y * self.width + x) * 3) as usize;
        [self.rgb[at], self.rgb[at + 1], self.rgb[at + 2]]
    }

    /// The `w`x`h` part at (x, y).
    pub fn crop(&self, x: u32, y: u32, w: u32, h: u32) -> Rgb {
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for row in y..y + h {
            let at = ((row * self.width + x) * 3) as usize;
            rgb.extend_from_slice(&self.rgb[at..at + (w * 3) as usize]);
        }
        Rgb {
            width: w,
            height: h,
            rgb,
        }
    }
}

/// The whole display as ImageMagick's `import` sees it (no cursor: X servers
/// leave it out of `GetImage`).
pub fn screenshot() -> Rgb {
    let (w, h) = display_size();
    let rgb = run(Command::new("import").args(["-window", "root", "-depth", "8", "rgb:-"]));
    assert_eq!(
        rgb.len(),
        (w * h * 3) as usize,
        "import gave a {w}x{h} picture"
    );
    Rgb {
        width: w,
        height: h,
        rgb,
    }
}

/// The display's size as `xdpyinfo`... rather `xwininfo -root` says.
pub fn display_size() -> (u32, u32) {
    let text = String::from_utf8(run(Command::new("xwininfo").arg("-root"))).unwrap();
    let field = |name: &str| -> u32 {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("xwininfo -root has no {name}: {text}"))
    };
    (field("Width:"), field("Height:"))
}

/// Peak signal-to-noise ratio of two same-sized pictures, in dB (infinite
/// when they are identical).
pub fn psnr(a: &Rgb, b: &Rgb) -> f64 {
    assert_eq!(
        (a.width, a.height),
        (b.width, b.height),
        "PSNR of different sizes"
    );
    let sum: f64 = a
        .rgb
        .iter()
        .zip(&b.rgb)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum();
    let mse = sum / a.rgb.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}

pub fn close(a: &[u8], b: &[u8], tolerance: u8) -> bool {
    a.iter().zip(b).all(|(&x, &y)| x.abs_diff(y) <= tolerance)
}

/// Moves the pointer (xdotool).
pub fn move_pointer(x: i32, y: i32) {
    run(Command::new("xdotool").args(["mousemove", &x.to_string(), &y.to_string()]));
}

/// A screen source running without a recorder: what it delivers, in order.
pub struct Capture {
    source: Box<dyn VideoSource>,
    stop: Arc<AtomicBool>,
    pub rx: Receiver<SourceMessage<VideoFrame>>,
    pub dropped: Arc<AtomicU64>,
    pub clock: Clock,
}

/// What a capture delivered next.
pub enum Delivered {
    Frame(VideoFrame),
    Notice(String),
}

impl Capture {
    pub fn start(target: &ScreenTarget, fps: u32) -> Capture {
        let mut source = open_screen(target, fps).expect("open the screen");
        let (tx, rx) = bounded(8);
        let dropped = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let clock = Clock::new();
        let ctx = SourceContext {
            clock,
            epoch: clock.now(),
            stop: stop.clone(),
        };
        source
            .start(ctx, Sink::new(tx, true, dropped.clone()))
            .expect("start the screen");
        Capture {
            source,
            stop,
            rx,
            dropped,
            clock,
        }
    }

    pub fn next(&self) -> Delivered {
        match self.rx.recv_timeout(PATIENCE) {
            Ok(SourceMessage::Item(frame)) => Delivered::Frame(frame),
            Ok(SourceMessage::Notice(text)) => Delivered::Notice(text),
            Ok(SourceMessage::Ended(why)) => panic!("the screen source ended: {why:?}"),
            Err(e) => panic!("nothing from the screen source within {PATIENCE:?}: {e}"),
        }
    }

    /// The next picture, noting notices on the way into `notices`.
    pub fn next_frame(&self, notices: &mut Vec<String>) -> VideoFrame {
        loop {
            match self.next() {
                Delivered::Frame(f) => return f,
                Delivered::Notice(n) => notices.push(n),
            }
        }
    }

    /// A picture captured after now (the channel may hold older ones).
    pub fn fresh_frame(&self, notices: &mut Vec<String>) -> VideoFrame {
        let now = self.clock.now();
        loop {
            let f = self.next_frame(notices);
            if f.captured_at >= now {
                return f;
            }
        }
    }

    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Drain so a source waiting to deliver a notice is not stuck.
        while self.rx.try_recv().is_ok() {}
        self.source.join();
    }
}

pub fn temp_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// Changes the X screen's size through RandR the way Xvfb allows: Xvfb has
/// one fixed 1920x1080 mode and refuses other sizes while its one CRTC shows
/// it, so a smaller size turns the CRTC off first (`xrandr --fb` cannot: it
/// sends a rotation of 0, which Xvfb refuses). Back at the CRTC's mode's
/// size, the CRTC is turned on again. Restores the first size when dropped.
pub struct ScreenSize {
    conn: x11rb::rust_connection::RustConnection,
    root: u32,
    crtc: u32,
    output: u32,
    mode: u32,
    original: (u16, u16),
}

impl ScreenSize {
    pub fn take() -> ScreenSize {
        use x11rb::connection::Connection;
        use x11rb::protocol::randr::ConnectionExt as _;
        let (conn, screen) = x11rb::connect(None).expect("connect to the X server");
        let root = conn.setup().roots[screen].root;
        let res = conn
            .randr_get_screen_resources(root)
            .unwrap()
            .reply()
            .unwrap();
        let crtc = res.crtcs[0];
        let info = conn
            .randr_get_crtc_info(crtc, res.config_timestamp)
            .unwrap()
            .reply()
            .unwrap();
        ScreenSize {
            original: (info.width, info.height),
            root,
            crtc,
            output: info.outputs[0],
            mode: info.mode,
            conn,
        }
    }

    pub fn set(&self, width: u16, height: u16) {
        use x11rb::connection::Connection;
        use x11rb::protocol::randr::{ConnectionExt as _, Rotation};
        let res = self
            .conn
            .randr_get_screen_resources(self.root)
            .unwrap()
            .reply()
            .unwrap();
        let on = (width, height) == self.original;
        if !on {
            self.conn
                .randr_set_crtc_config(
                    self.crtc,
                    0,
                    res.config_timestamp,
                    0,
                    0,
                    0,
                    Rotation::ROTATE0,
                    &[],
                )
                .unwrap()
                .reply()
                .expect("turn the CRTC off");
        }
        // About 96 dpi; RandR refuses a size of 0 mm.
        let mm = |px: u16| (u32::from(px) * 254 / 960).max(1);
        self.conn
            .randr_set_screen_size(self.root, width, height, mm(width), mm(height))
            .unwrap()
            .check()
            .expect("set the screen size");
        if on {
            let res = self
                .conn
                .randr_get_screen_resources(self.root)
                .unwrap()
                .reply()
                .unwrap();
            self.conn
                .randr_set_crtc_config(
                    self.crtc,
                    0,
                    res.config_timestamp,
                    0,
                    0,
                    self.mode,
                    Rotation::ROTATE0,
                    &[self.output],
                )
                .unwrap()
                .reply()
                .expect("turn the CRTC on");
        }
        self.conn.flush().unwrap();
        wait_until(&format!("the screen at {width}x{height}"), || {
            display_size() == (u32::from(width), u32::from(height))
        });
    }

    pub fn original(&self) -> (u32, u32) {
        (u32::from(self.original.0), u32::from(self.original.1))
    }
}

impl Drop for ScreenSize {
    fn drop(&mut self) {
        let (w, h) = self.original;
        self.set(w, h);
    }
}
