//! Inbox, Sent, Drafts and one message: what the screens list and show, and the
//! actions on a message (play, mark done, open or save an attachment).
//!
//! Views are plain data computed from the library; order and sections come from
//! `pigeon_library::inbox_order`, so the UI only formats them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{anyhow, Context as _};
use chrono::{DateTime, Utc};
use pigeon_library::db::{ReceivedMessage, SentMessage};
use pigeon_library::inbox_order::{self, InboxSection};
use pigeon_library::{Draft, DraftState, OutboxEntry, OutboxState, ResponseBy};
use pigeon_playback::{Media, PlaybackServer, MP4};
use pigeon_store::protocol::{Message, MessageId, Receipt};
use serde::Serialize;
use tauri::{AppHandle, Emitter as _, Manager as _, State};
use tauri_plugin_dialog::DialogExt as _;
use tauri_plugin_opener::OpenerExt as _;

use crate::commands::CommandResult;
use crate::session::Session;

/// Emitted whenever what the screens list may have changed.
pub const LIBRARY_CHANGED_EVENT: &str = "library-changed";
/// Emitted while a clip or attachment downloads: `DownloadView`.
pub const DOWNLOAD_EVENT: &str = "download-progress";

/// Tells every window to refresh what it lists.
pub fn library_changed(app: &AppHandle) {
    if let Err(error) = app.emit(LIBRARY_CHANGED_EVENT, ()) {
        tracing::warn!(%error, "could not tell the windows the library changed");
    }
}

/// A respond-by as every screen shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DueView {
    /// The instant (RFC 3339, UTC): the UI computes "due in 3 h" from it.
    pub at: DateTime<Utc>,
    /// In the reader's own time zone.
    pub local: String,
    /// "open" (due soon first), "overdue" or "answered".
    pub section: &'static str,
}

fn due_view(session: &Session, at: DateTime<Utc>, responded: bool, now: DateTime<Utc>) -> DueView {
    let respond_by = ResponseBy::from_instant(at);
    DueView {
        at,
        local: respond_by.display_in(session.zone),
        section: match InboxSection::of(respond_by, responded, now) {
            InboxSection::Open => "open",
            InboxSection::Overdue => "overdue",
            InboxSection::Responded => "answered",
        },
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DraftView {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub duration_seconds: Option<f64>,
    /// "recording", "ready", "queued" or "sent".
    pub state: &'static str,
    pub recovered: bool,
    /// Bytes of the clip the store has acknowledged, of `clip_bytes`.
    pub uploaded_bytes: u64,
    pub clip_bytes: u64,
    /// The whole clip is on the store (sealed): Send commits at once.
    pub uploaded: bool,
    pub play_url: Option<String>,
}

pub fn draft_view(app: &AppHandle, draft: &Draft) -> anyhow::Result<DraftView> {
    let clip_bytes = std::fs::metadata(&draft.clip_path)
        .map(|m| m.len())
        .unwrap_or(0);
    let play_url = match &draft.playable_path {
        Some(path) if path.is_file() => Some(offer(app, Media::file(path, MP4))?),
        _ => None,
    };
    Ok(DraftView {
        id: draft.id.clone(),
        created_at: draft.created_at,
        duration_seconds: draft.duration.map(|d| d.as_secs_f64()),
        state: draft.state.as_str(),
        recovered: draft.recovered,
        uploaded_bytes: if draft.clip_sealed.is_some() {
            clip_bytes
        } else {
            draft.clip_acknowledged
        },
        clip_bytes,
        uploaded: draft.clip_sealed.is_some(),
        play_url,
    })
}

fn offer(app: &AppHandle, media: Media) -> anyhow::Result<String> {
    app.state::<PlaybackServer>()
        .offer(media)
        .context("the clip cannot be played")
}

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

fn poster_url(app: &AppHandle, poster: Option<&Path>) -> Option<String> {
    let path = poster.filter(|p| p.is_file())?;
    app.state::<PlaybackServer>()
        .offer(Media::file(path, "image/jpeg"))
        .ok()
}

/// The clip's length: as the sender measured it, else probed from the local copy.
fn duration_of(message: &Message, playable: Option<&Path>) -> Option<f64> {
    if let Some(ms) = message.duration_ms {
        return Some(ms as f64 / 1000.0);
    }
    let path = playable.filter(|p| p.is_file())?;
    pigeon_media::probe(path)
        .ok()
        .map(|info| info.duration.as_secs_f64())
}

#[tauri::command]
pub fn inbox(app: AppHandle, session: State<'_, Session>) -> CommandResult<Vec<InboxItem>> {
    let now = Utc::now();
    let mut messages = session.library.received_all()?;
    messages.sort_by_key(|m| std::cmp::Reverse(m.message.sent_at));
    inbox_order::sort(&mut messages, now, |m| {
        (
            ResponseBy::from_instant(m.message.respond_by),
            m.responded_at.is_some(),
        )
    });
    Ok(messages
        .iter()
        .map(|m| InboxItem {
            id: m.message.id.clone(),
            sender: m.message.sender.to_string(),
            subject: m.message.subject.clone(),
            respond_by: due_view(
                &session,
                m.message.respond_by,
                m.responded_at.is_some(),
                now,
            ),
            unread: m.viewed_at.is_none(),
            responded: m.responded_at.is_some(),
            attachment_count: m.message.attachments.len(),
            clip_bytes: m.message.clip.size,
            duration_seconds: duration_of(&m.message, m.playable_path.as_deref()),
            poster_url: poster_url(&app, m.poster_path.as_deref()),
            is_reply: m.message.in_reply_to.is_some(),
            sent_at: m.message.sent_at,
        })
        .collect())
}

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

fn sent_item(
    session: &Session,
    entry: &OutboxEntry,
    sent: Option<&SentMessage>,
    now: DateTime<Utc>,
) -> SentItem {
    let receipts = sent.map(|s| s.receipts.as_slice()).unwrap_or_default();
    let all_answered = !entry.recipients.is_empty()
        && entry.recipients.iter().all(|r| {
            recipient_state(
                receipts.iter().find(|x| &x.recipient == r),
                entry.respond_by,
                now,
            ) == "responded"
        });
    SentItem {
        id: entry.message_id.clone(),
        subject: entry.subject.clone(),
        recipients: entry
            .recipients
            .iter()
            .map(|name| RecipientView {
                name: name.to_string(),
                state: recipient_state(
                    receipts.iter().find(|r| &r.recipient == name),
                    entry.respond_by,
                    now,
                ),
            })
            .collect(),
        respond_by: due_view(session, entry.respond_by, all_answered, now),
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

#[tauri::command]
pub fn sent(session: State<'_, Session>) -> CommandResult<Vec<SentItem>> {
    let now = Utc::now();
    let mut entries = session.library.outbox()?;
    entries.sort_by_key(|e| std::cmp::Reverse(e.created_at));
    entries
        .iter()
        .map(|entry| {
            let sent = session.library.sent_message(&entry.message_id)?;
            Ok(sent_item(&session, entry, sent.as_ref(), now))
        })
        .collect()
}

#[tauri::command]
pub fn drafts(app: AppHandle, session: State<'_, Session>) -> CommandResult<Vec<DraftView>> {
    let mut drafts = session.library.drafts()?;
    drafts.retain(|d| d.state == DraftState::Ready);
    drafts.sort_by_key(|d| std::cmp::Reverse(d.created_at));
    Ok(drafts
        .iter()
        .map(|d| draft_view(&app, d))
        .collect::<anyhow::Result<_>>()?)
}

#[tauri::command]
pub fn draft(app: AppHandle, session: State<'_, Session>, id: String) -> CommandResult<DraftView> {
    let draft = session.library.draft(&id)?;
    Ok(draft_view(&app, &draft)?)
}

#[tauri::command]
pub fn discard_draft(app: AppHandle, session: State<'_, Session>, id: String) -> CommandResult<()> {
    pigeon_library::recording::discard_draft(&session.library, &id)?;
    library_changed(&app);
    Ok(())
}

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

/// A message of the same thread, for the thread list.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadItem {
    pub id: MessageId,
    pub sender: String,
    pub subject: String,
    pub sent_at: DateTime<Utc>,
    pub mine: bool,
    pub current: bool,
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
    pub text: Option<String>,
    pub respond_by: DueView,
    /// The respond-by on the sender's clock, when their zone differs from ours.
    pub respond_by_sender_local: Option<String>,
    pub responded: bool,
    pub attachments: Vec<AttachmentView>,
    pub thread: Vec<ThreadItem>,
    pub clip_bytes: u64,
    pub duration_seconds: Option<f64>,
    pub poster_url: Option<String>,
}

fn thread_of(
    session: &Session,
    thread: &MessageId,
    current: &MessageId,
) -> anyhow::Result<Vec<ThreadItem>> {
    let me = session.settings()?.user;
    let mut items: Vec<ThreadItem> = Vec::new();
    let mut seen = HashSet::new();
    let mut push = |m: &Message| {
        if &m.thread == thread && seen.insert(m.id.clone()) {
            items.push(ThreadItem {
                id: m.id.clone(),
                sender: m.sender.to_string(),
                subject: m.subject.clone(),
                sent_at: m.sent_at,
                mine: m.sender.as_str() == me,
                current: &m.id == current,
            });
        }
    };
    for r in session.library.received_all()? {
        push(&r.message);
    }
    for id in session.library.sent_ids()? {
        if let Some(s) = session.library.sent_message(&id)? {
            push(&s.message);
        }
    }
    items.sort_by_key(|i| i.sent_at);
    Ok(items)
}

fn sender_local(session: &Session, message: &Message) -> Option<String> {
    let zone: chrono_tz::Tz = message.respond_by_tz.parse().ok()?;
    (zone != session.zone).then(|| ResponseBy::from_instant(message.respond_by).display_in(zone))
}

fn received_view(
    app: &AppHandle,
    session: &Session,
    r: &ReceivedMessage,
) -> anyhow::Result<MessageView> {
    let now = Utc::now();
    let m = &r.message;
    Ok(MessageView {
        id: m.id.clone(),
        mine: false,
        sender: m.sender.to_string(),
        recipients: Vec::new(),
        subject: m.subject.clone(),
        text: m.text.clone(),
        respond_by: due_view(session, m.respond_by, r.responded_at.is_some(), now),
        respond_by_sender_local: sender_local(session, m),
        responded: r.responded_at.is_some(),
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
        thread: thread_of(session, &m.thread, &m.id)?,
        clip_bytes: m.clip.size,
        duration_seconds: duration_of(m, r.playable_path.as_deref()),
        poster_url: poster_url(app, r.poster_path.as_deref()),
    })
}

fn sent_view(session: &Session, entry: &OutboxEntry) -> anyhow::Result<MessageView> {
    let now = Utc::now();
    let sent = session.library.sent_message(&entry.message_id)?;
    let item = sent_item(session, entry, sent.as_ref(), now);
    let draft = session.library.draft(&entry.draft_id).ok();
    let (thread, text) = match &sent {
        Some(s) => (
            thread_of(session, &s.message.thread, &s.message.id)?,
            s.message.text.clone(),
        ),
        None => (Vec::new(), entry.text.clone()),
    };
    Ok(MessageView {
        id: entry.message_id.clone(),
        mine: true,
        sender: session.settings()?.user,
        recipients: item.recipients,
        subject: entry.subject.clone(),
        text,
        responded: item.respond_by.section == "answered",
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
        thread,
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

/// A received message, or one this user sent.
enum Found {
    Received(Box<ReceivedMessage>),
    Sent(Box<OutboxEntry>),
}

fn find(session: &Session, id: &str) -> anyhow::Result<Found> {
    if let Ok(r) = session.library.received(id) {
        return Ok(Found::Received(Box::new(r)));
    }
    let entry = session
        .library
        .outbox_entry(id)
        .map_err(|_| anyhow!("message {id} is not in this library; it may have been removed"))?;
    Ok(Found::Sent(Box::new(entry)))
}

#[tauri::command]
pub fn message(
    app: AppHandle,
    session: State<'_, Session>,
    id: String,
) -> CommandResult<MessageView> {
    Ok(match find(&session, &id)? {
        Found::Received(r) => received_view(&app, &session, &r)?,
        Found::Sent(entry) => sent_view(&session, &entry)?,
    })
}

/// Downloads in progress, so a second Play does not start a second one.
#[derive(Default)]
pub struct Downloads(Mutex<HashSet<MessageId>>);

/// Progress of a message's download, for the Player and the Inbox.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadView {
    pub message: MessageId,
    pub done: u64,
    pub total: u64,
    /// Set when the download stopped: what went wrong and what to do.
    pub error: Option<String>,
    pub finished: bool,
}

/// Fetches a received message (clip, poster, attachments) in the background,
/// reporting progress; returns at once.
pub fn start_download(app: &AppHandle, id: &MessageId) {
    let downloads = app.state::<Downloads>();
    let Ok(mut running) = downloads.0.lock() else {
        return;
    };
    if !running.insert(id.clone()) {
        return;
    }
    drop(running);
    let app = app.clone();
    let id = id.clone();
    tauri::async_runtime::spawn(async move {
        let session = app.state::<Session>();
        let total = session
            .library
            .received(id.as_str())
            .map(|r| {
                r.message.clip.size
                    + r.message
                        .attachments
                        .iter()
                        .map(|a| a.blob.size)
                        .sum::<u64>()
            })
            .unwrap_or(0);
        let progress_app = app.clone();
        let progress_id = id.clone();
        // Progress is per blob: (blob in flight, bytes of the blobs before it, its bytes).
        let tally = Mutex::new((None, 0u64, 0u64));
        let progress: pigeon_library::inbox::DownloadProgress = std::sync::Arc::new(move |p| {
            let Ok(mut tally) = tally.lock() else {
                return;
            };
            if tally.0.as_ref() != Some(&p.blob) {
                *tally = (Some(p.blob.clone()), tally.1 + tally.2, 0);
            }
            tally.2 = p.acknowledged;
            let _ = progress_app.emit(
                DOWNLOAD_EVENT,
                DownloadView {
                    message: progress_id.clone(),
                    done: tally.1 + tally.2,
                    total,
                    error: None,
                    finished: false,
                },
            );
        });
        let result = async {
            let inbox = session.inbox().await?;
            inbox.fetch(&id, Some(progress), Utc::now()).await?;
            anyhow::Ok(())
        }
        .await;
        if let Ok(mut running) = app.state::<Downloads>().0.lock() {
            running.remove(&id);
        }
        let error = result.err().map(|e| {
            tracing::warn!(message = %id, error = %format!("{e:#}"), "download failed");
            format!("The download stopped: {e:#}. Check the connection and press Play again.")
        });
        let _ = app.emit(
            DOWNLOAD_EVENT,
            DownloadView {
                message: id.clone(),
                done: total,
                total,
                finished: error.is_none(),
                error,
            },
        );
        library_changed(&app);
    });
}

/// Where the player finds a message's clip.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlayView {
    pub url: String,
    /// False while the clip is still downloading (it plays as it arrives).
    pub complete: bool,
}

/// A loopback URL that plays the message's clip; a clip not downloaded yet starts
/// downloading and plays while it arrives.
#[tauri::command]
pub fn play(app: AppHandle, session: State<'_, Session>, id: String) -> CommandResult<PlayView> {
    match find(&session, &id)? {
        Found::Received(r) => {
            if let Some(playable) = r.playable_path.as_ref().filter(|p| p.is_file()) {
                return Ok(PlayView {
                    url: offer(&app, Media::file(playable, MP4))?,
                    complete: true,
                });
            }
            let dir = pigeon_library::inbox::received_dir(&session.library, &r.message.id);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("could not create {}", dir.display()))?;
            start_download(&app, &r.message.id);
            Ok(PlayView {
                url: offer(
                    &app,
                    Media::download(
                        dir.join("clip.part"),
                        dir.join("clip.mp4"),
                        r.message.clip.size,
                        MP4,
                    ),
                )?,
                complete: false,
            })
        }
        Found::Sent(entry) => {
            let draft = session.library.draft(&entry.draft_id)?;
            let path = draft
                .playable_path
                .filter(|p| p.is_file())
                .unwrap_or(draft.clip_path);
            Ok(PlayView {
                url: offer(&app, Media::file(path, MP4))?,
                complete: true,
            })
        }
    }
}

#[tauri::command]
pub async fn mark_done(
    app: AppHandle,
    session: State<'_, Session>,
    id: String,
) -> CommandResult<()> {
    let r = session.library.received(&id)?;
    let inbox = session
        .inbox()
        .await
        .context("it can be marked done once the store is reachable")?;
    inbox
        .done(&r.message.id, Utc::now())
        .await
        .context("could not mark it done: check the connection and try again")?;
    library_changed(&app);
    Ok(())
}

/// The local file of an attachment, downloading the message first if needed.
async fn attachment_file(session: &Session, id: &str, position: usize) -> anyhow::Result<PathBuf> {
    match find(session, id)? {
        Found::Sent(entry) => entry
            .attachments
            .get(position)
            .map(|a| a.path.clone())
            .ok_or_else(|| anyhow!("that attachment is not part of the message")),
        Found::Received(r) => {
            if let Some(Some(path)) = r.attachment_paths.get(position) {
                if path.is_file() {
                    return Ok(path.clone());
                }
            }
            let inbox = session.inbox().await?;
            let fetched = inbox.fetch(&r.message.id, None, Utc::now()).await.context(
                "the attachment could not be downloaded; check the connection and try again",
            )?;
            fetched
                .attachment_paths
                .get(position)
                .cloned()
                .flatten()
                .ok_or_else(|| anyhow!("that attachment is not part of the message"))
        }
    }
}

/// Opens an attachment with the system's default application.
#[tauri::command]
pub async fn open_attachment(
    app: AppHandle,
    session: State<'_, Session>,
    id: String,
    position: usize,
) -> CommandResult<()> {
    let path = attachment_file(&session, &id, position).await?;
    app.opener()
        .open_path(path.to_string_lossy(), None::<&str>)
        .map_err(|e| {
            anyhow!(
                "no application could open {} ({e}); use Save as… instead",
                path.display()
            )
        })?;
    Ok(())
}

/// Saves a copy of an attachment where the user picks; None when they cancel.
#[tauri::command]
pub async fn save_attachment(
    app: AppHandle,
    session: State<'_, Session>,
    id: String,
    position: usize,
) -> CommandResult<Option<String>> {
    let path = attachment_file(&session, &id, position).await?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The received copy is stored as "<position>-<name>": offer the plain name.
    let suggested = name
        .split_once('-')
        .filter(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
        .map(|(_, rest)| rest.to_owned())
        .unwrap_or(name);
    let dialog = app.dialog().file().set_file_name(&suggested);
    let chosen = tokio::task::spawn_blocking(move || dialog.blocking_save_file())
        .await
        .context("the save dialog failed")?;
    let Some(target) = chosen.and_then(|c| c.into_path().ok()) else {
        return Ok(None);
    };
    std::fs::copy(&path, &target).with_context(|| {
        format!(
            "could not save to {}: choose a folder you can write to",
            target.display()
        )
    })?;
    Ok(Some(target.display().to_string()))
}
