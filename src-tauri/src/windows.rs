//! Window choreography: showing, hiding and focusing the main and quick-record
//! windows, and the events that tell a window where to go or what to refresh.
//! Everything that moves a window (tray, shortcut, recording) goes through here.

use tauri::{
    AppHandle, Emitter as _, Manager as _, WebviewUrl, WebviewWindow, WebviewWindowBuilder,
};

/// Label of the main window (from tauri.conf.json).
pub const MAIN_WINDOW: &str = "main";
/// Label of the small always-on-top recorder window.
pub const QUICK_WINDOW: &str = "quick";

/// Emitted whenever what the screens list may have changed.
pub const LIBRARY_CHANGED_EVENT: &str = "library-changed";
/// Asks the main window to show one message (payload: its id).
pub const OPEN_MESSAGE_EVENT: &str = "open-message";
/// Asks the main window to open Compose on a draft (payload: its id).
pub const COMPOSE_DRAFT_EVENT: &str = "compose-draft";
/// Tells the quick window it was shown again (it asks for the recording).
const QUICK_WINDOW_SHOWN_EVENT: &str = "quick-window-shown";

/// Tells every window to refresh what it lists.
pub fn library_changed(app: &AppHandle) {
    if let Err(error) = app.emit(LIBRARY_CHANGED_EVENT, ()) {
        tracing::warn!(%error, "could not tell the windows the library changed");
    }
}

/// Brings the main window to the front.
pub fn show_main(app: &AppHandle) {
    let Some(window) = app.get_webview_window(MAIN_WINDOW) else {
        tracing::warn!("the main window is gone; nothing to show");
        return;
    };
    for (step, result) in [
        ("unminimize", window.unminimize()),
        ("show", window.show()),
        ("focus", window.set_focus()),
    ] {
        if let Err(error) = result {
            tracing::warn!(%error, step, "could not bring the main window forward");
        }
    }
}

/// Hides a window (closing the main window, or the quick window once it is done).
pub fn hide(window: &tauri::Window) {
    if let Err(error) = window.hide() {
        tracing::warn!(%error, window = window.label(), "could not hide the window");
    }
}

/// Hides the quick window if `window` is it; says whether it was.
pub fn hide_if_quick(window: &WebviewWindow) -> bool {
    if window.label() != QUICK_WINDOW {
        return false;
    }
    if let Err(error) = window.hide() {
        tracing::warn!(%error, "could not hide the quick record window");
    }
    true
}

/// While the screen is recorded, the main window gets out of the picture and the
/// small recorder window stays on top. Says whether the main window was showing
/// (so a discarded recording can bring it back).
pub fn step_aside(app: &AppHandle) -> bool {
    let was_showing = match app.get_webview_window(MAIN_WINDOW) {
        Some(main) => {
            let showing = main.is_visible().unwrap_or(false);
            if let Err(error) = main.hide() {
                tracing::warn!(%error, "could not hide the main window for a screen recording");
            }
            showing
        }
        None => false,
    };
    show_quick(app);
    was_showing
}

/// Shows the quick recorder window, creating it the first time.
pub fn show_quick(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(QUICK_WINDOW) {
        for (step, result) in [
            ("show", window.show()),
            ("focus", window.set_focus()),
            ("announce", window.emit(QUICK_WINDOW_SHOWN_EVENT, ())),
        ] {
            if let Err(error) = result {
                tracing::warn!(%error, step, "could not bring the quick record window forward");
            }
        }
        return;
    }
    let mut builder = WebviewWindowBuilder::new(
        app,
        QUICK_WINDOW,
        WebviewUrl::App("index.html#/quick".into()),
    )
    .title("Pigeon — recorder")
    .inner_size(QUICK_SIZE.0, QUICK_SIZE.1)
    .resizable(false)
    .always_on_top(true)
    .skip_taskbar(true);
    if let Some((x, y)) = quick_position(app) {
        builder = builder.position(x, y);
    }
    if let Err(error) = builder.build() {
        tracing::error!(%error, "could not open the quick record window");
    }
}

/// The recorder window's size (logical pixels).
const QUICK_SIZE: (f64, f64) = (380.0, 340.0);

/// Bottom centre of the primary monitor: in a screen recording the recorder then
/// covers none of the corners the camera bubble can sit in.
fn quick_position(app: &AppHandle) -> Option<(f64, f64)> {
    let monitor = app.primary_monitor().ok().flatten()?;
    let scale = monitor.scale_factor();
    let size = monitor.size().to_logical::<f64>(scale);
    let origin = monitor.position().to_logical::<f64>(scale);
    let x = origin.x + (size.width - QUICK_SIZE.0) / 2.0;
    let y = origin.y + size.height - QUICK_SIZE.1 - 48.0;
    Some((x.max(origin.x), y.max(origin.y)))
}

/// Shows the main window on one message (from the tray's recent items).
pub fn open_message(app: &AppHandle, id: &str) {
    show_main(app);
    if let Err(error) = app.emit(OPEN_MESSAGE_EVENT, id) {
        tracing::error!(%error, "could not ask the UI to open a message");
    }
}

/// A quick recording goes on in the main window's Compose.
pub fn compose_draft(app: &AppHandle, draft: &str) {
    show_main(app);
    if let Err(error) = app.emit(COMPOSE_DRAFT_EVENT, draft) {
        tracing::error!(%error, "could not ask the UI to compose the recorded draft");
    }
}
