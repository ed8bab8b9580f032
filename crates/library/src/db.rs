//! The library database: one SQLite file (WAL) with numbered migrations, holding drafts,
//! the outbox, sent and received messages with their per-recipient state, reminders
//! already given and the inbox sync cursor. Files (clips, posters, downloads) live in
//! [`PigeonHome::files_dir`]; the database only holds their paths.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use pigeon_store::protocol::{BlobId, BlobRef, Message, MessageId, Receipt, UserName};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::error::{LibraryError, Result};
use crate::home::PigeonHome;

/// Each entry moves the schema one version up; never edit one that shipped.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "CREATE TABLE drafts (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        clip_path TEXT NOT NULL,
        playable_path TEXT,
        duration_ms INTEGER,
        state TEXT NOT NULL,              -- recording | ready | queued | sent
        recovered INTEGER NOT NULL DEFAULT 0,
        clip_announced INTEGER NOT NULL DEFAULT 0,
        clip_blob TEXT,
        clip_acknowledged INTEGER NOT NULL DEFAULT 0,
        clip_sealed TEXT                  -- BlobRef as JSON
    );
    CREATE TABLE outbox (
        message_id TEXT PRIMARY KEY,
        draft_id TEXT NOT NULL REFERENCES drafts(id),
        recipients TEXT NOT NULL,         -- JSON list of user names
        subject TEXT NOT NULL,
        body TEXT,
        respond_by TEXT NOT NULL,
        respond_by_tz TEXT NOT NULL,
        in_reply_to TEXT,
        state TEXT NOT NULL,              -- queued | sent | failed
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        failure TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE outbox_attachments (
        message_id TEXT NOT NULL REFERENCES outbox(message_id),
        position INTEGER NOT NULL,
        path TEXT NOT NULL,
        name TEXT NOT NULL,
        content_type TEXT NOT NULL,
        blob TEXT,
        sealed TEXT,
        PRIMARY KEY (message_id, position)
    );
    CREATE TABLE sent (
        message_id TEXT PRIMARY KEY,
        message TEXT NOT NULL,            -- Message as JSON
        thread TEXT NOT NULL,
        sent_at TEXT NOT NULL
    );
    CREATE TABLE sent_recipients (
        message_id TEXT NOT NULL REFERENCES sent(message_id),
        recipient TEXT NOT NULL,
        receipt TEXT NOT NULL,            -- Receipt as JSON
        PRIMARY KEY (message_id, recipient)
    );
    CREATE TABLE received (
        message_id TEXT PRIMARY KEY,
        message TEXT NOT NULL,            -- Message as JSON
        thread TEXT NOT NULL,
        respond_by TEXT NOT NULL,
        arrived_at TEXT NOT NULL,
        viewed_at TEXT,
        responded_at TEXT,
        clip_path TEXT,
        playable_path TEXT,
        poster_path TEXT
    );
    CREATE TABLE received_attachments (
        message_id TEXT NOT NULL REFERENCES received(message_id),
        position INTEGER NOT NULL,
        path TEXT NOT NULL,
        PRIMARY KEY (message_id, position)
    );
    CREATE TABLE reminders_given (
        message_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        given_at TEXT NOT NULL,
        PRIMARY KEY (message_id, kind)
    );
    CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    // 2: a poster travels with a message (uploaded by the sender, downloaded by the
    // recipient at sync), and clips may be downloaded in the background.
    "ALTER TABLE drafts ADD COLUMN poster_path TEXT;      -- the JPEG made from the clip
    ALTER TABLE drafts ADD COLUMN poster_sealed TEXT;    -- BlobRef as JSON, once uploaded
    ALTER TABLE drafts ADD COLUMN poster_skipped TEXT;   -- why the message goes without one
    ALTER TABLE received ADD COLUMN downloaded_at TEXT;  -- clip and every attachment are local
    UPDATE received SET downloaded_at = arrived_at
     WHERE clip_path IS NOT NULL
       AND (SELECT COUNT(*) FROM received_attachments a WHERE a.message_id = received.message_id)
           = json_array_length(message, '$.attachments');",
];

const DRAFT_COLUMNS: &str =
    "id, created_at, clip_path, playable_path, duration_ms, state, recovered,
    clip_announced, clip_blob, clip_acknowledged, clip_sealed, poster_path, poster_sealed,
    poster_skipped";

/// Where a draft stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftState {
    /// The recorder is writing the clip.
    Recording,
    /// A finished clip, not sent yet.
    Ready,
    /// Handed to the outbox.
    Queued,
    Sent,
}

impl DraftState {
    pub fn as_str(self) -> &'static str {
        match self {
            DraftState::Recording => "recording",
            DraftState::Ready => "ready",
            DraftState::Queued => "queued",
            DraftState::Sent => "sent",
        }
    }
    fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "recording" => DraftState::Recording,
            "ready" => DraftState::Ready,
            "queued" => DraftState::Queued,
            "sent" => DraftState::Sent,
            other => return Err(LibraryError::Corrupt(format!("draft state {other:?}"))),
        })
    }
}

/// A recorded (or recording) clip that has not been sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub id: String,
    pub created_at: DateTime<Utc>,
    /// The fragmented MP4 the recorder writes: what is uploaded.
    pub clip_path: PathBuf,
    /// The local player-ready copy.
    pub playable_path: Option<PathBuf>,
    pub duration: Option<Duration>,
    pub state: DraftState,
    /// Whether it came back from a crashed recording.
    pub recovered: bool,
    /// End of the last fragment the recorder announced (bytes that never change).
    pub clip_announced: u64,
    pub clip_blob: Option<BlobId>,
    pub clip_acknowledged: u64,
    pub clip_sealed: Option<BlobRef>,
    /// The still made from the clip to travel with the message.
    pub poster_path: Option<PathBuf>,
    pub poster_sealed: Option<BlobRef>,
    /// Why the message goes without a poster (decided once, before the first commit,
    /// so every retry commits the same message).
    pub poster_skipped: Option<String>,
}

/// Where an outbox entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting to be delivered (retried on every sync).
    Queued,
    Sent,
    /// Stopped for a reason only the user can fix; never retried on its own.
    Failed,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Queued => "queued",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
        }
    }
    fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "queued" => OutboxState::Queued,
            "sent" => OutboxState::Sent,
            "failed" => OutboxState::Failed,
            other => return Err(LibraryError::Corrupt(format!("outbox state {other:?}"))),
        })
    }
}

/// A file to attach, with its upload state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingAttachment {
    pub position: u32,
    pub path: PathBuf,
    pub name: String,
    pub content_type: String,
    pub blob: Option<BlobId>,
    pub sealed: Option<BlobRef>,
}

/// A message on its way out. Its id is chosen and stored before the first commit
/// attempt, so every retry commits the same message and the store keeps one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub message_id: MessageId,
    pub draft_id: String,
    pub recipients: Vec<UserName>,
    pub subject: String,
    pub text: Option<String>,
    pub respond_by: DateTime<Utc>,
    pub respond_by_tz: String,
    pub in_reply_to: Option<MessageId>,
    pub state: OutboxState,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Why it stopped for good (state `Failed`), with what to do.
    pub failure: Option<String>,
    pub created_at: DateTime<Utc>,
    pub attachments: Vec<OutgoingAttachment>,
}

/// What to put in the outbox.
#[derive(Debug, Clone)]
pub struct NewOutgoing {
    pub draft_id: String,
    pub recipients: Vec<UserName>,
    pub subject: String,
    pub text: Option<String>,
    pub respond_by: DateTime<Utc>,
    pub respond_by_tz: String,
    pub in_reply_to: Option<MessageId>,
    /// (path, display name, content type)
    pub attachments: Vec<(PathBuf, String, String)>,
}

/// A message the user sent, with each recipient's receipt as last synced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentMessage {
    pub message: Message,
    pub receipts: Vec<Receipt>,
}

/// A message the user received, with what is known locally about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedMessage {
    pub message: Message,
    pub arrived_at: DateTime<Utc>,
    pub viewed_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub clip_path: Option<PathBuf>,
    pub playable_path: Option<PathBuf>,
    /// The sender's poster (downloaded at sync) or, for messages that came without one,
    /// a still made from the clip when it was downloaded.
    pub poster_path: Option<PathBuf>,
    /// Downloaded attachments, by position.
    pub attachment_paths: Vec<Option<PathBuf>>,
    /// When the clip and every attachment were all downloaded.
    pub downloaded_at: Option<DateTime<Utc>>,
}

/// One user's local library. Cheap to share: one connection behind a mutex, held only
/// for single statements or short transactions (never across a network call).
#[derive(Debug)]
pub struct Library {
    conn: Mutex<Connection>,
    files_dir: PathBuf,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A moment in a received message's life. Only the first time counts: a later
/// download, view or answer never moves it.
#[derive(Debug, Clone, Copy)]
enum Milestone {
    Downloaded,
    Viewed,
    Responded,
}

fn record_first(
    conn: &Connection,
    id: &MessageId,
    milestone: Milestone,
    at: DateTime<Utc>,
) -> Result<()> {
    // One fixed statement per milestone: no column name is ever spliced into SQL.
    let sql = match milestone {
        Milestone::Downloaded => {
            "UPDATE received SET downloaded_at = COALESCE(downloaded_at, ?2) WHERE message_id = ?1"
        }
        Milestone::Viewed => {
            "UPDATE received SET viewed_at = COALESCE(viewed_at, ?2) WHERE message_id = ?1"
        }
        Milestone::Responded => {
            "UPDATE received SET responded_at = COALESCE(responded_at, ?2) WHERE message_id = ?1"
        }
    };
    conn.execute(sql, params![id.as_str(), ts(at)])?;
    Ok(())
}

fn parse_ts(text: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| LibraryError::Corrupt(e.to_string()))
}

fn from_json<T: for<'de> Deserialize<'de>>(text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn id_from_sql<T, E: std::error::Error + Send + Sync + 'static>(
    parse: impl Fn(String) -> std::result::Result<T, E>,
    text: String,
) -> rusqlite::Result<T> {
    parse(text).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// A table whose rows users name by a short id prefix, and the words for its errors.
struct ShortIds {
    table: &'static str,
    column: &'static str,
    what: &'static str,
    plural: &'static str,
    /// The `pigeon` command that lists them.
    list: &'static str,
}

const DRAFTS: ShortIds = ShortIds {
    table: "drafts",
    column: "id",
    what: "draft",
    plural: "drafts",
    list: "drafts",
};
const OUTBOX: ShortIds = ShortIds {
    table: "outbox",
    column: "message_id",
    what: "outgoing message",
    plural: "messages",
    list: "status",
};
const RECEIVED: ShortIds = ShortIds {
    table: "received",
    column: "message_id",
    what: "received message",
    plural: "messages",
    list: "inbox",
};

impl Library {
    /// Opens (creating if needed) the library of `home`, bringing its schema up to date.
    pub fn open(home: &PigeonHome) -> Result<Self> {
        home.create()
            .map_err(|e| LibraryError::Invalid(e.to_string()))?;
        Self::open_at(&home.database_file(), &home.files_dir())
    }

    /// Opens a library database at `path` whose files live in `files_dir`.
    pub fn open_at(path: &Path, files_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(files_dir).map_err(|e| LibraryError::io(files_dir, e))?;
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Several `pigeon` processes of one user may meet (a sync while a send runs).
        conn.busy_timeout(Duration::from_secs(10))?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            files_dir: files_dir.to_path_buf(),
        })
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (statements are atomic).
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The folder of clips, posters and downloads.
    pub fn files_dir(&self) -> &Path {
        &self.files_dir
    }

    // ---- drafts ----

    /// Creates a draft for a recording that starts now; the recorder writes `clip_path`.
    pub fn create_draft(&self, now: DateTime<Utc>) -> Result<Draft> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = self.files_dir.join("drafts");
        std::fs::create_dir_all(&dir).map_err(|e| LibraryError::io(&dir, e))?;
        let clip_path = dir.join(format!("{id}.mp4"));
        self.conn().execute(
            "INSERT INTO drafts (id, created_at, clip_path, state) VALUES (?1, ?2, ?3, 'recording')",
            params![id, ts(now), clip_path.to_string_lossy()],
        )?;
        self.draft(&id)
    }

    /// A draft by id or by a unique prefix of its id.
    pub fn draft(&self, id_or_prefix: &str) -> Result<Draft> {
        let id = self.resolve_id(&DRAFTS, id_or_prefix)?;
        let conn = self.conn();
        let draft = conn.query_row(
            &format!("SELECT {DRAFT_COLUMNS} FROM drafts WHERE id = ?1"),
            [&id],
            row_to_draft,
        )?;
        Ok(draft)
    }

    /// The full id that `id_or_prefix` names in `kind`'s table: exactly one must match.
    fn resolve_id(&self, kind: &ShortIds, id_or_prefix: &str) -> Result<String> {
        // Ids never contain LIKE's wildcards, so dropping them cannot hide a match.
        let pattern = id_or_prefix.replace(['%', '_', '\\'], "");
        let ids: Vec<String> = {
            let conn = self.conn();
            let mut stmt = conn.prepare(&format!(
                "SELECT {column} FROM {table} WHERE {column} LIKE ?1 || '%' LIMIT 2",
                column = kind.column,
                table = kind.table,
            ))?;
            let ids = stmt
                .query_map([&pattern], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids
        };
        match ids.as_slice() {
            [id] if !pattern.is_empty() => Ok(id.clone()),
            [_, _] => Err(LibraryError::Invalid(format!(
                "{id_or_prefix:?} matches several {}: type more of the id (see `pigeon {}`)",
                kind.plural, kind.list
            ))),
            _ => Err(LibraryError::NotFound {
                what: kind.what,
                id: id_or_prefix.to_owned(),
                list: kind.list,
            }),
        }
    }

    /// Every draft not sent yet, oldest first.
    pub fn drafts(&self) -> Result<Vec<Draft>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {DRAFT_COLUMNS} FROM drafts WHERE state != 'sent' ORDER BY created_at"
        ))?;
        let rows = stmt
            .query_map([], row_to_draft)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The recorder announced bytes `..end` of the clip: they will never change.
    pub fn set_clip_announced(&self, draft: &str, end: u64) -> Result<()> {
        self.conn().execute(
            "UPDATE drafts SET clip_announced = MAX(clip_announced, ?2) WHERE id = ?1",
            params![draft, end as i64],
        )?;
        Ok(())
    }

    /// The store has a blob for the clip (persisted so a restart resumes it).
    pub fn set_clip_blob(&self, draft: &str, blob: &BlobId) -> Result<()> {
        self.conn().execute(
            "UPDATE drafts SET clip_blob = ?2, clip_acknowledged = 0 WHERE id = ?1",
            params![draft, blob.as_str()],
        )?;
        Ok(())
    }

    pub fn set_clip_acknowledged(&self, draft: &str, acknowledged: u64) -> Result<()> {
        self.conn().execute(
            "UPDATE drafts SET clip_acknowledged = ?2 WHERE id = ?1",
            params![draft, acknowledged as i64],
        )?;
        Ok(())
    }

    pub fn set_clip_sealed(&self, draft: &str, sealed: &BlobRef) -> Result<()> {
        self.conn().execute(
            "UPDATE drafts SET clip_sealed = ?2, clip_acknowledged = ?3 WHERE id = ?1",
            params![draft, json(sealed)?, sealed.size as i64],
        )?;
        Ok(())
    }

    /// The poster JPEG of the draft's clip was written to `path`.
    pub fn set_draft_poster(&self, draft: &str, path: &Path) -> Result<()> {
        self.conn().execute(
            "UPDATE drafts SET poster_path = ?2 WHERE id = ?1",
            params![draft, path.to_string_lossy()],
        )?;
        Ok(())
    }

    /// The store sealed the draft's poster: every commit of the message references it.
    pub fn set_poster_sealed(&self, draft: &str, sealed: &BlobRef) -> Result<()> {
        self.conn().execute(
            "UPDATE drafts SET poster_sealed = ?2, poster_skipped = NULL WHERE id = ?1",
            params![draft, json(sealed)?],
        )?;
        Ok(())
    }

    /// The message goes without a poster, for `reason`.
    pub fn set_poster_skipped(&self, draft: &str, reason: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE drafts SET poster_skipped = ?2 WHERE id = ?1 AND poster_sealed IS NULL",
            params![draft, reason],
        )?;
        Ok(())
    }

    /// The recording ended (cleanly or recovered): the draft is ready to send.
    pub fn finish_draft(
        &self,
        draft: &str,
        duration: Duration,
        playable: Option<&Path>,
        recovered: bool,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE drafts SET state = 'ready', duration_ms = ?2, playable_path = ?3, recovered = ?4
             WHERE id = ?1",
            params![
                draft,
                duration.as_millis() as i64,
                playable.map(|p| p.to_string_lossy().into_owned()),
                recovered
            ],
        )?;
        Ok(())
    }

    /// Forgets a draft whose recording produced nothing usable.
    pub fn delete_draft(&self, draft: &str) -> Result<()> {
        self.conn()
            .execute("DELETE FROM drafts WHERE id = ?1", params![draft])?;
        Ok(())
    }

    /// Drafts whose recorder process is gone without finishing (a crash, a kill).
    pub fn unfinished_recordings(&self) -> Result<Vec<Draft>> {
        Ok(self
            .drafts()?
            .into_iter()
            .filter(|d| {
                d.state == DraftState::Recording
                    && pigeon_media::recovery::is_unfinished(&d.clip_path)
            })
            .collect())
    }

    // ---- outbox ----

    /// Queues a draft as a message. The message id is chosen and stored here, before
    /// anything is committed, so every later attempt commits the same message.
    pub fn queue(&self, new: &NewOutgoing, now: DateTime<Utc>) -> Result<OutboxEntry> {
        let id = MessageId::parse(uuid::Uuid::new_v4().simple().to_string())
            .map_err(|e| LibraryError::Corrupt(e.0))?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let state: Option<String> = tx
            .query_row(
                "SELECT state FROM drafts WHERE id = ?1",
                params![new.draft_id],
                |r| r.get(0),
            )
            .optional()?;
        match state.as_deref() {
            Some("ready") => {}
            Some("recording") => {
                return Err(LibraryError::Invalid(format!(
                    "draft {} is still being recorded: stop the recording first",
                    new.draft_id
                )))
            }
            Some(_) => {
                return Err(LibraryError::Invalid(format!(
                    "draft {} was already sent or queued: see `pigeon drafts` and `pigeon status`",
                    new.draft_id
                )))
            }
            None => {
                return Err(LibraryError::NotFound {
                    what: "draft",
                    id: new.draft_id.clone(),
                    list: "drafts",
                })
            }
        }
        tx.execute(
            "INSERT INTO outbox (message_id, draft_id, recipients, subject, body, respond_by,
                                 respond_by_tz, in_reply_to, state, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'queued', ?9)",
            params![
                id.as_str(),
                new.draft_id,
                json(&new.recipients)?,
                new.subject,
                new.text,
                ts(new.respond_by),
                new.respond_by_tz,
                new.in_reply_to.as_ref().map(|m| m.as_str().to_owned()),
                ts(now)
            ],
        )?;
        for (position, (path, name, content_type)) in new.attachments.iter().enumerate() {
            tx.execute(
                "INSERT INTO outbox_attachments (message_id, position, path, name, content_type)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    id.as_str(),
                    position as i64,
                    path.to_string_lossy(),
                    name,
                    content_type
                ],
            )?;
        }
        tx.execute(
            "UPDATE drafts SET state = 'queued' WHERE id = ?1",
            params![new.draft_id],
        )?;
        tx.commit()?;
        drop(conn);
        self.outbox_entry(id.as_str())
    }

    /// An outbox entry by message id or a unique prefix of it.
    pub fn outbox_entry(&self, id_or_prefix: &str) -> Result<OutboxEntry> {
        let id = self.resolve_id(&OUTBOX, id_or_prefix)?;
        self.load_outbox_entry(&id)
    }

    /// A message sent (or being sent) from this library, by id or a unique prefix. When
    /// none matches, the error says whether the id is a message the user received or
    /// one this library does not know, and what to do.
    pub fn sent_from_here(&self, id_or_prefix: &str) -> Result<OutboxEntry> {
        match self.outbox_entry(id_or_prefix) {
            Err(LibraryError::NotFound { .. }) => {}
            found => return found,
        }
        if let Ok(received) = self.received(id_or_prefix) {
            let id = received.message.id;
            return Err(LibraryError::NotSentHere(format!(
                "{id} is a message you received from {}, not one you sent: see it with `pigeon show {id}`; \
                 `pigeon status` (without an id) lists the messages sent from here",
                received.message.sender
            )));
        }
        Err(LibraryError::NotSentHere(format!(
            "no message sent from this library matches {id_or_prefix:?}: `pigeon status` (without an id) \
             lists the messages sent from here; for a message sent from another computer or \
             PIGEON_HOME, give its whole id or ask for its status there"
        )))
    }

    fn load_outbox_entry(&self, id: &str) -> Result<OutboxEntry> {
        let conn = self.conn();
        let mut entry = conn.query_row(
            "SELECT message_id, draft_id, recipients, subject, body, respond_by, respond_by_tz,
                    in_reply_to, state, attempts, last_error, failure, created_at
             FROM outbox WHERE message_id = ?1",
            params![id],
            |r| {
                Ok((
                    OutboxEntry {
                        message_id: id_from_sql(MessageId::parse, r.get(0)?)?,
                        draft_id: r.get(1)?,
                        recipients: from_json(&r.get::<_, String>(2)?)?,
                        subject: r.get(3)?,
                        text: r.get(4)?,
                        respond_by: parse_ts(&r.get::<_, String>(5)?)?,
                        respond_by_tz: r.get(6)?,
                        in_reply_to: r
                            .get::<_, Option<String>>(7)?
                            .map(|t| id_from_sql(MessageId::parse, t))
                            .transpose()?,
                        state: OutboxState::Queued,
                        attempts: r.get(9)?,
                        last_error: r.get(10)?,
                        failure: r.get(11)?,
                        created_at: parse_ts(&r.get::<_, String>(12)?)?,
                        attachments: Vec::new(),
                    },
                    r.get::<_, String>(8)?,
                ))
            },
        )?;
        entry.0.state = OutboxState::parse(&entry.1)?;
        let mut stmt = conn.prepare(
            "SELECT position, path, name, content_type, blob, sealed FROM outbox_attachments
             WHERE message_id = ?1 ORDER BY position",
        )?;
        entry.0.attachments = stmt
            .query_map(params![id], |r| {
                Ok(OutgoingAttachment {
                    position: r.get(0)?,
                    path: PathBuf::from(r.get::<_, String>(1)?),
                    name: r.get(2)?,
                    content_type: r.get(3)?,
                    blob: r
                        .get::<_, Option<String>>(4)?
                        .map(|t| id_from_sql(BlobId::parse, t))
                        .transpose()?,
                    sealed: r
                        .get::<_, Option<String>>(5)?
                        .map(|t| from_json(&t))
                        .transpose()?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(entry.0)
    }

    /// Message ids of every entry still waiting to be delivered, oldest first.
    pub fn queued(&self) -> Result<Vec<MessageId>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT message_id FROM outbox WHERE state = 'queued' ORDER BY created_at")?;
        let ids = stmt
            .query_map([], |r| id_from_sql(MessageId::parse, r.get(0)?))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// Every outbox entry, newest first.
    pub fn outbox(&self) -> Result<Vec<OutboxEntry>> {
        let ids: Vec<String> = {
            let conn = self.conn();
            let mut stmt =
                conn.prepare("SELECT message_id FROM outbox ORDER BY created_at DESC")?;
            let ids = stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids
        };
        ids.iter().map(|id| self.load_outbox_entry(id)).collect()
    }

    pub fn set_attachment_blob(
        &self,
        message: &MessageId,
        position: u32,
        blob: &BlobId,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox_attachments SET blob = ?3 WHERE message_id = ?1 AND position = ?2",
            params![message.as_str(), position, blob.as_str()],
        )?;
        Ok(())
    }

    pub fn set_attachment_sealed(
        &self,
        message: &MessageId,
        position: u32,
        sealed: &BlobRef,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox_attachments SET sealed = ?3 WHERE message_id = ?1 AND position = ?2",
            params![message.as_str(), position, json(sealed)?],
        )?;
        Ok(())
    }

    /// A delivery attempt failed in a way that may pass (offline, hub down).
    pub fn record_attempt_error(&self, message: &MessageId, error: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE message_id = ?1",
            params![message.as_str(), error],
        )?;
        Ok(())
    }

    /// The store refused the message for a reason the user must fix.
    pub fn record_failure(&self, message: &MessageId, reason: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, state = 'failed', failure = ?2, last_error = ?2
             WHERE message_id = ?1",
            params![message.as_str(), reason],
        )?;
        Ok(())
    }

    /// The store committed the message: it moves from the outbox to the sent list.
    pub fn record_sent(&self, message: &Message) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let draft: String = tx.query_row(
            "SELECT draft_id FROM outbox WHERE message_id = ?1",
            params![message.id.as_str()],
            |r| r.get(0),
        )?;
        tx.execute(
            "UPDATE outbox SET state = 'sent', attempts = attempts + 1, last_error = NULL
             WHERE message_id = ?1",
            params![message.id.as_str()],
        )?;
        tx.execute(
            "UPDATE drafts SET state = 'sent' WHERE id = ?1",
            params![draft],
        )?;
        tx.execute(
            "INSERT OR IGNORE INTO sent (message_id, message, thread, sent_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                message.id.as_str(),
                json(message)?,
                message.thread.as_str(),
                ts(message.sent_at)
            ],
        )?;
        for recipient in &message.recipients {
            tx.execute(
                "INSERT OR IGNORE INTO sent_recipients (message_id, recipient, receipt) VALUES (?1, ?2, ?3)",
                params![
                    message.id.as_str(),
                    recipient.as_str(),
                    json(&Receipt::new(recipient.clone()))?
                ],
            )?;
        }
        if let Some(original) = &message.in_reply_to {
            // Answering a received message responds to it.
            record_first(&tx, original, Milestone::Responded, message.sent_at)?;
        }
        tx.commit()?;
        Ok(())
    }

    // ---- sent ----

    pub fn sent_message(&self, id: &MessageId) -> Result<Option<SentMessage>> {
        let conn = self.conn();
        let message: Option<Message> = conn
            .query_row(
                "SELECT message FROM sent WHERE message_id = ?1",
                params![id.as_str()],
                |r| from_json(&r.get::<_, String>(0)?),
            )
            .optional()?;
        let Some(message) = message else {
            return Ok(None);
        };
        let mut stmt = conn.prepare(
            "SELECT receipt FROM sent_recipients WHERE message_id = ?1 ORDER BY recipient",
        )?;
        let receipts = stmt
            .query_map(params![id.as_str()], |r| from_json(&r.get::<_, String>(0)?))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(SentMessage { message, receipts }))
    }

    /// Ids of every sent message, newest first.
    pub fn sent_ids(&self) -> Result<Vec<MessageId>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT message_id FROM sent ORDER BY sent_at DESC")?;
        let ids = stmt
            .query_map([], |r| id_from_sql(MessageId::parse, r.get(0)?))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    pub fn update_receipts(&self, id: &MessageId, receipts: &[Receipt]) -> Result<()> {
        let conn = self.conn();
        for receipt in receipts {
            conn.execute(
                "INSERT INTO sent_recipients (message_id, recipient, receipt) VALUES (?1, ?2, ?3)
                 ON CONFLICT (message_id, recipient) DO UPDATE SET receipt = excluded.receipt",
                params![id.as_str(), receipt.recipient.as_str(), json(receipt)?],
            )?;
        }
        Ok(())
    }

    // ---- received ----

    /// Stores (or refreshes) a received message and the state the store knows of it.
    pub fn store_received(
        &self,
        message: &Message,
        receipt: &Receipt,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let conn = self.conn();
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO received (message_id, message, thread, respond_by, arrived_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                message.id.as_str(),
                json(message)?,
                message.thread.as_str(),
                ts(message.respond_by),
                ts(now)
            ],
        )? == 1;
        conn.execute(
            "UPDATE received SET viewed_at = COALESCE(viewed_at, ?2),
                                 responded_at = COALESCE(responded_at, ?3)
             WHERE message_id = ?1",
            params![
                message.id.as_str(),
                receipt.viewed_at.map(ts),
                receipt.responded_at.map(ts)
            ],
        )?;
        Ok(inserted)
    }

    /// A received message by id or a unique prefix of it.
    pub fn received(&self, id_or_prefix: &str) -> Result<ReceivedMessage> {
        let id = self.resolve_id(&RECEIVED, id_or_prefix)?;
        self.load_received(&id)
    }

    fn load_received(&self, id: &str) -> Result<ReceivedMessage> {
        let conn = self.conn();
        let mut received = conn.query_row(
            "SELECT message, arrived_at, viewed_at, responded_at, clip_path, playable_path, poster_path,
                    downloaded_at
             FROM received WHERE message_id = ?1",
            params![id],
            |r| {
                let opt_ts = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
                    r.get::<_, Option<String>>(i)?.map(|t| parse_ts(&t)).transpose()
                };
                let opt_path = |i: usize| -> rusqlite::Result<Option<PathBuf>> {
                    Ok(r.get::<_, Option<String>>(i)?.map(PathBuf::from))
                };
                Ok(ReceivedMessage {
                    message: from_json(&r.get::<_, String>(0)?)?,
                    arrived_at: parse_ts(&r.get::<_, String>(1)?)?,
                    viewed_at: opt_ts(2)?,
                    responded_at: opt_ts(3)?,
                    clip_path: opt_path(4)?,
                    playable_path: opt_path(5)?,
                    poster_path: opt_path(6)?,
                    attachment_paths: Vec::new(),
                    downloaded_at: opt_ts(7)?,
                })
            },
        )?;
        let mut paths = vec![None; received.message.attachments.len()];
        let mut stmt =
            conn.prepare("SELECT position, path FROM received_attachments WHERE message_id = ?1")?;
        let rows = stmt.query_map(params![id], |r| {
            Ok((r.get::<_, u32>(0)?, PathBuf::from(r.get::<_, String>(1)?)))
        })?;
        for row in rows {
            let (position, path) = row?;
            if let Some(slot) = paths.get_mut(position as usize) {
                *slot = Some(path);
            }
        }
        received.attachment_paths = paths;
        Ok(received)
    }

    /// Every received message (unordered: see [`crate::inbox_order`]).
    pub fn received_all(&self) -> Result<Vec<ReceivedMessage>> {
        let ids: Vec<String> = {
            let conn = self.conn();
            let mut stmt = conn.prepare("SELECT message_id FROM received")?;
            let ids = stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids
        };
        ids.iter().map(|id| self.load_received(id)).collect()
    }

    /// Ids of received messages whose sender's poster is not downloaded yet.
    pub fn posters_missing(&self) -> Result<Vec<MessageId>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT message_id FROM received
             WHERE poster_path IS NULL AND json_extract(message, '$.poster') IS NOT NULL
             ORDER BY arrived_at",
        )?;
        let ids = stmt
            .query_map([], |r| id_from_sql(MessageId::parse, r.get(0)?))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// Ids of received messages whose clip or attachments are not all downloaded,
    /// oldest arrival first.
    pub fn not_downloaded(&self) -> Result<Vec<MessageId>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT message_id FROM received WHERE downloaded_at IS NULL ORDER BY arrived_at",
        )?;
        let ids = stmt
            .query_map([], |r| id_from_sql(MessageId::parse, r.get(0)?))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    pub fn set_received_poster(&self, id: &MessageId, poster: &Path) -> Result<()> {
        self.conn().execute(
            "UPDATE received SET poster_path = ?2 WHERE message_id = ?1",
            params![id.as_str(), poster.to_string_lossy()],
        )?;
        Ok(())
    }

    /// The clip and every attachment of a received message are on disk.
    pub fn set_received_downloaded(&self, id: &MessageId, now: DateTime<Utc>) -> Result<()> {
        record_first(&self.conn(), id, Milestone::Downloaded, now)
    }

    /// Records the downloaded clip; `poster` (one made locally) only fills a missing
    /// poster, never replaces the sender's.
    pub fn set_received_clip(
        &self,
        id: &MessageId,
        clip: &Path,
        playable: &Path,
        poster: Option<&Path>,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE received SET clip_path = ?2, playable_path = ?3,
                                 poster_path = COALESCE(poster_path, ?4)
             WHERE message_id = ?1",
            params![
                id.as_str(),
                clip.to_string_lossy(),
                playable.to_string_lossy(),
                poster.map(|p| p.to_string_lossy().into_owned())
            ],
        )?;
        Ok(())
    }

    pub fn set_received_attachment(
        &self,
        id: &MessageId,
        position: u32,
        path: &Path,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO received_attachments (message_id, position, path) VALUES (?1, ?2, ?3)
             ON CONFLICT (message_id, position) DO UPDATE SET path = excluded.path",
            params![id.as_str(), position, path.to_string_lossy()],
        )?;
        Ok(())
    }

    pub fn mark_viewed(&self, id: &MessageId, now: DateTime<Utc>) -> Result<()> {
        record_first(&self.conn(), id, Milestone::Viewed, now)
    }

    pub fn mark_responded(&self, id: &MessageId, now: DateTime<Utc>) -> Result<()> {
        record_first(&self.conn(), id, Milestone::Responded, now)
    }

    // ---- reminders and sync state ----

    /// Records that a reminder was given; false if it had been given already.
    pub fn remember_reminder(
        &self,
        message: &MessageId,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        Ok(self.conn().execute(
            "INSERT OR IGNORE INTO reminders_given (message_id, kind, given_at) VALUES (?1, ?2, ?3)",
            params![message.as_str(), kind, ts(now)],
        )? == 1)
    }

    pub fn reminder_given(&self, message: &MessageId, kind: &str) -> Result<bool> {
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM reminders_given WHERE message_id = ?1 AND kind = ?2",
                params![message.as_str(), kind],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    pub fn sync_value(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT value FROM sync_state WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn set_sync_value(&self, key: &str, value: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

fn row_to_draft(r: &rusqlite::Row<'_>) -> rusqlite::Result<Draft> {
    Ok(Draft {
        id: r.get(0)?,
        created_at: parse_ts(&r.get::<_, String>(1)?)?,
        clip_path: PathBuf::from(r.get::<_, String>(2)?),
        playable_path: r.get::<_, Option<String>>(3)?.map(PathBuf::from),
        duration: r
            .get::<_, Option<i64>>(4)?
            .map(|ms| Duration::from_millis(ms.max(0) as u64)),
        state: DraftState::parse(&r.get::<_, String>(5)?)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
        recovered: r.get(6)?,
        clip_announced: r.get::<_, i64>(7)?.max(0) as u64,
        clip_blob: r
            .get::<_, Option<String>>(8)?
            .map(|t| id_from_sql(BlobId::parse, t))
            .transpose()?,
        clip_acknowledged: r.get::<_, i64>(9)?.max(0) as u64,
        clip_sealed: r
            .get::<_, Option<String>>(10)?
            .map(|t| from_json(&t))
            .transpose()?,
        poster_path: r.get::<_, Option<String>>(11)?.map(PathBuf::from),
        poster_sealed: r
            .get::<_, Option<String>>(12)?
            .map(|t| from_json(&t))
            .transpose()?,
        poster_skipped: r.get(13)?,
    })
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version as usize > MIGRATIONS.len() {
        return Err(LibraryError::Corrupt(format!(
            "schema version {version} (this Pigeon knows {}): update Pigeon",
            MIGRATIONS.len()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "library schema migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library() -> (tempfile::TempDir, Library) {
        let dir = tempfile::tempdir().unwrap();
        let lib = Library::open(&PigeonHome::at(dir.path())).unwrap();
        (dir, lib)
    }

    #[test]
    fn reopening_keeps_the_schema_and_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let home = PigeonHome::at(dir.path());
        let id = Library::open(&home)
            .unwrap()
            .create_draft(Utc::now())
            .unwrap()
            .id;
        let lib = Library::open(&home).unwrap();
        assert_eq!(lib.draft(&id[..6]).unwrap().state, DraftState::Recording);
    }

    #[test]
    fn queueing_persists_a_message_id_and_refuses_a_second_send() {
        let (_dir, lib) = library();
        let draft = lib.create_draft(Utc::now()).unwrap();
        let new = NewOutgoing {
            draft_id: draft.id.clone(),
            recipients: vec![UserName::parse("bob").unwrap()],
            subject: "plan".into(),
            text: None,
            respond_by: Utc::now(),
            respond_by_tz: "UTC".into(),
            in_reply_to: None,
            attachments: vec![],
        };
        let error = lib.queue(&new, Utc::now()).unwrap_err();
        assert!(
            error.to_string().contains("still being recorded"),
            "{error}"
        );
        lib.finish_draft(&draft.id, Duration::from_secs(3), None, false)
            .unwrap();
        let entry = lib.queue(&new, Utc::now()).unwrap();
        assert_eq!(lib.queued().unwrap(), vec![entry.message_id.clone()]);
        assert_eq!(lib.outbox_entry(entry.message_id.as_str()).unwrap(), entry);
        assert!(lib.queue(&new, Utc::now()).is_err());
        assert_eq!(lib.queued().unwrap().len(), 1);
    }

    #[test]
    fn a_library_from_before_posters_keeps_what_was_downloaded() {
        let dir = tempfile::tempdir().unwrap();
        let home = PigeonHome::at(dir.path());
        home.create().unwrap();
        {
            let conn = Connection::open(home.database_file()).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            let message = r#"{"id":"0123456789abcdef","sender":"alice","recipients":["bob"],
                "subject":"s","text":null,"clip":{"id":"0123456789abcdef0","kind":"clip",
                "size":1,"sha256":"00","content_type":"video/mp4"},"attachments":[],
                "respond_by":"2030-01-01T00:00:00Z","respond_by_tz":"UTC","in_reply_to":null,
                "thread":"0123456789abcdef","sent_at":"2029-12-31T00:00:00Z"}"#;
            for (id, clip) in [
                ("0123456789abcdef", Some("/c.mp4")),
                ("fedcba9876543210", None),
            ] {
                conn.execute(
                    "INSERT INTO received (message_id, message, thread, respond_by, arrived_at, clip_path)
                     VALUES (?1, ?2, ?1, '2030-01-01T00:00:00Z', '2029-12-31T00:00:00Z', ?3)",
                    params![id, message.replace("0123456789abcdef\",\"sender", &format!("{id}\",\"sender")), clip],
                )
                .unwrap();
            }
        }
        let lib = Library::open(&home).unwrap();
        let fetched = lib.received("0123").unwrap();
        assert!(fetched.downloaded_at.is_some(), "fetched before: not again");
        assert_eq!(fetched.message.poster, None, "an old message has no poster");
        assert_eq!(
            lib.not_downloaded().unwrap(),
            vec![MessageId::parse("fedcba9876543210").unwrap()]
        );
        assert!(lib.posters_missing().unwrap().is_empty());
    }

    #[test]
    fn status_of_a_message_not_sent_from_here_says_what_to_do() {
        let (_dir, lib) = library();
        let error = lib.sent_from_here("0123").unwrap_err().to_string();
        assert!(error.contains("`pigeon status` (without an id)"), "{error}");
        assert!(error.contains("whole id"), "{error}");
    }

    #[test]
    fn reminders_are_remembered_once() {
        let (_dir, lib) = library();
        let id = MessageId::parse("0123456789abcdef").unwrap();
        assert!(lib.remember_reminder(&id, "due_soon", Utc::now()).unwrap());
        assert!(!lib.remember_reminder(&id, "due_soon", Utc::now()).unwrap());
        assert!(lib.reminder_given(&id, "due_soon").unwrap());
        assert!(!lib.reminder_given(&id, "overdue").unwrap());
    }
}
