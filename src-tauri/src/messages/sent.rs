//! The Sent list: every message that left (or is leaving) with each recipient's
//! state.

use chrono::{DateTime, Utc};
use pigeon_library::db::SentMessage;
use pigeon_library::{OutboxEntry, OutboxState};
use pigeon_store::protocol::{MessageId, Receipt};
use serde::Serialize;
use tauri::AppHandle;

use super::{due_view, DueView, ViewContext};
use crate::error::CommandResult;
use crate::session::{self, Session};

/// A recipient of a sent message and how far they got.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecipientView {
    pub name: String,
    /// "responded", "viewed", "pending" or "overdue".
    pub state: &'static str,
}

fn recipient_state(
    receipt: Option<&Receipt>,
    respond_by: DateTime<Utc>,
    now: DateTime<Utc>,
) -> &'static str {
    match receipt {
        Some(r) if r.response.is_some() || r.responded_at.is_some() => "responded",
        _ if respond_by < now => "overdue",
        Some(r) if r.viewed_at.is_some() => "viewed",
        _ => "pending",
    }
}

/// One line of the Sent view.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentItem {
    pub id: MessageId,
    pub subject: String,
    pub recipients: Vec<RecipientView>,
    pub respond_by: DueView,
    pub created_at: DateTime<Utc>,
    /// "sending", "sent" or "failed".
    pub delivery: &'static str,
    /// Why it is not sent yet, or why it failed, with what to do.
    pub problem: Option<String>,
    pub is_reply: bool,
}

pub fn sent_item(
    context: &ViewContext,
    entry: &OutboxEntry,
    sent: Option<&SentMessage>,
) -> SentItem {
    let receipts = sent.map(|s| s.receipts.as_slice()).unwrap_or_default();
    let recipients: Vec<RecipientView> = entry
        .recipients
        .iter()
        .map(|name| RecipientView {
            name: name.to_string(),
            state: recipient_state(
                receipts.iter().find(|r| &r.recipient == name),
                entry.respond_by,
                context.now,
            ),
        })
        .collect();
    let all_answered = !recipients.is_empty() && recipients.iter().all(|r| r.state == "responded");
    SentItem {
        id: entry.message_id.clone(),
        subject: entry.subject.clone(),
        recipients,
        respond_by: due_view(context, entry.respond_by, all_answered),
        created_at: entry.created_at,
        delivery: match entry.state {
            OutboxState::Queued => "sending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
        },
        problem: match entry.state {
            OutboxState::Failed => entry.failure.clone(),
            OutboxState::Queued => entry.last_error.clone(),
            OutboxState::Sent => None,
        },
        is_reply: entry.in_reply_to.is_some(),
    }
}

fn items(session: &Session) -> anyhow::Result<Vec<SentItem>> {
    let context = ViewContext::read(session)?;
    let mut entries = session.library.outbox()?;
    entries.sort_by_key(|e| std::cmp::Reverse(e.created_at));
    entries
        .iter()
        .map(|entry| {
            let sent = session.library.sent_message(&entry.message_id)?;
            Ok(sent_item(&context, entry, sent.as_ref()))
        })
        .collect()
}

#[tauri::command]
pub async fn sent(app: AppHandle) -> CommandResult<Vec<SentItem>> {
    Ok(session::blocking(app, |_, session| items(session)).await?)
}
