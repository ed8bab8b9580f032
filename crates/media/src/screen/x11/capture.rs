//! The live X11 screen source: one picture of the target per frame slot,
//! stamped with the clock time of its grab, never waiting for the recorder.
//!
//! What happens when the target changes while recording:
//! - the screen or a monitor changes size (RandR): pictures of the new size
//!   follow (the compositor scales them into the recording's fixed frame) and
//!   the user is told once per change;
//! - the window closes, or the monitor goes away: its last picture is held
//!   and the user is told once; a hidden (unmapped) window holds silently.

use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt as _, MapState};

use super::grab::{Grabber, Rect};
use super::{bgr0_len, cursor, X11Display, FORMAT};
use crate::error::Result;
use crate::screen::ScreenTarget;
use crate::source::{join_thread, Sink, SourceContext, SourceEnd, VideoFrame, VideoSource};

/// What one look at the target found.
pub(crate) enum Grabbed {
    Picture(VideoFrame),
    /// Mapped nowhere right now (an unmapped window): hold the last picture.
    Hidden,
    /// Closed or unplugged.
    Gone,
}

/// Where the target is on the root now.
enum Whereabouts {
    On { area: Rect, root: Rect },
    Hidden,
    Gone,
}

/// Reads pictures of one target.
pub(crate) struct Frames {
    target: ScreenTarget,
    /// Pictures of a window partly off the screen are put together here.
    part: Vec<u8>,
}

impl Frames {
    pub fn new(_display: &X11Display, target: ScreenTarget) -> Self {
        Frames {
            target,
            part: Vec::new(),
        }
    }

    fn whereabouts(&self, display: &X11Display) -> std::result::Result<Whereabouts, String> {
        let root = display.root_rect()?;
        match self.target {
            ScreenTarget::Screen => Ok(Whereabouts::On { area: root, root }),
            ScreenTarget::Monitor(i) => Ok(match display.monitors()?.get(i as usize) {
                Some((_, rect)) => Whereabouts::On { area: *rect, root },
                None => Whereabouts::Gone,
            }),
            ScreenTarget::Window(id) => {
                let attrs = display
                    .conn
                    .get_window_attributes(id)
                    .map_err(|e| e.to_string())?;
                let rect = display.window_rect(id)?;
                let viewable = attrs
                    .reply()
                    .map(|a| a.map_state == MapState::VIEWABLE)
                    .unwrap_or(false);
                Ok(match rect {
                    None => Whereabouts::Gone,
                    Some(_) if !viewable => Whereabouts::Hidden,
                    Some(area) => Whereabouts::On { area, root },
                })
            }
        }
    }

    /// One picture, cursor drawn in, stamped `captured_at`.
    pub fn next(
        &mut self,
        display: &X11Display,
        grabber: &mut Grabber,
        captured_at: Duration,
    ) -> std::result::Result<Grabbed, String> {
        let (area, root) = match self.whereabouts(display)? {
            Whereabouts::On { area, root } => (area, root),
            Whereabouts::Hidden => return Ok(Grabbed::Hidden),
            Whereabouts::Gone => return Ok(Grabbed::Gone),
        };
        match self.picture(display, grabber, area, root, captured_at) {
            Ok(found) => Ok(found),
            // The target may have changed size between asking where it is
            // and copying it (the server then refuses the copy): look again,
            // once, and lose the screen only if it still cannot be read.
            Err(why) => match self.whereabouts(display)? {
                Whereabouts::On {
                    area: now,
                    root: root_now,
                } if (now, root_now) != (area, root) => {
                    tracing::debug!(%why, "the target moved during a grab; grabbing again");
                    self.picture(display, grabber, now, root_now, captured_at)
                }
                Whereabouts::On { .. } => Err(why),
                Whereabouts::Hidden => Ok(Grabbed::Hidden),
                Whereabouts::Gone => Ok(Grabbed::Gone),
            },
        }
    }

    fn picture(
        &mut self,
        display: &X11Display,
        grabber: &mut Grabber,
        area: Rect,
        root: Rect,
        captured_at: Duration,
    ) -> std::result::Result<Grabbed, String> {
        if area.width == 0 || area.height == 0 {
            return Ok(Grabbed::Hidden);
        }
        // The cursor's reply travels while the server copies the picture.
        let cursor = display
            .has_cursor
            .then(|| cursor::request(&display.conn))
            .flatten();
        let mut data = Vec::new();
        match area.intersect(&root) {
            Some(visible) if visible == area => {
                grabber.grab(&display.conn, display.root, area, &mut data)?
            }
            Some(visible) => {
                // Partly off the screen: the rest stays black.
                grabber.grab(&display.conn, display.root, visible, &mut self.part)?;
                data = vec![0; bgr0_len(area.width, area.height)];
                let row = visible.width as usize * 4;
                let (dx, dy) = ((visible.x - area.x) as usize, (visible.y - area.y) as usize);
                for r in 0..visible.height as usize {
                    let at = ((dy + r) * area.width as usize + dx) * 4;
                    data[at..at + row].copy_from_slice(&self.part[r * row..(r + 1) * row]);
                }
            }
            None => data = vec![0; bgr0_len(area.width, area.height)],
        }
        if let Some(Ok(reply)) = cursor.map(|c| c.reply()) {
            cursor::draw(&reply, area, &mut data);
        }
        Ok(Grabbed::Picture(VideoFrame {
            width: area.width,
            height: area.height,
            format: FORMAT,
            data,
            captured_at,
        }))
    }
}

/// A live screen, monitor or window of an X server.
pub(crate) struct X11Screen {
    state: Option<(X11Display, Grabber)>,
    target: ScreenTarget,
    name: String,
    fps: u32,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl X11Screen {
    pub fn new(display: X11Display, target: ScreenTarget, name: String, fps: u32) -> Result<Self> {
        let root = display.root_rect().map_err(|why| {
            crate::MediaError::ScreenUnavailable(format!(
                "The screen could not be read ({why}); try again, or record the camera instead."
            ))
        })?;
        let grabber = Grabber::new(&display.conn, bgr0_len(root.width, root.height));
        Ok(X11Screen {
            state: Some((display, grabber)),
            target,
            name,
            fps: fps.max(1),
            thread: None,
        })
    }
}

impl VideoSource for X11Screen {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn is_live(&self) -> bool {
        true
    }

    fn frame_rate(&self) -> u32 {
        self.fps
    }

    fn start(&mut self, ctx: SourceContext, sink: Sink<VideoFrame>) -> Result<()> {
        let Some((display, grabber)) = self.state.take() else {
            return Err(crate::MediaError::InvalidSettings(format!(
                "{} was started twice; open the screen again for a new recording",
                self.name
            )));
        };
        let (target, name, fps) = (self.target.clone(), self.name.clone(), self.fps);
        let thread = std::thread::Builder::new()
            .name("screen-x11".into())
            .spawn(move || run(display, grabber, target, name, fps, ctx, sink))
            .map_err(|e| {
                crate::MediaError::ScreenUnavailable(format!(
                "The screen capture could not start ({e}); close some applications and try again."
            ))
            })?;
        self.thread = Some(thread);
        Ok(())
    }

    fn join(&mut self) {
        join_thread(&mut self.thread, "screen");
    }
}

/// What the capture thread tells the user, each once.
struct Told {
    gone: bool,
    size: Option<(u32, u32)>,
}

fn run(
    display: X11Display,
    mut grabber: Grabber,
    target: ScreenTarget,
    name: String,
    fps: u32,
    ctx: SourceContext,
    sink: Sink<VideoFrame>,
) {
    let mut frames = Frames::new(&display, target.clone());
    let period = Duration::from_secs_f64(1.0 / f64::from(fps));
    let start = ctx.clock.now();
    let mut slot: u64 = 0;
    let mut last: Option<VideoFrame> = None;
    let mut told = Told {
        gone: false,
        size: None,
    };
    let (mut grabs, mut grab_time) = (0u64, Duration::ZERO);
    tracing::info!(source = %name, fps, shm = grabber.uses_shm(), "screen capture started");
    while !ctx.should_stop() {
        ctx.clock
            .sleep_until(start + Duration::from_secs_f64(slot as f64 / f64::from(fps)));
        if ctx.should_stop() {
            break;
        }
        let captured_at = ctx.clock.now();
        let began = Instant::now();
        let grabbed = frames.next(&display, &mut grabber, captured_at);
        grab_time += began.elapsed();
        grabs += 1;
        let frame = match grabbed {
            Ok(Grabbed::Picture(frame)) => {
                let size = (frame.width, frame.height);
                let resizes = !matches!(target, ScreenTarget::Window(_));
                if resizes && told.size.is_some_and(|s| s != size) {
                    let text = format!(
                        "The screen changed size to {}x{}; the recording goes on, scaled into the same frame.",
                        size.0, size.1
                    );
                    if sink.notice(text).is_err() {
                        break;
                    }
                }
                told.size = Some(size);
                told.gone = false;
                last = Some(frame.clone());
                frame
            }
            Ok(found @ (Grabbed::Hidden | Grabbed::Gone)) => {
                if matches!(found, Grabbed::Gone) && !told.gone {
                    told.gone = true;
                    if sink.notice(gone_notice(&target, &name)).is_err() {
                        break;
                    }
                }
                match &last {
                    Some(held) => VideoFrame {
                        captured_at,
                        ..held.clone()
                    },
                    // Nothing seen yet: nothing to hold; wait for the next slot.
                    None => {
                        slot = next_slot(&ctx, start, period, slot);
                        continue;
                    }
                }
            }
            Err(why) => {
                sink.end(SourceEnd::Lost(format!(
                    "the screen could not be read any more ({why})"
                )));
                break;
            }
        };
        if sink.deliver(frame).is_err() {
            break;
        }
        slot = next_slot(&ctx, start, period, slot);
    }
    grabber.release(&display.conn);
    let _ = display.conn.flush();
    tracing::info!(
        source = %name,
        grabs,
        mean_grab_ms = grab_time.as_secs_f64() * 1000.0 / grabs.max(1) as f64,
        "screen capture stopped"
    );
}

/// The next slot whose time has not passed: a grab that ran long skips the
/// slots it missed instead of delivering a burst of late pictures.
fn next_slot(ctx: &SourceContext, start: Duration, period: Duration, slot: u64) -> u64 {
    let elapsed = ctx.clock.now().saturating_sub(start);
    let due = (elapsed.as_secs_f64() / period.as_secs_f64()).ceil() as u64;
    due.max(slot + 1)
}

fn gone_notice(target: &ScreenTarget, name: &str) -> String {
    match target {
        ScreenTarget::Window(_) => {
            let what = name.strip_prefix("window ").unwrap_or(name);
            format!("The window {what} was closed; the recording goes on with its last picture.")
        }
        _ => format!("The {name} was disconnected; the recording goes on with its last picture."),
    }
}
