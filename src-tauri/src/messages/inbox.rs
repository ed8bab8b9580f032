//! The Inbox list: every received message in `pigeon_library::inbox_order`'s
//! order, loaded in a bounded number of queries however long the inbox.

use chrono::{DateTime, Utc};
use pigeon_library::inbox_order;
use pigeon_store::protocol::MessageId;
use serde::Serialize;
use tauri::AppHandle;

use super::{due_view, duration_of, poster_url, DueView, ViewContext};
use crate::error::CommandResult;
use crate::session::{self, Session};

/// One line of the Inbox.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InboxItem {
    pub id: MessageId,
    pub sender: String,
    pub subject: String,
    pub respond_by: DueView,
    pub unread: bool,
    pub responded: bool,
    pub attachment_count: usize,
    pub clip_bytes: u64,
    pub duration_seconds: Option<f64>,
    pub poster_url: Option<String>,
    pub is_reply: bool,
    pub sent_at: DateTime<Utc>,
}

fn items(app: &AppHandle, session: &Session) -> anyhow::Result<Vec<InboxItem>> {
    let context = ViewContext::read(session)?;
    let messages = inbox_order::inbox(&session.library, context.now)?;
    Ok(messages
        .iter()
        .map(|m| InboxItem {
            id: m.message.id.clone(),
            sender: m.message.sender.to_string(),
            subject: m.message.subject.clone(),
            respond_by: due_view(&context, m.respond_by, m.responded_at.is_some()),
            unread: m.viewed_at.is_none(),
            responded: m.responded_at.is_some(),
            attachment_count: m.message.attachments.len(),
            clip_bytes: m.message.clip.as_ref().map_or(0, |c| c.size),
            duration_seconds: duration_of(&m.message, m.playable_path.as_deref()),
            poster_url: poster_url(app, m.poster_path.as_deref()),
            is_reply: m.message.in_reply_to.is_some(),
            sent_at: m.message.sent_at,
        })
        .collect())
}

#[tauri::command]
pub async fn inbox(app: AppHandle) -> CommandResult<Vec<InboxItem>> {
    Ok(session::blocking(app, items).await?)
}
