//! Inbox, Sent, Drafts and one message: what the screens list and show, and the
//! actions on a message (play, mark done, open or save an attachment).
//!
//! Views are plain data computed from the library on the blocking pool; order,
//! sections, urgency and the relative "due in 3 h" come from `pigeon_library`, so
//! the UI only shows them.
//!
//! - [`inbox`]: the Inbox list;
//! - [`sent`]: the Sent list and each recipient's state;
//! - [`drafts`]: recorded clips not sent yet;
//! - [`player`]: one message (received or sent) with its thread, Play and Mark done;
//! - [`downloads`]: a received message fetched in the background with progress;
//! - [`attachments`]: opening and saving an attachment.

pub mod attachments;
pub mod downloads;
pub mod drafts;
pub mod inbox;
pub mod player;
pub mod sent;

use std::path::Path;

use anyhow::{anyhow, Context as _};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use pigeon_library::db::ReceivedMessage;
use pigeon_library::inbox_order::InboxSection;
use pigeon_library::reminders::{ReminderPolicy, Urgency};
use pigeon_library::{OutboxEntry, ResponseBy};
use pigeon_playback::{Media, PlaybackServer};
use pigeon_store::protocol::Message;
use serde::Serialize;
use tauri::{AppHandle, Manager as _};

use crate::session::Session;

/// What every view of a screen is computed against: read once per view.
pub struct ViewContext {
    pub now: DateTime<Utc>,
    pub zone: Tz,
    /// The user's reminder setting: "soon" is its due-soon window.
    pub reminders: ReminderPolicy,
    /// The user's own name.
    pub me: String,
}

impl ViewContext {
    /// Reads the settings: only on the blocking pool.
    pub fn read(session: &Session) -> anyhow::Result<Self> {
        let settings = session.settings_blocking()?;
        Ok(Self {
            now: session.now(),
            zone: session.zone,
            reminders: settings.reminders,
            me: settings.user,
        })
    }
}

/// A respond-by as every screen shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DueView {
    /// The instant (RFC 3339, UTC).
    pub at: DateTime<Utc>,
    /// In the reader's own time zone.
    pub local: String,
    /// "open" (due soon first), "overdue" or "answered".
    pub section: &'static str,
    /// "soon" (within the user's due-soon reminder), "later", "overdue" or "answered".
    pub urgency: &'static str,
    /// "due in 3 h", "due now", "overdue by 2 d" or "answered", as of the view.
    pub relative: String,
}

pub fn due_view(context: &ViewContext, at: DateTime<Utc>, responded: bool) -> DueView {
    let respond_by = ResponseBy::from_instant(at);
    let section = InboxSection::of(respond_by, responded, context.now);
    DueView {
        at,
        local: respond_by.display_in(context.zone),
        section: match section {
            InboxSection::Open => "open",
            InboxSection::Overdue => "overdue",
            InboxSection::Responded => "answered",
        },
        urgency: Urgency::of(respond_by, responded, context.now, &context.reminders).as_str(),
        relative: if responded {
            "answered".to_owned()
        } else {
            respond_by.due(context.now).to_string()
        },
    }
}

/// Registers a file with the loopback player and returns its URL.
pub fn offer(app: &AppHandle, media: Media) -> anyhow::Result<String> {
    app.state::<PlaybackServer>()
        .offer(media)
        .context("the clip cannot be played")
}

/// The poster's loopback URL, when it is on disk.
pub fn poster_url(app: &AppHandle, poster: Option<&Path>) -> Option<String> {
    let path = poster.filter(|p| p.is_file())?;
    app.state::<PlaybackServer>()
        .offer(Media::file(path, "image/jpeg"))
        .ok()
}

/// The clip's length: as the sender measured it, else probed from the local copy.
pub fn duration_of(message: &Message, playable: Option<&Path>) -> Option<f64> {
    if let Some(ms) = message.duration_ms {
        return Some(ms as f64 / 1000.0);
    }
    let path = playable.filter(|p| p.is_file())?;
    pigeon_media::probe(path)
        .ok()
        .map(|info| info.duration.as_secs_f64())
}

/// A received message, or one this user sent.
pub enum Found {
    Received(Box<ReceivedMessage>),
    Sent(Box<OutboxEntry>),
}

/// Finds a message by id: only on the blocking pool.
pub fn find(session: &Session, id: &str) -> anyhow::Result<Found> {
    if let Ok(r) = session.library.received(id) {
        return Ok(Found::Received(Box::new(r)));
    }
    let entry = session
        .library
        .outbox_entry(id)
        .map_err(|_| anyhow!("message {id} is not in this library; it may have been removed"))?;
    Ok(Found::Sent(Box::new(entry)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn context(due_soon_minutes: i64) -> ViewContext {
        ViewContext {
            now: Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap(),
            zone: chrono_tz::Europe::Berlin,
            reminders: ReminderPolicy {
                due_soon_before: chrono::Duration::minutes(due_soon_minutes),
            },
            me: "bob".into(),
        }
    }

    #[test]
    fn due_soon_follows_the_reminder_setting() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap();
        assert_eq!(due_view(&context(120), at, false).urgency, "later");
        assert_eq!(due_view(&context(240), at, false).urgency, "soon");
        let view = due_view(&context(240), at, false);
        assert_eq!(view.relative, "due in 3 h");
        assert_eq!(view.section, "open");
        assert_eq!(view.local, "Tue 24 Nov 2026, 16:00 CET");
    }

    #[test]
    fn overdue_and_answered_say_so() {
        let past = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let overdue = due_view(&context(120), past, false);
        assert_eq!(
            (overdue.urgency, overdue.relative.as_str()),
            ("overdue", "overdue by 24 h")
        );
        let answered = due_view(&context(120), past, true);
        assert_eq!(
            (answered.urgency, answered.relative.as_str()),
            ("answered", "answered")
        );
        assert_eq!(answered.section, "answered");
    }
}
