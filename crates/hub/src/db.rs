//! Metadata in SQLite: users, blobs and their parts, messages, receipts. One connection
//! in WAL mode behind a mutex; async callers go through [`Db::call`], which runs the
//! work on tokio's blocking pool so the runtime never waits on disk.

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use pigeon_protocol::{
    ApiError, BlobId, BlobKind, BlobRef, ErrorCode, InboxEntry, Message, MessageId, Receipt, User,
    UserName,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::HubError;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[r#"
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
"#];

/// The shared SQLite connection.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: Option<i64>) -> Option<DateTime<Utc>> {
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

// ---- users ----

/// A user row as the CLI lists it.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub user: User,
    pub created: DateTime<Utc>,
    pub revoked: Option<DateTime<Utc>>,
}

pub fn add_user(conn: &Connection, user: &User, token_sha256: &str) -> Result<(), HubError> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM users WHERE name = ?1)",
        [user.name.as_str()],
        |r| r.get(0),
    )?;
    if exists {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("user {} already exists: pick another name", user.name),
        )
        .into());
    }
    conn.execute(
        "INSERT INTO users (name, display_name, time_zone, token_sha256, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![user.name.as_str(), user.display_name, user.time_zone, token_sha256, ms(Utc::now())],
    )?;
    Ok(())
}

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<User, String>> {
    let name: String = r.get(0)?;
    Ok(UserName::parse(name).map_err(|e| e.0).map(|name| User {
        name,
        display_name: r.get(1).unwrap_or_default(),
        time_zone: r.get(2).unwrap_or_default(),
    }))
}

pub fn list_users(conn: &Connection, include_revoked: bool) -> Result<Vec<UserRow>, HubError> {
    let mut stmt = conn.prepare(
        "SELECT name, display_name, time_zone, created_ms, revoked_ms FROM users
         WHERE ?1 OR revoked_ms IS NULL ORDER BY name",
    )?;
    let rows = stmt.query_map([include_revoked], |r| {
        Ok((
            user_from_row(r)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<i64>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (user, created, revoked) = row?;
        out.push(UserRow {
            user: user.map_err(HubError::Internal)?,
            created: from_ms(Some(created)).unwrap_or_default(),
            revoked: from_ms(revoked),
        });
    }
    Ok(out)
}

pub fn revoke_user(conn: &Connection, name: &UserName) -> Result<bool, HubError> {
    let n = conn.execute(
        "UPDATE users SET revoked_ms = ?2 WHERE name = ?1 AND revoked_ms IS NULL",
        params![name.as_str(), ms(Utc::now())],
    )?;
    Ok(n == 1)
}

pub fn user_by_token(conn: &Connection, token_sha256: &str) -> Result<Option<User>, HubError> {
    let row = conn
        .query_row(
            "SELECT name, display_name, time_zone FROM users WHERE token_sha256 = ?1 AND revoked_ms IS NULL",
            [token_sha256],
            user_from_row,
        )
        .optional()?;
    row.transpose().map_err(HubError::Internal)
}

pub fn active_user_exists(conn: &Connection, name: &UserName) -> Result<bool, HubError> {
    Ok(conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM users WHERE name = ?1 AND revoked_ms IS NULL)",
        [name.as_str()],
        |r| r.get(0),
    )?)
}

// ---- blobs ----

/// A blob's metadata row.
#[derive(Debug, Clone)]
pub struct BlobRow {
    pub id: BlobId,
    pub owner: String,
    pub kind: BlobKind,
    pub content_type: String,
    pub acknowledged: u64,
    pub sealed: Option<(u64, String)>,
}

impl BlobRow {
    /// The sealed reference, when sealed.
    pub fn sealed_ref(&self) -> Option<BlobRef> {
        self.sealed.as_ref().map(|(size, sha)| BlobRef {
            id: self.id.clone(),
            kind: self.kind,
            size: *size,
            sha256: sha.clone(),
            content_type: self.content_type.clone(),
        })
    }
}

/// One stored piece of a blob: bytes `start..start+length` live in `object_key`.
#[derive(Debug, Clone)]
pub struct Part {
    pub start: u64,
    pub length: u64,
    pub object_key: String,
}

pub fn create_blob(
    conn: &Connection,
    id: &BlobId,
    owner: &UserName,
    kind: BlobKind,
    content_type: &str,
) -> Result<(), HubError> {
    conn.execute(
        "INSERT INTO blobs (id, owner, kind, content_type, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id.as_str(),
            owner.as_str(),
            kind.as_str(),
            content_type,
            ms(Utc::now())
        ],
    )?;
    Ok(())
}

pub fn blob(conn: &Connection, id: &BlobId) -> Result<Option<BlobRow>, HubError> {
    let row = conn
        .query_row(
            "SELECT owner, kind, content_type, acknowledged, sealed_size, sealed_sha256 FROM blobs WHERE id = ?1",
            [id.as_str()],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((owner, kind, content_type, ack, size, sha)) = row else {
        return Ok(None);
    };
    let kind = BlobKind::parse(&kind)
        .ok_or_else(|| HubError::Internal(format!("blob {id} has unknown kind {kind}")))?;
    Ok(Some(BlobRow {
        id: id.clone(),
        owner,
        kind,
        content_type,
        acknowledged: ack as u64,
        sealed: size.zip(sha).map(|(s, h)| (s as u64, h)),
    }))
}

/// Records a part written at `start`; fails with [`ErrorCode::OffsetMismatch`] when
/// another write got there first. Returns the new acknowledged offset.
pub fn add_part(conn: &mut Connection, id: &BlobId, part: &Part) -> Result<u64, HubError> {
    let tx = conn.transaction()?;
    let (ack, sealed): (i64, Option<i64>) = tx.query_row(
        "SELECT acknowledged, sealed_size FROM blobs WHERE id = ?1",
        [id.as_str()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    // Checked again inside the transaction: another request may have moved on.
    pigeon_protocol::append::check_start(sealed.is_some(), ack as u64, part.start)?;
    tx.execute(
        "INSERT INTO blob_parts (blob_id, start, length, object_key) VALUES (?1, ?2, ?3, ?4)",
        params![
            id.as_str(),
            part.start as i64,
            part.length as i64,
            part.object_key
        ],
    )?;
    let new_ack = part.start + part.length;
    tx.execute(
        "UPDATE blobs SET acknowledged = ?2 WHERE id = ?1",
        params![id.as_str(), new_ack as i64],
    )?;
    tx.commit()?;
    Ok(new_ack)
}

pub fn parts(conn: &Connection, id: &BlobId) -> Result<Vec<Part>, HubError> {
    let mut stmt = conn.prepare(
        "SELECT start, length, object_key FROM blob_parts WHERE blob_id = ?1 ORDER BY start",
    )?;
    let rows = stmt.query_map([id.as_str()], |r| {
        Ok(Part {
            start: r.get::<_, i64>(0)? as u64,
            length: r.get::<_, i64>(1)? as u64,
            object_key: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn seal_blob(conn: &Connection, id: &BlobId, size: u64, sha256: &str) -> Result<(), HubError> {
    conn.execute(
        "UPDATE blobs SET sealed_size = ?2, sealed_sha256 = ?3 WHERE id = ?1 AND sealed_size IS NULL",
        params![id.as_str(), size as i64, sha256],
    )?;
    Ok(())
}

/// The blob if `user` may read it (its uploader, or a participant of a message that
/// references it), with the attachment name to offer for download.
pub fn readable_blob(
    conn: &Connection,
    id: &BlobId,
    user: &UserName,
) -> Result<Option<(BlobRow, Option<String>)>, HubError> {
    let Some(row) = blob(conn, id)? else {
        return Ok(None);
    };
    let via_message: Option<Option<String>> = conn
        .query_row(
            "SELECT mb.attachment_name FROM message_blobs mb JOIN messages m ON m.seq = mb.message_seq
             WHERE mb.blob_id = ?1 AND (m.sender = ?2 OR EXISTS (
                 SELECT 1 FROM receipts r WHERE r.message_seq = m.seq AND r.recipient = ?2))
             LIMIT 1",
            params![id.as_str(), user.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    let owner = UserName::parse(row.owner.as_str()).map_err(|e| HubError::Internal(e.0))?;
    if !pigeon_protocol::access::may_read_blob(&owner, user, via_message.is_some()) {
        return Ok(None);
    }
    Ok(Some((row, via_message.flatten())))
}

// ---- messages ----

/// A stored message with what idempotency needs.
pub struct StoredMessage {
    pub seq: i64,
    pub sender: String,
    pub fingerprint: String,
    pub message: Message,
}

fn parse_body(body: &str) -> Result<Message, HubError> {
    serde_json::from_str(body)
        .map_err(|e| HubError::Internal(format!("stored message is unreadable: {e}")))
}

pub fn message_by_id(conn: &Connection, id: &MessageId) -> Result<Option<StoredMessage>, HubError> {
    let row = conn
        .query_row(
            "SELECT seq, sender, fingerprint, body FROM messages WHERE id = ?1",
            [id.as_str()],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            },
        )
        .optional()?;
    row.map(|(seq, sender, fingerprint, body)| {
        Ok(StoredMessage {
            seq,
            sender,
            fingerprint,
            message: parse_body(&body)?,
        })
    })
    .transpose()
}

/// Inserts a validated message with its receipts; marks the parent responded when this
/// is a reply from one of its recipients. Returns the new sequence number.
pub fn insert_message(
    tx: &Transaction<'_>,
    message: &Message,
    fingerprint: &str,
) -> Result<i64, HubError> {
    let body = serde_json::to_string(message)
        .map_err(|e| HubError::Internal(format!("cannot encode message: {e}")))?;
    tx.execute(
        "INSERT INTO messages (id, sender, fingerprint, thread, body, sent_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            message.id.as_str(),
            message.sender.as_str(),
            fingerprint,
            message.thread.as_str(),
            body,
            ms(message.sent_at)
        ],
    )?;
    let seq = tx.last_insert_rowid();
    // The clip and the poster are readable by the participants under no attachment name.
    for blob in std::iter::once(&message.clip).chain(&message.poster) {
        tx.execute(
            "INSERT INTO message_blobs (message_seq, blob_id, attachment_name) VALUES (?1, ?2, NULL)",
            params![seq, blob.id.as_str()],
        )?;
    }
    for a in &message.attachments {
        tx.execute(
            "INSERT INTO message_blobs (message_seq, blob_id, attachment_name) VALUES (?1, ?2, ?3)",
            params![seq, a.blob.id.as_str(), a.name],
        )?;
    }
    for r in &message.recipients {
        tx.execute(
            "INSERT INTO receipts (message_seq, recipient, respond_by_ms) VALUES (?1, ?2, ?3)",
            params![seq, r.as_str(), ms(message.respond_by)],
        )?;
    }
    if let Some(parent) = &message.in_reply_to {
        tx.execute(
            "UPDATE receipts SET responded_ms = ?3, reply_id = ?4
             WHERE message_seq = (SELECT seq FROM messages WHERE id = ?1) AND recipient = ?2 AND responded_ms IS NULL",
            params![parent.as_str(), message.sender.as_str(), ms(message.sent_at), message.id.as_str()],
        )?;
    }
    Ok(seq)
}

const RECEIPT_COLUMNS: &str =
    "r.recipient, r.delivered_ms, r.viewed_ms, r.responded_ms, r.reply_id";

fn receipt_from_row(
    r: &rusqlite::Row<'_>,
    first: usize,
) -> rusqlite::Result<(String, [Option<i64>; 3], Option<String>)> {
    Ok((
        r.get(first)?,
        [r.get(first + 1)?, r.get(first + 2)?, r.get(first + 3)?],
        r.get(first + 4)?,
    ))
}

fn build_receipt(raw: (String, [Option<i64>; 3], Option<String>)) -> Result<Receipt, HubError> {
    let (name, [delivered, viewed, responded], reply) = raw;
    let recipient = UserName::parse(name).map_err(|e| HubError::Internal(e.0))?;
    // The hub keeps only the first response: a reply id, or none for "done".
    let (done, first_reply) = match (from_ms(responded), reply) {
        (Some(at), Some(id)) => (
            None,
            Some((
                at,
                MessageId::parse(id).map_err(|e| HubError::Internal(e.0))?,
            )),
        ),
        (at, _) => (at, None),
    };
    Ok(Receipt::assemble(
        recipient,
        from_ms(delivered),
        from_ms(viewed),
        done,
        first_reply,
    ))
}

/// Marks the recipient's copies delivered (first fetch).
pub fn mark_delivered(conn: &Connection, seqs: &[i64], user: &UserName) -> Result<(), HubError> {
    let now = ms(Utc::now());
    let mut stmt = conn.prepare_cached(
        "UPDATE receipts SET delivered_ms = ?3 WHERE message_seq = ?1 AND recipient = ?2 AND delivered_ms IS NULL",
    )?;
    for seq in seqs {
        stmt.execute(params![seq, user.as_str(), now])?;
    }
    Ok(())
}

/// Which receipt column a recipient action sets.
#[derive(Debug, Clone, Copy)]
pub enum ReceiptAction {
    Viewed,
    Done,
}

/// Applies a recipient action; false when `user` is not a recipient.
pub fn mark(
    conn: &Connection,
    id: &MessageId,
    user: &UserName,
    action: ReceiptAction,
) -> Result<bool, HubError> {
    let now = ms(Utc::now());
    let seq: Option<i64> = conn
        .query_row(
            "SELECT r.message_seq FROM receipts r JOIN messages m ON m.seq = r.message_seq
             WHERE m.id = ?1 AND r.recipient = ?2",
            params![id.as_str(), user.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    let Some(seq) = seq else {
        return Ok(false);
    };
    let sql = match action {
        ReceiptAction::Viewed => {
            "UPDATE receipts SET viewed_ms = COALESCE(viewed_ms, ?3), delivered_ms = COALESCE(delivered_ms, ?3)
             WHERE message_seq = ?1 AND recipient = ?2"
        }
        ReceiptAction::Done => {
            "UPDATE receipts SET responded_ms = COALESCE(responded_ms, ?3), delivered_ms = COALESCE(delivered_ms, ?3)
             WHERE message_seq = ?1 AND recipient = ?2"
        }
    };
    conn.execute(sql, params![seq, user.as_str(), now])?;
    Ok(true)
}

pub fn receipts(conn: &Connection, seq: i64) -> Result<Vec<Receipt>, HubError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {RECEIPT_COLUMNS} FROM receipts r WHERE r.message_seq = ?1 ORDER BY r.recipient"
    ))?;
    let rows = stmt.query_map([seq], |r| receipt_from_row(r, 0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(build_receipt(row?)?);
    }
    Ok(out)
}

/// Where an inbox page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxPosition {
    /// Arrival order, after this sequence number.
    ArrivalAfter(i64),
    /// Newest first, before this sequence number.
    NewestBefore(i64),
    /// Respond-by order, after this (respond_by_ms, seq).
    RespondByAfter(i64, i64),
}

/// One inbox row: the entry plus what its cursor needs.
pub struct InboxRow {
    pub seq: i64,
    pub respond_by_ms: i64,
    pub entry: InboxEntry,
}

/// Up to `limit` entries of `user`'s inbox from `position`.
pub fn inbox(
    conn: &Connection,
    user: &UserName,
    position: InboxPosition,
    limit: u64,
) -> Result<Vec<InboxRow>, HubError> {
    let (filter, order, a, b) = match position {
        InboxPosition::ArrivalAfter(seq) => ("r.message_seq > ?2", "r.message_seq ASC", seq, 0),
        InboxPosition::NewestBefore(seq) => ("r.message_seq < ?2", "r.message_seq DESC", seq, 0),
        InboxPosition::RespondByAfter(t, seq) => (
            "(r.respond_by_ms, r.message_seq) > (?2, ?3)",
            "r.respond_by_ms ASC, r.message_seq ASC",
            t,
            seq,
        ),
    };
    let sql = format!(
        "SELECT r.message_seq, r.respond_by_ms, m.body, {RECEIPT_COLUMNS}
         FROM receipts r JOIN messages m ON m.seq = r.message_seq
         WHERE r.recipient = ?1 AND {filter} AND ?3 = ?3
         ORDER BY {order} LIMIT ?4"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![user.as_str(), a, b, limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            receipt_from_row(r, 3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, respond_by_ms, body, receipt) = row?;
        out.push(InboxRow {
            seq,
            respond_by_ms,
            entry: InboxEntry {
                message: parse_body(&body)?,
                receipt: build_receipt(receipt)?,
            },
        });
    }
    Ok(out)
}

pub fn latest_seq(conn: &Connection) -> Result<i64, HubError> {
    Ok(
        conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM messages", [], |r| {
            r.get(0)
        })?,
    )
}
