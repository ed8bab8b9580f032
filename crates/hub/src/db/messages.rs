//! Messages and receipts.

use chrono::Utc;
use pigeon_protocol::{Message, MessageId, Receipt, UserName};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::HubError;

use super::{from_ms, ms};

/// A stored message with what idempotency needs.
pub struct StoredMessage {
    pub seq: i64,
    pub sender: String,
    pub fingerprint: String,
    pub message: Message,
}

pub(super) fn parse_body(body: &str) -> Result<Message, HubError> {
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
    for blob in message.clip.iter().chain(&message.poster) {
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
            params![
                seq,
                r.as_str(),
                ms(message.deadline_of(r).unwrap_or(message.respond_by))
            ],
        )?;
    }
    // An answer (not a comment at a moment) responds to the message it replies to.
    if let Some(parent) = message.answers() {
        tx.execute(
            "UPDATE receipts SET responded_ms = ?3, reply_id = ?4
             WHERE message_seq = (SELECT seq FROM messages WHERE id = ?1) AND recipient = ?2 AND responded_ms IS NULL",
            params![parent.as_str(), message.sender.as_str(), ms(message.sent_at), message.id.as_str()],
        )?;
    }
    Ok(seq)
}

pub(super) const RECEIPT_COLUMNS: &str =
    "r.recipient, r.delivered_ms, r.viewed_ms, r.responded_ms, r.reply_id";

pub(super) fn receipt_from_row(
    r: &rusqlite::Row<'_>,
    first: usize,
) -> rusqlite::Result<(String, [Option<i64>; 3], Option<String>)> {
    Ok((
        r.get(first)?,
        [r.get(first + 1)?, r.get(first + 2)?, r.get(first + 3)?],
        r.get(first + 4)?,
    ))
}

pub(super) fn build_receipt(
    raw: (String, [Option<i64>; 3], Option<String>),
) -> Result<Receipt, HubError> {
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
