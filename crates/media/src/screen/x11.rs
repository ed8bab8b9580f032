//! The X11 screen source: what can be recorded on an X server, and a live
//! [`VideoSource`] of the whole screen, one RandR monitor or one window.
//!
//! Pictures are read from the root window with MIT-SHM ([`grab`]), the cursor
//! blended in from XFixes ([`cursor`]), at the recording's frame rate
//! ([`capture`]). A window is read as the rectangle of the root it covers, so
//! what overlaps it looks as it does on screen (and so it works without a
//! compositing manager, where a window's own drawable has no contents for
//! the parts that are covered).
//!
//! It is NOT a window manager client: it never changes a window, and it
//! speaks pure-Rust X11 (x11rb), no Xlib.

mod capture;
mod cursor;
mod grab;

use x11rb::connection::Connection;
use x11rb::errors::ReplyError;
use x11rb::protocol::randr::ConnectionExt as _;
use x11rb::protocol::xproto::{AtomEnum, ConnectionExt as _, MapState, Window};
use x11rb::rust_connection::RustConnection;

use super::{ScreenChoice, ScreenTarget};
use crate::error::{MediaError, Result};
use crate::source::{PixelFormat, VideoFrame, VideoSource};
use grab::{Grabber, Rect};

pub(crate) use capture::X11Screen;

/// One connection to the X server, with what the capture needs to know.
pub(crate) struct X11Display {
    conn: RustConnection,
    root: Window,
    atoms: Atoms,
    /// XFixes answers: the cursor can be drawn.
    has_cursor: bool,
    /// The server has RandR 1.5 (monitors).
    has_monitors: bool,
}

#[derive(Debug, Clone, Copy)]
struct Atoms {
    net_client_list: u32,
    net_wm_name: u32,
    utf8_string: u32,
}

/// The display's name for messages: `$DISPLAY`.
fn display_name() -> Option<String> {
    std::env::var("DISPLAY").ok().filter(|d| !d.is_empty())
}

impl X11Display {
    /// Connects to `$DISPLAY`; the error says, in a few words, why there is no
    /// X server to record (to be put into a sentence by the caller).
    pub fn connect() -> std::result::Result<X11Display, String> {
        let Some(name) = display_name() else {
            return Err("there is no X server (DISPLAY is not set)".into());
        };
        let (conn, screen_num) = connect_patiently(&name)
            .map_err(|e| format!("the X server {name} did not answer ({e})"))?;
        grab::check_pixel_layout(&conn, screen_num)?;
        let intern = |n: &str| -> std::result::Result<u32, String> {
            conn.intern_atom(false, n.as_bytes())
                .map_err(|e| e.to_string())?
                .reply()
                .map(|r| r.atom)
                .map_err(|e| format!("the X server {name} stopped answering ({e})"))
        };
        let atoms = Atoms {
            net_client_list: intern("_NET_CLIENT_LIST")?,
            net_wm_name: intern("_NET_WM_NAME")?,
            utf8_string: intern("UTF8_STRING")?,
        };
        let has_cursor = cursor::init(&conn);
        let has_monitors = matches!(
            conn.randr_query_version(1, 5).map(|c| c.reply()),
            Ok(Ok(v)) if (v.major_version, v.minor_version) >= (1, 5)
        );
        let root = conn.setup().roots[screen_num].root;
        Ok(X11Display {
            conn,
            root,
            atoms,
            has_cursor,
            has_monitors,
        })
    }

    /// The whole screen as it is now (RandR may have resized it since we connected).
    fn root_rect(&self) -> std::result::Result<Rect, String> {
        let g = self
            .conn
            .get_geometry(self.root)
            .map_err(|e| e.to_string())?
            .reply()
            .map_err(|e| format!("the X server stopped answering ({e})"))?;
        Ok(Rect {
            x: 0,
            y: 0,
            width: u32::from(g.width),
            height: u32::from(g.height),
        })
    }

    /// RandR monitors in the server's order, with their output names.
    fn monitors(&self) -> std::result::Result<Vec<(String, Rect)>, String> {
        if !self.has_monitors {
            return Ok(Vec::new());
        }
        let reply = self
            .conn
            .randr_get_monitors(self.root, true)
            .map_err(|e| e.to_string())?
            .reply()
            .map_err(|e| format!("the X server stopped answering ({e})"))?;
        let mut out = Vec::with_capacity(reply.monitors.len());
        for (i, m) in reply.monitors.iter().enumerate() {
            let name = self
                .conn
                .get_atom_name(m.name)
                .ok()
                .and_then(|c| c.reply().ok())
                .map(|r| String::from_utf8_lossy(&r.name).into_owned())
                .unwrap_or_else(|| format!("Monitor {}", i + 1));
            out.push((
                name,
                Rect {
                    x: i32::from(m.x),
                    y: i32::from(m.y),
                    width: u32::from(m.width),
                    height: u32::from(m.height),
                },
            ));
        }
        Ok(out)
    }

    /// The window's title: `_NET_WM_NAME` (UTF-8), else `WM_NAME`.
    fn window_title(&self, window: Window) -> Option<String> {
        let read = |property: u32, kind: u32| {
            self.conn
                .get_property(false, window, property, kind, 0, 1024)
                .ok()?
                .reply()
                .ok()
                .filter(|r| !r.value.is_empty())
                .map(|r| String::from_utf8_lossy(&r.value).into_owned())
        };
        read(self.atoms.net_wm_name, self.atoms.utf8_string)
            .or_else(|| read(AtomEnum::WM_NAME.into(), AtomEnum::ANY.into()))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
    }

    /// Top-level windows a user would pick: the window manager's client list
    /// when there is one, else the root's children (no window manager, as
    /// under Xvfb); only mapped windows with a title.
    fn windows(&self) -> std::result::Result<Vec<(Window, String, Rect)>, String> {
        let managed = self
            .conn
            .get_property(
                false,
                self.root,
                self.atoms.net_client_list,
                AtomEnum::WINDOW,
                0,
                u32::MAX / 4,
            )
            .ok()
            .and_then(|c| c.reply().ok())
            .and_then(|r| r.value32().map(|v| v.collect::<Vec<u32>>()))
            .filter(|v| !v.is_empty());
        let candidates = match managed {
            Some(list) => list,
            None => {
                self.conn
                    .query_tree(self.root)
                    .map_err(|e| e.to_string())?
                    .reply()
                    .map_err(|e| format!("the X server stopped answering ({e})"))?
                    .children
            }
        };
        let mut out = Vec::new();
        for window in candidates {
            let Ok(Ok(attrs)) = self.conn.get_window_attributes(window).map(|c| c.reply()) else {
                continue; // closed while we listed
            };
            if attrs.map_state != MapState::VIEWABLE {
                continue;
            }
            let Some(title) = self.window_title(window) else {
                continue;
            };
            let Some(rect) = self.window_rect(window)? else {
                continue;
            };
            if rect.width < 2 || rect.height < 2 {
                continue;
            }
            out.push((window, title, rect));
        }
        Ok(out)
    }

    /// Where a window is on the root now; None once it is closed.
    fn window_rect(&self, window: Window) -> std::result::Result<Option<Rect>, String> {
        let geometry = self.conn.get_geometry(window).map_err(|e| e.to_string())?;
        let origin = self
            .conn
            .translate_coordinates(window, self.root, 0, 0)
            .map_err(|e| e.to_string())?;
        // An X error (BadWindow) means the window is gone; a connection
        // error means the server is.
        let (g, o) = match (geometry.reply(), origin.reply()) {
            (Ok(g), Ok(o)) => (g, o),
            (Err(ReplyError::ConnectionError(e)), _) | (_, Err(ReplyError::ConnectionError(e))) => {
                return Err(format!("the X server stopped answering ({e})"))
            }
            _ => return Ok(None),
        };
        Ok(Some(Rect {
            x: i32::from(o.dst_x),
            y: i32::from(o.dst_y),
            width: u32::from(g.width),
            height: u32::from(g.height),
        }))
    }

    pub fn list(&self) -> std::result::Result<Vec<ScreenChoice>, String> {
        let root = self.root_rect()?;
        let mut out = vec![ScreenChoice {
            target: ScreenTarget::Screen,
            name: "Screen".into(),
            width: root.width,
            height: root.height,
        }];
        for (i, (name, rect)) in self.monitors()?.into_iter().enumerate() {
            out.push(ScreenChoice {
                target: ScreenTarget::Monitor(i as u32),
                name,
                width: rect.width,
                height: rect.height,
            });
        }
        for (window, title, rect) in self.windows()? {
            out.push(ScreenChoice {
                target: ScreenTarget::Window(window),
                name: title,
                width: rect.width,
                height: rect.height,
            });
        }
        Ok(out)
    }

    /// A human name for a target, checking that it exists now.
    fn describe(&self, target: &ScreenTarget) -> Result<String> {
        let gone = |what: String| MediaError::ScreenUnavailable(what);
        match *target {
            ScreenTarget::Screen => Ok("the screen".into()),
            ScreenTarget::Monitor(i) => {
                let monitors = self.monitors().map_err(gone)?;
                match monitors.get(i as usize) {
                    Some((name, _)) => Ok(format!("monitor {name}")),
                    None => Err(gone(format!(
                        "There is no monitor {i} on this display (it has {}); pick one from the list of screens.",
                        monitors.len()
                    ))),
                }
            }
            ScreenTarget::Window(id) => match self.window_rect(id).map_err(gone)? {
                Some(_) => Ok(match self.window_title(id) {
                    Some(title) => format!("window \u{201c}{title}\u{201d}"),
                    None => format!("window {id:#x}"),
                }),
                None => Err(gone(format!(
                    "The window {id:#x} is not open any more; pick another one from the list of screens."
                ))),
            },
        }
    }

    /// One picture of the target, cursor drawn, as B G R X.
    pub fn snapshot(&self, target: &ScreenTarget) -> Result<VideoFrame> {
        self.describe(target)?;
        let mut frames = capture::Frames::new(self, target.clone());
        let fail = |why: String| {
            MediaError::ScreenUnavailable(format!(
                "The screen could not be read ({why}); try again, or record the camera instead."
            ))
        };
        let mut grabber = Grabber::Plain;
        match frames.next(self, &mut grabber, std::time::Duration::ZERO) {
            Ok(capture::Grabbed::Picture(frame)) => Ok(frame),
            Ok(capture::Grabbed::Hidden) => Err(MediaError::ScreenUnavailable(format!(
                "{target} is hidden, so there is nothing to show; bring it back on the screen, or pick another one."
            ))),
            Ok(capture::Grabbed::Gone) => Err(MediaError::ScreenUnavailable(format!(
                "{target} is not on the screen any more; pick another one from the list of screens."
            ))),
            Err(why) => Err(fail(why)),
        }
    }
}

/// Connects, trying twice more after an I/O error: a loaded X server (Xvfb
/// at a load of 7 was measured refusing about 3 connections in 100) turns a
/// connection away now and then, and a picker or a recording should not fail
/// for that. A display that is not there costs 60 ms more to report.
fn connect_patiently(
    name: &str,
) -> std::result::Result<(RustConnection, usize), x11rb::errors::ConnectError> {
    let mut attempt = 0;
    loop {
        match x11rb::connect(Some(name)) {
            Err(x11rb::errors::ConnectError::IoError(_)) if attempt < 2 => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(30));
            }
            other => return other,
        }
    }
}

/// What [`crate::screen::open_screen`] calls on X11.
pub(crate) fn open(
    display: X11Display,
    target: &ScreenTarget,
    fps: u32,
) -> Result<Box<dyn VideoSource>> {
    let name = display.describe(target)?;
    Ok(Box::new(X11Screen::new(
        display,
        target.clone(),
        name,
        fps,
    )?))
}

/// Bytes of a B G R X picture.
fn bgr0_len(width: u32, height: u32) -> usize {
    width as usize * height as usize * 4
}

/// The format every picture of this module has.
const FORMAT: PixelFormat = PixelFormat::Bgr0;
