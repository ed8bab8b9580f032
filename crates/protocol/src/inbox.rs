//! Inbox listings: orders, cursors, pages.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ApiError, Message, Receipt, Record};

/// One message in a recipient's inbox with the recipient's own receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InboxEntry {
    pub message: Message,
    pub receipt: Receipt,
}

/// How an inbox listing is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InboxOrder {
    /// Oldest arrival first: incremental sync. The last page's cursor is where to
    /// continue (and what to wait on) later.
    #[default]
    Arrival,
    /// Newest first.
    Newest,
    /// Earliest respond-by first (what is due first).
    RespondBy,
}

impl InboxOrder {
    /// Text form used in query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            InboxOrder::Arrival => "arrival",
            InboxOrder::Newest => "newest",
            InboxOrder::RespondBy => "respond_by",
        }
    }
}

/// An opaque position in an inbox listing. Only pass back what a store returned, with
/// the same order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct InboxCursor(pub String);

impl InboxCursor {
    /// The text to put in a query string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An inbox listing request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InboxQuery {
    pub order: InboxOrder,
    /// Continue after this position; `None` starts at the beginning.
    pub after: Option<InboxCursor>,
    /// Page size; clamped to `1..=limits.max_inbox_page`.
    pub limit: u32,
}

/// A page of an inbox listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InboxPage {
    pub entries: Vec<InboxEntry>,
    /// Position after the last entry (unchanged from the request when empty).
    pub next: Option<InboxCursor>,
    /// Whether more entries (or, in arrival order, records) follow right now.
    pub more: bool,
    /// Records added (after their message was committed) about messages the reader
    /// received or sent, new since the cursor (arrival order only; a received message's
    /// never before the page that carries it). Left out when empty, so older clients
    /// read the page as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<Record>,
}

/// Page size when a request names none.
pub const DEFAULT_INBOX_PAGE: u64 = 50;
/// Longest cursor a store returns; a longer one was not made by a store.
pub const MAX_CURSOR_CHARS: usize = 200;

impl InboxCursor {
    /// Checks that a cursor from a request could have come from a store (bounded,
    /// printable ASCII), before a store parses it.
    pub fn check(&self) -> Result<(), ApiError> {
        if self.0.is_empty()
            || self.0.len() > MAX_CURSOR_CHARS
            || !self.0.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(bad_cursor());
        }
        Ok(())
    }
}

/// The refusal of a cursor that the store did not make for this order.
pub fn bad_cursor() -> ApiError {
    ApiError::invalid(
        "the inbox cursor is not one this store returned for this order: start again without `after`",
    )
}
