//! The background sync: delivers the outbox, pulls new messages (a long-poll on a
//! hub, a periodic scan of a folder store), refreshes receipts, gives reminders as
//! desktop notifications, and keeps the tray's recent items current.
//!
//! It never blocks a command: each round runs on the async runtime and can be
//! woken early (after a send, a settings change). While the store is away it
//! backs off and says so in the status bar; nothing queued is lost.

use std::time::Duration;

use chrono::Utc;
use pigeon_library::reminders::{give_reminders, ReminderEvent};
use pigeon_library::{Delivery, ResponseBy};
use pigeon_store::protocol::MessageId;
use serde::Serialize;
use tauri::{AppHandle, Emitter as _, Manager as _};
use tauri_plugin_notification::NotificationExt as _;

use crate::messages::library_changed;
use crate::session::Session;

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

/// Starts the loop; it lives as long as the app.
pub fn spawn(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let mut backoff = Duration::from_secs(1);
        loop {
            let session = app.state::<Session>();
            let wake = session.wake.clone();
            match round(&app, &session).await {
                Ok(incremental) => {
                    backoff = Duration::from_secs(1);
                    if !incremental {
                        // A folder store has no long-poll: scan again soon.
                        let _ = tokio::time::timeout(FOLDER_SCAN, wake.notified()).await;
                    }
                }
                Err(error) => {
                    let queued = session.library.queued().map(|q| q.len()).unwrap_or(0);
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
            give_due_reminders(&app, &session);
        }
    });
}

/// One round; returns whether the store keeps a cursor (a hub).
async fn round(app: &AppHandle, session: &Session) -> anyhow::Result<bool> {
    let (_, incremental) = session.store().await?;
    let outbox = session.outbox().await?;
    {
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
        if deliveries
            .iter()
            .any(|(_, d)| matches!(d, Delivery::Queued { .. }))
        {
            // A queued delivery means the store refused to take it now: try later.
            let error = deliveries
                .iter()
                .find_map(|(_, d)| match d {
                    Delivery::Queued { error } => Some(error.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            anyhow::bail!("the store is not reachable ({error})");
        }
    }
    let inbox = session.inbox().await?;
    let queued = session.library.queued()?.len();
    report(
        app,
        ConnectionView {
            online: true,
            problem: None,
            queued,
        },
    );
    let found = if incremental {
        tokio::select! {
            found = inbox.wait_and_sync(LONG_POLL, Utc::now()) => found?,
            () = session.wake.notified() => inbox.sync(Utc::now()).await?,
        }
    } else {
        inbox.sync(Utc::now()).await?
    };
    if !found.new_messages.is_empty() || found.refreshed_sent > 0 {
        for id in &found.new_messages {
            announce_new(app, session, id);
        }
        library_changed(app);
    }
    crate::tray::show_recent(app, session);
    Ok(incremental)
}

fn announce_new(app: &AppHandle, session: &Session, id: &MessageId) {
    let Ok(received) = session.library.received(id.as_str()) else {
        return;
    };
    let m = &received.message;
    notify(
        app,
        &format!("New message from {}", m.sender),
        &format!(
            "{} — respond by {}",
            m.subject,
            ResponseBy::from_instant(m.respond_by).display_in(session.zone)
        ),
    );
}

fn give_due_reminders(app: &AppHandle, session: &Session) {
    let policy = match session.settings() {
        Ok(settings) => settings.reminders,
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), "no reminders: the settings cannot be read");
            return;
        }
    };
    let events = match give_reminders(&session.library, Utc::now(), policy) {
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

/// Shows a desktop notification; without a notification service it is only logged.
fn notify(app: &AppHandle, title: &str, body: &str) {
    tracing::info!(title, body, "notification");
    if let Err(error) = app.notification().builder().title(title).body(body).show() {
        tracing::info!(%error, "no notification service");
    }
}
