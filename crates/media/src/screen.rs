//! Screen capture: what can be recorded ([`list_screens`]) and a [`VideoSource`]
//! for one choice ([`open_screen`]).
//!
//! On X11 (`x11`): the whole screen, one RandR monitor or one window, read with
//! MIT-SHM, the cursor drawn from XFixes. Without an X server but with a Wayland
//! session (`portal`): the xdg-desktop-portal ScreenCast session, read over
//! PipeWire. Neither: [`MediaError::ScreenUnavailable`] with one sentence that
//! says what is missing and what to choose instead.
//!
//! It is NOT a compositor: the camera bubble is drawn by [`crate::composite`].

mod portal;
mod x11;

use std::fmt;
use std::str::FromStr;

use ffmpeg_next::format::Pixel;

use crate::encode::{frame_to_packed, FrameConverter};
use crate::error::{MediaError, Result};
use crate::recorder::PreviewFrame;
use crate::source::VideoSource;

/// What a screen recording shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ScreenTarget {
    /// Everything on the display (on Wayland: what the portal's user picks).
    Screen,
    /// One monitor, by its index in [`list_screens`] order (RandR).
    Monitor(u32),
    /// One top-level window, by its X window id.
    Window(u32),
}

impl fmt::Display for ScreenTarget {
    /// The id form the CLI and settings use: `screen`, `monitor:N`, `window:0xHEX`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScreenTarget::Screen => write!(f, "screen"),
            ScreenTarget::Monitor(n) => write!(f, "monitor:{n}"),
            ScreenTarget::Window(id) => write!(f, "window:{id:#x}"),
        }
    }
}

impl FromStr for ScreenTarget {
    type Err = MediaError;

    /// Parses the [`fmt::Display`] form; a window id may be decimal or `0x` hex.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            MediaError::InvalidSettings(format!(
                "{s:?} is not a screen: use \"screen\", \"monitor:N\" or \"window:ID\" (see `pigeon screens`)"
            ))
        };
        let s = s.trim();
        if s == "screen" {
            return Ok(ScreenTarget::Screen);
        }
        if let Some(n) = s.strip_prefix("monitor:") {
            return n.parse().map(ScreenTarget::Monitor).map_err(|_| bad());
        }
        if let Some(id) = s.strip_prefix("window:") {
            let id = match id.strip_prefix("0x").or_else(|| id.strip_prefix("0X")) {
                Some(hex) => u32::from_str_radix(hex, 16),
                None => id.parse(),
            };
            return id.map(ScreenTarget::Window).map_err(|_| bad());
        }
        Err(bad())
    }
}

/// One thing that can be recorded, as a picker lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenChoice {
    pub target: ScreenTarget,
    /// "Screen", the monitor's output name ("Virtual-1"), or the window's title.
    pub name: String,
    pub width: u32,
    pub height: u32,
}

/// Where screen pictures come from on this machine.
enum Backend {
    X11(Box<x11::X11Display>),
    /// No X server, but a Wayland session whose portal answers.
    Portal,
}

/// The X server when `DISPLAY` connects, else the portal when a Wayland
/// session has one, else the one sentence saying what is missing.
fn backend() -> Result<Backend> {
    let no_x = match x11::X11Display::connect() {
        Ok(display) => return Ok(Backend::X11(Box::new(display))),
        Err(why) => why,
    };
    let wayland = std::env::var("WAYLAND_DISPLAY")
        .ok()
        .filter(|w| !w.is_empty());
    match wayland {
        None => Err(MediaError::ScreenUnavailable(format!(
            "No screen can be recorded: {no_x} and there is no Wayland session \
             (WAYLAND_DISPLAY is not set); record the camera instead."
        ))),
        Some(_) => match portal::available() {
            Ok(()) => Ok(Backend::Portal),
            // The portal's sentence already says what is missing and what
            // to do; on Wayland the missing X server is no news.
            Err(why) => Err(MediaError::ScreenUnavailable(why)),
        },
    }
}

/// Everything that can be recorded: on X11 the whole screen, each RandR
/// monitor (in RandR order, named by output) and each visible top-level window
/// with a title; on Wayland one `Screen` entry (the portal asks the user what
/// to share).
pub fn list_screens() -> Result<Vec<ScreenChoice>> {
    match backend()? {
        Backend::X11(display) => display.list().map_err(|why| {
            MediaError::ScreenUnavailable(format!(
                "The screens could not be listed ({why}); try again, or record the camera instead."
            ))
        }),
        Backend::Portal => Ok(vec![ScreenChoice {
            target: ScreenTarget::Screen,
            name: "Screen".into(),
            width: 0,
            height: 0,
        }]),
    }
}

/// One picture of `target` for a picker, at most `max_width` wide (never
/// scaled up), aspect kept. On Wayland there is nothing to show before the
/// portal asks the user: that is an error the picker shows instead.
pub fn thumbnail(target: &ScreenTarget, max_width: u32) -> Result<PreviewFrame> {
    crate::init();
    let display = match backend()? {
        Backend::X11(display) => display,
        Backend::Portal => {
            return Err(MediaError::ScreenUnavailable(
                "On Wayland the system asks what to share when the recording starts, so there is no preview before it.".into(),
            ))
        }
    };
    let frame = display.snapshot(target)?;
    let width = max_width.clamp(2, frame.width.max(2));
    let height = ((u64::from(frame.height) * u64::from(width) + u64::from(frame.width) / 2)
        / u64::from(frame.width.max(1)))
    .max(1) as u32;
    let rgb = FrameConverter::new(Pixel::RGB24, width, height).convert(&frame)?;
    Ok(PreviewFrame {
        width,
        height,
        rgb: frame_to_packed(&rgb),
        media_time: std::time::Duration::ZERO,
    })
}

/// A live source of `target` at `fps`: X11 when `DISPLAY` connects, else the
/// xdg-desktop-portal ScreenCast session when `WAYLAND_DISPLAY` is set (which
/// records what the user picks there, whatever `target` says), else
/// [`MediaError::ScreenUnavailable`]. Pictures are [`crate::PixelFormat::Bgr0`]
/// of the target's current size, which may change while recording.
pub fn open_screen(target: &ScreenTarget, fps: u32) -> Result<Box<dyn VideoSource>> {
    match backend()? {
        Backend::X11(display) => x11::open(*display, target, fps),
        Backend::Portal => portal::open(fps),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_read_back_what_they_print() {
        for t in [
            ScreenTarget::Screen,
            ScreenTarget::Monitor(2),
            ScreenTarget::Window(0x1a0_0003),
        ] {
            assert_eq!(t.to_string().parse::<ScreenTarget>().unwrap(), t);
        }
        assert_eq!(
            "window:4194307".parse::<ScreenTarget>().unwrap(),
            ScreenTarget::Window(4194307)
        );
        assert!("monitor:x".parse::<ScreenTarget>().is_err());
        assert!("desk".parse::<ScreenTarget>().is_err());
    }
}
