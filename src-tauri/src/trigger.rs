//! What the shell tells the UI when the user asks for something from outside
//! the window (tray menu, global shortcut).

use serde::Serialize;
use tauri::{AppHandle, Emitter as _, Manager as _, WebviewUrl, WebviewWindowBuilder};

use crate::recording;

/// Name of the event emitted when a quick recording is requested.
pub const QUICK_RECORD_EVENT: &str = "quick-record";

/// Where a quick-record request came from, so the UI can say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TriggerSource {
    GlobalShortcut,
    TrayMenu,
}

/// Payload of [`QUICK_RECORD_EVENT`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuickRecordRequest {
    pub source: TriggerSource,
    /// Why the recording could not start, with what to do; None when it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Name of the event that asks the main window to show one message.
pub const OPEN_MESSAGE_EVENT: &str = "open-message";
/// Label of the small always-on-top recorder window.
pub const QUICK_WINDOW: &str = "quick";

/// Brings the main window to the front.
pub fn show_main_window(app: &AppHandle) {
    let Some(window) = app.get_webview_window("main") else {
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

/// Starts recording at once and shows the small recorder window (preview, timer,
/// stop). If the recording cannot start, the main window's Record screen says why.
pub fn request_quick_record(app: &AppHandle, source: TriggerSource) {
    tracing::info!(?source, "quick record requested");
    if source == TriggerSource::GlobalShortcut {
        recording::note_shortcut(app);
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let problem = match recording::start(&app).await {
            Ok(_) => {
                show_quick_window(&app);
                None
            }
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "quick record could not start");
                show_main_window(&app);
                Some(format!("{error:#}"))
            }
        };
        if let Err(error) = app.emit(QUICK_RECORD_EVENT, QuickRecordRequest { source, problem }) {
            tracing::error!(%error, "could not tell the UI about the quick record request");
        }
    });
}

/// Shows the quick recorder window, creating it the first time.
fn show_quick_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(QUICK_WINDOW) {
        let _ = window.show();
        let _ = window.set_focus();
        let _ = window.emit("quick-window-shown", ());
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
    show_main_window(app);
    if let Err(error) = app.emit(OPEN_MESSAGE_EVENT, id) {
        tracing::error!(%error, "could not ask the UI to open a message");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_what_the_ui_expects() {
        let json = serde_json::to_value(QuickRecordRequest {
            source: TriggerSource::GlobalShortcut,
            problem: None,
        })
        .unwrap();
        assert_eq!(json, serde_json::json!({ "source": "global-shortcut" }));
        let json = serde_json::to_value(QuickRecordRequest {
            source: TriggerSource::TrayMenu,
            problem: None,
        })
        .unwrap();
        assert_eq!(json, serde_json::json!({ "source": "tray-menu" }));
    }
}
