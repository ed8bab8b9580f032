//! Migration 5: the search index, kept up to date by triggers so that no module that
//! stores a message or a transcript has to remember to index it.
//!
//! `search_rows` holds one row per searchable piece of text: a message's subject, note,
//! sender, each attachment name and each transcript segment, with which message it
//! belongs to and where. `search_text` is an FTS5 index over `search_rows.text`
//! (external content: the text is stored once). Triggers on `received`, `sent` and
//! `transcripts` write `search_rows`; triggers on `search_rows` keep `search_text` in
//! step. A sent message's transcript is its draft's (`outbox.draft_id`), a received
//! one's is the message's own; either may be done before or after the message row
//! exists, and each side indexes what the other already holds.
//!
//! This text is part of the schema history: never edit it once shipped, add a
//! migration instead.

/// The pieces of text of the message row `NEW` (of `received` when `$me` is 0, of
/// `sent` when 1), and its transcript if one is done.
macro_rules! index_message {
    ($me:literal, $transcript_owner:literal) => {
        concat!(
            "INSERT INTO search_rows (message_id, sent_by_me, field, position, start_ms, owner, sent_ms, text)
             SELECT NEW.message_id, ", $me, ", f.field, f.position, NULL, NULL,
                    CAST(round((julianday(json_extract(NEW.message, '$.sent_at')) - 2440587.5) * 86400000) AS INTEGER),
                    f.text
             FROM (SELECT 'subject' AS field, NULL AS position, json_extract(NEW.message, '$.subject') AS text
                   UNION ALL SELECT 'note', NULL, json_extract(NEW.message, '$.text')
                   UNION ALL SELECT 'sender', NULL, json_extract(NEW.message, '$.sender')
                   UNION ALL SELECT 'attachment', a.key, json_extract(a.value, '$.name')
                             FROM json_each(NEW.message, '$.attachments') a) f
             WHERE f.text IS NOT NULL AND f.text <> '';
             INSERT INTO search_rows (message_id, sent_by_me, field, position, start_ms, owner, sent_ms, text)
             SELECT NEW.message_id, ", $me, ", 'transcript', s.key, json_extract(s.value, '$.start_ms'), t.owner,
                    CAST(round((julianday(json_extract(NEW.message, '$.sent_at')) - 2440587.5) * 86400000) AS INTEGER),
                    json_extract(s.value, '$.text')
             FROM transcripts t,
                  json_each(CASE WHEN json_valid(t.transcript) THEN t.transcript ELSE '{}' END, '$.segments') s
             WHERE t.owner = ", $transcript_owner, " AND t.state = 'done'
               AND json_extract(s.value, '$.text') <> '';"
        )
    };
}

/// The segments of the transcript row `NEW`, once done, for the message it belongs to
/// if that message is stored yet.
macro_rules! index_transcript {
    () => {
        "INSERT INTO search_rows (message_id, sent_by_me, field, position, start_ms, owner, sent_ms, text)
         SELECT m.message_id, m.sent_by_me, 'transcript', s.key, json_extract(s.value, '$.start_ms'), NEW.owner,
                CAST(round((julianday(json_extract(m.message, '$.sent_at')) - 2440587.5) * 86400000) AS INTEGER),
                json_extract(s.value, '$.text')
         FROM (SELECT message_id, 0 AS sent_by_me, message FROM received
                WHERE substr(NEW.owner, 1, 8) = 'message:' AND message_id = substr(NEW.owner, 9)
               UNION ALL
               SELECT sent.message_id, 1, sent.message FROM outbox JOIN sent ON sent.message_id = outbox.message_id
                WHERE substr(NEW.owner, 1, 6) = 'draft:' AND outbox.draft_id = substr(NEW.owner, 7)) m,
              json_each(CASE WHEN json_valid(NEW.transcript) THEN NEW.transcript ELSE '{}' END, '$.segments') s
         WHERE NEW.state = 'done' AND json_extract(s.value, '$.text') <> '';"
    };
}

pub(crate) const MIGRATION: &str = concat!(
    "CREATE TABLE search_rows (
        id INTEGER PRIMARY KEY,           -- the rowid of its text in search_text
        message_id TEXT NOT NULL,
        sent_by_me INTEGER NOT NULL,      -- 1: a row of sent, 0: of received
        field TEXT NOT NULL,              -- subject | note | sender | attachment | transcript
        position INTEGER,                 -- the attachment's or the segment's index
        start_ms INTEGER,                 -- transcript: when the segment starts
        owner TEXT,                       -- transcript: its transcripts.owner
        sent_ms INTEGER,                  -- the message's sent_at (recency), ms since 1970
        text TEXT NOT NULL
    );
    CREATE INDEX search_rows_by_message ON search_rows(message_id, sent_by_me);
    CREATE INDEX search_rows_by_owner ON search_rows(owner) WHERE owner IS NOT NULL;
    -- A sent message finds its transcript through its draft.
    CREATE INDEX outbox_by_draft ON outbox(draft_id);
    CREATE VIRTUAL TABLE search_text USING fts5(
        text, content = 'search_rows', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2',
        -- Words typed so far are prefixes: indexes of 2- and 3-letter prefixes keep the
        -- first letters typed from merging every word that starts with them.
        prefix = '2 3'
    );
    CREATE TRIGGER search_rows_added AFTER INSERT ON search_rows BEGIN
        INSERT INTO search_text (rowid, text) VALUES (NEW.id, NEW.text);
    END;
    CREATE TRIGGER search_rows_removed AFTER DELETE ON search_rows BEGIN
        INSERT INTO search_text (search_text, rowid, text) VALUES ('delete', OLD.id, OLD.text);
    END;

    CREATE TRIGGER search_received_added AFTER INSERT ON received BEGIN ",
    index_message!("0", "'message:' || NEW.message_id"),
    " END;
    CREATE TRIGGER search_received_changed AFTER UPDATE OF message ON received BEGIN
        DELETE FROM search_rows WHERE message_id = OLD.message_id AND sent_by_me = 0; ",
    index_message!("0", "'message:' || NEW.message_id"),
    " END;
    CREATE TRIGGER search_received_removed AFTER DELETE ON received BEGIN
        DELETE FROM search_rows WHERE message_id = OLD.message_id AND sent_by_me = 0;
    END;

    CREATE TRIGGER search_sent_added AFTER INSERT ON sent BEGIN ",
    index_message!(
        "1",
        "(SELECT 'draft:' || draft_id FROM outbox WHERE message_id = NEW.message_id)"
    ),
    " END;
    CREATE TRIGGER search_sent_changed AFTER UPDATE OF message ON sent BEGIN
        DELETE FROM search_rows WHERE message_id = OLD.message_id AND sent_by_me = 1; ",
    index_message!(
        "1",
        "(SELECT 'draft:' || draft_id FROM outbox WHERE message_id = NEW.message_id)"
    ),
    " END;
    CREATE TRIGGER search_sent_removed AFTER DELETE ON sent BEGIN
        DELETE FROM search_rows WHERE message_id = OLD.message_id AND sent_by_me = 1;
    END;

    CREATE TRIGGER search_transcript_added AFTER INSERT ON transcripts WHEN NEW.state = 'done' BEGIN ",
    index_transcript!(),
    " END;
    -- Progress updates of a running job and the sharing of a done one change nothing
    -- searchable: only a transcript that is or was done is indexed again, when its
    -- state or text changes.
    CREATE TRIGGER search_transcript_changed AFTER UPDATE OF owner, state, transcript ON transcripts
    WHEN OLD.state = 'done' OR NEW.state = 'done' BEGIN
        DELETE FROM search_rows WHERE owner = OLD.owner; ",
    index_transcript!(),
    " END;
    CREATE TRIGGER search_transcript_removed AFTER DELETE ON transcripts BEGIN
        DELETE FROM search_rows WHERE owner = OLD.owner;
    END;

    -- What an older Pigeon stored: rewriting each message fires the triggers above,
    -- which index it with its transcript.
    UPDATE received SET message = message;
    UPDATE sent SET message = message;"
);
