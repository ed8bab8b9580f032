//! `pigeon screens`: what `pigeon record --screen` can record (the screen, each
//! monitor, each window), with the ids `--window` and `--monitor` take.

use anyhow::{bail, Result};
use pigeon_media::screen::{list_screens, ScreenChoice, ScreenTarget};
use pigeon_media::MediaError;
use serde_json::json;

use crate::App;

impl App {
    pub async fn screens(&self) -> Result<()> {
        // Listing talks to the display server: off the runtime's threads.
        let listed = tokio::task::spawn_blocking(list_screens).await?;
        let screens = match listed {
            Ok(screens) => screens,
            // The media's sentence says what is missing and what to do instead.
            Err(MediaError::ScreenUnavailable(why)) => bail!("{why}"),
            Err(e) => return Err(e.into()),
        };
        if self.out.json {
            let screens: Vec<_> = screens
                .iter()
                .map(|s| {
                    json!({
                        "id": s.target.to_string(),
                        "name": s.name,
                        "width": s.width,
                        "height": s.height,
                    })
                })
                .collect();
            println!("{}", json!({ "screens": screens }));
            return Ok(());
        }
        for screen in &screens {
            println!("{}", line(screen));
        }
        Ok(())
    }
}

/// One row: the id, the size (unknown on Wayland until the portal asks), the name,
/// and the flag that records it.
fn line(screen: &ScreenChoice) -> String {
    let size = if screen.width == 0 || screen.height == 0 {
        "size chosen at start".to_owned()
    } else {
        format!("{}x{}", screen.width, screen.height)
    };
    let flag = match &screen.target {
        ScreenTarget::Screen => "--screen".to_owned(),
        ScreenTarget::Monitor(n) => format!("--monitor {n}"),
        ScreenTarget::Window(id) => format!("--window {id:#x}"),
    };
    format!(
        "{:<18} {:>9}  {}  ({flag})",
        screen.target.to_string(),
        size,
        screen.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_names_the_flag_that_records_it() {
        let window = ScreenChoice {
            target: ScreenTarget::Window(0x2a0_0007),
            name: "Agenda".into(),
            width: 800,
            height: 600,
        };
        assert_eq!(
            line(&window),
            "window:0x2a00007     800x600  Agenda  (--window 0x2a00007)"
        );
        let portal = ScreenChoice {
            target: ScreenTarget::Screen,
            name: "Screen".into(),
            width: 0,
            height: 0,
        };
        assert!(line(&portal).contains("size chosen at start"));
    }
}
