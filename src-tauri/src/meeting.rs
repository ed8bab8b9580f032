//! The meeting grid of a message sent to several people, its Markdown summary (copied
//! or saved where the user picks), and the sender's "Nudge pending" and "Close
//! meeting". Only wiring and wording: the grid and its rules are the library's
//! (`meeting`, `more_time`).

use anyhow::Context as _;
use pigeon_library::availability::their_clock;
use pigeon_library::conversation::EntryKind;
use pigeon_library::meeting::{CellState, Closed, Item, Meeting, Participant};
use pigeon_library::people;
use pigeon_store::protocol::{fields, MessageId, Profile, UserName};
use serde::Serialize;
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt as _;

use crate::blocking;
use crate::error::CommandResult;
use crate::messages::{due_view, DueView, ViewContext};
use crate::profile::ProfileCache;
use crate::session::{self, Session};
use crate::windows::library_changed;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingItemView {
    pub index: Option<u32>,
    /// "1. Budget", or the title alone without chapters.
    pub label: String,
    pub title: String,
    pub start_ms: Option<u64>,
    pub at: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CellEntryView {
    pub id: MessageId,
    pub at_ms: Option<u64>,
    pub at: Option<String>,
    pub text: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenView {
    pub id: MessageId,
    pub at_ms: Option<u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingCellView {
    pub state: CellState,
    pub label: &'static str,
    pub entries: Vec<CellEntryView>,
    pub open: Option<OpenView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingParticipantView {
    pub name: String,
    pub deadline: DueView,
    pub their_clock: Option<String>,
    pub extended: bool,
    pub nudged: bool,
    pub cells: Vec<MeetingCellView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingClosedView {
    pub reason: Closed,
    pub text: String,
}

/// Participants × agenda items, as `ui/src/views/meeting.ts` lays it out.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingView {
    pub message: MessageId,
    pub subject: String,
    pub sender: String,
    pub mine: bool,
    pub items: Vec<MeetingItemView>,
    pub participants: Vec<MeetingParticipantView>,
    pub closed: Option<MeetingClosedView>,
    pub last_deadline: DueView,
    pub to_nudge: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NudgeView {
    pub nudged: Vec<String>,
    pub text: String,
}

fn item_view(item: &Item) -> MeetingItemView {
    MeetingItemView {
        label: match item.index {
            Some(i) => format!("{}. {}", i + 1, item.title),
            None => item.title.clone(),
        },
        index: item.index,
        title: item.title.clone(),
        start_ms: item.start_ms,
        at: item.start_ms.map(fields::moment),
    }
}

fn participant_view(
    context: &ViewContext,
    message: &MessageId,
    p: &Participant,
    profiles: &[Profile],
) -> MeetingParticipantView {
    let their = profiles
        .iter()
        .find(|profile| profile.user.name == p.name)
        .and_then(|profile| their_clock(profile, p.deadline, context.now).ok());
    MeetingParticipantView {
        name: p.name.to_string(),
        deadline: due_view(context, p.deadline, p.answered()),
        their_clock: their,
        extended: p.extended,
        nudged: p.nudged,
        cells: p
            .cells
            .iter()
            .map(|c| MeetingCellView {
                state: c.state,
                label: c.state.label(),
                // A comment opens the clip it is about at its moment; an answer itself.
                open: c.entries.first().map(|e| match e.kind {
                    EntryKind::Comment => OpenView {
                        id: message.clone(),
                        at_ms: e.at_ms,
                    },
                    _ => OpenView {
                        id: e.id.clone(),
                        at_ms: None,
                    },
                }),
                entries: c
                    .entries
                    .iter()
                    .map(|e| CellEntryView {
                        id: e.id.clone(),
                        at_ms: e.at_ms,
                        at: e.at_ms.map(fields::moment),
                        text: e.text.clone(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn meeting_view(context: &ViewContext, meeting: &Meeting, profiles: &[Profile]) -> MeetingView {
    let m = &meeting.message;
    MeetingView {
        message: m.id.clone(),
        subject: m.subject.clone(),
        sender: m.sender.to_string(),
        mine: m.sender.as_str() == context.me,
        items: meeting.items.iter().map(item_view).collect(),
        participants: meeting
            .participants
            .iter()
            .map(|p| participant_view(context, &m.id, p, profiles))
            .collect(),
        closed: meeting.closed.map(|reason| MeetingClosedView {
            reason,
            text: reason.text(&m.sender),
        }),
        last_deadline: due_view(context, meeting.last_deadline, meeting.closed.is_some()),
        to_nudge: meeting.to_nudge().iter().map(UserName::to_string).collect(),
    }
}

/// The grid of `id` with the context it was made in.
fn load(session: &Session, id: &str) -> anyhow::Result<(ViewContext, Meeting)> {
    let context = ViewContext::read(session)?;
    let me = session.me_blocking()?;
    let meeting = session.library.meeting(id, &me, context.now)?;
    Ok((context, meeting))
}

async fn view_of(
    app: AppHandle,
    profiles: &ProfileCache,
    session: &Session,
    id: String,
) -> anyhow::Result<MeetingView> {
    let profiles = profiles.profiles(session).await;
    session::blocking(app, move |_, session| {
        let (context, meeting) = load(session, &id)?;
        Ok(meeting_view(&context, &meeting, &profiles))
    })
    .await
}

#[tauri::command]
pub async fn meeting(
    app: AppHandle,
    session: State<'_, Session>,
    profiles: State<'_, ProfileCache>,
    id: String,
) -> CommandResult<MeetingView> {
    Ok(view_of(app, &profiles, &session, id)
        .await
        .context("the meeting could not be shown")?)
}

fn markdown_of(session: &Session, id: &str) -> anyhow::Result<(String, String)> {
    let (context, meeting) = load(session, id)?;
    let text = session.library.meeting_markdown(&meeting, context.zone)?;
    Ok((text, meeting.message.subject))
}

#[tauri::command]
pub async fn meeting_markdown(app: AppHandle, id: String) -> CommandResult<String> {
    Ok(session::blocking(app, move |_, session| Ok(markdown_of(session, &id)?.0)).await?)
}

/// Asks where to save the summary and writes it there; `None` when cancelled.
#[tauri::command]
pub async fn save_meeting_markdown(app: AppHandle, id: String) -> CommandResult<Option<String>> {
    let (text, subject) =
        session::blocking(app.clone(), move |_, session| markdown_of(session, &id)).await?;
    let name = format!("{}.md", pigeon_library::attachment::save_as_name(&subject));
    let dialog = app.dialog().file().set_file_name(&name);
    let chosen = blocking::run(move || Ok(dialog.blocking_save_file())).await?;
    let Some(target) = chosen.and_then(|c| c.into_path().ok()) else {
        return Ok(None);
    };
    let saved = target.clone();
    blocking::run(move || {
        std::fs::write(&saved, text).with_context(|| {
            format!(
                "could not save to {}: choose a folder you can write to",
                saved.display()
            )
        })
    })
    .await?;
    Ok(Some(target.display().to_string()))
}

/// Nudges every pending participant not nudged yet about their deadline.
#[tauri::command]
pub async fn nudge(
    app: AppHandle,
    session: State<'_, Session>,
    id: String,
) -> CommandResult<NudgeView> {
    let nudged = session::blocking(app.clone(), move |_, session| {
        let me = session.me_blocking()?;
        Ok(session.library.nudge_pending(&id, &me, session.now())?)
    })
    .await
    .context("nobody was nudged")?;
    library_changed(&app);
    session.wake.notify_one();
    let text = if nudged.is_empty() {
        "Nobody to nudge: everyone answered or was nudged about their deadline.".to_owned()
    } else {
        format!("Nudged {}.", people::joined(&nudged))
    };
    Ok(NudgeView {
        nudged: nudged.iter().map(UserName::to_string).collect(),
        text,
    })
}

/// Closes the meeting of a message I sent.
#[tauri::command]
pub async fn close_meeting(
    app: AppHandle,
    session: State<'_, Session>,
    profiles: State<'_, ProfileCache>,
    id: String,
) -> CommandResult<MeetingView> {
    let closing = id.clone();
    session::blocking(app.clone(), move |_, session| {
        let me = session.me_blocking()?;
        Ok(session
            .library
            .close_meeting(&closing, &me, session.now())?)
    })
    .await
    .context("the meeting was not closed")?;
    library_changed(&app);
    session.wake.notify_one();
    Ok(view_of(app, &profiles, &session, id).await?)
}
