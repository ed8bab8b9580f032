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
    let built = WebviewWindowBuilder::new(
        app,
        QUICK_WINDOW,
        WebviewUrl::App("index.html#/quick".into()),
    )
    .title("Pigeon — quick record")
    .inner_size(360.0, 330.0)
    .resizable(false)
    .always_on_top(true)
    .skip_taskbar(true)
    .build();
    if let Err(error) = built {
        tracing::error!(%error, "could not open the quick record window");
    }
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
