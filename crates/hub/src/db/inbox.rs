//! Inbox pages.

use pigeon_protocol::{InboxEntry, UserName};
use rusqlite::{params, Connection};

use crate::HubError;

use super::messages::{build_receipt, parse_body, receipt_from_row, RECEIPT_COLUMNS};

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
pub fn inbox(
    conn: &Connection,
    user: &UserName,
    position: InboxPosition,
    limit: u64,
) -> Result<Vec<InboxRow>, HubError> {
    let (filter, order, a, b) = match position {
        InboxPosition::ArrivalAfter(seq) => ("r.message_seq > ?2", "r.message_seq ASC", seq, 0),
        InboxPosition::NewestBefore(seq) => ("r.message_seq < ?2", "r.message_seq DESC", seq, 0),
        InboxPosition::RespondByAfter(t, seq) => (
            "(r.respond_by_ms, r.message_seq) > (?2, ?3)",
            "r.respond_by_ms ASC, r.message_seq ASC",
            t,
            seq,
        ),
    };
    let sql = format!(
        "SELECT r.message_seq, r.respond_by_ms, m.body, {RECEIPT_COLUMNS}
         FROM receipts r JOIN messages m ON m.seq = r.message_seq
         WHERE r.recipient = ?1 AND {filter} AND ?3 = ?3
         ORDER BY {order} LIMIT ?4"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![user.as_str(), a, b, limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            receipt_from_row(r, 3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, respond_by_ms, body, receipt) = row?;
        out.push(InboxRow {
            seq,
            respond_by_ms,
            entry: InboxEntry {
                message: parse_body(&body)?,
                receipt: build_receipt(receipt)?,
            },
        });
    }
    Ok(out)
}

pub fn latest_seq(conn: &Connection) -> Result<i64, HubError> {
    Ok(
        conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM messages", [], |r| {
            r.get(0)
        })?,
    )
}
