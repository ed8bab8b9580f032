//! Receipts: how far each recipient got with a message.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{MessageId, UserName};

/// How a recipient responded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Response {
    /// A reply in the thread.
    Reply { message: MessageId },
    /// Marked done without replying.
    Done,
}

/// One recipient's state for one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    pub recipient: UserName,
    /// When the recipient's device first fetched the message.
    pub delivered_at: Option<DateTime<Utc>>,
    pub viewed_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub response: Option<Response>,
}

/// The furthest state a recipient reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecipientState {
    /// Committed, not fetched yet.
    Sent,
    Delivered,
    Viewed,
    Responded,
}

impl Receipt {
    /// A receipt with nothing recorded yet.
    pub fn new(recipient: UserName) -> Self {
        Self {
            recipient,
            delivered_at: None,
            viewed_at: None,
            responded_at: None,
            response: None,
        }
    }
    /// A receipt from the marks a store keeps. The first response counts: a reply
    /// after "done" (or the reverse) does not replace it.
    pub fn assemble(
        recipient: UserName,
        delivered_at: Option<DateTime<Utc>>,
        viewed_at: Option<DateTime<Utc>>,
        done_at: Option<DateTime<Utc>>,
        first_reply: Option<(DateTime<Utc>, MessageId)>,
    ) -> Self {
        let (responded_at, response) = match (done_at, first_reply) {
            (Some(done), Some((replied, _))) if done <= replied => {
                (Some(done), Some(Response::Done))
            }
            (_, Some((replied, message))) => (Some(replied), Some(Response::Reply { message })),
            (Some(done), None) => (Some(done), Some(Response::Done)),
            (None, None) => (None, None),
        };
        Self {
            recipient,
            delivered_at,
            viewed_at,
            responded_at,
            response,
        }
    }
    /// The furthest state reached.
    pub fn state(&self) -> RecipientState {
        if self.response.is_some() {
            RecipientState::Responded
        } else if self.viewed_at.is_some() {
            RecipientState::Viewed
        } else if self.delivered_at.is_some() {
            RecipientState::Delivered
        } else {
            RecipientState::Sent
        }
    }
}

/// The sender's view of a message: every recipient's receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessageStatus {
    pub message: MessageId,
    pub receipts: Vec<Receipt>,
}
