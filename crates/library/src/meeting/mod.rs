//! The meeting view of a message sent to several people: a grid of participants by
//! agenda item (the clip's chapters, or the message as one item), each cell answered,
//! commented, pending or overdue with the answers that make it so; when the meeting
//! closed and why; and who a nudge would reach. [`markdown`] writes it as a summary.
//!
//! Built from what this library knows (the thread, the sender's receipts, the deadline
//! records) by [`meeting_of`], without I/O, so every face shows the same grid. Not
//! here: queueing a nudge or a close ([`crate::more_time`]).

mod markdown;

use chrono::{DateTime, Utc};
use pigeon_store::protocol::{
    closed, effective_deadline, extensions, last_deadline, nudged, Message, MessageId, Receipt,
    Record, UserName,
};
use serde::Serialize;

pub use markdown::{markdown, moment_link, MarkdownContext};

use crate::conversation::{ConversationEntry, EntryKind};
use crate::db::Library;
use crate::error::Result;

/// One agenda item: a chapter, or the whole message when the clip has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// 0-based chapter index; `None` for the message as one item.
    pub index: Option<u32>,
    pub title: String,
    pub start_ms: Option<u64>,
    /// Where the next chapter starts; `None` for the last item.
    pub end_ms: Option<u64>,
}

/// How far a participant got on one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellState {
    Answered,
    Commented,
    Pending,
    Overdue,
}

impl CellState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Commented => "commented",
            Self::Pending => "pending",
            Self::Overdue => "overdue",
        }
    }
}

/// An answer or a comment that fills a cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellEntry {
    pub id: MessageId,
    pub kind: EntryKind,
    /// The moment of the clip it is about (a comment's, or a reply's chapter start).
    pub at_ms: Option<u64>,
    /// What was said, or "a video answer" for a clip alone.
    pub text: String,
    pub has_clip: bool,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub state: CellState,
    pub entries: Vec<CellEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Participant {
    pub name: UserName,
    /// Their effective deadline (their own, moved by a granted extension).
    pub deadline: DateTime<Utc>,
    pub extended: bool,
    /// Nudged already about their current deadline.
    pub nudged: bool,
    /// Marked the message done without a reply.
    pub done: bool,
    /// One per item, in the items' order.
    pub cells: Vec<Cell>,
}

impl Participant {
    /// Answered at least one item, or marked it done.
    pub fn answered(&self) -> bool {
        self.done || self.cells.iter().any(|c| c.state == CellState::Answered)
    }
}

/// Why a meeting is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Closed {
    EveryoneAnswered,
    DeadlinePassed,
    ClosedBySender,
}

impl Closed {
    pub fn text(self, sender: &UserName) -> String {
        match self {
            Self::EveryoneAnswered => "Closed: everyone answered.".into(),
            Self::DeadlinePassed => "Closed: the last deadline passed.".into(),
            Self::ClosedBySender => format!("Closed by {sender}."),
        }
    }
}

/// The grid of one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meeting {
    pub message: Message,
    pub items: Vec<Item>,
    pub participants: Vec<Participant>,
    pub closed: Option<Closed>,
    pub last_deadline: DateTime<Utc>,
}

impl Meeting {
    /// Who a nudge reaches now: not answered, not nudged about their current
    /// deadline, and the meeting still open to nudges (the sender did not close it).
    pub fn to_nudge(&self) -> Vec<UserName> {
        if self.closed == Some(Closed::ClosedBySender) {
            return Vec::new();
        }
        self.participants
            .iter()
            .filter(|p| !p.answered() && !p.nudged)
            .map(|p| p.name.clone())
            .collect()
    }
}

/// The items of `message`: its chapters, or itself as one.
fn items_of(message: &Message) -> Vec<Item> {
    if message.chapters.is_empty() {
        return vec![Item {
            index: None,
            title: message.subject.clone(),
            start_ms: None,
            end_ms: None,
        }];
    }
    message
        .chapters
        .iter()
        .enumerate()
        .map(|(i, c)| Item {
            index: Some(i as u32),
            title: c.title.clone(),
            start_ms: Some(c.start_ms),
            end_ms: message.chapters.get(i + 1).map(|n| n.start_ms),
        })
        .collect()
}

/// Whether `entry` (an answer or comment on the message) belongs to `item`: a reply
/// naming a chapter to that chapter, one naming none to every item; a comment to the
/// item its moment falls in.
fn belongs(entry: &ConversationEntry, item: &Item) -> bool {
    let Some(index) = item.index else {
        return true;
    };
    if let Some(chapter) = &entry.chapter {
        return chapter.index == index;
    }
    match (entry.kind, entry.at_ms) {
        (EntryKind::Comment, Some(at)) => {
            item.start_ms.is_some_and(|s| s <= at) && item.end_ms.is_none_or(|e| at < e)
        }
        _ => true,
    }
}

fn cell_entry(entry: &ConversationEntry, item: &Item) -> CellEntry {
    let text = entry
        .text
        .as_deref()
        .map(|t| t.lines().next().unwrap_or("").trim().to_owned())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            if entry.has_clip {
                "a video answer".into()
            } else {
                "an answer".into()
            }
        });
    CellEntry {
        id: entry.id.clone(),
        kind: entry.kind,
        at_ms: entry.at_ms.or(entry.chapter.as_ref().and(item.start_ms)),
        text,
        has_clip: entry.has_clip,
        sent_at: entry.sent_at,
    }
}

/// The grid of `message` at `now` from its thread `entries`, the sender's `receipts`
/// (empty for a recipient, who knows only the answers that reached them) and its
/// deadline `records`.
pub fn meeting_of(
    message: &Message,
    records: &[Record],
    entries: &[ConversationEntry],
    receipts: &[Receipt],
    now: DateTime<Utc>,
) -> Meeting {
    let items = items_of(message);
    let granted = extensions(message, records);
    let participants: Vec<Participant> = message
        .recipients
        .iter()
        .map(|name| {
            let deadline = effective_deadline(message, records, name).unwrap_or(message.respond_by);
            let done = receipts.iter().any(|r| {
                &r.recipient == name
                    && matches!(r.response, Some(pigeon_store::protocol::Response::Done))
            });
            let theirs: Vec<&ConversationEntry> = entries
                .iter()
                .filter(|e| &e.sender == name && e.in_reply_to.as_ref() == Some(&message.id))
                .collect();
            let cells = items
                .iter()
                .map(|item| {
                    let here: Vec<&&ConversationEntry> =
                        theirs.iter().filter(|e| belongs(e, item)).collect();
                    let state = if done || here.iter().any(|e| e.kind == EntryKind::Reply) {
                        CellState::Answered
                    } else if !here.is_empty() {
                        CellState::Commented
                    } else if deadline <= now {
                        CellState::Overdue
                    } else {
                        CellState::Pending
                    };
                    Cell {
                        state,
                        entries: here.iter().map(|e| cell_entry(e, item)).collect(),
                    }
                })
                .collect();
            Participant {
                extended: granted
                    .iter()
                    .any(|e| &e.recipient == name && e.answer.as_ref().is_some_and(|a| a.granted)),
                nudged: nudged(message, records, name, deadline).is_some(),
                name: name.clone(),
                deadline,
                done,
                cells,
            }
        })
        .collect();
    let last = last_deadline(message, records);
    let closed = if closed(message, records).is_some() {
        Some(Closed::ClosedBySender)
    } else if !participants.is_empty() && participants.iter().all(Participant::answered) {
        Some(Closed::EveryoneAnswered)
    } else if last <= now {
        Some(Closed::DeadlinePassed)
    } else {
        None
    };
    Meeting {
        message: message.clone(),
        items,
        participants,
        closed,
        last_deadline: last,
    }
}

impl Library {
    /// `meeting`'s Markdown summary with the transcripts this library has of the
    /// message and its answers, times in `zone`.
    pub fn meeting_markdown(&self, meeting: &Meeting, zone: chrono_tz::Tz) -> Result<String> {
        let mut ids: Vec<&MessageId> = vec![&meeting.message.id];
        for p in &meeting.participants {
            ids.extend(p.cells.iter().flat_map(|c| c.entries.iter().map(|e| &e.id)));
        }
        let mut transcripts = std::collections::HashMap::new();
        for id in ids {
            if transcripts.contains_key(id) {
                continue;
            }
            if let Some(t) = self.transcript_of_message(id)?.and_then(|s| s.transcript) {
                transcripts.insert(id.clone(), t);
            }
        }
        Ok(markdown(meeting, &MarkdownContext { zone, transcripts }))
    }

    /// The meeting of the message `id_or_prefix` names (received, or sent from here) at
    /// `now`, as `me` sees it.
    pub fn meeting(
        &self,
        id_or_prefix: &str,
        me: &UserName,
        now: DateTime<Utc>,
    ) -> Result<Meeting> {
        let state = self.deadline_state(id_or_prefix, me)?;
        let entries = self.conversation(&state.message.id, me.as_str())?;
        let receipts: Vec<Receipt> = if &state.message.sender == me {
            self.sent_line(&state.message.id, now)?
                .map(|line| {
                    line.recipients
                        .into_iter()
                        .filter_map(|r| r.receipt)
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        Ok(meeting_of(
            &state.message,
            &state.records,
            &entries,
            &receipts,
            now,
        ))
    }
}

#[cfg(test)]
mod tests;
