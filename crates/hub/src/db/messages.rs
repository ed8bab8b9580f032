//! Messages and receipts.

use chrono::Utc;
use pigeon_protocol::{Message, MessageId, Receipt, UserName};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::HubError;

use super::{from_ms, int, ms, Conn};

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

pub async fn message_by_id(
    c: &mut Conn,
    id: &MessageId,
) -> Result<Option<StoredMessage>, HubError> {
    sqlx::query("SELECT seq, sender, fingerprint, body FROM messages WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(&mut *c)
        .await?
        .map(|r| {
            let body: String = r.try_get(3)?;
            Ok(StoredMessage {
                seq: int(&r, 0)?,
                sender: r.try_get(1)?,
                fingerprint: r.try_get(2)?,
                message: parse_body(&body)?,
            })
        })
        .transpose()
}

/// Inserts a validated message with its receipts; marks the parent responded when this
/// is a reply from one of its recipients. Returns the new sequence number. Runs inside
/// [`super::Db::begin_commit`].
pub async fn insert_message(
    c: &mut Conn,
    message: &Message,
    fingerprint: &str,
) -> Result<i64, HubError> {
    let body = serde_json::to_string(message)
        .map_err(|e| HubError::Internal(format!("cannot encode message: {e}")))?;
    let row = sqlx::query(
        "INSERT INTO messages (id, sender, fingerprint, thread, body, sent_ms) VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING seq",
    )
    .bind(message.id.as_str())
    .bind(message.sender.as_str())
    .bind(fingerprint)
    .bind(message.thread.as_str())
    .bind(body)
    .bind(ms(message.sent_at))
    .fetch_one(&mut *c)
    .await?;
    let seq = int(&row, 0)?;
    // The clip and the poster are readable by the participants under no attachment name.
    let named = message
        .clip
        .iter()
        .chain(&message.poster)
        .map(|b| (b, None))
        .chain(
            message
                .attachments
                .iter()
                .map(|a| (&a.blob, Some(a.name.as_str()))),
        );
    for (blob, name) in named {
        sqlx::query(
            "INSERT INTO message_blobs (message_seq, blob_id, attachment_name) VALUES ($1, $2, $3)",
        )
        .bind(seq)
        .bind(blob.id.as_str())
        .bind(name)
        .execute(&mut *c)
        .await?;
    }
    for r in &message.recipients {
        sqlx::query(
            "INSERT INTO receipts (message_seq, recipient, respond_by_ms) VALUES ($1, $2, $3)",
        )
        .bind(seq)
        .bind(r.as_str())
        .bind(ms(message.deadline_of(r).unwrap_or(message.respond_by)))
        .execute(&mut *c)
        .await?;
    }
    // An answer (not a comment at a moment) responds to the message it replies to.
    if let Some(parent) = message.answers() {
        sqlx::query(
            "UPDATE receipts SET responded_ms = $3, reply_id = $4
             WHERE message_seq = (SELECT seq FROM messages WHERE id = $1) AND recipient = $2 AND responded_ms IS NULL",
        )
        .bind(parent.as_str())
        .bind(message.sender.as_str())
        .bind(ms(message.sent_at))
        .bind(message.id.as_str())
        .execute(&mut *c)
        .await?;
    }
    Ok(seq)
}

/// The receipt columns of `receipts r`, in the order [`receipt_from_row`] reads them.
pub(super) const RECEIPT_COLUMNS: &str =
    "r.recipient, r.delivered_ms, r.viewed_ms, r.responded_ms, r.reply_id";

/// The receipt whose [`RECEIPT_COLUMNS`] start at column `first` of `r`.
pub(super) fn receipt_from_row(r: &AnyRow, first: usize) -> Result<Receipt, HubError> {
    let name: String = r.try_get(first)?;
    let [delivered, viewed, responded]: [Option<i64>; 3] = [
        r.try_get(first + 1)?,
        r.try_get(first + 2)?,
        r.try_get(first + 3)?,
    ];
    let reply: Option<String> = r.try_get(first + 4)?;
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
pub async fn mark_delivered(c: &mut Conn, seqs: &[i64], user: &UserName) -> Result<(), HubError> {
    let now = ms(Utc::now());
    for seq in seqs {
        sqlx::query(
            "UPDATE receipts SET delivered_ms = $3 WHERE message_seq = $1 AND recipient = $2 AND delivered_ms IS NULL",
        )
        .bind(seq)
        .bind(user.as_str())
        .bind(now)
        .execute(&mut *c)
        .await?;
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
pub async fn mark(
    c: &mut Conn,
    id: &MessageId,
    user: &UserName,
    action: ReceiptAction,
) -> Result<bool, HubError> {
    let sql = match action {
        ReceiptAction::Viewed => {
            "UPDATE receipts SET viewed_ms = COALESCE(viewed_ms, $3), delivered_ms = COALESCE(delivered_ms, $3)
             WHERE message_seq = (SELECT seq FROM messages WHERE id = $1) AND recipient = $2"
        }
        ReceiptAction::Done => {
            "UPDATE receipts SET responded_ms = COALESCE(responded_ms, $3), delivered_ms = COALESCE(delivered_ms, $3)
             WHERE message_seq = (SELECT seq FROM messages WHERE id = $1) AND recipient = $2"
        }
    };
    let done = sqlx::query(sql)
        .bind(id.as_str())
        .bind(user.as_str())
        .bind(ms(Utc::now()))
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn receipts(c: &mut Conn, seq: i64) -> Result<Vec<Receipt>, HubError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {RECEIPT_COLUMNS} FROM receipts r WHERE r.message_seq = $1 ORDER BY r.recipient"
    )))
    .bind(seq)
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(|r| receipt_from_row(r, 0))
    .collect()
}
