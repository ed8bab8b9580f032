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

use std::fmt;
use std::str::FromStr;

use crate::error::{MediaError, Result};

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
