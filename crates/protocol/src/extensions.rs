//! Deadlines after the send: a recipient asks for more time ([`NewRecordBody::ExtensionRequest`]),
//! the sender grants or declines it ([`NewRecordBody::ExtensionAnswer`]), nudges one
//! pending recipient ([`NewRecordBody::Nudge`]) or closes the meeting
//! ([`NewRecordBody::Close`]). All four are records, so they sync like reactions and a
//! committed message never changes.
//!
//! [`check_deadline_record`] is their commit rule (from the message and its records, without I/O); the
//! readers ([`effective_deadline`], [`extensions`], [`closed`], [`nudged`]) derive what
//! every client and both stores show from the same records, so they cannot disagree.
//! [`deadline_moved`] tells a store which receipt to update when it commits a grant.
//!
//! Not here: how a recipient's first deadline was computed ([`crate::Deadline`]).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    fields, ApiError, ErrorCode, Message, NewRecordBody, Record, RecordBody, RecordId, UserName,
};

/// How far past the current deadline a recipient may ask to move theirs.
pub const MAX_EXTENSION_DAYS: i64 = 60;

/// How long an extension's note (or its answer's) may be, in characters.
pub const MAX_EXTENSION_NOTE_CHARS: u64 = 500;

/// One request for more time with its answer, as every reader shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub request: RecordId,
    pub recipient: UserName,
    pub proposed: DateTime<Utc>,
    pub note: String,
    pub asked_at: DateTime<Utc>,
    /// The sender's answer, once there is one.
    pub answer: Option<ExtensionAnswer>,
}

/// The sender's answer to an [`Extension`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionAnswer {
    pub granted: bool,
    pub note: String,
    pub at: DateTime<Utc>,
}

/// The records about `message`, oldest first (by `created_at`, then id).
fn by_time<'a>(message: &Message, records: &'a [Record]) -> Vec<&'a Record> {
    let mut sorted: Vec<&Record> = records.iter().filter(|r| r.message == message.id).collect();
    sorted.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    sorted
}

/// The message's extension requests in the order they were asked, each with its answer.
/// Only requests by recipients and answers by the sender count (the commit rule
/// refuses others; a reader ignores them all the same).
pub fn extensions(message: &Message, records: &[Record]) -> Vec<Extension> {
    let sorted = by_time(message, records);
    let mut out: Vec<Extension> = sorted
        .iter()
        .filter_map(|r| match &r.body {
            RecordBody::ExtensionRequest { proposed, note }
                if message.recipients.contains(&r.author) =>
            {
                Some(Extension {
                    request: r.id.clone(),
                    recipient: r.author.clone(),
                    proposed: *proposed,
                    note: note.clone(),
                    asked_at: r.created_at,
                    answer: None,
                })
            }
            _ => None,
        })
        .collect();
    for r in &sorted {
        if let RecordBody::ExtensionAnswer {
            request,
            granted,
            note,
        } = &r.body
        {
            if r.author != message.sender {
                continue;
            }
            if let Some(e) = out
                .iter_mut()
                .find(|e| &e.request == request && e.answer.is_none())
            {
                e.answer = Some(ExtensionAnswer {
                    granted: *granted,
                    note: note.clone(),
                    at: r.created_at,
                });
            }
        }
    }
    out
}

/// `user`'s deadline now: the one the message gave them ([`Message::deadline_of`]),
/// moved by their latest granted extension. `None` for someone who is not a recipient.
pub fn effective_deadline(
    message: &Message,
    records: &[Record],
    user: &UserName,
) -> Option<DateTime<Utc>> {
    let given = message.deadline_of(user)?;
    let granted = extensions(message, records)
        .into_iter()
        .filter(|e| &e.recipient == user && e.answer.as_ref().is_some_and(|a| a.granted))
        .max_by_key(|e| e.answer.as_ref().map(|a| a.at))
        .map(|e| e.proposed);
    Some(granted.unwrap_or(given))
}

/// The latest of every recipient's [`effective_deadline`]: when the meeting is due.
pub fn last_deadline(message: &Message, records: &[Record]) -> DateTime<Utc> {
    message
        .recipients
        .iter()
        .filter_map(|r| effective_deadline(message, records, r))
        .max()
        .unwrap_or(message.respond_by)
}

/// When the sender closed the meeting, if they did.
pub fn closed(message: &Message, records: &[Record]) -> Option<DateTime<Utc>> {
    by_time(message, records)
        .into_iter()
        .find(|r| r.author == message.sender && matches!(r.body, RecordBody::Close))
        .map(|r| r.created_at)
}

/// When the sender last nudged `recipient` about `deadline`, if they did.
pub fn nudged(
    message: &Message,
    records: &[Record],
    recipient: &UserName,
    deadline: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    by_time(message, records)
        .into_iter()
        .rev()
        .find(|r| {
            r.author == message.sender
                && matches!(&r.body, RecordBody::Nudge { recipient: who, deadline: d } if who == recipient && *d == deadline)
        })
        .map(|r| r.created_at)
}

/// The recipient whose deadline `new` (just committed after `records`) moves, and
/// where to: a store updates that recipient's receipt in the same transaction.
pub fn deadline_moved(
    message: &Message,
    records: &[Record],
    new: &Record,
) -> Option<(UserName, DateTime<Utc>)> {
    let RecordBody::ExtensionAnswer { granted: true, .. } = &new.body else {
        return None;
    };
    let mut all = records.to_vec();
    all.push(new.clone());
    let asked = extensions(message, &all)
        .into_iter()
        .find(|e| e.answer.as_ref().is_some_and(|a| a.at == new.created_at))?;
    let moved = effective_deadline(message, &all, &asked.recipient)?;
    Some((asked.recipient, moved))
}

fn note(what: &str, note: &str) -> Result<(), ApiError> {
    fields::chars_within("max_extension_note_chars", MAX_EXTENSION_NOTE_CHARS, note)?;
    fields::text(what, note)
}

fn sender_only(message: &Message, author: &UserName, what: &str) -> Result<(), ApiError> {
    if &message.sender == author {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::Forbidden,
        format!(
            "only {}, who sent the message, can {what}: ask them to",
            message.sender
        ),
    ))
}

fn open(message: &Message, records: &[Record], what: &str) -> Result<(), ApiError> {
    match closed(message, records) {
        Some(at) => Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "{} closed this meeting at {}: {what} is no longer possible",
                message.sender,
                at.to_rfc3339()
            ),
        )),
        None => Ok(()),
    }
}

/// The commit rule of the deadline records: `body` by `author` on `message`, whose
/// committed records are `records`, at `now`. The caller already checked that the
/// author may see the message and that the record id is new. A client runs it too,
/// before queueing, so a refusal is told at once, offline.
pub fn check_deadline_record(
    body: &NewRecordBody,
    author: &UserName,
    message: &Message,
    records: &[Record],
    now: DateTime<Utc>,
) -> Result<RecordBody, ApiError> {
    match body {
        NewRecordBody::ExtensionRequest { proposed, note: n } => {
            let Some(current) = effective_deadline(message, records, author) else {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "only a recipient can ask for more time: you sent this message, so change the meeting instead",
                ));
            };
            open(message, records, "asking for more time")?;
            if extensions(message, records)
                .iter()
                .any(|e| &e.recipient == author && e.answer.is_none())
            {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!(
                        "you already asked {} for more time and have no answer yet: wait for it",
                        message.sender
                    ),
                ));
            }
            note("the note", n)?;
            if *proposed <= current || *proposed <= now {
                return Err(ApiError::invalid(format!(
                    "the new time {} is not later than your deadline {}: propose a later time",
                    proposed.to_rfc3339(),
                    current.max(now).to_rfc3339()
                )));
            }
            if *proposed > current + Duration::days(MAX_EXTENSION_DAYS) {
                return Err(ApiError::invalid(format!(
                    "the new time {} is more than {MAX_EXTENSION_DAYS} days after your deadline {}: propose an earlier time",
                    proposed.to_rfc3339(),
                    current.to_rfc3339()
                )));
            }
            Ok(RecordBody::ExtensionRequest {
                proposed: *proposed,
                note: n.clone(),
            })
        }
        NewRecordBody::ExtensionAnswer {
            request,
            granted,
            note: n,
        } => {
            sender_only(message, author, "answer a request for more time")?;
            open(message, records, "answering a request for more time")?;
            let asked = extensions(message, records)
                .into_iter()
                .find(|e| &e.request == request)
                .ok_or_else(|| ApiError::not_found("request for more time"))?;
            if let Some(a) = asked.answer {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!(
                        "you already {} {}'s request at {}",
                        if a.granted { "granted" } else { "declined" },
                        asked.recipient,
                        a.at.to_rfc3339()
                    ),
                ));
            }
            note("the answer's note", n)?;
            Ok(RecordBody::ExtensionAnswer {
                request: request.clone(),
                granted: *granted,
                note: n.clone(),
            })
        }
        NewRecordBody::Nudge {
            recipient,
            deadline,
        } => {
            sender_only(message, author, "nudge a recipient")?;
            open(message, records, "nudging")?;
            let Some(current) = effective_deadline(message, records, recipient) else {
                return Err(ApiError::invalid(format!(
                    "{recipient} is not a recipient of this message: nudge one of its recipients"
                )));
            };
            if current != *deadline {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!(
                        "{recipient}'s deadline is now {}, not {}: reload the meeting and nudge again",
                        current.to_rfc3339(),
                        deadline.to_rfc3339()
                    ),
                ));
            }
            if let Some(at) = nudged(message, records, recipient, current) {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!(
                        "you already nudged {recipient} about this deadline at {}: one nudge per deadline",
                        at.to_rfc3339()
                    ),
                ));
            }
            Ok(RecordBody::Nudge {
                recipient: recipient.clone(),
                deadline: *deadline,
            })
        }
        NewRecordBody::Close => {
            sender_only(message, author, "close the meeting")?;
            open(message, records, "closing it again")?;
            Ok(RecordBody::Close)
        }
        NewRecordBody::Transcript { .. } | NewRecordBody::Reaction { .. } => Err(ApiError::new(
            ErrorCode::Internal,
            "a transcript or reaction reached the deadline rules",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn name(n: &str) -> UserName {
        UserName::parse(n).unwrap()
    }

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 8, 9, 0, 0).unwrap() + Duration::hours(h)
    }

    /// ann asks bob and yuki; bob's deadline is t(8), yuki's t(20).
    fn message() -> Message {
        let mut m: Message = serde_json::from_str(
            r#"{"id":"0123456789abcdef","sender":"ann","recipients":["bob","yuki"],"subject":"s",
            "text":"t","attachments":[],"respond_by":"2030-01-01T00:00:00Z",
            "respond_by_tz":"UTC","in_reply_to":null,"thread":"0123456789abcdef",
            "sent_at":"2026-12-08T09:00:00Z"}"#,
        )
        .unwrap();
        m.deadlines = vec![
            crate::Deadline {
                recipient: name("bob"),
                respond_by: t(8),
            },
            crate::Deadline {
                recipient: name("yuki"),
                respond_by: t(20),
            },
        ];
        m.respond_by = t(20);
        m
    }

    struct Meeting {
        message: Message,
        records: Vec<Record>,
        n: u32,
    }

    impl Meeting {
        fn new() -> Self {
            Meeting {
                message: message(),
                records: vec![],
                n: 0,
            }
        }
        fn add(
            &mut self,
            author: &str,
            at: i64,
            body: NewRecordBody,
        ) -> Result<RecordId, ApiError> {
            let body =
                check_deadline_record(&body, &name(author), &self.message, &self.records, t(at))?;
            self.n += 1;
            let id = RecordId::parse(format!("record-{:010}", self.n)).unwrap();
            self.records.push(Record {
                id: id.clone(),
                message: self.message.id.clone(),
                author: name(author),
                created_at: t(at),
                body,
            });
            Ok(id)
        }
        fn ask(&mut self, who: &str, at: i64, to: i64) -> Result<RecordId, ApiError> {
            self.add(
                who,
                at,
                NewRecordBody::ExtensionRequest {
                    proposed: t(to),
                    note: "travelling".into(),
                },
            )
        }
        fn answer(
            &mut self,
            at: i64,
            request: &RecordId,
            granted: bool,
        ) -> Result<RecordId, ApiError> {
            self.add(
                "ann",
                at,
                NewRecordBody::ExtensionAnswer {
                    request: request.clone(),
                    granted,
                    note: String::new(),
                },
            )
        }
        fn deadline(&self, who: &str) -> Option<DateTime<Utc>> {
            effective_deadline(&self.message, &self.records, &name(who))
        }
    }

    fn code(r: Result<RecordId, ApiError>) -> ErrorCode {
        r.unwrap_err().code
    }

    #[test]
    fn a_granted_request_moves_only_the_askers_deadline() {
        let mut m = Meeting::new();
        let asked = m.ask("bob", 1, 30).unwrap();
        assert_eq!(m.deadline("bob"), Some(t(8)), "asking alone moves nothing");
        let before = m.records.clone();
        let answer = m.answer(2, &asked, true).unwrap();
        assert_eq!(m.deadline("bob"), Some(t(30)));
        assert_eq!(m.deadline("yuki"), Some(t(20)));
        assert_eq!(m.deadline("ann"), None);
        assert_eq!(last_deadline(&m.message, &m.records), t(30));
        let granted = m.records.iter().find(|r| r.id == answer).unwrap();
        assert_eq!(
            deadline_moved(&m.message, &before, granted),
            Some((name("bob"), t(30)))
        );
        let e = &extensions(&m.message, &m.records)[0];
        assert_eq!(
            (e.recipient.as_str(), e.note.as_str()),
            ("bob", "travelling")
        );
        assert!(e.answer.as_ref().unwrap().granted);
    }

    #[test]
    fn a_declined_request_keeps_the_deadline_and_allows_asking_again() {
        let mut m = Meeting::new();
        let asked = m.ask("bob", 1, 30).unwrap();
        assert_eq!(
            code(m.ask("bob", 1, 31)),
            ErrorCode::Conflict,
            "one open request"
        );
        let before = m.records.clone();
        let no = m.answer(2, &asked, false).unwrap();
        let declined = m.records.iter().find(|r| r.id == no).unwrap();
        assert_eq!(deadline_moved(&m.message, &before, declined), None);
        assert_eq!(m.deadline("bob"), Some(t(8)));
        assert_eq!(
            code(m.answer(3, &asked, true)),
            ErrorCode::Conflict,
            "answered once"
        );
        let again = m.ask("bob", 3, 12).unwrap();
        m.answer(4, &again, true).unwrap();
        assert_eq!(m.deadline("bob"), Some(t(12)));
    }

    #[test]
    fn who_may_do_what() {
        let mut m = Meeting::new();
        assert_eq!(code(m.ask("ann", 1, 30)), ErrorCode::Forbidden);
        let asked = m.ask("yuki", 1, 30).unwrap();
        assert_eq!(
            code(m.answer(2, &RecordId::parse("record-9999999999").unwrap(), true)),
            ErrorCode::NotFound
        );
        assert_eq!(
            code(m.add(
                "bob",
                2,
                NewRecordBody::ExtensionAnswer {
                    request: asked,
                    granted: true,
                    note: String::new()
                }
            )),
            ErrorCode::Forbidden
        );
        assert_eq!(
            code(m.add("bob", 2, NewRecordBody::Close)),
            ErrorCode::Forbidden
        );
        assert_eq!(
            code(m.add(
                "bob",
                2,
                NewRecordBody::Nudge {
                    recipient: name("yuki"),
                    deadline: t(20)
                }
            )),
            ErrorCode::Forbidden
        );
    }

    #[test]
    fn the_proposed_time_must_be_later_and_within_sixty_days() {
        let mut m = Meeting::new();
        assert_eq!(code(m.ask("bob", 1, 8)), ErrorCode::Invalid, "not later");
        assert_eq!(
            code(m.ask("bob", 1, 8 + 24 * 61)),
            ErrorCode::Invalid,
            "too far"
        );
        // After the deadline passed, the new time must still be in the future.
        assert_eq!(code(m.ask("bob", 10, 9)), ErrorCode::Invalid);
        assert!(m.ask("bob", 10, 11).is_ok());
        let long = NewRecordBody::ExtensionRequest {
            proposed: t(30),
            note: "x".repeat(501),
        };
        assert_eq!(code(m.add("yuki", 1, long)), ErrorCode::LimitExceeded);
    }

    #[test]
    fn one_nudge_per_deadline_and_nothing_after_close() {
        let mut m = Meeting::new();
        let nudge = |d| NewRecordBody::Nudge {
            recipient: name("bob"),
            deadline: t(d),
        };
        assert_eq!(
            code(m.add("ann", 1, nudge(9))),
            ErrorCode::Conflict,
            "stale deadline"
        );
        m.add("ann", 1, nudge(8)).unwrap();
        assert_eq!(
            nudged(&m.message, &m.records, &name("bob"), t(8)),
            Some(t(1))
        );
        assert_eq!(code(m.add("ann", 2, nudge(8))), ErrorCode::Conflict);
        let stranger = NewRecordBody::Nudge {
            recipient: name("zoe"),
            deadline: t(8),
        };
        assert_eq!(code(m.add("ann", 2, stranger)), ErrorCode::Invalid);
        let asked = m.ask("bob", 2, 30).unwrap();
        m.answer(3, &asked, true).unwrap();
        m.add("ann", 4, nudge(30)).unwrap();
        m.add("ann", 5, NewRecordBody::Close).unwrap();
        assert_eq!(closed(&m.message, &m.records), Some(t(5)));
        assert_eq!(code(m.ask("yuki", 6, 30)), ErrorCode::Conflict);
        assert_eq!(
            code(m.add("ann", 6, NewRecordBody::Close)),
            ErrorCode::Conflict
        );
    }

    #[test]
    fn readers_ignore_records_the_rules_would_refuse() {
        let mut m = Meeting::new();
        let asked = m.ask("bob", 1, 30).unwrap();
        // A forged grant by a recipient, as a store that skipped the rules would hold it.
        m.records.push(Record {
            id: RecordId::parse("record-forged0001").unwrap(),
            message: m.message.id.clone(),
            author: name("yuki"),
            created_at: t(2),
            body: RecordBody::ExtensionAnswer {
                request: asked,
                granted: true,
                note: String::new(),
            },
        });
        assert_eq!(m.deadline("bob"), Some(t(8)));
    }
}
