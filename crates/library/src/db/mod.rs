//! The library database: one SQLite file (WAL) with numbered migrations, holding drafts,
//! the outbox, sent and received messages with their per-recipient state, reminders
//! already given and the inbox sync cursor. Files (clips, posters, downloads) live in
//! [`PigeonHome::files_dir`]; the database only holds their paths.
//!
//! The schema's versions are in [`migrations`]. One module per table group: [`drafts`],
//! [`outbox`] (queued messages and their attachments), [`sent`], [`received`], [`sync`]
//! (reminders given, the inbox cursor), [`reactions`] (reaction records seen, and the
//! user's own until shared).
//!
//! Two connections: every write goes through one (statements and short transactions,
//! never across a network call), every read through the other. In WAL mode a reader
//! never waits for a writer, so the views render while a write waits on another
//! process's lock (`busy_timeout`).

mod deadlines;
mod drafts;
mod migrations;
mod outbox;
mod reactions;
mod received;
mod sent;
mod sync;
pub(crate) mod transcripts;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use pigeon_store::protocol::MessageId;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};

#[cfg(test)]
pub(crate) use deadlines::as_committed;
pub(crate) use deadlines::take_unannounced_deadline_records_in;
pub use deadlines::{DeadlineState, PendingDeadlineRecord};
pub use drafts::{Draft, DraftState};
// The migrations' tests replay older schemas.
use migrations::migrate;
#[cfg(test)]
pub(crate) use migrations::MIGRATIONS;
pub use outbox::{NewOutgoing, OutboxEntry, OutboxState, OutgoingAttachment};
pub(crate) use reactions::take_unannounced_reactions_in;
pub use reactions::{OutgoingRecord, QueuedRecord};
pub(crate) use received::take_unannounced_in;
pub use received::ReceivedMessage;
pub use sent::SentMessage;

use crate::error::{LibraryError, Result};
use crate::home::PigeonHome;

/// One user's local library. Cheap to share: a write connection and a read connection,
/// each behind a mutex held only for single statements or short transactions (never
/// across a network call).
#[derive(Debug)]
pub struct Library {
    conn: Mutex<Connection>,
    reader: Mutex<Connection>,
    files_dir: PathBuf,
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A moment in a received message's life. Only the first time counts: a later
/// download, view or answer never moves it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Milestone {
    Downloaded,
    Viewed,
    Responded,
}

pub(crate) fn record_first(
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

pub(crate) fn parse_ts(text: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

pub(crate) fn json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| LibraryError::Corrupt(e.to_string()))
}

pub(crate) fn from_json<T: for<'de> Deserialize<'de>>(text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// A message this library received or sent, by id.
pub(crate) fn stored_message(
    conn: &Connection,
    id: &MessageId,
) -> Result<Option<pigeon_store::protocol::Message>> {
    let json: Option<String> = conn
        .query_row(
            "SELECT message FROM received WHERE message_id = ?1
             UNION ALL
             SELECT message FROM sent WHERE message_id = ?1
             LIMIT 1",
            params![id.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(json.map(|j| from_json(&j)).transpose()?)
}

pub(crate) fn id_from_sql<T, E: std::error::Error + Send + Sync + 'static>(
    parse: impl Fn(String) -> std::result::Result<T, E>,
    text: String,
) -> rusqlite::Result<T> {
    parse(text).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// A table whose rows users name by a short id prefix, and the words for its errors.
pub(crate) struct ShortIds {
    /// Finds the id itself.
    exact: &'static str,
    /// Finds up to two ids starting with `?1`, compared byte for byte (`substr` and `=`
    /// use the binary collation; `LIKE` would ignore case and treat `_` as a wildcard).
    prefix: &'static str,
    what: &'static str,
    plural: &'static str,
    /// The `pigeon` command that lists them.
    list: &'static str,
}

impl ShortIds {
    fn statements(&self) -> (&'static str, &'static str) {
        (self.exact, self.prefix)
    }

    fn not_found(&self, id: &str) -> LibraryError {
        LibraryError::NotFound {
            what: self.what,
            id: id.to_owned(),
            list: self.list,
        }
    }
}

pub(crate) const DRAFTS: ShortIds = ShortIds {
    exact: "SELECT id FROM drafts WHERE id = ?1",
    prefix: "SELECT id FROM drafts WHERE substr(id, 1, length(?1)) = ?1 LIMIT 2",
    what: "draft",
    plural: "drafts",
    list: "drafts",
};
pub(crate) const OUTBOX: ShortIds = ShortIds {
    exact: "SELECT message_id FROM outbox WHERE message_id = ?1",
    prefix: "SELECT message_id FROM outbox WHERE substr(message_id, 1, length(?1)) = ?1 LIMIT 2",
    what: "outgoing message",
    plural: "messages",
    list: "status",
};
pub(crate) const RECEIVED: ShortIds = ShortIds {
    exact: "SELECT message_id FROM received WHERE message_id = ?1",
    prefix: "SELECT message_id FROM received WHERE substr(message_id, 1, length(?1)) = ?1 LIMIT 2",
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
        conn.busy_timeout(WRITE_WAITS_FOR_LOCK)?;
        migrate(&mut conn)?;
        // Opened after the migrations, so it never sees an old schema.
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        // A WAL reader only waits in rare moments (another process recovering the WAL).
        reader.busy_timeout(READ_WAITS_FOR_LOCK)?;
        reader.pragma_update(None, "query_only", "ON")?;
        Ok(Self {
            conn: Mutex::new(conn),
            reader: Mutex::new(reader),
            files_dir: files_dir.to_path_buf(),
        })
    }

    /// The write connection. Reads that are part of a write (a transaction's checks)
    /// use it too; plain reads use [`Library::read`].
    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (statements are atomic).
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A write transaction on the write connection, taking the write lock at its start:
    /// a deferred one that reads first could not wait for another process's write
    /// lock later (SQLite answers "busy" at once instead of waiting).
    pub(crate) fn write_transaction(
        conn: &mut Connection,
    ) -> rusqlite::Result<rusqlite::Transaction<'_>> {
        conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
    }

    /// The read connection: never waits for a write, of this process or another.
    pub(crate) fn read(&self) -> MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The folder of clips, posters and downloads.
    pub fn files_dir(&self) -> &Path {
        &self.files_dir
    }

    /// Runs `work` with the library on tokio's blocking pool. Async code writes through
    /// it: a write may wait for another process's lock (up to 10 s), and must not hold a
    /// runtime thread meanwhile.
    pub async fn blocking<T, F>(self: &Arc<Self>, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Library) -> Result<T> + Send + 'static,
    {
        let library = self.clone();
        match tokio::task::spawn_blocking(move || work(&library)).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(LibraryError::Invalid(format!(
                "a database task was stopped ({e}): try again"
            ))),
        }
    }

    /// The full id that `id_or_prefix` names in `kind`'s table: the id itself, or the
    /// one id that starts with it. Ids are compared byte for byte: `_` and `%` are
    /// ordinary characters and case matters.
    pub(crate) fn resolve_id(&self, kind: &ShortIds, id_or_prefix: &str) -> Result<String> {
        if id_or_prefix.is_empty() {
            return Err(kind.not_found(id_or_prefix));
        }
        let conn = self.read();
        // One fixed statement per table: no name is spliced into SQL from outside.
        let (exact, prefix) = kind.statements();
        let found: Option<String> = conn
            .query_row(exact, [id_or_prefix], |r| r.get(0))
            .optional()?;
        if let Some(id) = found {
            return Ok(id);
        }
        let mut stmt = conn.prepare(prefix)?;
        let ids = stmt
            .query_map([id_or_prefix], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        match ids.as_slice() {
            [id] => Ok(id.clone()),
            [] => Err(kind.not_found(id_or_prefix)),
            _ => Err(LibraryError::Ambiguous {
                plural: kind.plural,
                id: id_or_prefix.to_owned(),
                list: kind.list,
            }),
        }
    }
}

/// How long a write waits for another process's write lock before it fails.
const WRITE_WAITS_FOR_LOCK: Duration = Duration::from_secs(10);
/// How long a read may wait in the rare moments a WAL reader has to.
const READ_WAITS_FOR_LOCK: Duration = Duration::from_secs(2);

#[cfg(test)]
pub(crate) mod tests {
    use pigeon_store::protocol::Receipt;

    use super::*;

    pub(crate) fn library() -> (tempfile::TempDir, Library) {
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
    fn an_upgrade_announces_nothing_old_and_new_arrivals_once() {
        let dir = tempfile::tempdir().unwrap();
        let home = PigeonHome::at(dir.path());
        home.create().unwrap();
        let old = crate::test_messages::message("01d0000000000000", "alice", &["bob"], Utc::now());
        {
            let conn = Connection::open(home.database_file()).unwrap();
            for sql in &MIGRATIONS[..2] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 2).unwrap();
            conn.execute(
                "INSERT INTO received (message_id, message, thread, respond_by, arrived_at)
                 VALUES (?1, ?2, ?1, '2030-01-01T00:00:00Z', '2029-12-31T00:00:00Z')",
                params![old.id.as_str(), json(&old).unwrap()],
            )
            .unwrap();
        }
        let lib = Library::open(&home).unwrap();
        assert!(
            lib.take_unannounced().unwrap().is_empty(),
            "an upgrade announces nothing old"
        );
        let new = crate::test_messages::message("0e70000000000000", "alice", &["bob"], Utc::now());
        lib.store_received(&new, &Receipt::new(new.recipients[0].clone()), Utc::now())
            .unwrap();
        let announced = lib.take_unannounced().unwrap();
        assert_eq!(announced.len(), 1);
        assert_eq!(announced[0].message, new);
        assert!(lib.take_unannounced().unwrap().is_empty());
    }

    #[test]
    fn the_conversation_upgrade_keeps_queued_messages_and_their_attachments() {
        let dir = tempfile::tempdir().unwrap();
        let home = PigeonHome::at(dir.path());
        home.create().unwrap();
        {
            let conn = Connection::open(home.database_file()).unwrap();
            conn.pragma_update(None, "foreign_keys", "ON").unwrap();
            for sql in &MIGRATIONS[..5] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 5).unwrap();
            conn.execute_batch(
                "INSERT INTO drafts (id, created_at, clip_path, state)
                     VALUES ('d1', '2029-12-31T00:00:00Z', '/c.mp4', 'queued');
                 INSERT INTO outbox (message_id, draft_id, recipients, subject, respond_by,
                                     respond_by_tz, state, created_at)
                     VALUES ('0123456789abcdef', 'd1', '[\"bob\"]', 'Plan', '2030-01-01T00:00:00Z',
                             'UTC', 'queued', '2029-12-31T00:00:00Z');
                 INSERT INTO outbox_attachments (message_id, position, path, name, content_type)
                     VALUES ('0123456789abcdef', 0, '/a.pdf', 'a.pdf', 'application/pdf');",
            )
            .unwrap();
        }
        let lib = Library::open(&home).unwrap();
        let entry = lib.outbox_entry("0123").unwrap();
        assert_eq!(entry.draft_id.as_deref(), Some("d1"));
        assert_eq!(entry.attachments.len(), 1);
        assert_eq!(entry.attachments[0].name, "a.pdf");
        let conn = lib.read();
        let fk: i64 = conn
            .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(fk, 0);
        let index: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'outbox_by_draft'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(index, 1);
    }

    #[test]
    fn reads_never_wait_behind_a_write_that_waits_for_another_process() {
        let dir = tempfile::tempdir().unwrap();
        let home = PigeonHome::at(dir.path());
        let lib = Arc::new(Library::open(&home).unwrap());
        let m = crate::test_messages::message("0123456789abcdef", "alice", &["bob"], Utc::now());
        lib.store_received(&m, &Receipt::new(m.recipients[0].clone()), Utc::now())
            .unwrap();

        // Another process takes the write lock and keeps it until told to let go.
        let (locked_tx, locked) = std::sync::mpsc::channel();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        let path = home.database_file();
        let holder = std::thread::spawn(move || {
            let other = Connection::open(path).unwrap();
            other.execute_batch("BEGIN IMMEDIATE").unwrap();
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            other.execute_batch("COMMIT").unwrap();
        });
        locked.recv().unwrap();
        // A write of this process waits for that lock (busy_timeout) ...
        let writing = lib.clone();
        let writer = std::thread::spawn(move || writing.set_sync_value("k", "v"));
        while lib.conn.try_lock().is_ok() && !writer.is_finished() {
            std::thread::yield_now();
        }
        // ... while the views still read.
        let started = std::time::Instant::now();
        let all = lib.received_all().unwrap();
        let took = started.elapsed();
        assert_eq!(all.len(), 1);
        assert!(took < Duration::from_secs(1), "a read waited {took:?}");
        assert!(
            !writer.is_finished(),
            "the write waits for the other process"
        );
        release.send(()).unwrap();
        holder.join().unwrap();
        writer.join().unwrap().unwrap();
        assert_eq!(lib.sync_value("k").unwrap().as_deref(), Some("v"));
    }

    #[test]
    fn ids_resolve_exactly_and_by_a_case_sensitive_prefix() {
        let (_dir, lib) = library();
        let store = |id: &str| {
            let m = crate::test_messages::message(id, "alice", &["bob"], Utc::now());
            lib.store_received(&m, &Receipt::new(m.recipients[0].clone()), Utc::now())
                .unwrap();
        };
        store("ab_cd0123456789ef");
        store("abXcd0123456789ef");
        store("CaseA0123456789ef");
        store("casea0123456789ef");
        // An id with '_' resolves in full and by a prefix that includes the '_'.
        assert_eq!(
            lib.received("ab_cd0123456789ef")
                .unwrap()
                .message
                .id
                .as_str(),
            "ab_cd0123456789ef"
        );
        assert_eq!(
            lib.received("ab_").unwrap().message.id.as_str(),
            "ab_cd0123456789ef"
        );
        // '_' is not a wildcard: "ab" matches two, "abX" one.
        assert!(lib.received("ab").is_err());
        assert_eq!(
            lib.received("abX").unwrap().message.id.as_str(),
            "abXcd0123456789ef"
        );
        // Ids that differ only in case are two ids.
        assert_eq!(
            lib.received("CaseA").unwrap().message.id.as_str(),
            "CaseA0123456789ef"
        );
        assert_eq!(
            lib.received("casea0123456789ef")
                .unwrap()
                .message
                .id
                .as_str(),
            "casea0123456789ef"
        );
        assert!(matches!(
            lib.received("CASEA"),
            Err(LibraryError::NotFound { .. })
        ));
        assert!(matches!(
            lib.received(""),
            Err(LibraryError::NotFound { .. })
        ));
        assert!(matches!(
            lib.received("%"),
            Err(LibraryError::NotFound { .. })
        ));
    }
}
