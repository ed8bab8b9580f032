//! The Player's "More time" section: a recipient asks for more time (a time on their
//! clock and a note) and sees the answer; the sender sees every request and grants or
//! declines it. Only wiring and wording: the rules are the library's (`more_time`) and
//! the protocol's.

use anyhow::Context as _;
use chrono::Duration;
use pigeon_library::more_time::{MoreTime, RequestState};
use pigeon_library::{OutboxState, ResponseBy};
use pigeon_store::protocol::{Extension, MessageId, RecordId};
use serde::Serialize;
use tauri::{AppHandle, State};

use crate::error::CommandResult;
use crate::messages::{due_view, DueView, ViewContext};
use crate::session::{self, Session};
use crate::windows::library_changed;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionView {
    pub request: RecordId,
    pub recipient: String,
    pub mine: bool,
    pub asked_at: String,
    pub proposed_at: chrono::DateTime<chrono::Utc>,
    pub proposed: String,
    pub note: String,
    pub state: RequestState,
    pub decision_note: Option<String>,
    pub summary: String,
}

/// What `ui/src/views/more_time.ts` shows.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MoreTimeView {
    pub message: MessageId,
    pub mine: bool,
    pub my_deadline: Option<DueView>,
    pub cannot_ask: Option<String>,
    /// A day after my deadline, "YYYY-MM-DDTHH:MM" on my clock.
    pub suggested: Option<String>,
    pub closed: Option<String>,
    pub extensions: Vec<ExtensionView>,
}

fn extension_view(context: &ViewContext, view: &MoreTime, e: &Extension) -> ExtensionView {
    let sender = &view.state.message.sender;
    let proposed = ResponseBy::from_instant(e.proposed).display_in(context.zone);
    let state = RequestState::of(e);
    let summary = match (view.mine, state) {
        (true, RequestState::Asked) => {
            format!("{} asks for more time until {proposed}", e.recipient)
        }
        (true, RequestState::Granted) => {
            format!("You gave {} more time until {proposed}", e.recipient)
        }
        (true, RequestState::Declined) => format!(
            "You declined {}'s request for more time until {proposed}",
            e.recipient
        ),
        (false, RequestState::Asked) => {
            format!("You asked {sender} for more time until {proposed}")
        }
        (false, RequestState::Granted) => {
            format!("{sender} gave you more time until {proposed}")
        }
        (false, RequestState::Declined) => {
            format!("{sender} declined your request for more time until {proposed}")
        }
    };
    ExtensionView {
        request: e.request.clone(),
        recipient: e.recipient.to_string(),
        mine: e.recipient.as_str() == context.me,
        asked_at: ResponseBy::from_instant(e.asked_at).display_in(context.zone),
        proposed_at: e.proposed,
        proposed,
        note: e.note.clone(),
        state,
        decision_note: e
            .answer
            .as_ref()
            .map(|a| a.note.clone())
            .filter(|n| !n.is_empty()),
        summary,
    }
}

fn view(context: &ViewContext, view: &MoreTime) -> MoreTimeView {
    MoreTimeView {
        message: view.state.message.id.clone(),
        mine: view.mine,
        my_deadline: view.my_deadline.map(|d| due_view(context, d, false)),
        cannot_ask: view.cannot_ask.clone(),
        suggested: view.my_deadline.map(|d| {
            (d + Duration::days(1))
                .with_timezone(&context.zone)
                .format("%Y-%m-%dT%H:%M")
                .to_string()
        }),
        closed: view
            .closed
            .map(|_| format!("{} closed this meeting.", view.state.message.sender)),
        extensions: view
            .extensions
            .iter()
            .map(|e| extension_view(context, view, e))
            .collect(),
    }
}

fn load(session: &Session, id: &str) -> anyhow::Result<MoreTimeView> {
    let context = ViewContext::read(session)?;
    // A message of mine still in the outbox has no requests yet: nothing to show.
    if let Ok(entry) = session.library.sent_from_here(id) {
        if entry.state != OutboxState::Sent {
            return Ok(MoreTimeView {
                message: entry.message_id,
                mine: true,
                my_deadline: None,
                cannot_ask: None,
                suggested: None,
                closed: None,
                extensions: Vec::new(),
            });
        }
    }
    let me = session.me_blocking()?;
    Ok(view(&context, &session.library.more_time(id, &me)?))
}

#[tauri::command]
pub async fn more_time(app: AppHandle, id: String) -> CommandResult<MoreTimeView> {
    Ok(session::blocking(app, move |_, session| load(session, &id)).await?)
}

/// Asks for more time until `until`, a time on my clock ("YYYY-MM-DDTHH:MM").
#[tauri::command]
pub async fn ask_more_time(
    app: AppHandle,
    session: State<'_, Session>,
    id: String,
    until: String,
    note: String,
) -> CommandResult<MoreTimeView> {
    let shown = session::blocking(app.clone(), move |_, session| {
        let now = session.now();
        let proposed = ResponseBy::parse(&until, now, session.zone)
            .map_err(|e| anyhow::anyhow!("{e}; pick another time"))?;
        let me = session.me_blocking()?;
        session
            .library
            .ask_more_time(&id, &me, proposed.instant(), &note, now)?;
        load(session, &id)
    })
    .await
    .context("the request for more time was not sent")?;
    library_changed(&app);
    session.wake.notify_one();
    Ok(shown)
}

/// Grants or declines one request for more time on a message I sent.
#[tauri::command]
pub async fn answer_more_time(
    app: AppHandle,
    session: State<'_, Session>,
    id: String,
    request: String,
    granted: bool,
    note: String,
) -> CommandResult<MoreTimeView> {
    let shown = session::blocking(app.clone(), move |_, session| {
        let me = session.me_blocking()?;
        session
            .library
            .answer_request_by_id(&id, &me, &request, granted, &note, session.now())?;
        load(session, &id)
    })
    .await
    .context("the answer was not sent")?;
    library_changed(&app);
    session.wake.notify_one();
    Ok(shown)
}
