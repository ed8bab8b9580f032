//! The inbox: pages with cursors, and the long-poll wait.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use pigeon_protocol::{InboxCursor, InboxOrder, InboxPage, UserName};
use serde::Deserialize;

use super::{ApiQuery, AuthUser};
use crate::db::{self, InboxPosition};
use crate::{Hub, HubError};

#[derive(Deserialize)]
pub(super) struct InboxParams {
    #[serde(default)]
    order: InboxOrder,
    after: Option<String>,
    limit: Option<u64>,
    timeout_ms: Option<u64>,
}

pub(super) fn bad_cursor() -> HubError {
    pigeon_protocol::bad_cursor().into()
}

pub(super) fn position(order: InboxOrder, after: Option<&str>) -> Result<InboxPosition, HubError> {
    let num = |s: &str| s.parse::<i64>().map_err(|_| bad_cursor());
    Ok(match (order, after) {
        (InboxOrder::Arrival, None) => InboxPosition::ArrivalAfter(0),
        (InboxOrder::Newest, None) => InboxPosition::NewestBefore(i64::MAX),
        (InboxOrder::RespondBy, None) => InboxPosition::RespondByAfter(i64::MIN, 0),
        (InboxOrder::Arrival, Some(c)) => {
            InboxPosition::ArrivalAfter(num(c.strip_prefix('a').ok_or_else(bad_cursor)?)?)
        }
        (InboxOrder::Newest, Some(c)) => {
            InboxPosition::NewestBefore(num(c.strip_prefix('n').ok_or_else(bad_cursor)?)?)
        }
        (InboxOrder::RespondBy, Some(c)) => {
            let rest = c.strip_prefix('r').ok_or_else(bad_cursor)?;
            let (t, s) = rest.split_once('_').ok_or_else(bad_cursor)?;
            InboxPosition::RespondByAfter(num(t)?, num(s)?)
        }
    })
}

pub(super) fn cursor_for(order: InboxOrder, row: &db::InboxRow) -> InboxCursor {
    InboxCursor(match order {
        InboxOrder::Arrival => format!("a{}", row.seq),
        InboxOrder::Newest => format!("n{}", row.seq),
        InboxOrder::RespondBy => format!("r{}_{}", row.respond_by_ms, row.seq),
    })
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
    let pos = position(order, after.as_deref())?;
    let limit = hub.config.limits.page_size(limit);
    let user = user.clone();
    hub.db
        .call(move |c| {
            let mut rows = db::inbox(c, &user, pos, limit + 1)?;
            let more = rows.len() as u64 > limit;
            rows.truncate(limit as usize);
            let undelivered: Vec<i64> = rows
                .iter()
                .filter(|r| r.entry.receipt.delivered_at.is_none())
                .map(|r| r.seq)
                .collect();
            if !undelivered.is_empty() {
                db::mark_delivered(c, &undelivered, &user)?;
                let now = Some(Utc::now());
                for r in rows
                    .iter_mut()
                    .filter(|r| r.entry.receipt.delivered_at.is_none())
                {
                    r.entry.receipt.delivered_at = now;
                }
            }
            let next = rows
                .last()
                .map(|r| cursor_for(order, r))
                .or(after.map(InboxCursor));
            Ok(InboxPage {
                records: Vec::new(),
                entries: rows.into_iter().map(|r| r.entry).collect(),
                next,
                more,
            })
        })
        .await
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
    let mut new_messages = hub.new_messages.subscribe();
    loop {
        // Subscribed before querying, so a commit between the two is not missed.
        new_messages.borrow_and_update();
        let page = inbox_page(
            &hub,
            &user.name,
            InboxOrder::Arrival,
            p.after.clone(),
            p.limit,
        )
        .await?;
        if !page.entries.is_empty() {
            return Ok(Json(page));
        }
        tokio::select! {
            changed = new_messages.changed() => {
                if changed.is_err() {
                    return Ok(Json(page));
                }
            }
            _ = tokio::time::sleep_until(deadline) => return Ok(Json(page)),
            _ = hub.shutdown.cancelled() => return Ok(Json(page)),
        }
    }
}
