//! Inbox pages.

use pigeon_protocol::{InboxEntry, UserName};
use sqlx::Row;

use crate::HubError;

use super::messages::{parse_body, receipt_from_row, RECEIPT_COLUMNS};
use super::{int, Conn};

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
pub async fn inbox(
    c: &mut Conn,
    user: &UserName,
    position: InboxPosition,
    limit: u64,
) -> Result<Vec<InboxRow>, HubError> {
    let (filter, order, a, b) = match position {
        InboxPosition::ArrivalAfter(seq) => ("r.message_seq > $2", "r.message_seq ASC", seq, None),
        InboxPosition::NewestBefore(seq) => ("r.message_seq < $2", "r.message_seq DESC", seq, None),
        InboxPosition::RespondByAfter(t, seq) => (
            "(r.respond_by_ms, r.message_seq) > ($2, $3)",
            "r.respond_by_ms ASC, r.message_seq ASC",
            t,
            Some(seq),
        ),
    };
    // Only the respond-by order has a third parameter: PostgreSQL refuses a parameter
    // whose type nothing in the query tells.
    let limit_param = if b.is_some() { "$4" } else { "$3" };
    let sql = format!(
        "SELECT r.message_seq, r.respond_by_ms, m.body, {RECEIPT_COLUMNS}
         FROM receipts r JOIN messages m ON m.seq = r.message_seq
         WHERE r.recipient = $1 AND {filter}
         ORDER BY {order} LIMIT {limit_param}"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user.as_str())
        .bind(a);
    if let Some(b) = b {
        query = query.bind(b);
    }
    let rows = query.bind(limit as i64).fetch_all(&mut *c).await?;
    rows.iter()
        .map(|r| {
            let body: String = r.try_get(2)?;
            Ok(InboxRow {
                seq: int(r, 0)?,
                respond_by_ms: int(r, 1)?,
                entry: InboxEntry {
                    message: parse_body(&body)?,
                    receipt: receipt_from_row(r, 3)?,
                },
            })
        })
        .collect()
}

pub async fn latest_seq(c: &mut Conn) -> Result<i64, HubError> {
    let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM messages")
        .fetch_one(&mut *c)
        .await?;
    int(&row, 0)
}
