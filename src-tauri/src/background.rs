//! The background sync: delivers the outbox, pulls new messages (a long-poll on a
//! hub, a periodic scan of a folder store), refreshes receipts, tells what arrived
//! (messages, replies, comments at a moment, reactions: the library's
//! announcements) and gives reminders as desktop notifications, and keeps the
//! tray's recent items current.
//!
//! It never blocks a command: it runs on the async runtime under a supervisor
//! (restarted if it panics) and does its SQLite work on the blocking pool. A wake
//! (after a send, a settings change) delivers the outbox at once without cutting
//! the long-poll short. While the store is away it backs off and says so in the
//! status bar; nothing queued is lost.
//!
//! Beside it runs the transcriber: the library's `Transcriber` makes the queued
//! transcripts one at a time on its own low-priority thread — at start (jobs a crash
//! left), after a recording stops, on "Make transcript", when a model arrives — and
//! tells every window `transcript-changed`; a finished transcript of a sent message
//! is shared with its recipients at once, and after every delivery round.

use std::time::Duration;

use pigeon_library::announce::Announcement;
use pigeon_library::reminders::{give_reminders, ReminderEvent};
use pigeon_library::transcription::{Transcriber, TranscriptionEvent};
use pigeon_library::transcripts::{TranscriptOwner, TranscriptState};
use pigeon_library::{Delivery, ResponseBy};
use pigeon_store::protocol::UserName;
use serde::Serialize;
use tauri::{AppHandle, Emitter as _, Listener as _, Manager as _};
use tauri_plugin_notification::NotificationExt as _;

use crate::recording::RECORDING_CHANGED_EVENT;
use crate::session::Session;
use crate::supervise::supervise;
use crate::transcripts::transcript_changed;
use crate::windows::{library_changed, LIBRARY_CHANGED_EVENT};

/// Emitted with a [`ConnectionView`] whenever reaching the store succeeds or fails.
pub const CONNECTION_EVENT: &str = "connection";

/// How long one long-poll on a hub waits for new messages.
const LONG_POLL: Duration = Duration::from_secs(20);
/// How often a folder store is scanned.
const FOLDER_SCAN: Duration = Duration::from_secs(4);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Whether the store is reachable, for the status bar.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    pub online: bool,
    /// What went wrong and that nothing is lost.
    pub problem: Option<String>,
    /// Messages waiting in the outbox.
    pub queued: usize,
}

/// The last [`ConnectionView`], for windows that open later.
#[derive(Default)]
pub struct LastConnection(pub std::sync::Mutex<ConnectionView>);

#[tauri::command]
pub fn connection(last: tauri::State<'_, LastConnection>) -> ConnectionView {
    last.0.lock().map(|c| c.clone()).unwrap_or_default()
}

fn report(app: &AppHandle, view: ConnectionView) {
    if let Ok(mut last) = app.state::<LastConnection>().0.lock() {
        *last = view.clone();
    }
    let _ = app.emit(CONNECTION_EVENT, view);
}

/// Starts the loop under a supervisor; it lives as long as the app.
pub fn spawn(app: AppHandle) {
    supervise("sync loop", move || sync_loop(app.clone()));
}

async fn sync_loop(app: AppHandle) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let session = app.state::<Session>();
        let wake = session.wake.clone();
        let outcome = round(&app, &session).await;
        // Whatever the round did, also when it failed part-way: what it stored is
        // announced once, here, from what the library has not announced yet.
        let notifying = session.notifying.lock().await;
        announce_new(&app, &session).await;
        drop(notifying);
        match outcome {
            Ok(incremental) => {
                backoff = Duration::from_secs(1);
                if !incremental {
                    // A folder store has no long-poll: scan again soon.
                    let _ = tokio::time::timeout(FOLDER_SCAN, wake.notified()).await;
                }
            }
            Err(error) => {
                let queued = session
                    .library_call(|library| library.queued())
                    .await
                    .map(|q| q.len())
                    .unwrap_or(0);
                report(
                    &app,
                    ConnectionView {
                        online: false,
                        problem: Some(format!(
                            "{error:#}. Nothing is lost: messages wait in the outbox and go when the store is back."
                        )),
                        queued,
                    },
                );
                let _ = tokio::time::timeout(backoff, wake.notified()).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
        let notifying = session.notifying.lock().await;
        give_due_reminders(&app, &session).await;
        drop(notifying);
    }
}

/// The clock moved (a test): what it now decides is notified at once, without
/// waiting for the long-poll in flight to end.
pub fn clock_moved(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let session = app.state::<Session>();
        let _one_at_a_time = session.notifying.lock().await;
        announce_new(&app, &session).await;
        give_due_reminders(&app, &session).await;
        crate::tray::show_recent(&app).await;
    });
}

/// Delivers what waits in the outbox; an error when the store would not take it now.
async fn deliver(app: &AppHandle, session: &Session) -> anyhow::Result<()> {
    let outbox = session.outbox().await?;
    let _one_at_a_time = session.delivering.lock().await;
    let deliveries = outbox.deliver_queued().await?;
    if !deliveries.is_empty() {
        for (id, delivery) in &deliveries {
            if let Delivery::Failed { reason } = delivery {
                notify(
                    app,
                    "A message could not be sent",
                    &format!("{reason} (message {id})"),
                );
            }
        }
        library_changed(app);
    }
    share_transcripts(&outbox).await;
    // A queued delivery means the store refused to take it now: try later.
    if let Some(error) = deliveries.iter().find_map(|(_, d)| match d {
        Delivery::Queued { error } => Some(error.clone()),
        _ => None,
    }) {
        anyhow::bail!("the store is not reachable ({error})");
    }
    Ok(())
}

/// One round; returns whether the store keeps a cursor (a hub).
async fn round(app: &AppHandle, session: &Session) -> anyhow::Result<bool> {
    let (_, incremental) = session.store().await?;
    deliver(app, session).await?;
    let inbox = session.inbox().await?;
    let queued = session
        .library_call(|library| library.queued())
        .await?
        .len();
    report(
        app,
        ConnectionView {
            online: true,
            problem: None,
            queued,
        },
    );
    let found = if incremental {
        // A wake delivers at once while the long-poll stays in flight: cancelling a
        // sync part-way would lose the notifications of what it had already stored.
        let poll = inbox.wait_and_sync(LONG_POLL, session.now());
        tokio::pin!(poll);
        let mut undelivered = None;
        let found = loop {
            tokio::select! {
                found = &mut poll => break found,
                () = session.wake.notified() => {
                    undelivered = deliver(app, session).await.err();
                }
            }
        };
        let found = found?;
        if let Some(error) = undelivered {
            return Err(error);
        }
        found
    } else {
        inbox.sync(session.now()).await?
    };
    // A reaction taken back elsewhere announces nothing: its record alone says the
    // open Player must show the thread again.
    if !found.new_messages.is_empty() || found.refreshed_sent > 0 || found.new_reactions > 0 {
        library_changed(app);
    }
    for id in &found.new_transcripts {
        transcript_changed(app, id.to_string(), &TranscriptState::Done);
    }
    crate::tray::show_recent(app).await;
    Ok(incremental)
}

/// Notifies what the library has not announced yet (new messages, replies,
/// comments, reactions by others), each exactly once, in the library's words.
async fn announce_new(app: &AppHandle, session: &Session) {
    let me = match session.settings().await.map(|s| UserName::parse(s.user)) {
        Ok(Ok(me)) => me,
        Ok(Err(error)) => {
            tracing::warn!(%error, "nothing announced: the user name in the settings is not valid");
            return;
        }
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), "nothing announced: the settings cannot be read");
            return;
        }
    };
    let announcements = match session
        .library_call(move |library| library.take_announcements(&me))
        .await
    {
        Ok(announcements) => announcements,
        Err(error) => {
            // They stay unannounced: the next round tells them.
            tracing::warn!(error = %format!("{error:#}"), "new arrivals could not be read for their notification");
            return;
        }
    };
    for announcement in &announcements {
        notify(app, &announcement.title, &body(announcement, session.zone));
    }
    // A reaction arrives without a new message: the open Player shows it now.
    if !announcements.is_empty() {
        library_changed(app);
    }
}

/// The announcement's body; a new message also says by when it asks for an answer,
/// on the reader's clock.
fn body(announcement: &Announcement, zone: chrono_tz::Tz) -> String {
    match announcement.respond_by {
        Some(at) => format!(
            "{} — respond by {}",
            announcement.body,
            ResponseBy::from_instant(at).display_in(zone)
        ),
        None => announcement.body.clone(),
    }
}

async fn give_due_reminders(app: &AppHandle, session: &Session) {
    let policy = match session.settings().await {
        Ok(settings) => settings.reminders,
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), "no reminders: the settings cannot be read");
            return;
        }
    };
    let now = session.now();
    let events = match session
        .library_call(move |library| give_reminders(library, now, policy))
        .await
    {
        Ok(events) => events,
        Err(error) => {
            tracing::warn!(%error, "could not work out reminders");
            return;
        }
    };
    for event in events {
        let (title, body) = match &event {
            ReminderEvent::DueSoon {
                subject,
                respond_by,
                ..
            } => (
                "Due soon".to_owned(),
                format!(
                    "{subject} — respond by {}",
                    ResponseBy::from_instant(*respond_by).display_in(session.zone)
                ),
            ),
            ReminderEvent::Overdue {
                subject,
                respond_by,
                ..
            } => (
                "Overdue".to_owned(),
                format!(
                    "{subject} — the respond-by was {}",
                    ResponseBy::from_instant(*respond_by).display_in(session.zone)
                ),
            ),
            ReminderEvent::DeadlinePassed {
                subject,
                answered,
                unanswered,
                ..
            } => (
                "Deadline passed".to_owned(),
                format!(
                    "{subject}: {answered} answered, waiting for {}",
                    unanswered
                        .iter()
                        .map(|u| u.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        };
        notify(app, &title, &body);
    }
}

/// Shows a desktop notification; without a notification service it is only logged
/// (the desktop tests read that line).
fn notify(app: &AppHandle, title: &str, body: &str) {
    tracing::info!(title, body, "notification");
    if let Err(error) = app.notification().builder().title(title).body(body).show() {
        tracing::info!(%error, "no notification service");
    }
}

/// Uploads the finished, unshared transcripts of sent messages; what cannot go now
/// goes after a later round.
async fn share_transcripts(outbox: &pigeon_library::Outbox) {
    match outbox.share_transcripts().await {
        Ok(0) => {}
        Ok(shared) => tracing::info!(shared, "transcripts shared with their recipients"),
        Err(error) => {
            tracing::info!(error = %format!("{error:#}"), "transcripts not shared yet; they go after a later round");
        }
    }
}

/// Starts the transcriber under a supervisor; it lives as long as the app.
pub fn spawn_transcriber(app: AppHandle) {
    // The library queues a clip's transcript when its recording stops.
    let wake = app.state::<Session>().transcribe.clone();
    app.listen_any(RECORDING_CHANGED_EVENT, move |_| wake.notify_one());
    // A received clip's transcript asked for before its download waits for the clip.
    let wake = app.state::<Session>().transcribe.clone();
    app.listen_any(LIBRARY_CHANGED_EVENT, move |_| wake.notify_one());
    supervise("transcriber", move || transcribe_loop(app.clone()));
}

async fn transcribe_loop(app: AppHandle) {
    let session = app.state::<Session>();
    let settings = match session.settings().await {
        Ok(settings) => settings.transcription,
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), "the transcription settings cannot be read; using the defaults");
            Default::default()
        }
    };
    // One Transcriber for the app's life: it keeps the model loaded between jobs.
    let events = app.clone();
    let transcriber =
        Transcriber::new(session.library.clone(), settings, session.home.models_dir())
            .with_progress(move |event: TranscriptionEvent| {
                // On the Transcriber's thread (not a tokio worker): a short SQLite read is fine.
                let session = events.state::<Session>();
                let id = match &event.owner {
                    TranscriptOwner::Message(id) => id.to_string(),
                    TranscriptOwner::Draft(draft) => {
                        match session.library.draft_message_id(draft) {
                            Ok(Some(id)) => id.to_string(),
                            _ => draft.clone(),
                        }
                    }
                };
                transcript_changed(&events, id, &event.state);
            });
    loop {
        // A wake while jobs run leaves a permit, so what it queued runs next.
        let wake = session.transcribe.clone();
        match run_transcriptions(&session, &transcriber).await {
            Ok(0) => {}
            Ok(finished) => {
                tracing::info!(finished, "transcripts made");
                if let Ok(outbox) = session.outbox().await {
                    share_transcripts(&outbox).await;
                }
            }
            Err(error) => {
                // The job keeps its state (failed with the sentence, or queued); the
                // Player shows it and the next wake tries again.
                tracing::warn!(error = %format!("{error:#}"), "transcription stopped");
            }
        }
        wake.notified().await;
    }
}

/// Runs every queued (or crash-interrupted) transcription with the settings as they are now.
async fn run_transcriptions(session: &Session, transcriber: &Transcriber) -> anyhow::Result<usize> {
    transcriber.set_settings(session.settings().await?.transcription);
    Ok(transcriber.run_pending().await?)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Utc};
    use pigeon_store::protocol::MessageId;

    use super::*;

    fn announcement(title: &str, body_text: &str, respond_by: bool) -> Announcement {
        let id = MessageId::parse("m1-budget-review-0001").unwrap();
        Announcement {
            message: id.clone(),
            thread: id,
            title: title.into(),
            body: body_text.into(),
            respond_by: respond_by.then(|| Utc.with_ymd_and_hms(2026, 12, 3, 13, 0, 0).unwrap()),
        }
    }

    #[test]
    fn a_new_message_says_by_when_on_the_readers_clock() {
        let told = body(
            &announcement("New message from bob", "Budget review", true),
            chrono_tz::Europe::Berlin,
        );
        assert_eq!(told, "Budget review — respond by Thu 3 Dec 2026, 14:00 CET");
    }

    #[test]
    fn comments_and_reactions_say_only_what_they_are() {
        let told = body(
            &announcement(
                "bob commented at 0:03 on Budget review",
                "Which quarter is this?",
                false,
            ),
            chrono_tz::Europe::Berlin,
        );
        assert_eq!(told, "Which quarter is this?");
    }
}
