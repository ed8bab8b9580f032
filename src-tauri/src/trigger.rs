//! A quick recording asked for from outside the window (tray menu, global
//! shortcut): it starts at once, and the windows follow (see `windows`).

use serde::Serialize;
use tauri::{AppHandle, Emitter as _};

use crate::{recording, windows};

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
                windows::show_quick(&app);
                None
            }
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "quick record could not start");
                windows::show_main(&app);
                Some(format!("{error:#}"))
            }
        };
        if let Err(error) = app.emit(QUICK_RECORD_EVENT, QuickRecordRequest { source, problem }) {
            tracing::error!(%error, "could not tell the UI about the quick record request");
        }
    });
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
