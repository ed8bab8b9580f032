//! Records about messages: stored once by id, listed per message and per recipient in
//! the order they were committed (`seq`).

use pigeon_protocol::{Record, RecordId, StoredRecord, UserName};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::HubError;

use super::ms;

fn parse_record(body: &str) -> Result<Record, HubError> {
    serde_json::from_str(body)
        .map_err(|e| HubError::Internal(format!("stored record is unreadable: {e}")))
}

pub fn record_by_id(conn: &Connection, id: &RecordId) -> Result<Option<StoredRecord>, HubError> {
    let row = conn
        .query_row(
            "SELECT fingerprint, body FROM records WHERE id = ?1",
            [id.as_str()],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()?;
    row.map(|(fingerprint, body)| {
        Ok(StoredRecord {
            fingerprint,
            record: parse_record(&body)?,
        })
    })
    .transpose()
}

/// Stores a decided record of message `message_seq`; the blob it names becomes
/// readable by the message's participants. Returns the record's sequence number.
pub fn insert_record(
    tx: &Transaction<'_>,
    message_seq: i64,
    stored: &StoredRecord,
) -> Result<i64, HubError> {
    let r = &stored.record;
    let body = serde_json::to_string(r)
        .map_err(|e| HubError::Internal(format!("cannot encode record: {e}")))?;
    tx.execute(
        "INSERT INTO records (id, message_seq, author, fingerprint, created_ms, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            r.id.as_str(),
            message_seq,
            r.author.as_str(),
            stored.fingerprint,
            ms(r.created_at),
            body
        ],
    )?;
    let seq = tx.last_insert_rowid();
    if let Some(blob) = r.body.blob() {
        tx.execute(
            "INSERT INTO message_blobs (message_seq, blob_id, attachment_name) VALUES (?1, ?2, NULL)",
            params![message_seq, blob.id.as_str()],
        )?;
    }
    Ok(seq)
}

/// Every record of a message, in commit order.
pub fn records_of(conn: &Connection, message_seq: i64) -> Result<Vec<Record>, HubError> {
    let mut stmt =
        conn.prepare_cached("SELECT body FROM records WHERE message_seq = ?1 ORDER BY seq")?;
    let rows = stmt.query_map([message_seq], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for body in rows {
        out.push(parse_record(&body?)?);
    }
    Ok(out)
}

/// One record of a reader's inbox: the record and where it and its message stand.
pub struct InboxRecord {
    pub seq: i64,
    pub message_seq: i64,
    /// The reader received the message (so the record waits for the page that carries
    /// it); false for a message the reader only sent, which they already have.
    pub received: bool,
    pub record: Record,
}

/// Up to `limit` records after `after_seq` about messages `user` received or sent, in
/// commit order: one sync carries the reactions to what they sent as well.
pub fn inbox_records(
    conn: &Connection,
    user: &UserName,
    after_seq: i64,
    limit: u64,
) -> Result<Vec<InboxRecord>, HubError> {
    let mut stmt = conn.prepare_cached(
        "SELECT rec.seq, rec.message_seq, rec.body,
                EXISTS (SELECT 1 FROM receipts r WHERE r.message_seq = rec.message_seq AND r.recipient = ?1)
         FROM records rec JOIN messages m ON m.seq = rec.message_seq
         WHERE rec.seq > ?2
           AND (m.sender = ?1
                OR EXISTS (SELECT 1 FROM receipts r WHERE r.message_seq = rec.message_seq AND r.recipient = ?1))
         ORDER BY rec.seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![user.as_str(), after_seq, limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, bool>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, message_seq, body, received) = row?;
        out.push(InboxRecord {
            seq,
            message_seq,
            received,
            record: parse_record(&body)?,
        });
    }
    Ok(out)
}

/// A recipient's acknowledgement (see [`pigeon_protocol::acknowledges`]) marks their
/// receipt responded as "done" at `at`, unless they responded before: the first
/// response counts.
pub fn mark_acknowledged(
    tx: &Transaction<'_>,
    message_seq: i64,
    recipient: &UserName,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), HubError> {
    tx.execute(
        "UPDATE receipts SET responded_ms = COALESCE(responded_ms, ?3), delivered_ms = COALESCE(delivered_ms, ?3)
         WHERE message_seq = ?1 AND recipient = ?2",
        params![message_seq, recipient.as_str(), ms(at)],
    )?;
    Ok(())
}

/// A granted extension: `recipient`'s receipt of message `message_seq` is due at
/// `respond_by` from now on.
pub fn move_deadline(
    tx: &Transaction<'_>,
    message_seq: i64,
    recipient: &UserName,
    respond_by: chrono::DateTime<chrono::Utc>,
) -> Result<(), HubError> {
    tx.execute(
        "UPDATE receipts SET respond_by_ms = ?3 WHERE message_seq = ?1 AND recipient = ?2",
        params![message_seq, recipient.as_str(), ms(respond_by)],
    )?;
    Ok(())
}

pub fn latest_record_seq(conn: &Connection) -> Result<i64, HubError> {
    Ok(
        conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM records", [], |r| {
            r.get(0)
        })?,
    )
}

#[cfg(test)]
mod tests {
    use super::super::{Db, MIGRATIONS};
    use super::*;

    #[test]
    fn a_database_from_before_records_upgrades_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.sqlite3");
        {
            // The schema as a hub before records left it, with a message in it.
            let c = Connection::open(&path).unwrap();
            c.execute_batch(MIGRATIONS[0]).unwrap();
            c.pragma_update(None, "user_version", 1).unwrap();
            c.execute(
                "INSERT INTO users VALUES ('ann', 'Ann', 'UTC', 'hash', 0, NULL)",
                [],
            )
            .unwrap();
            c.execute(
                "INSERT INTO messages (id, sender, fingerprint, thread, body, sent_ms)
                 VALUES ('0123456789abcdef', 'ann', 'f', '0123456789abcdef', '{}', 0)",
                [],
            )
            .unwrap();
        }
        let db = Db::open(&path).unwrap();
        db.call_sync(|c| {
            let version: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
            assert_eq!(version, MIGRATIONS.len() as i64);
            assert_eq!(latest_record_seq(c)?, 0);
            let messages: i64 = c.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))?;
            assert_eq!(messages, 1);
            assert!(records_of(c, 1)?.is_empty());
            Ok(())
        })
        .unwrap();
    }
}
