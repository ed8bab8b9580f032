//! One message as the Player shows it (received or sent), and the actions on it:
//! Play and Mark done. Its thread, chapters and reactions are `crate::conversation`.

use anyhow::{anyhow, Context as _};
use pigeon_library::db::ReceivedMessage;
use pigeon_library::received_files::ReceivedFiles;
use pigeon_library::thread::reply_subject;
use pigeon_library::{OutboxEntry, ResponseBy};
use pigeon_playback::{Media, MP4};
use pigeon_store::protocol::{Message, MessageId};
use serde::Serialize;
use tauri::AppHandle;

use super::downloads::start_download;
use super::sent::{sent_item, RecipientView};
use super::{due_view, duration_of, find, offer, poster_url, DueView, Found, ViewContext};
use crate::error::{CommandResult, CHECK_STORE};
use crate::session::{self, Session};
use crate::windows::library_changed;

/// An attachment of the message shown.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentView {
    pub position: usize,
    pub name: String,
    pub size: u64,
    pub content_type: String,
    pub downloaded: bool,
}

/// Everything the Player shows about one message (received or sent).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: MessageId,
    pub mine: bool,
    pub sender: String,
    pub recipients: Vec<RecipientView>,
    pub subject: String,
    /// The subject a reply to it starts with ("Re: …").
    pub reply_subject: String,
    pub text: Option<String>,
    pub respond_by: DueView,
    /// The respond-by on the sender's clock, when their zone differs from ours.
    pub respond_by_sender_local: Option<String>,
    pub responded: bool,
    /// Sent to several people: it has a meeting grid.
    pub meeting: bool,
    pub attachments: Vec<AttachmentView>,
    pub clip_bytes: u64,
    pub duration_seconds: Option<f64>,
    pub poster_url: Option<String>,
}

/// `respond_by` (my deadline) on the sender's clock, when their zone differs from ours.
fn sender_local(
    context: &ViewContext,
    message: &Message,
    respond_by: chrono::DateTime<chrono::Utc>,
) -> Option<String> {
    let zone: chrono_tz::Tz = message.respond_by_tz.parse().ok()?;
    (zone != context.zone).then(|| ResponseBy::from_instant(respond_by).display_in(zone))
}

fn received_view(
    app: &AppHandle,
    context: &ViewContext,
    r: &ReceivedMessage,
) -> anyhow::Result<MessageView> {
    let m = &r.message;
    Ok(MessageView {
        id: m.id.clone(),
        mine: false,
        sender: m.sender.to_string(),
        recipients: Vec::new(),
        subject: m.subject.clone(),
        reply_subject: reply_subject(&m.subject),
        text: m.text.clone(),
        respond_by: due_view(context, r.respond_by, r.responded_at.is_some()),
        respond_by_sender_local: sender_local(context, m, r.respond_by),
        responded: r.responded_at.is_some(),
        meeting: m.recipients.len() > 1,
        attachments: m
            .attachments
            .iter()
            .enumerate()
            .map(|(position, a)| AttachmentView {
                position,
                name: a.name.clone(),
                size: a.blob.size,
                content_type: a.blob.content_type.clone(),
                downloaded: r
                    .attachment_paths
                    .get(position)
                    .is_some_and(|p| p.as_ref().is_some_and(|p| p.is_file())),
            })
            .collect(),
        clip_bytes: m.clip.as_ref().map_or(0, |c| c.size),
        duration_seconds: duration_of(m, r.playable_path.as_deref()),
        poster_url: poster_url(app, r.poster_path.as_deref()),
    })
}

fn sent_view(
    session: &Session,
    context: &ViewContext,
    entry: &OutboxEntry,
) -> anyhow::Result<MessageView> {
    let sent = session.library.sent_message(&entry.message_id)?;
    let line = session
        .library
        .sent_line(&entry.message_id, context.now)?
        .ok_or_else(|| {
            anyhow!(
                "message {} is not in this library; it may have been removed",
                entry.message_id
            )
        })?;
    let item = sent_item(context, line);
    let draft = entry
        .draft_id
        .as_deref()
        .and_then(|d| session.library.draft(d).ok());
    let text = match &sent {
        Some(s) => s.message.text.clone(),
        None => entry.text.clone(),
    };
    Ok(MessageView {
        id: entry.message_id.clone(),
        mine: true,
        sender: context.me.clone(),
        recipients: item.recipients,
        subject: entry.subject.clone(),
        reply_subject: reply_subject(&entry.subject),
        text,
        responded: item.respond_by.section == "answered",
        meeting: item.meeting,
        respond_by: item.respond_by,
        respond_by_sender_local: None,
        attachments: entry
            .attachments
            .iter()
            .map(|a| AttachmentView {
                position: a.position as usize,
                name: a.name.clone(),
                size: std::fs::metadata(&a.path).map(|m| m.len()).unwrap_or(0),
                content_type: a.content_type.clone(),
                downloaded: a.path.is_file(),
            })
            .collect(),
        clip_bytes: draft
            .as_ref()
            .and_then(|d| std::fs::metadata(&d.clip_path).ok())
            .map(|m| m.len())
            .unwrap_or(0),
        duration_seconds: draft
            .as_ref()
            .and_then(|d| d.duration)
            .map(|d| d.as_secs_f64()),
        poster_url: None,
    })
}

#[tauri::command]
pub async fn message(app: AppHandle, id: String) -> CommandResult<MessageView> {
    Ok(session::blocking(app, move |app, session| {
        let context = ViewContext::read(session)?;
        match find(session, &id)? {
            Found::Received(r) => received_view(app, &context, &r),
            Found::Sent(entry) => sent_view(session, &context, &entry),
        }
    })
    .await?)
}

/// Where the player finds a message's clip.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlayView {
    pub url: String,
    /// False while the clip is still downloading (it plays as it arrives).
    pub complete: bool,
}

fn play_view(app: &AppHandle, session: &Session, id: &str) -> anyhow::Result<PlayView> {
    match find(session, id)? {
        Found::Received(r) => {
            if let Some(playable) = r.playable_path.as_ref().filter(|p| p.is_file()) {
                return Ok(PlayView {
                    url: offer(app, Media::file(playable, MP4))?,
                    complete: true,
                });
            }
            let Some(clip) = &r.message.clip else {
                anyhow::bail!("this message is a text answer: it has no clip to play");
            };
            let files = ReceivedFiles::of(&session.library, &r.message.id);
            let dir = files.dir();
            std::fs::create_dir_all(dir).with_context(|| {
                format!(
                    "could not create {}: check the disk has room",
                    dir.display()
                )
            })?;
            start_download(app, &r.message.id);
            Ok(PlayView {
                url: offer(
                    app,
                    Media::download(files.clip_part(), files.clip(), clip.size, MP4),
                )?,
                complete: false,
            })
        }
        Found::Sent(entry) => {
            let Some(draft_id) = &entry.draft_id else {
                anyhow::bail!("this message is a text answer: it has no clip to play");
            };
            let draft = session.library.draft(draft_id)?;
            let path = draft
                .playable_path
                .filter(|p| p.is_file())
                .unwrap_or(draft.clip_path);
            Ok(PlayView {
                url: offer(app, Media::file(path, MP4))?,
                complete: true,
            })
        }
    }
}

/// A loopback URL that plays the message's clip; a clip not downloaded yet starts
/// downloading and plays while it arrives.
#[tauri::command]
pub async fn play(app: AppHandle, id: String) -> CommandResult<PlayView> {
    Ok(session::blocking(app, move |app, session| play_view(app, session, &id)).await?)
}

#[tauri::command]
pub async fn mark_done(
    app: AppHandle,
    session: tauri::State<'_, Session>,
    id: String,
) -> CommandResult<()> {
    let r = session
        .library_call(move |library| library.received(&id))
        .await?;
    let inbox = session.inbox().await.with_context(|| {
        format!("it can be marked done once the store is reachable; {CHECK_STORE}")
    })?;
    inbox
        .done(&r.message.id, session.now())
        .await
        .context("could not mark it done: check the connection and try again")?;
    library_changed(&app);
    Ok(())
}
