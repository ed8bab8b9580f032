//! `pigeon-hub`: the HTTP server a team runs once to exchange Pigeon's video messages.
//! Bearer-token users, two-step posting (resumable chunked blob upload with a verified
//! seal, then an idempotent commit), inboxes with cursors and long-poll, receipts, and
//! downloads with HTTP Range. Metadata lives in SQLite (WAL, migrations); blob bytes go
//! through `object_store` (a local directory by default, an S3-compatible bucket by
//! configuration).
//!
//! This crate is NOT the client (see `pigeon-store`'s `HubClient`), does not decode
//! video (a clip is checked as an MP4 container with a video track, not decoded), and
//! never builds a file or object path from anything a client sent: object keys come from
//! server-generated ids, attachment names are display text only.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pigeon_protocol::{BlobId, User, UserName};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

mod api;
pub mod config;
pub mod db;
mod error;
pub mod storage;

pub use config::{BlobStorageConfig, HubConfig};
pub use error::HubError;

use db::Db;
use storage::BlobStorage;

/// A running hub's shared state.
pub struct Hub {
    config: HubConfig,
    db: Db,
    storage: BlobStorage,
    /// Latest committed message sequence number; long-polls wait on it.
    new_messages: watch::Sender<i64>,
    /// Running sha256 of in-progress uploads, keyed by blob: (bytes hashed, state).
    /// Lost on restart, when seal re-reads the stored bytes instead.
    hashers: Mutex<HashMap<BlobId, (u64, Sha256)>>,
    /// Cancelled when shutdown starts, so long-polls return at once.
    shutdown: CancellationToken,
}

/// sha256 hex of a token: tokens are random, so a fast hash is enough and the database
/// never holds anything a client could present.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_blob_id() -> BlobId {
    // A simple UUID is 32 hex characters: always a valid id.
    BlobId::parse(uuid::Uuid::new_v4().simple().to_string())
        .unwrap_or_else(|_| unreachable!("a uuid is a valid blob id"))
}

/// A new access token: 256 random bits (two v4 UUIDs' worth of randomness) as text.
fn new_token() -> String {
    format!(
        "pgn_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl Hub {
    /// Opens the database and blob storage of `config`.
    pub fn open(config: HubConfig) -> Result<Arc<Self>, HubError> {
        std::fs::create_dir_all(&config.data)?;
        let db = Db::open(&config.database_path())?;
        let storage = BlobStorage::open(&config)?;
        let latest = db.call_sync(|c| db::latest_seq(c))?;
        let (new_messages, _) = watch::channel(latest);
        Ok(Arc::new(Self {
            config,
            db,
            storage,
            new_messages,
            hashers: Mutex::new(HashMap::new()),
            shutdown: CancellationToken::new(),
        }))
    }

    fn take_hasher(&self, blob: &BlobId, offset: u64) -> Option<Sha256> {
        let mut map = self.hashers.lock().ok()?;
        match map.remove(blob) {
            Some((hashed, h)) if hashed == offset => Some(h),
            Some(other) => {
                map.insert(blob.clone(), other);
                None
            }
            None if offset == 0 => Some(Sha256::new()),
            None => None,
        }
    }

    fn put_hasher(&self, blob: &BlobId, hashed: u64, h: Sha256) {
        if let Ok(mut map) = self.hashers.lock() {
            map.insert(blob.clone(), (hashed, h));
        }
    }

    fn notify_new_message(&self, seq: i64) {
        self.new_messages.send_if_modified(|latest| {
            let newer = seq > *latest;
            if newer {
                *latest = seq;
            }
            newer
        });
    }

    /// Serves the API on `listener` until `shutdown` resolves; then stops accepting,
    /// lets in-flight requests (chunk writes) finish for up to `shutdown_grace_secs`.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), HubError> {
        let grace = Duration::from_secs(self.config.shutdown_grace_secs);
        let cancel = self.shutdown.clone();
        let app = api::router(self.clone());
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            cancel.cancel();
        });
        let cancelled = self.shutdown.clone();
        let mut server = std::pin::pin!(std::future::IntoFuture::into_future(server));
        tokio::select! {
            result = &mut server => result?,
            _ = async {
                cancelled.cancelled().await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests did not finish in time; stopping anyway");
            }
        }
        tracing::info!("hub stopped");
        Ok(())
    }
}

/// Adds a user and returns their token (shown once; only its hash is stored).
pub fn add_user(config: &HubConfig, user: &User) -> Result<String, HubError> {
    pigeon_protocol::check_user(user).map_err(|e| HubError::Config(e.message))?;
    std::fs::create_dir_all(&config.data)?;
    let db = Db::open(&config.database_path())?;
    let token = new_token();
    let hash = token_hash(&token);
    db.call_sync(|c| db::add_user(c, user, &hash))?;
    Ok(token)
}

/// Every user, revoked ones included.
pub fn list_users(config: &HubConfig) -> Result<Vec<db::UserRow>, HubError> {
    let db = Db::open(&config.database_path())?;
    db.call_sync(|c| db::list_users(c, true))
}

/// Revokes a user's token; false when no active user has that name.
pub fn revoke_user(config: &HubConfig, name: &UserName) -> Result<bool, HubError> {
    let db = Db::open(&config.database_path())?;
    db.call_sync(|c| db::revoke_user(c, name))
}
