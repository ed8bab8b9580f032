//! Metadata in SQLite: users, blobs and their parts, messages, receipts, records about
//! messages. One connection
//! in WAL mode behind a mutex; async callers go through [`Db::call`], which runs the
//! work on tokio's blocking pool so the runtime never waits on disk.

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::HubError;

mod blobs;
mod inbox;
mod messages;
mod records;
mod users;

pub use blobs::*;
pub use inbox::*;
pub use messages::*;
pub use records::*;
pub use users::*;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
/// 1: users, blobs, messages, receipts. 2: records about messages (`body` is the
/// [`pigeon_protocol::Record`] JSON, `fingerprint` what a retry is compared by).
/// 3: each user's working hours ([`pigeon_protocol::hours::WorkingHours`] JSON, NULL
/// when not set).
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER
);
CREATE TABLE blobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL REFERENCES users(name),
    kind TEXT NOT NULL,
    content_type TEXT NOT NULL,
    acknowledged INTEGER NOT NULL DEFAULT 0,
    sealed_size INTEGER,
    sealed_sha256 TEXT,
    created_ms INTEGER NOT NULL
);
CREATE TABLE blob_parts (
    blob_id TEXT NOT NULL REFERENCES blobs(id),
    start INTEGER NOT NULL,
    length INTEGER NOT NULL,
    object_key TEXT NOT NULL,
    PRIMARY KEY (blob_id, start)
);
CREATE TABLE messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    sender TEXT NOT NULL REFERENCES users(name),
    fingerprint TEXT NOT NULL,
    thread TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_ms INTEGER NOT NULL
);
CREATE TABLE message_blobs (
    message_seq INTEGER NOT NULL REFERENCES messages(seq),
    blob_id TEXT NOT NULL REFERENCES blobs(id),
    attachment_name TEXT
);
CREATE INDEX message_blobs_blob ON message_blobs(blob_id);
CREATE TABLE receipts (
    message_seq INTEGER NOT NULL REFERENCES messages(seq),
    recipient TEXT NOT NULL REFERENCES users(name),
    respond_by_ms INTEGER NOT NULL,
    delivered_ms INTEGER,
    viewed_ms INTEGER,
    responded_ms INTEGER,
    reply_id TEXT,
    PRIMARY KEY (message_seq, recipient)
);
CREATE INDEX receipts_by_arrival ON receipts(recipient, message_seq);
CREATE INDEX receipts_by_respond_by ON receipts(recipient, respond_by_ms, message_seq);
"#,
    r#"
CREATE TABLE records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    message_seq INTEGER NOT NULL REFERENCES messages(seq),
    author TEXT NOT NULL REFERENCES users(name),
    fingerprint TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX records_by_message ON records(message_seq, seq);
"#,
    r#"
ALTER TABLE users ADD COLUMN working_hours TEXT;
"#,
];

/// The shared SQLite connection.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(super) fn from_ms(v: Option<i64>) -> Option<DateTime<Utc>> {
    v.and_then(DateTime::from_timestamp_millis)
}

impl Db {
    /// Opens (creating if needed) and migrates the database.
    pub fn open(path: &Path) -> Result<Self, HubError> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
            tracing::info!(migration = i + 1, "applied database migration");
        }
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> Result<T, HubError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, HubError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| HubError::Internal("the database lock is poisoned".into()))?;
            f(&mut guard)
        })
        .await?
    }

    /// Runs `f` on the calling thread (CLI commands).
    pub fn call_sync<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, HubError>,
    ) -> Result<T, HubError> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| HubError::Internal("the database lock is poisoned".into()))?;
        f(&mut guard)
    }
}
