//! Compose: who can be sent to, the respond-by choices (in the sender's and the
//! recipients' time zones), attachments, the draft's chapters (titles edited, some
//! removed), "acknowledge only", and Send.
//!
//! Send queues the message in the library's outbox and returns at once; the
//! delivery runs in the background and the Sent view follows it. A failed send
//! stays in the outbox with its reason.

use std::path::PathBuf;

use anyhow::{anyhow, Context as _};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use pigeon_library::fair_deadlines::{self, Due};
use pigeon_library::recipient_clock::{recipient_clock, RecipientClock};
use pigeon_library::respond_by::{ResponseByChoice, ResponseByPreset};
use pigeon_library::{chapters, people};
use pigeon_library::{Attachment, Delivery, NewOutgoing, ResponseBy};
use pigeon_store::protocol::{fields, Chapter, MessageId, Profile, User};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager as _, State};
use tauri_plugin_dialog::DialogExt as _;

use crate::blocking;
use crate::error::{CommandResult, CHECK_STORE};
use crate::profile::ProfileCache;
use crate::session::Session;
use crate::windows::library_changed;

/// Someone the user can send to.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub name: String,
    pub display_name: String,
    pub time_zone: String,
}

#[tauri::command]
pub async fn users(session: State<'_, Session>) -> CommandResult<Vec<UserView>> {
    let (store, _) = session.store().await?;
    let me = session.settings().await?.user;
    let users = store
        .users()
        .await
        .with_context(|| format!("the list of people could not be loaded; {CHECK_STORE}"))?;
    Ok(people::others(users, &me)
        .into_iter()
        .map(
            |User {
                 name,
                 display_name,
                 time_zone,
             }| UserView {
                name: name.to_string(),
                display_name,
                time_zone,
            },
        )
        .collect())
}

/// Resolves the sender's choice now, in their zone; the error says what to do here.
fn resolve(choice: &ResponseByChoice, now: DateTime<Utc>, zone: Tz) -> anyhow::Result<ResponseBy> {
    choice
        .resolve(now, zone)
        .map_err(|e| anyhow!("{e}; pick another respond-by in Compose"))
}

/// The same respond-by on a recipient's clock.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalTime {
    pub name: String,
    pub local: String,
}

/// One respond-by option as Compose shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RespondByView {
    /// The preset key, or "at" for a chosen date.
    pub key: String,
    pub label: String,
    pub at: DateTime<Utc>,
    /// On the sender's clock.
    pub local: String,
    /// On each recipient's clock, for those in another zone.
    pub recipients: Vec<LocalTime>,
    pub is_default: bool,
}

async fn zones_of(session: &Session, recipients: &[String]) -> Vec<(String, Tz)> {
    if recipients.is_empty() {
        return Vec::new();
    }
    let Ok((store, _)) = session.store().await else {
        return Vec::new();
    };
    let Ok(users) = store.users().await else {
        return Vec::new();
    };
    users
        .into_iter()
        .filter(|u| recipients.iter().any(|r| r == u.name.as_str()))
        .filter_map(|u| Some((u.name.to_string(), u.time_zone.parse::<Tz>().ok()?)))
        .collect()
}

fn respond_by_view(
    key: String,
    label: String,
    at: ResponseBy,
    zone: Tz,
    zones: &[(String, Tz)],
) -> RespondByView {
    RespondByView {
        is_default: key == ResponseByPreset::DEFAULT.key(),
        key,
        label,
        at: at.instant(),
        local: at.display_in(zone),
        recipients: zones
            .iter()
            .filter(|(_, z)| *z != zone)
            .map(|(name, z)| LocalTime {
                name: name.clone(),
                local: at.display_in(*z),
            })
            .collect(),
    }
}

/// The respond-by presets, resolved now, with the recipients' local times.
#[tauri::command]
pub async fn respond_by_choices(
    session: State<'_, Session>,
    recipients: Vec<String>,
) -> CommandResult<Vec<RespondByView>> {
    let zones = zones_of(&session, &recipients).await;
    let now = session.now();
    ResponseByPreset::CHOICES
        .iter()
        .map(|preset| {
            let at = preset.resolve(now, session.zone)?;
            Ok(respond_by_view(
                preset.key().to_owned(),
                preset.label(),
                at,
                session.zone,
                &zones,
            ))
        })
        .collect()
}

/// A date and time the sender typed, checked and shown in every zone.
#[tauri::command]
pub async fn respond_by_at(
    session: State<'_, Session>,
    local: String,
    recipients: Vec<String>,
) -> CommandResult<RespondByView> {
    let at = resolve(
        &ResponseByChoice::At {
            local: local.clone(),
        },
        session.now(),
        session.zone,
    )?;
    let zones = zones_of(&session, &recipients).await;
    Ok(respond_by_view(
        "at".into(),
        at.display_in(session.zone),
        at,
        session.zone,
        &zones,
    ))
}

/// A recipient's clock next to their name in Compose.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecipientClockView {
    pub name: String,
    pub time_zone: String,
    /// Now on their clock: "Wed 23:00".
    pub local_now: String,
    /// `None` when they gave no working hours.
    pub working: Option<bool>,
    /// "working now, until 18:00", "off until Tue 09:00".
    pub availability: Option<String>,
    /// The respond-by on their clock: "Wed 02:00".
    pub respond_by: String,
    pub outside_hours: bool,
    /// "Wed 02:00 for yuki, outside their working hours".
    pub respond_by_phrase: String,
}

impl From<RecipientClock> for RecipientClockView {
    fn from(c: RecipientClock) -> Self {
        Self {
            name: c.name,
            time_zone: c.time_zone,
            local_now: c.local_now_text,
            working: c.working,
            availability: c.availability,
            respond_by: c.respond_by_text,
            outside_hours: c.respond_by_outside_hours,
            respond_by_phrase: c.respond_by_phrase,
        }
    }
}

/// Each recipient's clock now and at the respond-by `at`, in the order given; a
/// recipient without a profile (or the store away) is left out, not an error.
#[tauri::command]
pub async fn recipient_clocks(
    session: State<'_, Session>,
    cache: State<'_, ProfileCache>,
    recipients: Vec<String>,
    at: DateTime<Utc>,
    hours_each: Option<u32>,
) -> CommandResult<Vec<RecipientClockView>> {
    if recipients.is_empty() {
        return Ok(Vec::new());
    }
    let profiles = cache.profiles(&session).await;
    let now = session.now();
    // "N working hours each": every recipient at their own deadline.
    let at_of = |profile: &Profile| match hours_each {
        Some(n) => fair_deadlines::fair_deadlines(
            n,
            std::slice::from_ref(&profile.user.name),
            std::slice::from_ref(profile),
            session.zone,
            now,
        )
        .map(|due| due.respond_by.instant()),
        None => Ok(at),
    };
    Ok(recipients
        .iter()
        .filter_map(|name| profiles.iter().find(|p| p.user.name.as_str() == name))
        .filter_map(|profile| match at_of(profile).and_then(|at| recipient_clock(profile, at, now)) {
            Ok(clock) => Some(clock.into()),
            Err(error) => {
                tracing::info!(user = %profile.user.name, %error, "no clock shown for a recipient");
                None
            }
        })
        .collect())
}

/// A file about to be attached.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentView {
    pub path: String,
    pub name: String,
    pub size: u64,
    pub content_type: String,
}

fn describe(paths: &[PathBuf]) -> anyhow::Result<Vec<AttachmentView>> {
    paths
        .iter()
        .map(|p| {
            let a = Attachment::from_path(p)?;
            Ok(AttachmentView {
                path: a.path.display().to_string(),
                name: a.name,
                size: a.size,
                content_type: a.content_type,
            })
        })
        .collect()
}

/// Checks dropped files before they are listed (folders and unreadable files are refused).
#[tauri::command]
pub async fn describe_attachments(paths: Vec<PathBuf>) -> CommandResult<Vec<AttachmentView>> {
    Ok(blocking::run(move || describe(&paths)).await?)
}

/// Opens the system's file dialog; an empty list when the user cancels.
#[tauri::command]
pub async fn pick_attachments(app: AppHandle) -> CommandResult<Vec<AttachmentView>> {
    let dialog = app.dialog().file().set_title("Attach files");
    Ok(blocking::run(move || {
        let picked = dialog.blocking_pick_files().unwrap_or_default();
        let paths: Vec<PathBuf> = picked
            .into_iter()
            .filter_map(|f| f.into_path().ok())
            .collect();
        describe(&paths)
    })
    .await?)
}

/// One of a draft's chapters, as Compose lists it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChapterLine {
    /// 1-based, as the user counts.
    pub number: usize,
    pub start_ms: u64,
    /// `start_ms` as "0:14".
    pub at: String,
    pub title: String,
}

/// A chapter as Compose sends it back, its title edited.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChapterEdit {
    pub start_ms: u64,
    pub title: String,
}

fn chapter_lines(chapters: &[Chapter]) -> Vec<ChapterLine> {
    chapters
        .iter()
        .enumerate()
        .map(|(i, c)| ChapterLine {
            number: i + 1,
            start_ms: c.start_ms,
            at: fields::moment(c.start_ms),
            title: c.title.clone(),
        })
        .collect()
}

/// The draft's chapters, in order (marked while recording, or after a trim).
#[tauri::command]
pub async fn draft_chapters(
    session: State<'_, Session>,
    draft: String,
) -> CommandResult<Vec<ChapterLine>> {
    let draft = session
        .library_call(move |library| library.draft(&draft))
        .await?;
    Ok(chapter_lines(&draft.chapters))
}

/// Saves the draft's chapters as edited in Compose; the library checks them (sorted,
/// within the clip, titles bounded) and refuses, saying why, what a store would.
#[tauri::command]
pub async fn set_draft_chapters(
    session: State<'_, Session>,
    draft: String,
    chapters: Vec<ChapterEdit>,
) -> CommandResult<Vec<ChapterLine>> {
    let chapters: Vec<Chapter> = chapters
        .into_iter()
        .map(|c| Chapter {
            start_ms: c.start_ms,
            title: c.title.trim().to_owned(),
        })
        .collect();
    let draft = session
        .library_call(move |library| library.set_draft_chapters(&draft, &chapters))
        .await
        .map_err(|e| anyhow!("{e:#}; the chapters stay as they were"))?;
    Ok(chapter_lines(&draft.chapters))
}

/// Adds a chapter at `at_ms` (the moment the sender is watching), titled "Item N"
/// by its place, to be renamed; the library checks it as any edit.
#[tauri::command]
pub async fn add_draft_chapter(
    session: State<'_, Session>,
    draft: String,
    at_ms: u64,
) -> CommandResult<Vec<ChapterLine>> {
    let draft = session
        .library_call(move |library| {
            let current = library.draft(&draft)?;
            let chapters = chapters::with_chapter_at(&current.chapters, at_ms);
            library.set_draft_chapters(&current.id, &chapters)
        })
        .await
        .map_err(|e| anyhow!("{e:#}; the chapters stay as they were"))?;
    Ok(chapter_lines(&draft.chapters))
}

/// What Send did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendView {
    pub message_id: MessageId,
    pub respond_by_local: String,
}

#[tauri::command]
#[allow(clippy::too_many_arguments)] // one argument per Compose field
pub async fn send_message(
    app: AppHandle,
    session: State<'_, Session>,
    cache: State<'_, ProfileCache>,
    draft: String,
    recipients: Vec<String>,
    subject: String,
    text: String,
    respond_by: ResponseByChoice,
    attachments: Vec<PathBuf>,
    in_reply_to: Option<String>,
    acknowledge_only: Option<bool>,
) -> CommandResult<SendView> {
    let recipients =
        people::recipients(&recipients).map_err(|e| anyhow!("{e}; pick people from the list"))?;
    let subject = subject.trim().to_owned();
    if subject.is_empty() {
        return Err(anyhow!("give the message a subject").into());
    }
    let now = session.now();
    let due = match &respond_by {
        ResponseByChoice::WorkingHoursEach { .. } => {
            // Each recipient's hours as Compose loaded them; unknown ones are assumed.
            let profiles = cache.profiles(&session).await;
            let due = fair_deadlines::due(&respond_by, &recipients, &profiles, session.zone, now)
                .map_err(|e| anyhow!("{e}; pick another respond-by in Compose"))?;
            for assumed in &due.assumed {
                tracing::info!(%assumed, "working hours assumed for a fair deadline");
            }
            due
        }
        other => Due::one(resolve(other, now, session.zone)?),
    };
    let respond_by = due.respond_by;
    let text = Some(text.trim().to_owned()).filter(|t| !t.is_empty());
    let zone = session.zone;
    // Attachments are read and the outbox written on the blocking pool.
    let entry = session
        .library_call(move |library| {
            let attachments = attachments
                .iter()
                .map(|p| Ok(Attachment::from_path(p)?.into_queued()))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let in_reply_to = match in_reply_to {
                Some(id) => Some(library.received(&id)?.message.id),
                None => None,
            };
            let draft = library.draft(&draft)?;
            anyhow::Ok(library.queue(
                &NewOutgoing {
                    draft_id: Some(draft.id),
                    recipients,
                    subject,
                    text,
                    respond_by: respond_by.instant(),
                    respond_by_tz: zone.name().to_owned(),
                    in_reply_to,
                    attachments,
                    at_ms: None,
                    chapter: None,
                    acknowledge_only: acknowledge_only.unwrap_or(false),
                    deadlines: due.deadlines,
                    working_hours_each: due.working_hours_each,
                },
                now,
            )?)
        })
        .await?;
    tracing::info!(message = %entry.message_id, "message queued");
    library_changed(&app);
    deliver_in_background(&app, entry.message_id.clone());
    Ok(SendView {
        message_id: entry.message_id,
        respond_by_local: respond_by.display_in(session.zone),
    })
}

/// Delivers one queued message now; if the store is away it stays queued and the
/// background sync tries again.
fn deliver_in_background(app: &AppHandle, id: MessageId) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let session = app.state::<Session>();
        let _one_at_a_time = session.delivering.lock().await;
        let outcome = match session.outbox().await {
            Ok(outbox) => outbox.deliver(&id).await.map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(Delivery::Sent(_)) => tracing::info!(message = %id, "message sent"),
            Ok(Delivery::Queued { error }) => {
                tracing::info!(message = %id, %error, "message queued until the store is back")
            }
            Ok(Delivery::Failed { reason }) => {
                tracing::warn!(message = %id, %reason, "message refused by the store")
            }
            Err(error) => {
                tracing::info!(message = %id, error = %format!("{error:#}"), "message queued")
            }
        }
        library_changed(&app);
        session.wake.notify_one();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shapes ui/src/api.ts sends (the keys themselves are the library's, tested there).
    #[test]
    fn choices_read_what_the_ui_sends() {
        let preset: ResponseByChoice =
            serde_json::from_str(r#"{"kind":"Preset","key":"in24-hours"}"#).unwrap();
        assert!(matches!(preset, ResponseByChoice::Preset { key } if key == "in24-hours"));
        let at: ResponseByChoice =
            serde_json::from_str(r#"{"kind":"At","local":"2026-12-01T17:00"}"#).unwrap();
        assert!(matches!(at, ResponseByChoice::At { local } if local == "2026-12-01T17:00"));
    }

    /// The shapes ui/src/api.ts reads and sends.
    #[test]
    fn chapters_are_what_the_ui_expects() {
        let lines = chapter_lines(&[
            Chapter {
                start_ms: 0,
                title: "Budget".into(),
            },
            Chapter {
                start_ms: 83_400,
                title: "Hiring".into(),
            },
        ]);
        assert_eq!(
            serde_json::to_value(&lines).unwrap(),
            serde_json::json!([
                {"number": 1, "startMs": 0, "at": "0:00", "title": "Budget"},
                {"number": 2, "startMs": 83400, "at": "1:23.4", "title": "Hiring"},
            ])
        );
        let edit: ChapterEdit =
            serde_json::from_str(r#"{"startMs": 83400, "title": "Hiring plans"}"#).unwrap();
        assert_eq!(
            (edit.start_ms, edit.title.as_str()),
            (83_400, "Hiring plans")
        );
    }

    /// The shape ui/src/api.ts reads as `RecipientClockView`.
    #[test]
    fn a_recipient_clock_is_what_the_ui_expects() {
        use pigeon_store::protocol::hours::{DailySpan, Day, WorkingHours};
        use pigeon_store::protocol::{Profile, UserName};
        let mut yuki = Profile::of(User {
            name: UserName::parse("yuki").unwrap(),
            display_name: "Yuki".into(),
            time_zone: "Asia/Tokyo".into(),
        });
        yuki.working_hours = Some(WorkingHours::new(
            "Asia/Tokyo",
            Day::parse_set("mon-fri").unwrap(),
            DailySpan::parse_list("10:00-18:00").unwrap(),
            vec![],
        ));
        let utc = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        let clock = recipient_clock(
            &yuki,
            utc("2026-12-01T17:00:00Z"),
            utc("2026-12-01T06:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(RecipientClockView::from(clock)).unwrap(),
            serde_json::json!({
                "name": "yuki",
                "timeZone": "Asia/Tokyo",
                "localNow": "Tue 15:00",
                "working": true,
                "availability": "working now, until 18:00",
                "respondBy": "Wed 02:00",
                "outsideHours": true,
                "respondByPhrase": "Wed 02:00 for yuki, outside their working hours",
            })
        );
    }

    #[test]
    fn a_wrong_time_says_what_to_do_in_compose() {
        let error = resolve(
            &ResponseByChoice::At {
                local: "tomorrow-ish".into(),
            },
            Utc::now(),
            chrono_tz::Europe::Berlin,
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with("pick another respond-by in Compose"),
            "{error}"
        );
    }
}
