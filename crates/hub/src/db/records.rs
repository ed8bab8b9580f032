//! Records about messages: stored once by id, listed per message and per recipient in
//! the order they were committed (`seq`).

use pigeon_protocol::{Record, RecordId, StoredRecord, UserName};
use sqlx::Row;

use crate::HubError;

use super::{int, ms, Conn};

fn parse_record(body: &str) -> Result<Record, HubError> {
    serde_json::from_str(body)
        .map_err(|e| HubError::Internal(format!("stored record is unreadable: {e}")))
}

pub async fn record_by_id(c: &mut Conn, id: &RecordId) -> Result<Option<StoredRecord>, HubError> {
    sqlx::query("SELECT fingerprint, body FROM records WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(&mut *c)
        .await?
        .map(|r| {
            let body: String = r.try_get(1)?;
            Ok(StoredRecord {
                fingerprint: r.try_get(0)?,
                record: parse_record(&body)?,
            })
        })
        .transpose()
}

/// Stores a decided record of message `message_seq`; the blob it names becomes
/// readable by the message's participants. Returns the record's sequence number. Runs
/// inside [`super::Db::begin_commit`].
pub async fn insert_record(
    c: &mut Conn,
    message_seq: i64,
    stored: &StoredRecord,
) -> Result<i64, HubError> {
    let r = &stored.record;
    let body = serde_json::to_string(r)
        .map_err(|e| HubError::Internal(format!("cannot encode record: {e}")))?;
    let row = sqlx::query(
        "INSERT INTO records (id, message_seq, author, fingerprint, created_ms, body) VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING seq",
    )
    .bind(r.id.as_str())
    .bind(message_seq)
    .bind(r.author.as_str())
    .bind(stored.fingerprint.as_str())
    .bind(ms(r.created_at))
    .bind(body)
    .fetch_one(&mut *c)
    .await?;
    let seq = int(&row, 0)?;
    if let Some(blob) = r.body.blob() {
        sqlx::query(
            "INSERT INTO message_blobs (message_seq, blob_id, attachment_name) VALUES ($1, $2, NULL)",
        )
        .bind(message_seq)
        .bind(blob.id.as_str())
        .execute(&mut *c)
        .await?;
    }
    Ok(seq)
}

/// Every record of a message, in commit order.
pub async fn records_of(c: &mut Conn, message_seq: i64) -> Result<Vec<Record>, HubError> {
    sqlx::query("SELECT body FROM records WHERE message_seq = $1 ORDER BY seq")
        .bind(message_seq)
        .fetch_all(&mut *c)
        .await?
        .iter()
        .map(|r| parse_record(&r.try_get::<String, _>(0)?))
        .collect()
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
pub async fn inbox_records(
    c: &mut Conn,
    user: &UserName,
    after_seq: i64,
    limit: u64,
) -> Result<Vec<InboxRecord>, HubError> {
    sqlx::query(
        "SELECT rec.seq, rec.message_seq, rec.body,
                CASE WHEN EXISTS (SELECT 1 FROM receipts r WHERE r.message_seq = rec.message_seq AND r.recipient = $1)
                     THEN 1 ELSE 0 END
         FROM records rec JOIN messages m ON m.seq = rec.message_seq
         WHERE rec.seq > $2
           AND (m.sender = $1
                OR EXISTS (SELECT 1 FROM receipts r WHERE r.message_seq = rec.message_seq AND r.recipient = $1))
         ORDER BY rec.seq LIMIT $3",
    )
    .bind(user.as_str())
    .bind(after_seq)
    .bind(limit as i64)
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(|r| {
        Ok(InboxRecord {
            seq: int(r, 0)?,
            message_seq: int(r, 1)?,
            received: int(r, 3)? != 0,
            record: parse_record(&r.try_get::<String, _>(2)?)?,
        })
    })
    .collect()
}

/// A recipient's acknowledgement (see [`pigeon_protocol::acknowledges`]) marks their
/// receipt responded as "done" at `at`, unless they responded before: the first
/// response counts.
pub async fn mark_acknowledged(
    c: &mut Conn,
    message_seq: i64,
    recipient: &UserName,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), HubError> {
    sqlx::query(
        "UPDATE receipts SET responded_ms = COALESCE(responded_ms, $3), delivered_ms = COALESCE(delivered_ms, $3)
         WHERE message_seq = $1 AND recipient = $2",
    )
    .bind(message_seq)
    .bind(recipient.as_str())
    .bind(ms(at))
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// A granted extension: `recipient`'s receipt of message `message_seq` is due at
/// `respond_by` from now on.
pub async fn move_deadline(
    c: &mut Conn,
    message_seq: i64,
    recipient: &UserName,
    respond_by: chrono::DateTime<chrono::Utc>,
) -> Result<(), HubError> {
    sqlx::query("UPDATE receipts SET respond_by_ms = $3 WHERE message_seq = $1 AND recipient = $2")
        .bind(message_seq)
        .bind(recipient.as_str())
        .bind(ms(respond_by))
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn latest_record_seq(c: &mut Conn) -> Result<i64, HubError> {
    let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM records")
        .fetch_one(&mut *c)
        .await?;
    int(&row, 0)
}

#[cfg(test)]
mod tests {
    use super::super::tests::old_sqlite;
    use super::super::{Db, MIGRATIONS};
    use super::*;

    #[tokio::test]
    async fn a_database_from_before_records_upgrades_in_place() {
        // The schema as a hub before records left it, with a message in it.
        let (_dir, url) = old_sqlite(
            1,
            "INSERT INTO users VALUES ('ann', 'Ann', 'UTC', 'hash', 0, NULL);
             INSERT INTO messages (id, sender, fingerprint, thread, body, sent_ms)
             VALUES ('0123456789abcdef', 'ann', 'f', '0123456789abcdef', '{}', 0);",
        );
        let db = Db::open(&url, 1).await.unwrap();
        let mut c = db.conn().await.unwrap();
        let version = sqlx::query("PRAGMA user_version")
            .fetch_one(&mut *c)
            .await
            .unwrap();
        assert_eq!(int(&version, 0).unwrap(), MIGRATIONS.len() as i64);
        assert_eq!(latest_record_seq(&mut c).await.unwrap(), 0);
        let messages = sqlx::query("SELECT COUNT(*) FROM messages")
            .fetch_one(&mut *c)
            .await
            .unwrap();
        assert_eq!(int(&messages, 0).unwrap(), 1);
        assert!(records_of(&mut c, 1).await.unwrap().is_empty());
    }
}
