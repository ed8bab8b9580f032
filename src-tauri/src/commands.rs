//! Tauri commands: the only entry points the UI can call. Each one has a
//! typed wrapper in `ui/src/api.ts`.

use pigeon_library::{PigeonHome, Settings, StoreSettings};
use serde::Serialize;
use tauri::State;

use crate::shortcut::{ShortcutState, ShortcutStatus};

/// An error as the UI shows it: one sentence that says what to do.
#[derive(Debug, Serialize)]
pub struct CommandError {
    message: String,
}

impl From<anyhow::Error> for CommandError {
    fn from(error: anyhow::Error) -> Self {
        // `{:#}` keeps the context chain on one line: "could not …: because …".
        Self {
            message: format!("{error:#}"),
        }
    }
}

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

/// Who the user is and where their messages travel, for the sidebar.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub user: String,
    /// "folder" or "hub".
    pub store_kind: &'static str,
    /// The folder path or the hub URL (never the token).
    pub store_location: String,
    pub data_dir: String,
}

#[tauri::command]
pub fn identity(home: State<'_, PigeonHome>) -> Result<Identity, CommandError> {
    let settings = Settings::load_or_default(&home).map_err(anyhow::Error::from)?;
    let (store_kind, store_location) = match settings.store {
        StoreSettings::Folder { path } => ("folder", path.display().to_string()),
        StoreSettings::Hub { url, .. } => ("hub", url),
    };
    Ok(Identity {
        user: settings.user,
        store_kind,
        store_location,
        data_dir: home.data_dir().display().to_string(),
    })
}
