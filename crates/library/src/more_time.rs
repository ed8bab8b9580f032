//! More time, nudges and closing, as a participant does them: a recipient asks for
//! more time (a proposed time and a note), the sender grants or declines it, nudges
//! the ones still pending (once per deadline) and closes the meeting. Each is a record
//! queued for the outbox after the protocol's rule accepted it here, so a refusal is
//! told at once, offline, and nothing is queued.
//!
//! [`MoreTime`] is what both see: every request with its answer, my own deadline, and
//! whether I may ask now. Not here: the rules themselves (the protocol's
//! `check_deadline_record`) and the meeting grid ([`crate::meeting`]).

use chrono::{DateTime, Utc};
use pigeon_store::protocol::{
    closed, effective_deadline, extensions, Extension, NewRecordBody, RecordId, UserName,
};
use serde::Serialize;

use crate::db::{DeadlineState, Library};
use crate::error::{LibraryError, Result};

/// Where one request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Asked,
    Granted,
    Declined,
}

impl RequestState {
    pub fn of(extension: &Extension) -> Self {
        match &extension.answer {
            None => Self::Asked,
            Some(a) if a.granted => Self::Granted,
            Some(_) => Self::Declined,
        }
    }
}

/// The requests for more time on one message, as I see them.
#[derive(Debug, Clone)]
pub struct MoreTime {
    pub state: DeadlineState,
    /// I sent the message: I answer requests; else I ask.
    pub mine: bool,
    /// My own deadline, as a recipient.
    pub my_deadline: Option<DateTime<Utc>>,
    /// Why I cannot ask now; `None` when I can (or when I am the sender).
    pub cannot_ask: Option<String>,
    /// When the sender closed the meeting.
    pub closed: Option<DateTime<Utc>>,
    /// Every request, oldest first; mine only, unless I sent the message.
    pub extensions: Vec<Extension>,
}

impl Library {
    /// The requests for more time on the message `id_or_prefix` names, as `me` sees them.
    pub fn more_time(&self, id_or_prefix: &str, me: &UserName) -> Result<MoreTime> {
        let state = self.deadline_state(id_or_prefix, me)?;
        let (m, records) = (&state.message, &state.records);
        let mine = &m.sender == me;
        let closed = closed(m, records);
        let all = extensions(m, records);
        let my_deadline = effective_deadline(m, records, me);
        let cannot_ask = if mine {
            None
        } else if closed.is_some() {
            Some(format!("{} closed this meeting.", m.sender))
        } else if all.iter().any(|e| &e.recipient == me && e.answer.is_none()) {
            Some(format!(
                "You asked {} for more time; the answer is not here yet.",
                m.sender
            ))
        } else {
            None
        };
        let extensions = all
            .into_iter()
            .filter(|e| mine || &e.recipient == me)
            .collect();
        Ok(MoreTime {
            mine,
            my_deadline,
            cannot_ask,
            closed,
            extensions,
            state,
        })
    }

    /// Asks the sender of the message `id_or_prefix` names for more time, until
    /// `proposed`, saying why in `note`.
    pub fn ask_more_time(
        &self,
        id_or_prefix: &str,
        me: &UserName,
        proposed: DateTime<Utc>,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<RecordId> {
        let state = self.deadline_state(id_or_prefix, me)?;
        self.queue_deadline_record(
            &state.message.id,
            NewRecordBody::ExtensionRequest {
                proposed,
                note: note.trim().to_owned(),
            },
            me,
            now,
        )
    }

    /// Grants or declines the open request for more time of `recipient` (or the only
    /// open one) on a message I sent.
    pub fn answer_more_time(
        &self,
        id_or_prefix: &str,
        me: &UserName,
        recipient: Option<&UserName>,
        granted: bool,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<RecordId> {
        let state = self.deadline_state(id_or_prefix, me)?;
        let open: Vec<Extension> = extensions(&state.message, &state.records)
            .into_iter()
            .filter(|e| e.answer.is_none() && recipient.is_none_or(|r| &e.recipient == r))
            .collect();
        let request = match (open.as_slice(), recipient) {
            ([one], _) => one.request.clone(),
            ([], Some(r)) => {
                return Err(LibraryError::Invalid(format!(
                    "{r} has no request for more time waiting for an answer"
                )))
            }
            ([], None) => {
                return Err(LibraryError::Invalid(
                    "no request for more time is waiting for an answer".into(),
                ))
            }
            (several, _) => {
                let who: Vec<&str> = several.iter().map(|e| e.recipient.as_str()).collect();
                return Err(LibraryError::Invalid(format!(
                    "{} asked for more time: say whose request to answer",
                    who.join(" and ")
                )));
            }
        };
        self.answer_request(&state, me, request, granted, note, now)
    }

    /// Grants or declines one request by its id.
    pub fn answer_request_by_id(
        &self,
        id_or_prefix: &str,
        me: &UserName,
        request: &str,
        granted: bool,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<RecordId> {
        let state = self.deadline_state(id_or_prefix, me)?;
        let request = RecordId::parse(request).map_err(|e| LibraryError::Invalid(e.0))?;
        self.answer_request(&state, me, request, granted, note, now)
    }

    fn answer_request(
        &self,
        state: &DeadlineState,
        me: &UserName,
        request: RecordId,
        granted: bool,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<RecordId> {
        self.queue_deadline_record(
            &state.message.id,
            NewRecordBody::ExtensionAnswer {
                request,
                granted,
                note: note.trim().to_owned(),
            },
            me,
            now,
        )
    }

    /// Nudges every recipient of a message I sent who has not answered and was not
    /// nudged about their current deadline; returns who was nudged (none is no error).
    pub fn nudge_pending(
        &self,
        id_or_prefix: &str,
        me: &UserName,
        now: DateTime<Utc>,
    ) -> Result<Vec<UserName>> {
        let meeting = self.meeting(id_or_prefix, me, now)?;
        let mut nudged = Vec::new();
        for name in meeting.to_nudge() {
            let Some(p) = meeting.participants.iter().find(|p| p.name == name) else {
                continue;
            };
            self.queue_deadline_record(
                &meeting.message.id,
                NewRecordBody::Nudge {
                    recipient: name.clone(),
                    deadline: p.deadline,
                },
                me,
                now,
            )?;
            nudged.push(name);
        }
        Ok(nudged)
    }

    /// Closes the meeting of a message I sent: no more requests or nudges.
    pub fn close_meeting(
        &self,
        id_or_prefix: &str,
        me: &UserName,
        now: DateTime<Utc>,
    ) -> Result<RecordId> {
        let state = self.deadline_state(id_or_prefix, me)?;
        self.queue_deadline_record(&state.message.id, NewRecordBody::Close, me, now)
    }
}

#[cfg(test)]
mod tests;
