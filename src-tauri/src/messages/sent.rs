//! The Sent list: every message that left (or is leaving) with each recipient's
//! state, from `Library::sent_list` (a bounded number of queries).

use chrono::{DateTime, Utc};
use pigeon_library::sent::SentLine;
use pigeon_store::protocol::MessageId;
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
    /// Sent to several people: it has a meeting grid.
    pub meeting: bool,
    /// Who "Nudge pending" reaches now.
    pub to_nudge: Vec<String>,
}

pub fn sent_item(context: &ViewContext, line: SentLine) -> SentItem {
    SentItem {
        meeting: line.recipients.len() > 1,
        to_nudge: line.to_nudge().iter().map(ToString::to_string).collect(),
        recipients: line
            .recipients
            .iter()
            .map(|r| RecipientView {
                name: r.name.to_string(),
                state: r.state.as_str(),
            })
            .collect(),
        respond_by: due_view(context, line.respond_by.instant(), line.all_answered),
        delivery: line.delivery.as_str(),
        is_reply: line.in_reply_to.is_some(),
        id: line.message_id,
        subject: line.subject,
        created_at: line.created_at,
        problem: line.problem,
    }
}

fn items(_: &AppHandle, session: &Session) -> anyhow::Result<Vec<SentItem>> {
    let context = ViewContext::read(session)?;
    Ok(session
        .library
        .sent_list(context.now)?
        .into_iter()
        .map(|line| sent_item(&context, line))
        .collect())
}

#[tauri::command]
pub async fn sent(app: AppHandle) -> CommandResult<Vec<SentItem>> {
    Ok(session::blocking(app, items).await?)
}
