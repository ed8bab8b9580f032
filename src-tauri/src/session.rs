//! The user's open library and the connection to their store, shared by every
//! command and by the background sync.

use std::sync::Arc;

use anyhow::Context as _;
use chrono_tz::Tz;
use pigeon_library::connect::{connect, recover_unfinished};
use pigeon_library::respond_by::local_time_zone;
use pigeon_library::{Inbox, Library, Outbox, PigeonHome, Settings};
use pigeon_store::SharedStore;
use tokio::sync::{Mutex, Notify};

/// One user's Pigeon, as this app instance sees it.
pub struct Session {
    pub home: PigeonHome,
    pub library: Arc<Library>,
    pub zone: Tz,
    /// Opened on first use and again after the store settings change.
    store: Mutex<Option<(SharedStore, bool)>>,
    /// Wakes the background sync (after a send, a settings change, a retry click).
    pub wake: Arc<Notify>,
    /// One delivery run at a time: Send and the background sync may both try.
    pub delivering: Mutex<()>,
}

impl Session {
    /// Opens the library and turns crashed recordings back into drafts.
    pub fn open(home: PigeonHome) -> anyhow::Result<Self> {
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
            store: Mutex::new(None),
            wake: Arc::new(Notify::new()),
            delivering: Mutex::new(()),
        })
    }

    pub fn settings(&self) -> anyhow::Result<Settings> {
        Ok(Settings::load_or_default(&self.home)?)
    }

    /// The user's store and whether its inbox cursor can be kept between syncs.
    pub async fn store(&self) -> anyhow::Result<(SharedStore, bool)> {
        let mut slot = self.store.lock().await;
        if let Some(open) = slot.as_ref() {
            return Ok(open.clone());
        }
        let settings = self.settings()?;
        let connected = connect(&settings, self.zone.name())
            .await
            .context("could not open the store: check Settings › Store")?;
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
        let downloads = self.settings()?.downloads;
        Ok(Inbox::new(self.library.clone(), store, incremental).with_downloads(downloads))
    }
}
