//! Tauri commands: the only entry points the UI can call. Each one has a
//! typed wrapper in `ui/src/api.ts`.

use anyhow::Context as _;
use pigeon_library::{PigeonHome, Settings, StoreSettings};
use serde::Serialize;
use tauri::{AppHandle, State};

use crate::shortcut::{self, ShortcutState, ShortcutStatus};

/// An error as the UI shows it: one sentence that says what to do.
#[derive(Debug, Serialize)]
pub struct CommandError {
    message: String,
}

impl<E: Into<anyhow::Error>> From<E> for CommandError {
    fn from(error: E) -> Self {
        // `{:#}` keeps the context chain on one line: "could not …: because …".
        Self {
            message: format!("{:#}", error.into()),
        }
    }
}

type CommandResult<T> = Result<T, CommandError>;

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

/// The user's settings as the UI shows them (never the hub token).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub user: String,
    /// "folder" or "hub".
    pub store_kind: &'static str,
    /// The folder path or the hub URL.
    pub store_location: String,
    pub data_dir: String,
    pub due_soon_minutes: i64,
    pub quick_record_shortcut: ShortcutStatus,
}

fn view(settings: Settings, home: &PigeonHome, shortcut: ShortcutStatus) -> SettingsView {
    let (store_kind, store_location) = match settings.store {
        StoreSettings::Folder { path } => ("folder", path.display().to_string()),
        StoreSettings::Hub { url, .. } => ("hub", url),
    };
    SettingsView {
        user: settings.user,
        store_kind,
        store_location,
        data_dir: home.data_dir().display().to_string(),
        due_soon_minutes: settings.reminders.due_soon_before.num_minutes(),
        quick_record_shortcut: shortcut,
    }
}

#[tauri::command]
pub fn settings(
    home: State<'_, PigeonHome>,
    shortcut: State<'_, ShortcutState>,
) -> CommandResult<SettingsView> {
    let settings = Settings::load_or_default(&home)?;
    Ok(view(settings, &home, shortcut.status()))
}

/// Moves the quick-record shortcut and remembers it. If the new combination is
/// taken, nothing changes and the error says so.
#[tauri::command]
pub fn set_quick_record_shortcut(
    app: AppHandle,
    home: State<'_, PigeonHome>,
    shortcut: State<'_, ShortcutState>,
    accelerator: String,
) -> CommandResult<SettingsView> {
    let accelerator = accelerator.trim().to_owned();
    let mut settings = Settings::load_or_default(&home)?;
    let previous = shortcut.status();
    let status = shortcut::rebind(&app, &shortcut, &accelerator)?;
    settings.desktop.quick_record_shortcut = accelerator;
    if let Err(error) = settings.save(&home) {
        shortcut::restore(&app, &shortcut, &previous);
        return Err(anyhow::Error::from(error)
            .context("the new shortcut could not be remembered, so the previous one stays")
            .into());
    }
    Ok(view(settings, &home, status))
}

/// Sets how long before a respond-by the due-soon reminder comes.
#[tauri::command]
pub fn set_due_soon_minutes(
    home: State<'_, PigeonHome>,
    shortcut: State<'_, ShortcutState>,
    minutes: u32,
) -> CommandResult<SettingsView> {
    if !(5..=7 * 24 * 60).contains(&minutes) {
        return Err(anyhow::anyhow!(
            "a due-soon reminder {minutes} minutes ahead is out of range; pick between 5 minutes and 7 days"
        )
        .into());
    }
    let mut settings = Settings::load_or_default(&home)?;
    settings.reminders.due_soon_before = chrono::Duration::minutes(i64::from(minutes));
    settings
        .save(&home)
        .context("the reminder setting was not saved")?;
    Ok(view(settings, &home, shortcut.status()))
}
