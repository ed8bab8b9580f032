//! Tauri commands: the only entry points the UI can call. Each one has a
//! typed wrapper in `ui/src/api.ts`.

use std::path::PathBuf;

use anyhow::{anyhow, Context as _};
use pigeon_library::connect::connect;
use pigeon_library::{DownloadPolicy, PigeonHome, Settings, StoreSettings};
use pigeon_store::protocol::UserName;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager as _, State};

use crate::error::CommandResult;
use crate::session::{self, Session};
use crate::shortcut::{self, ShortcutState, ShortcutStatus};

/// When this process started, for the cold-start timing.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

pub fn note_start() {
    STARTED.get_or_init(std::time::Instant::now);
}

/// The UI shows an interactive inbox: logs the cold-start time once.
#[tauri::command]
pub fn ui_ready() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Some(started) = STARTED.get() {
            tracing::info!(
                target: "pigeon_desktop::timing",
                ms = started.elapsed().as_millis() as u64,
                "cold start to interactive inbox"
            );
        }
    });
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
    /// "on-demand" or "background".
    pub download_policy: &'static str,
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
        download_policy: settings.downloads.as_str(),
        quick_record_shortcut: shortcut,
    }
}

#[tauri::command]
pub async fn settings(
    session: State<'_, Session>,
    shortcut: State<'_, ShortcutState>,
) -> CommandResult<SettingsView> {
    let settings = session.settings().await?;
    Ok(view(settings, &session.home, shortcut.status()))
}

/// Moves the quick-record shortcut and remembers it. If the new combination is
/// taken, nothing changes and the error says so.
#[tauri::command]
pub async fn set_quick_record_shortcut(
    app: AppHandle,
    accelerator: String,
) -> CommandResult<SettingsView> {
    // The settings file and the shortcut grab both block: off the main thread.
    Ok(session::blocking(app, move |app, session| {
        let shortcut = app.state::<ShortcutState>();
        let home = &session.home;
        let accelerator = accelerator.trim().to_owned();
        let mut settings = Settings::load_or_default(home)?;
        let previous = shortcut.status();
        let status = shortcut::rebind(app, &shortcut, &accelerator)?;
        settings.desktop.quick_record_shortcut = accelerator;
        if let Err(error) = settings.save(home) {
            shortcut::restore(app, &shortcut, &previous);
            return Err(anyhow::Error::from(error)
                .context("the new shortcut could not be remembered, so the previous one stays"));
        }
        Ok(view(settings, home, status))
    })
    .await?)
}

/// Sets how long before a respond-by the due-soon reminder comes.
#[tauri::command]
pub async fn set_due_soon_minutes(
    session: State<'_, Session>,
    shortcut: State<'_, ShortcutState>,
    minutes: u32,
) -> CommandResult<SettingsView> {
    if !(5..=7 * 24 * 60).contains(&minutes) {
        return Err(anyhow::anyhow!(
            "a due-soon reminder {minutes} minutes ahead is out of range; pick between 5 minutes and 7 days"
        )
        .into());
    }
    let mut settings = session.settings().await?;
    settings.reminders.due_soon_before = chrono::Duration::minutes(i64::from(minutes));
    let settings = session.save_settings(settings, "reminder").await?;
    Ok(view(settings, &session.home, shortcut.status()))
}

/// Whether clips and attachments download at once or when opened.
#[tauri::command]
pub async fn set_download_policy(
    session: State<'_, Session>,
    shortcut: State<'_, ShortcutState>,
    policy: String,
) -> CommandResult<SettingsView> {
    let mut settings = session.settings().await?;
    settings.downloads = DownloadPolicy::parse(&policy)?;
    let settings = session.save_settings(settings, "download").await?;
    session.wake.notify_one();
    Ok(view(settings, &session.home, shortcut.status()))
}

/// A store the user typed in Settings.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all_fields = "camelCase")]
pub enum StoreInput {
    Hub { url: String, token: String },
    Folder { path: PathBuf, name: String },
}

/// Opens the store of `input` and asks who the user is there.
async fn try_store(session: &Session, input: StoreInput) -> anyhow::Result<Settings> {
    let mut settings = session.settings().await?;
    match input {
        StoreInput::Hub { url, token } => {
            let url = url.trim().trim_end_matches('/').to_owned();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(anyhow!(
                    "{url:?} is not a hub address: it starts with http:// or https://"
                ));
            }
            settings.store = StoreSettings::Hub {
                url,
                token: token.trim().to_owned(),
            };
        }
        StoreInput::Folder { path, name } => {
            if !path.is_absolute() {
                return Err(anyhow!(
                    "give the folder's full path, e.g. /mnt/team/pigeon"
                ));
            }
            let name = UserName::parse(name.trim().to_lowercase()).map_err(|e| {
                anyhow!("{name:?} cannot be your name ({e}); use letters, digits, '-' or '_'")
            })?;
            settings.store = StoreSettings::Folder { path };
            settings.user = name.to_string();
        }
    }
    let connected = connect(&settings, session.zone.name()).await?;
    let me = connected.store.me().await.context(
        "the store did not accept you: check the address and the token in Settings › Store (your hub's administrator gives you a token)",
    )?;
    settings.user = me.name.to_string();
    Ok(settings)
}

/// "Test connection": reaches the store and says who the user is there.
#[tauri::command]
pub async fn test_store(session: State<'_, Session>, store: StoreInput) -> CommandResult<String> {
    let settings = try_store(&session, store).await?;
    Ok(format!("Connected: you are {}.", settings.user))
}

/// Switches to another store after checking it works; the outbox and inbox follow.
#[tauri::command]
pub async fn set_store(
    session: State<'_, Session>,
    shortcut: State<'_, ShortcutState>,
    store: StoreInput,
) -> CommandResult<SettingsView> {
    let settings = try_store(&session, store).await?;
    let settings = session.save_settings(settings, "store").await?;
    session.reconnect().await;
    Ok(view(settings, &session.home, shortcut.status()))
}

/// What Settings › About shows: this app's release and protocol, and with a hub, one
/// sentence on how the two get along.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AboutView {
    pub version: String,
    pub protocol: u32,
    /// None with a folder store.
    pub hub: Option<String>,
}

#[tauri::command]
pub async fn about(session: State<'_, Session>) -> CommandResult<AboutView> {
    let settings = session.settings().await?;
    let hub = match &settings.store {
        StoreSettings::Hub { url, token } => Some(match pigeon_store::HubClient::new(url, token) {
            Ok(client) => match client.hub_version().await {
                Ok(version) => pigeon_library::about::hub_compatibility(version.as_ref()),
                Err(e) => format!("The hub at {url} did not say its version: {e}"),
            },
            Err(e) => e.to_string(),
        }),
        StoreSettings::Folder { .. } => None,
    };
    Ok(AboutView {
        version: pigeon_library::about::RELEASE.to_string(),
        protocol: pigeon_store::protocol::PROTOCOL,
        hub,
    })
}
