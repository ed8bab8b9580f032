//! Tauri commands: the only entry points the UI can call. Each one has a
//! typed wrapper in `ui/src/api.ts`.

use serde::Serialize;
use tauri::State;

use crate::shortcut::{ShortcutState, ShortcutStatus};

/// What the shell can tell the UI about itself.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShellStatus {
    pub version: &'static str,
    pub quick_record_shortcut: ShortcutStatus,
}

#[tauri::command]
pub fn shell_status(shortcut: State<'_, ShortcutState>) -> ShellStatus {
    ShellStatus {
        version: env!("CARGO_PKG_VERSION"),
        quick_record_shortcut: shortcut.status(),
    }
}
