//! The library's schema: numbered migrations, run in order at open (each in its own
//! transaction, the version kept in `user_version`).

use rusqlite::Connection;

use crate::error::{LibraryError, Result};

/// Each entry moves the schema one version up; never edit one that shipped.
pub(crate) const MIGRATIONS: &[&str] = &[
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
    // 3: "new message" announcements are durable: a message is announced once, even
    // when the sync that stored it was cancelled. What an older Pigeon stored was
    // announced by it (or never will be): an upgrade announces nothing old.
    "ALTER TABLE received ADD COLUMN announced INTEGER NOT NULL DEFAULT 0;
    UPDATE received SET announced = 1;",
    // 4: transcripts. One per clip: an own clip's by its draft (made here after Stop,
    // then shared with the sent message as a blob plus a record), a received message's
    // by its id (received with it, or made here when it came without). Queued work
    // survives a crash: a job left `running` is run again at the next start.
    "CREATE TABLE transcripts (
        owner TEXT PRIMARY KEY,           -- 'draft:<draft id>' or 'message:<message id>'
        state TEXT NOT NULL,              -- queued | running | done | failed
        origin TEXT NOT NULL,             -- made_here | received
        transcript TEXT,                  -- pigeon_protocol::Transcript as JSON, once done
        language TEXT,
        model TEXT,
        progress REAL NOT NULL DEFAULT 0, -- 0..1 while running
        error TEXT,                       -- why it failed, one sentence
        queued_at TEXT NOT NULL,
        done_at TEXT,
        remote TEXT,                      -- received: the Record as JSON until its blob is here
        blob TEXT,                        -- shared: the transcript blob's id, once created
        sealed TEXT,                      -- shared: BlobRef as JSON, once sealed
        record_id TEXT,                   -- shared: chosen before the first commit attempt
        shared_at TEXT                    -- shared: when its record was committed
    );
    CREATE INDEX transcripts_by_state ON transcripts(state);",
    // 5: search over messages and transcripts, kept up to date by triggers (the SQL
    // lives with the search it serves).
    crate::search::schema::MIGRATION,
    // 6: the conversation around a clip. A message may be text only (no draft), answer
    // one moment or chapter of the message it replies to, and ask only for a ✅; a draft
    // keeps its chapters as they are marked. Reactions are records: `reactions` keeps
    // every one seen (received, or committed from here), `outgoing_records` the user's
    // own until the store has them. The outbox is rebuilt without renaming anything
    // (so the search triggers that name it stay valid): copied aside, dropped with its
    // attachments, created anew and filled again.
    "CREATE TABLE outbox_before_6 AS SELECT * FROM outbox;
    CREATE TABLE outbox_attachments_before_6 AS SELECT * FROM outbox_attachments;
    DROP TABLE outbox_attachments;
    DROP TABLE outbox;
    CREATE TABLE outbox (
        message_id TEXT PRIMARY KEY,
        draft_id TEXT REFERENCES drafts(id), -- NULL: a text-only message
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
        created_at TEXT NOT NULL,
        at_ms INTEGER,                    -- a comment: the moment of in_reply_to's clip
        chapter INTEGER,                  -- the chapter of in_reply_to it is about
        acknowledge_only INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO outbox (message_id, draft_id, recipients, subject, body, respond_by, respond_by_tz,
                        in_reply_to, state, attempts, last_error, failure, created_at)
        SELECT message_id, draft_id, recipients, subject, body, respond_by, respond_by_tz,
               in_reply_to, state, attempts, last_error, failure, created_at FROM outbox_before_6;
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
    INSERT INTO outbox_attachments SELECT * FROM outbox_attachments_before_6;
    DROP TABLE outbox_attachments_before_6;
    DROP TABLE outbox_before_6;
    CREATE INDEX outbox_by_draft ON outbox(draft_id);
    ALTER TABLE drafts ADD COLUMN chapters TEXT;  -- JSON list of protocol Chapters, as marked
    CREATE TABLE reactions (
        record_id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL,
        record TEXT NOT NULL,             -- pigeon_protocol::Record as JSON
        created_at TEXT NOT NULL,
        announced INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX reactions_by_message ON reactions(message_id);
    CREATE TABLE outgoing_records (
        record_id TEXT PRIMARY KEY,       -- chosen before the first commit attempt
        message_id TEXT NOT NULL,
        body TEXT NOT NULL,               -- pigeon_protocol::NewRecordBody as JSON
        state TEXT NOT NULL,              -- queued | sent | failed
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL
    );",
    // 9: deadlines per recipient ("N working hours each"), fixed when the message is
    // queued so every attempt commits the same ones; the records that move or close
    // them (requests for more time, answers, nudges, closes) as the store gave them.
    "ALTER TABLE outbox ADD COLUMN deadlines TEXT;          -- JSON list of Deadline, or NULL
    ALTER TABLE outbox ADD COLUMN working_hours_each INTEGER;
    ALTER TABLE received ADD COLUMN recipient TEXT;        -- whose receipt: my name then
    CREATE TABLE deadline_records (
        record_id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL,
        record TEXT NOT NULL,             -- pigeon_protocol::Record as JSON
        created_at TEXT NOT NULL,
        announced INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX deadline_records_by_message ON deadline_records(message_id);",
];

/// Brings the schema up to the newest version; a newer schema than this Pigeon knows
/// is refused rather than misread.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
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
