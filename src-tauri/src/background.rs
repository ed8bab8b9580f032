//! The background sync: delivers the outbox, pulls new messages (a long-poll on a
//! hub, a periodic scan of a folder store), refreshes receipts, tells what arrived
//! (messages, replies, comments at a moment, reactions: the library's
//! announcements) and gives reminders as desktop notifications — held outside my
//! working hours and while "do not disturb" is on, then summed up in one — and keeps
//! the tray's recent items and quiet state current.
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

use std::sync::atomic::Ordering;
use std::time::Duration;

use pigeon_library::announce::Announcement;
use pigeon_library::quiet::held_summary;
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
        tell(&app, &session).await;
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
        tell(&app, &session).await;
        drop(notifying);
    }
}

/// Tells now what waits (the clock moved in a test, quiet hours were switched):
/// without waiting for the long-poll in flight to end.
pub fn tell_now(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let session = app.state::<Session>();
        let _one_at_a_time = session.notifying.lock().await;
        tell(&app, &session).await;
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
    // My working hours as my profile gives them, once per run: quiet hours hold by them.
    if !session.hours_read.swap(true, Ordering::SeqCst) {
        let read = match crate::profile::my_current_profile(session).await {
            Ok(profile) => crate::quiet::remember_my_hours(session, &profile).await,
            Err(error) => Err(error),
        };
        if let Err(error) = read {
            session.hours_read.store(false, Ordering::SeqCst);
            tracing::info!(error = %format!("{error:#}"), "my working hours not read yet");
        }
    }
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

/// Tells what waits to be told — the library's announcements (new messages, replies,
/// comments, reactions by others) and the reminders due — each exactly once, unless
/// quiet hours hold them: outside my working hours or while "do not disturb" is on,
/// nothing is taken (it stays untold in the library) and the tray says so; when the
/// quiet ends, everything held is given as one summary.
async fn tell(app: &AppHandle, session: &Session) {
    let settings = match session.settings().await {
        Ok(settings) => settings,
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), "nothing told: the settings cannot be read");
            return;
        }
    };
    let me = match UserName::parse(settings.user.clone()) {
        Ok(me) => me,
        Err(error) => {
            tracing::warn!(%error, "nothing told: the user name in the settings is not valid");
            return;
        }
    };
    let now = session.now();
    let quiet = settings.quiet.at(now);
    crate::tray::show_quiet(app, quiet, session.zone);
    if quiet.holds() {
        if !session.held.swap(true, Ordering::SeqCst) {
            tracing::info!(state = ?quiet, "notifications held");
        }
        return;
    }
    let policy = settings.reminders;
    let zone = session.zone;
    let told = session
        .library_call(move |library| {
            let announcements = library.take_announcements(&me)?;
            let reminders = give_reminders(library, now, policy)?;
            let due_today = library.due_today(now, zone)?;
            anyhow::Ok((announcements, reminders, due_today))
        })
        .await;
    let (announcements, reminders, due_today) = match told {
        Ok(told) => told,
        Err(error) => {
            // They stay untold: the next round tells them.
            tracing::warn!(error = %format!("{error:#}"), "what arrived could not be read for its notification");
            return;
        }
    };
    if session.held.swap(false, Ordering::SeqCst) {
        tracing::info!("quiet hours ended");
        if let Some((title, body)) = held_summary(&announcements, &reminders, due_today) {
            notify(app, &title, &body);
        }
    } else {
        for announcement in &announcements {
            notify(app, &announcement.title, &body(announcement, session.zone));
        }
        for event in &reminders {
            let (title, body) = reminder_text(event, session.zone);
            notify(app, &title, &body);
        }
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

/// A reminder's notification: (title, body).
fn reminder_text(event: &ReminderEvent, zone: chrono_tz::Tz) -> (String, String) {
    match event {
        ReminderEvent::Halfway {
            subject,
            respond_by,
            ..
        } => (
            "Halfway to the respond-by".to_owned(),
            format!(
                "{subject} — respond by {}",
                ResponseBy::from_instant(*respond_by).display_in(zone)
            ),
        ),
        ReminderEvent::DueSoon {
            subject,
            respond_by,
            ..
        } => (
            "Due soon".to_owned(),
            format!(
                "{subject} — respond by {}",
                ResponseBy::from_instant(*respond_by).display_in(zone)
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
                ResponseBy::from_instant(*respond_by).display_in(zone)
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
                pigeon_library::people::joined(unanswered)
            ),
        ),
    }
}

/// Shows a desktop notification; without a notification service it is only logged
/// (the desktop tests read that line).
fn notify(app: &AppHandle, title: &str, body: &str) {
    // With the user's local time: quiet hours are checked by it.
    let session = app.state::<Session>();
    let local = session.now().with_timezone(&session.zone).to_rfc3339();
    tracing::info!(title, body, local, "notification");
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
