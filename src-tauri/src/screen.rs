//! Recording the screen from the window: what to record (the layout, which screen
//! or window, the camera bubble's look, computer sound), the picker's list and
//! thumbnails, and moving the bubble while recording.
//!
//! The choice is remembered in the library's `DesktopSettings`, and the library's
//! `Sources::last_used` turns it into what a recording captures (see
//! `recording::start`); this module only lists, checks and saves.

use anyhow::anyhow;
use pigeon_library::DesktopSettings;
use pigeon_media::composite::{BubbleShape, BubbleSize, Corner};
use pigeon_media::screen::ScreenTarget;
use serde::Serialize;
use tauri::ipc::Response;
use tauri::State;

use crate::blocking;
use crate::error::CommandResult;
use crate::recording::{rgba_frame, RecorderSlot};
use crate::session::Session;

/// The remembered layout and what can be chosen.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayoutView {
    /// "camera", "screen" or "screen-camera".
    pub layout: String,
    /// A screen target id: "screen", "monitor:N" or "window:0xHEX".
    pub screen: String,
    pub bubble_shape: &'static str,
    pub bubble_size: &'static str,
    pub bubble_corner: &'static str,
    pub computer_sound: bool,
    /// The mix's gains when computer sound is recorded with the microphone (1 is as they come).
    pub microphone_level: f32,
    pub computer_level: f32,
    /// The most a level can be.
    pub max_level: f32,
    pub shapes: Vec<&'static str>,
    pub sizes: Vec<&'static str>,
    pub corners: Vec<&'static str>,
}

fn layout_view(desktop: &DesktopSettings) -> anyhow::Result<LayoutView> {
    let style = desktop.bubble_style()?;
    Ok(LayoutView {
        layout: desktop.layout()?.label().to_owned(),
        screen: desktop.screen_target()?.to_string(),
        bubble_shape: style.shape.label(),
        bubble_size: style.size.label(),
        bubble_corner: style.corner.label(),
        computer_sound: desktop.computer_sound,
        microphone_level: desktop.microphone_level,
        computer_level: desktop.computer_level,
        max_level: pigeon_media::mix::MAX_GAIN,
        shapes: BubbleShape::ALL.iter().map(|s| s.label()).collect(),
        sizes: BubbleSize::ALL.iter().map(|s| s.label()).collect(),
        corners: Corner::ALL.iter().map(|c| c.label()).collect(),
    })
}

#[tauri::command]
pub async fn recording_layout(session: State<'_, Session>) -> CommandResult<LayoutView> {
    let desktop = session.settings().await?.desktop;
    Ok(layout_view(&desktop)?)
}

/// Remembers what the next recordings capture (the Record screen saves every change).
#[tauri::command]
pub async fn choose_layout(
    session: State<'_, Session>,
    layout: String,
    screen: String,
    bubble_shape: String,
    bubble_size: String,
    bubble_corner: String,
    computer_sound: bool,
) -> CommandResult<LayoutView> {
    let mut settings = session.settings().await?;
    let desktop = &mut settings.desktop;
    desktop.layout = layout;
    desktop.screen = screen;
    desktop.bubble_shape = bubble_shape;
    desktop.bubble_size = bubble_size;
    desktop.bubble_corner = bubble_corner;
    desktop.computer_sound = computer_sound;
    // The library's reading of the choice is the check: nothing unreadable is saved.
    desktop.layout()?;
    desktop.screen_target()?;
    desktop.bubble_style()?;
    let saved = session.save_settings(settings, "recording layout").await?;
    Ok(layout_view(&saved.desktop)?)
}

/// One screen, monitor or window the picker offers.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScreenView {
    pub id: String,
    pub name: String,
    pub width: u32,
    pub height: u32,
}

/// What can be recorded; without a display server, the sentence that says what to choose instead.
#[tauri::command]
pub async fn list_screens() -> CommandResult<Vec<ScreenView>> {
    // Talks to the X server (or asks the portal): off the async threads.
    Ok(blocking::run(|| {
        Ok(pigeon_media::screen::list_screens()?
            .into_iter()
            .map(|choice| ScreenView {
                id: choice.target.to_string(),
                name: choice.name,
                width: choice.width,
                height: choice.height,
            })
            .collect())
    })
    .await?)
}

/// One picture of a screen or window for the picker, as preview frames are sent:
/// width and height (u32 little-endian) then RGBA pixels.
#[tauri::command]
pub async fn screen_thumbnail(id: String, max_width: u32) -> CommandResult<Response> {
    let target: ScreenTarget = id.parse()?;
    let frame = blocking::run(move || {
        Ok(pigeon_media::screen::thumbnail(
            &target,
            max_width.clamp(16, 640),
        )?)
    })
    .await?;
    Ok(Response::new(rgba_frame(&frame)))
}

/// Moves the running recording's bubble to another corner, and remembers the
/// corner for the next recordings.
#[tauri::command]
pub async fn set_bubble_corner(
    session: State<'_, Session>,
    slot: State<'_, RecorderSlot>,
    corner: String,
) -> CommandResult<()> {
    restyle(&session, &slot, |desktop| desktop.bubble_corner = corner).await
}

/// Changes the running recording's bubble (shape, size and corner), and remembers it.
#[tauri::command]
pub async fn set_bubble_style(
    session: State<'_, Session>,
    slot: State<'_, RecorderSlot>,
    shape: String,
    size: String,
    corner: String,
) -> CommandResult<()> {
    restyle(&session, &slot, |desktop| {
        desktop.bubble_shape = shape;
        desktop.bubble_size = size;
        desktop.bubble_corner = corner;
    })
    .await
}

/// Changes the running recording's mix (when it mixes a microphone and computer
/// sound) and remembers the levels for the next recordings.
#[tauri::command]
pub async fn set_mix_levels(
    session: State<'_, Session>,
    slot: State<'_, RecorderSlot>,
    microphone: f32,
    computer: f32,
) -> CommandResult<LayoutView> {
    let mut settings = session.settings().await?;
    // The library's rule is the check: nothing out of range reaches the mix or the file.
    settings.desktop.set_mix_levels(microphone, computer)?;
    if let Some(mix) = slot.mix_levels().await {
        mix.set_microphone(microphone);
        mix.set_computer(computer);
        tracing::info!(microphone, computer, "mix levels changed");
    }
    let saved = session.save_settings(settings, "mix levels").await?;
    Ok(layout_view(&saved.desktop)?)
}

/// Applies `change` to the remembered bubble, checks it with the library's
/// reading, moves the running bubble to it and saves it.
async fn restyle(
    session: &Session,
    slot: &RecorderSlot,
    change: impl FnOnce(&mut DesktopSettings),
) -> CommandResult<()> {
    let bubble = slot.bubble().await.ok_or_else(|| {
        anyhow!("no bubble is being recorded: start a Screen + camera recording first")
    })?;
    let mut settings = session.settings().await?;
    change(&mut settings.desktop);
    let style = settings.desktop.bubble_style()?;
    bubble.set_style(style);
    tracing::info!(
        shape = style.shape.label(),
        size = style.size.label(),
        corner = style.corner.label(),
        "bubble restyled"
    );
    session.save_settings(settings, "bubble").await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape ui/src/api.ts reads, from the defaults a new user has.
    #[test]
    fn layout_view_is_what_the_ui_expects() {
        let json = serde_json::to_value(layout_view(&DesktopSettings::default()).unwrap()).unwrap();
        assert_eq!(json["layout"], "camera");
        assert_eq!(json["screen"], "screen");
        assert_eq!(json["bubbleShape"], "circle");
        assert_eq!(json["bubbleSize"], "medium");
        assert_eq!(json["bubbleCorner"], "bottom-right");
        assert_eq!(json["computerSound"], false);
        assert_eq!(json["microphoneLevel"], 1.0);
        assert_eq!(json["computerLevel"], 1.0);
        assert_eq!(json["maxLevel"], 4.0);
        assert_eq!(
            json["corners"],
            serde_json::json!(["top-left", "top-right", "bottom-left", "bottom-right"])
        );
    }
}
