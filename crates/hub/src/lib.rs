//! `pigeon-hub`: the HTTP server a team runs once to exchange Pigeon's video messages
//! and the conversation around them (text answers, comments at a moment, chapters).
//! Bearer-token users, two-step posting (resumable chunked blob upload with a verified
//! seal, then an idempotent commit), records added about a message later (its
//! transcript, the participants' reactions: a ✅ on an "acknowledge only" message is a
//! response), inboxes with cursors and long-poll (one sync brings the records about
//! sent and received messages), receipts, and downloads with HTTP Range. Metadata lives in SQLite (WAL, migrations); blob bytes go
//! through `object_store` (a local directory by default, an S3-compatible bucket by
//! configuration).
//!
//! This crate is NOT the client (see `pigeon-store`'s `HubClient`), does not decode
//! video (a clip is checked as an MP4 container with a video track, not decoded), and
//! never builds a file or object path from anything a client sent: object keys come from
//! server-generated ids, attachment names are display text only.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pigeon_protocol::{BlobId, User, UserName};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

mod api;
pub mod backup;
pub mod config;
pub mod db;
mod error;
pub mod gc;
pub mod metrics;
pub mod migrate;
mod running_hash;
pub mod service;
pub mod storage;

pub use config::{BlobStorageConfig, HubConfig};
pub use error::HubError;

use db::Db;
use running_hash::Hashers;
use storage::BlobStorage;

/// A running hub's shared state.
pub struct Hub {
    config: HubConfig,
    db: Db,
    storage: BlobStorage,
    /// Latest committed message sequence number; long-polls wait on it.
    new_messages: watch::Sender<i64>,
    /// Latest committed record sequence number; long-polls wait on it too.
    new_records: watch::Sender<i64>,
    /// Running sha256 of in-progress uploads. Lost on restart or when an upload is
    /// abandoned, when seal re-reads the stored bytes instead.
    hashers: Hashers,
    /// Cancelled when shutdown starts, so long-polls return at once.
    shutdown: CancellationToken,
    metrics: metrics::Metrics,
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
    pub async fn open(config: HubConfig) -> Result<Arc<Self>, HubError> {
        std::fs::create_dir_all(&config.data)?;
        let db = open_db(&config).await?;
        let storage = BlobStorage::open(&config)?;
        let mut c = db.conn().await?;
        let (new_messages, _) = watch::channel(db::latest_seq(&mut c).await?);
        let (new_records, _) = watch::channel(db::latest_record_seq(&mut c).await?);
        drop(c);
        Ok(Arc::new(Self {
            hashers: Hashers::new(Duration::from_secs(config.upload_hash_idle_secs)),
            config,
            db,
            storage,
            new_messages,
            new_records,
            shutdown: CancellationToken::new(),
            metrics: metrics::Metrics::default(),
        }))
    }

    fn take_hasher(&self, blob: &BlobId, offset: u64) -> Option<Sha256> {
        self.hashers.take(blob, offset, Instant::now())
    }

    fn put_hasher(&self, blob: &BlobId, hashed: u64, h: Sha256) {
        self.hashers.put(blob, hashed, h, Instant::now());
    }

    fn notify_new_message(&self, seq: i64) {
        notify(&self.new_messages, seq);
    }

    fn notify_new_record(&self, seq: i64) {
        notify(&self.new_records, seq);
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
        let follower = tokio::spawn(self.clone().follow_other_hubs());
        let collector = tokio::spawn(self.clone().collect_garbage_now_and_then());
        // Abandoned uploads send no more chunks: sweep their hashes now and then.
        let sweeper = {
            let hub = self.clone();
            let every = Duration::from_secs(self.config.upload_hash_idle_secs.clamp(1, 60));
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tokio::select! {
                        _ = tick.tick() => hub.hashers.evict_idle(Instant::now()),
                        _ = hub.shutdown.cancelled() => return,
                    }
                }
            })
        };
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
        sweeper.abort();
        follower.abort();
        collector.abort();
        self.db.close().await;
        tracing::info!("hub stopped");
        Ok(())
    }
}

impl Hub {
    /// Wakes this hub's long-polls for what other hubs on the same database commit,
    /// until shutdown; a lost connection is made again, and what was committed
    /// meanwhile is read from the database.
    async fn follow_other_hubs(self: Arc<Self>) {
        loop {
            let mut changes = match self.db.listen().await {
                Ok(Some(changes)) => changes,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for other hubs' commits; trying again in 1 s");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        _ = self.shutdown.cancelled() => return,
                    }
                }
            };
            // Anything committed before the listener started.
            let mut heard = Ok(db::Heard::Reconnected);
            loop {
                match heard {
                    Ok(db::Heard::Committed(db::Change::Message, seq)) => {
                        self.notify_new_message(seq)
                    }
                    Ok(db::Heard::Committed(db::Change::Record, seq)) => {
                        self.notify_new_record(seq)
                    }
                    Ok(db::Heard::Reconnected) => {
                        if let Err(e) = self.catch_up().await {
                            tracing::warn!(error = %e, "cannot read the latest commits");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the other hubs' commits; listening again");
                        break;
                    }
                }
                heard = tokio::select! {
                    next = changes.next() => next,
                    _ = self.shutdown.cancelled() => return,
                };
            }
        }
    }

    /// Collects garbage every `gc.interval_minutes` (never when 0) until shutdown.
    async fn collect_garbage_now_and_then(self: Arc<Self>) {
        let minutes = self.config.gc.interval_minutes;
        if minutes == 0 {
            return;
        }
        let mut tick = tokio::time::interval(Duration::from_secs(minutes * 60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = self.shutdown.cancelled() => return,
            }
            match gc::collect(
                &self.db,
                &self.storage,
                &self.config.gc,
                false,
                chrono::Utc::now(),
            )
            .await
            {
                Ok(report) => {
                    self.metrics.collected(&report);
                    tracing::info!(%report, "garbage collected");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "garbage collection failed; trying again at the next interval")
                }
            }
        }
    }

    async fn catch_up(&self) -> Result<(), HubError> {
        let mut c = self.db.conn().await?;
        self.notify_new_message(db::latest_seq(&mut c).await?);
        self.notify_new_record(db::latest_record_seq(&mut c).await?);
        Ok(())
    }
}

/// Wakes the long-polls waiting on `latest` when `seq` is newer.
fn notify(latest: &watch::Sender<i64>, seq: i64) {
    latest.send_if_modified(|latest| {
        let newer = seq > *latest;
        if newer {
            *latest = seq;
        }
        newer
    });
}

/// The metadata database of `config`, migrated.
async fn open_db(config: &HubConfig) -> Result<Db, HubError> {
    if config.database.is_none() {
        std::fs::create_dir_all(&config.data)?;
    }
    Db::open(&config.database_url(), config.database_max_connections).await
}

/// Collects garbage once, as `pigeon-hub gc` does (see [`gc`]).
pub async fn collect_garbage(config: &HubConfig, dry_run: bool) -> Result<gc::GcReport, HubError> {
    let db = open_db(config).await?;
    let storage = BlobStorage::open(config)?;
    let report = gc::collect(&db, &storage, &config.gc, dry_run, chrono::Utc::now()).await;
    db.close().await;
    report
}

/// Adds a user and returns their token (shown once; only its hash is stored).
pub async fn add_user(config: &HubConfig, user: &User) -> Result<String, HubError> {
    pigeon_protocol::check_user(user)?;
    let db = open_db(config).await?;
    let token = new_token();
    let hash = token_hash(&token);
    db::add_user(&mut *db.conn().await?, user, &hash).await?;
    db.close().await;
    Ok(token)
}

/// Every user, revoked ones included.
pub async fn list_users(config: &HubConfig) -> Result<Vec<db::UserRow>, HubError> {
    let db = open_db(config).await?;
    let users = db::list_users(&mut *db.conn().await?, true).await?;
    db.close().await;
    Ok(users)
}

/// Revokes a user's token; false when no active user has that name.
pub async fn revoke_user(config: &HubConfig, name: &UserName) -> Result<bool, HubError> {
    let db = open_db(config).await?;
    let revoked = db::revoke_user(&mut *db.conn().await?, name).await?;
    db.close().await;
    Ok(revoked)
}
