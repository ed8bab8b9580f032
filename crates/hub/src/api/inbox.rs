//! The inbox: pages with cursors (arrival pages carry the new records about received
//! and sent messages too), and the long-poll wait, woken by a new message or record.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use pigeon_protocol::{InboxCursor, InboxOrder, InboxPage, UserName};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{ApiQuery, AuthUser};
use crate::db::{self, InboxPosition};
use crate::{Hub, HubError};

/// The query of an inbox page and of the long-poll.
#[derive(Deserialize, IntoParams)]
pub(super) struct InboxParams {
    /// The order of the page (the long-poll always waits in arrival order).
    #[serde(default)]
    #[param(inline)]
    order: InboxOrder,
    /// Continue after this cursor, as a page of the same order returned it.
    after: Option<String>,
    /// Page size, clamped to the hub's max_inbox_page.
    limit: Option<u64>,
    /// Long-poll only: how long to wait, clamped to the hub's maximum (default 25 s).
    timeout_ms: Option<u64>,
}

pub(super) fn bad_cursor() -> HubError {
    pigeon_protocol::bad_cursor().into()
}

/// Where a page starts: the message position, and for arrival order the record
/// position too. An arrival cursor is `a<message seq>.r<record seq>`; a plain
/// `a<message seq>`, as hubs made before records, is record position 0, so a client
/// that kept one gets every record once.
pub(super) fn position(
    order: InboxOrder,
    after: Option<&str>,
) -> Result<(InboxPosition, i64), HubError> {
    let num = |s: &str| {
        s.parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(bad_cursor)
    };
    Ok(match (order, after) {
        (InboxOrder::Arrival, None) => (InboxPosition::ArrivalAfter(0), 0),
        (InboxOrder::Newest, None) => (InboxPosition::NewestBefore(i64::MAX), 0),
        (InboxOrder::RespondBy, None) => (InboxPosition::RespondByAfter(i64::MIN, 0), 0),
        (InboxOrder::Arrival, Some(c)) => {
            let rest = c.strip_prefix('a').ok_or_else(bad_cursor)?;
            let (m, r) = match rest.split_once(".r") {
                Some((m, r)) => (num(m)?, num(r)?),
                None => (num(rest)?, 0),
            };
            (InboxPosition::ArrivalAfter(m), r)
        }
        (InboxOrder::Newest, Some(c)) => (
            InboxPosition::NewestBefore(num(c.strip_prefix('n').ok_or_else(bad_cursor)?)?),
            0,
        ),
        (InboxOrder::RespondBy, Some(c)) => {
            let rest = c.strip_prefix('r').ok_or_else(bad_cursor)?;
            let (t, s) = rest.split_once('_').ok_or_else(bad_cursor)?;
            let t = t.parse::<i64>().map_err(|_| bad_cursor())?;
            (InboxPosition::RespondByAfter(t, num(s)?), 0)
        }
    })
}

pub(super) fn cursor_for(order: InboxOrder, row: &db::InboxRow, record_seq: i64) -> InboxCursor {
    InboxCursor(match order {
        InboxOrder::Arrival => arrival_cursor(row.seq, record_seq),
        InboxOrder::Newest => format!("n{}", row.seq),
        InboxOrder::RespondBy => format!("r{}_{}", row.respond_by_ms, row.seq),
    })
}

fn arrival_cursor(message_seq: i64, record_seq: i64) -> String {
    format!("a{message_seq}.r{record_seq}")
}

pub(super) async fn inbox_page(
    hub: &Hub,
    user: &UserName,
    order: InboxOrder,
    after: Option<String>,
    limit: Option<u64>,
) -> Result<InboxPage, HubError> {
    if let Some(after) = &after {
        InboxCursor(after.clone()).check()?;
    }
    let (pos, records_after) = position(order, after.as_deref())?;
    let limit = hub.config.limits.page_size(limit);
    let mut c = hub.db.conn().await?;
    let c = &mut *c;
    let mut rows = db::inbox(c, user, pos, limit + 1).await?;
    let mut more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let undelivered: Vec<i64> = rows
        .iter()
        .filter(|r| r.entry.receipt.delivered_at.is_none())
        .map(|r| r.seq)
        .collect();
    if !undelivered.is_empty() {
        db::mark_delivered(c, &undelivered, user).await?;
        let now = Some(Utc::now());
        for r in rows
            .iter_mut()
            .filter(|r| r.entry.receipt.delivered_at.is_none())
        {
            r.entry.receipt.delivered_at = now;
        }
    }
    let mut records = Vec::new();
    let mut records_end = records_after;
    if let InboxPosition::ArrivalAfter(messages_after) = pos {
        // Records in commit order, up to the first about a received message
        // this page does not reach yet: none comes before its message, none is
        // skipped. A sent message's records need not wait: its sender has it.
        let messages_end = rows.last().map_or(messages_after, |r| r.seq);
        for (i, r) in db::inbox_records(c, user, records_after, limit + 1)
            .await?
            .into_iter()
            .enumerate()
        {
            if i as u64 == limit || (r.received && r.message_seq > messages_end) {
                more = true;
                break;
            }
            records_end = r.seq;
            records.push(r.record);
        }
    }
    let next = match rows.last() {
        Some(last) => Some(cursor_for(order, last, records_end)),
        None if records_end != records_after => {
            let InboxPosition::ArrivalAfter(m) = pos else {
                return Err(HubError::Internal(
                    "records on a page that is not in arrival order".into(),
                ));
            };
            Some(InboxCursor(arrival_cursor(m, records_end)))
        }
        None => after.map(InboxCursor),
    };
    Ok(InboxPage {
        records,
        entries: rows.into_iter().map(|r| r.entry).collect(),
        next,
        more,
    })
}

pub(super) async fn inbox(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    ApiQuery(p): ApiQuery<InboxParams>,
) -> Result<Json<InboxPage>, HubError> {
    Ok(Json(
        inbox_page(&hub, &user.name, p.order, p.after, p.limit).await?,
    ))
}

pub(super) async fn wait_inbox(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    ApiQuery(p): ApiQuery<InboxParams>,
) -> Result<Json<InboxPage>, HubError> {
    let max = Duration::from_secs(hub.config.long_poll_max_secs);
    let timeout = Duration::from_millis(p.timeout_ms.unwrap_or(25_000)).min(max);
    let deadline = tokio::time::Instant::now() + timeout;
    let _open = hub.metrics.poll_opened();
    let mut new_messages = hub.new_messages.subscribe();
    let mut new_records = hub.new_records.subscribe();
    loop {
        // Subscribed before querying, so a commit between the two is not missed.
        new_messages.borrow_and_update();
        new_records.borrow_and_update();
        let page = inbox_page(
            &hub,
            &user.name,
            InboxOrder::Arrival,
            p.after.clone(),
            p.limit,
        )
        .await?;
        if !page.entries.is_empty() || !page.records.is_empty() {
            return Ok(Json(page));
        }
        tokio::select! {
            changed = new_messages.changed() => {
                if changed.is_err() {
                    return Ok(Json(page));
                }
            }
            changed = new_records.changed() => {
                if changed.is_err() {
                    return Ok(Json(page));
                }
            }
            _ = tokio::time::sleep_until(deadline) => return Ok(Json(page)),
            _ = hub.shutdown.cancelled() => return Ok(Json(page)),
        }
    }
}
