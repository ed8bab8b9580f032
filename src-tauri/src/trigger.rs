//! What the shell tells the UI when the user asks for something from outside
//! the window (tray menu, global shortcut).

use serde::Serialize;
use tauri::{AppHandle, Emitter as _, Manager as _};

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
}

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

/// Shows the main window and asks the UI to start a quick recording.
pub fn request_quick_record(app: &AppHandle, source: TriggerSource) {
    tracing::info!(?source, "quick record requested");
    show_main_window(app);
    if let Err(error) = app.emit(QUICK_RECORD_EVENT, QuickRecordRequest { source }) {
        tracing::error!(%error, "could not tell the UI about the quick record request");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_what_the_ui_expects() {
        let json = serde_json::to_value(QuickRecordRequest {
            source: TriggerSource::GlobalShortcut,
        })
        .unwrap();
        assert_eq!(json, serde_json::json!({ "source": "global-shortcut" }));
        let json = serde_json::to_value(QuickRecordRequest {
            source: TriggerSource::TrayMenu,
        })
        .unwrap();
        assert_eq!(json, serde_json::json!({ "source": "tray-menu" }));
    }
}
