//! Metadata in SQL: users, blobs and their parts, messages, receipts, records about
//! messages. One set of queries runs on two engines through `sqlx`'s `Any` driver:
//! SQLite (a file in the data directory, the default) and PostgreSQL (several hubs
//! over one database). The queries keep to what both engines mean the same way:
//! `$N` parameters, `RETURNING`, row values, integers decoded as `i64`, no booleans
//! in results.
//!
//! Commits of messages and records run in [`Db::begin_commit`]: one at a time across
//! every hub, so sequence numbers become visible in the order they were given out and
//! an inbox cursor never steps over a message that commits late.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Executor, Row, Transaction};

use crate::HubError;

mod blobs;
mod changes;
mod copy;
mod gc;
mod inbox;
mod messages;
mod records;
mod users;

pub use blobs::*;
pub use changes::*;
pub use copy::*;
pub use gc::*;
pub use inbox::*;
pub use messages::*;
pub use records::*;
pub use users::*;

/// A connection of either engine; every query function takes one (a pooled
/// connection or a transaction derefs to it).
pub type Conn = sqlx::AnyConnection;

/// Schema migrations, applied in order, written in SQLite's dialect and translated for
/// PostgreSQL by [`Engine::dialect`]. SQLite records how many ran in `PRAGMA
/// user_version` (as hubs always have), PostgreSQL in the table `pigeon_schema`.
/// 1: users, blobs, messages, receipts. 2: records about messages (`body` is the
/// [`pigeon_protocol::Record`] JSON, `fingerprint` what a retry is compared by).
/// 3: each user's working hours ([`pigeon_protocol::hours::WorkingHours`] JSON, NULL
/// when not set). 4: the running sha256 state of an upload (see `running_hash`), NULL
/// when unknown. 5: when an upload last received a chunk (garbage collection ages idle
/// uploads from it).
pub const MIGRATIONS: &[&str] = &[
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
    r#"
ALTER TABLE blobs ADD COLUMN hash_state TEXT;
"#,
    r#"
ALTER TABLE blobs ADD COLUMN touched_ms INTEGER;
"#,
];

/// The advisory lock every hub on one PostgreSQL database takes to commit (see the
/// module doc), and the one that lets only one of them migrate at a time.
const COMMIT_LOCK: i64 = 0x7069_6765_6f6e_0001;
const MIGRATE_LOCK: i64 = 0x7069_6765_6f6e_0002;

/// Which SQL engine holds the metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine a database URL names.
    pub fn of_url(url: &str) -> Result<Self, HubError> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Engine::Postgres)
        } else {
            Err(HubError::Config(format!(
                "the database {:?} is neither sqlite: nor postgres://: name a SQLite file or a PostgreSQL URL",
                redact(url)
            )))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }

    /// A migration's SQL in this engine's dialect: PostgreSQL's `INTEGER` is 32 bits
    /// and it numbers rows with sequences.
    pub fn dialect(self, sql: &str) -> String {
        match self {
            Engine::Sqlite => sql.to_string(),
            Engine::Postgres => sql
                .replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")
                .replace("INTEGER", "BIGINT"),
        }
    }
}

/// A database URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The URL of a SQLite file (created when missing); `%`, `?` and `#` in the path are
/// escaped as the driver expects.
pub fn sqlite_url(path: &std::path::Path) -> String {
    let path = path
        .to_string_lossy()
        .replace('%', "%25")
        .replace('?', "%3F")
        .replace('#', "%23");
    format!("sqlite://{path}?mode=rwc")
}

/// The metadata database: a pool of connections to one engine.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    engine: Engine,
    url: String,
    max_connections: u32,
}

pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(super) fn from_ms(v: Option<i64>) -> Option<DateTime<Utc>> {
    v.and_then(DateTime::from_timestamp_millis)
}

/// An integer column (`COUNT`, `EXISTS` as 0/1, a sequence number).
pub(super) fn int(row: &AnyRow, i: usize) -> Result<i64, HubError> {
    Ok(row.try_get::<i64, _>(i)?)
}

impl Db {
    /// Connects (creating a SQLite file when missing) and migrates. `max_connections`
    /// bounds the pool; SQLite keeps a few (one writer at a time in any case).
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, HubError> {
        sqlx::any::install_default_drivers();
        let engine = Engine::of_url(url)?;
        let max_connections = match engine {
            Engine::Sqlite => max_connections.clamp(1, 4),
            Engine::Postgres => max_connections.max(1),
        };
        let options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(10))
            .max_connections(max_connections);
        let options = match engine {
            Engine::Sqlite => options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                    )
                    .await?;
                    Ok(())
                })
            }),
            Engine::Postgres => options,
        };
        let pool = options.connect(url).await.map_err(|e| {
            HubError::Config(format!(
                "cannot open the database {}: {e}; check that it is running and the URL is right",
                redact(url)
            ))
        })?;
        let db = Self {
            pool,
            engine,
            url: url.to_string(),
            max_connections,
        };
        db.migrate().await?;
        Ok(db)
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The URL this database was opened with (with its password).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The pool's connections, for the metrics.
    pub fn pool_state(&self) -> crate::metrics::PoolState {
        crate::metrics::PoolState {
            engine: self.engine.name(),
            open: self.pool.size(),
            idle: self.pool.num_idle(),
            max: self.max_connections,
        }
    }

    /// Asks the database something trivial: is it there?
    pub async fn ping(&self) -> Result<(), HubError> {
        sqlx::query("SELECT 1")
            .fetch_one(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    /// A connection for reads and single-statement writes.
    pub async fn conn(&self) -> Result<PoolConnection<Any>, HubError> {
        Ok(self.pool.acquire().await?)
    }

    /// A transaction that will write: SQLite takes its write lock at the start, so two
    /// writers wait for each other instead of failing half-way.
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, HubError> {
        Ok(match self.engine {
            Engine::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Engine::Postgres => self.pool.begin().await?,
        })
    }

    /// A transaction that commits a message or a record: one at a time across all hubs
    /// (see the module doc).
    pub async fn begin_commit(&self) -> Result<Transaction<'static, Any>, HubError> {
        let mut tx = self.begin().await?;
        if self.engine == Engine::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(COMMIT_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// Writes a consistent copy of a SQLite database to `path` while it serves
    /// (`VACUUM INTO`: one read transaction, so every row is as of one moment).
    pub async fn snapshot_into(&self, path: &std::path::Path) -> Result<(), HubError> {
        if self.engine != Engine::Sqlite {
            return Err(HubError::Config(
                "this hub keeps its metadata in PostgreSQL: back it up with pg_dump (see docs/hub.md)".into(),
            ));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(path.to_string_lossy().as_ref())
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    /// Closes every connection (before the process exits or a file is moved).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<(), HubError> {
        let mut tx = self.begin().await?;
        let version = match self.engine {
            Engine::Sqlite => int(
                &sqlx::query("PRAGMA user_version")
                    .fetch_one(&mut *tx)
                    .await?,
                0,
            )?,
            Engine::Postgres => {
                // Hubs that start together take turns; the second finds it done.
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(MIGRATE_LOCK)
                    .execute(&mut *tx)
                    .await?;
                sqlx::raw_sql("CREATE TABLE IF NOT EXISTS pigeon_schema (version BIGINT NOT NULL)")
                    .execute(&mut *tx)
                    .await?;
                match sqlx::query("SELECT version FROM pigeon_schema")
                    .fetch_optional(&mut *tx)
                    .await?
                {
                    Some(row) => int(&row, 0)?,
                    None => {
                        sqlx::query("INSERT INTO pigeon_schema (version) VALUES (0)")
                            .execute(&mut *tx)
                            .await?;
                        0
                    }
                }
            }
        };
        if version > MIGRATIONS.len() as i64 {
            return Err(HubError::Config(format!(
                "the database {} has schema version {version}, newer than this hub knows ({}): run the newer pigeon-hub",
                redact(&self.url),
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(self.engine.dialect(sql)))
                .execute(&mut *tx)
                .await?;
            tracing::info!(
                migration = i + 1,
                engine = self.engine.name(),
                "applied database migration"
            );
        }
        let now = MIGRATIONS.len() as i64;
        match self.engine {
            // PRAGMA takes no parameters; the number is ours.
            Engine::Sqlite => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("PRAGMA user_version = {now}")))
                    .execute(&mut *tx)
                    .await?;
            }
            Engine::Postgres => {
                sqlx::query("UPDATE pigeon_schema SET version = $1")
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A SQLite file as a hub that ran the first `version` migrations left it, with
    /// `rows` (SQL) in it, and its URL.
    pub(crate) fn old_sqlite(version: usize, rows: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.sqlite3");
        let c = rusqlite::Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..version] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", version as i64)
            .unwrap();
        c.execute_batch(rows).unwrap();
        (dir, sqlite_url(&path))
    }

    #[test]
    fn engines_are_told_apart_by_url_and_passwords_stay_out_of_messages() {
        assert_eq!(
            Engine::of_url("sqlite:///tmp/x.db").unwrap(),
            Engine::Sqlite
        );
        assert_eq!(
            Engine::of_url("postgres://hub:secret@db:5432/pigeon").unwrap(),
            Engine::Postgres
        );
        let err = Engine::of_url("mysql://hub:secret@db/pigeon").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        assert_eq!(
            redact("postgres://hub:secret@db:5432/pigeon"),
            "postgres://hub:***@db:5432/pigeon"
        );
        assert_eq!(redact("postgres://db/pigeon"), "postgres://db/pigeon");
    }

    #[test]
    fn postgres_gets_64_bit_integers_and_sequences() {
        let sql = Engine::Postgres.dialect(MIGRATIONS[1]);
        assert!(sql.contains("seq BIGSERIAL PRIMARY KEY"), "{sql}");
        assert!(sql.contains("message_seq BIGINT NOT NULL"), "{sql}");
        assert!(!sql.contains("INTEGER"));
        assert_eq!(Engine::Sqlite.dialect(MIGRATIONS[1]), MIGRATIONS[1]);
    }

    #[test]
    fn sqlite_paths_with_url_characters_are_escaped() {
        assert_eq!(
            sqlite_url(std::path::Path::new("/data/a?b#c%d/hub.sqlite3")),
            "sqlite:///data/a%3Fb%23c%25d/hub.sqlite3?mode=rwc"
        );
    }
}
