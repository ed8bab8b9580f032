//! The user's open library and the connection to their store, shared by every
//! command and by the background sync.

use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use pigeon_library::connect::{connect, recover_unfinished};
use pigeon_library::respond_by::local_time_zone;
use pigeon_library::{Clock, Inbox, Library, ManualClock, Outbox, PigeonHome, Settings};
use pigeon_store::SharedStore;
use tokio::sync::{Mutex, Notify};

use crate::blocking;
use crate::error::CHECK_STORE;

/// One user's Pigeon, as this app instance sees it.
pub struct Session {
    pub home: PigeonHome,
    pub library: Arc<Library>,
    pub zone: Tz,
    /// The one source of "now" for everything the app decides.
    pub clock: Arc<dyn Clock>,
    /// The same clock, when the app was started with `PIGEON_TEST_CLOCK`: tests move it.
    pub test_clock: Option<Arc<ManualClock>>,
    /// Opened on first use and again after the store settings change.
    store: Mutex<Option<(SharedStore, bool)>>,
    /// Wakes the background sync (after a send, a settings change, a retry click).
    pub wake: Arc<Notify>,
    /// One delivery run at a time: Send and the background sync may both try.
    pub delivering: Mutex<()>,
    /// One notification round at a time: the sync loop and a moved test clock may both run one.
    pub notifying: Mutex<()>,
    /// Wakes the background transcriber (a recording stopped, "Make transcript", a
    /// model arrived, the transcription settings changed).
    pub transcribe: Arc<Notify>,
    /// Quiet hours held notifications: the next round that may tell sums them up.
    pub held: std::sync::atomic::AtomicBool,
    /// My working hours were read from my profile in this run.
    pub hours_read: std::sync::atomic::AtomicBool,
}

impl Session {
    /// Opens the library and turns crashed recordings back into drafts.
    pub fn open(home: PigeonHome) -> anyhow::Result<Self> {
        let chosen = pigeon_library::clock::from_env()?;
        let library = Library::open(&home).context("could not open Pigeon's library")?;
        match recover_unfinished(&library) {
            Ok(drafts) if !drafts.is_empty() => {
                tracing::info!(
                    count = drafts.len(),
                    "recovered unfinished recordings as drafts"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "could not recover unfinished recordings"),
        }
        Ok(Session {
            home,
            library: Arc::new(library),
            zone: local_time_zone(),
            clock: chosen.clock,
            test_clock: chosen.manual,
            store: Mutex::new(None),
            wake: Arc::new(Notify::new()),
            delivering: Mutex::new(()),
            notifying: Mutex::new(()),
            transcribe: Arc::new(Notify::new()),
            held: std::sync::atomic::AtomicBool::new(false),
            hours_read: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Runs `call` on the library from the blocking pool (SQLite blocks).
    pub async fn library_call<T, E, F>(&self, call: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        E: Into<anyhow::Error>,
        F: FnOnce(&Library) -> Result<T, E> + Send + 'static,
    {
        let library = self.library.clone();
        blocking::run(move || call(&library).map_err(Into::into)).await
    }

    /// Reads the settings file; only from the blocking pool (see [`Self::settings`]).
    pub fn settings_blocking(&self) -> anyhow::Result<Settings> {
        Ok(Settings::load_or_default(&self.home)?)
    }

    /// My user name from the settings; only from the blocking pool.
    pub fn me_blocking(&self) -> anyhow::Result<pigeon_store::protocol::UserName> {
        let me = self.settings_blocking()?.user;
        pigeon_store::protocol::UserName::parse(me.as_str()).map_err(|e| {
            anyhow::anyhow!("your user name is not valid ({}): fix it in Settings", e.0)
        })
    }

    /// Reads the settings file from the blocking pool.
    pub async fn settings(&self) -> anyhow::Result<Settings> {
        let home = self.home.clone();
        blocking::run(move || Ok(Settings::load_or_default(&home)?)).await
    }

    /// Saves the settings from the blocking pool; `what` names them for the error.
    pub async fn save_settings(
        &self,
        settings: Settings,
        what: &'static str,
    ) -> anyhow::Result<Settings> {
        let home = self.home.clone();
        blocking::run(move || {
            settings
                .save(&home)
                .with_context(|| format!("the {what} setting was not saved"))?;
            Ok(settings)
        })
        .await
    }

    /// The user's store and whether its inbox cursor can be kept between syncs.
    pub async fn store(&self) -> anyhow::Result<(SharedStore, bool)> {
        let mut slot = self.store.lock().await;
        if let Some(open) = slot.as_ref() {
            return Ok(open.clone());
        }
        let settings = self.settings().await?;
        let connected = connect(&settings, self.zone.name())
            .await
            .with_context(|| format!("could not open the store: {CHECK_STORE}"))?;
        let open = (connected.store, connected.incremental);
        *slot = Some(open.clone());
        Ok(open)
    }

    /// Forgets the open store, so the next use follows new settings.
    pub async fn reconnect(&self) {
        *self.store.lock().await = None;
        self.wake.notify_one();
    }

    pub async fn outbox(&self) -> anyhow::Result<Outbox> {
        let (store, _) = self.store().await?;
        Ok(Outbox::new(self.library.clone(), store))
    }

    pub async fn inbox(&self) -> anyhow::Result<Inbox> {
        let (store, incremental) = self.store().await?;
        let downloads = self.settings().await?.downloads;
        Ok(Inbox::new(self.library.clone(), store, incremental).with_downloads(downloads))
    }
}

/// Runs `work` with the app's session on the blocking pool: how a command builds
/// a view from the library and the disk without blocking the window or a worker.
pub async fn blocking<T, F>(app: tauri::AppHandle, work: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: FnOnce(&tauri::AppHandle, &Session) -> anyhow::Result<T> + Send + 'static,
{
    use tauri::Manager as _;
    blocking::run(move || {
        let session = app.state::<Session>();
        work(&app, &session)
    })
    .await
}
