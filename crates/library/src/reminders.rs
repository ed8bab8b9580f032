//! When to remind whom.
//!
//! Pure decisions over the current state and a clock reading: the caller keeps
//! which reminders were already given (so each is given once, across restarts)
//! and turns the answer into notifications or CLI output.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::inbox_order::InboxSection;
use crate::respond_by::ResponseBy;
use crate::sent::RecipientState;
use pigeon_store::protocol::last_deadline;

/// How early a "due soon" reminder comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderPolicy {
    #[serde(with = "minutes")]
    pub due_soon_before: Duration,
}

impl Default for ReminderPolicy {
    fn default() -> Self {
        Self {
            due_soon_before: Duration::hours(2),
        }
    }
}

/// Which reminders a received message has already produced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminded {
    /// Half the time between its arrival and its respond-by has passed.
    #[serde(default)]
    pub halfway: bool,
    pub due_soon: bool,
    pub overdue: bool,
}

/// A received message, as far as reminders care.
#[derive(Debug, Clone)]
pub struct Received<Id> {
    pub id: Id,
    /// When it was sent: the reader's window runs from here to `respond_by`.
    pub sent_at: DateTime<Utc>,
    pub respond_by: ResponseBy,
    pub responded: bool,
    pub reminded: Reminded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reminder<Id> {
    /// Half the reader's window passed without an answer (and it is not due soon yet).
    Halfway { id: Id, respond_by: ResponseBy },
    /// The respond-by is within the policy's window and nothing was answered yet.
    DueSoon { id: Id, respond_by: ResponseBy },
    /// The respond-by passed without an answer.
    Overdue { id: Id, respond_by: ResponseBy },
}

/// The reminders to give now. An item that became overdue without a due-soon
/// reminder (the app was closed) gets only the overdue one; one due soon gets no
/// halfway reminder after it.
pub fn reminders_due<Id: Clone>(
    items: &[Received<Id>],
    now: DateTime<Utc>,
    policy: ReminderPolicy,
) -> Vec<Reminder<Id>> {
    items
        .iter()
        .filter_map(|item| {
            let (id, respond_by) = (item.id.clone(), item.respond_by);
            match Urgency::of(item.respond_by, item.responded, now, &policy) {
                Urgency::Overdue => {
                    (!item.reminded.overdue).then_some(Reminder::Overdue { id, respond_by })
                }
                Urgency::Soon => {
                    (!item.reminded.due_soon).then_some(Reminder::DueSoon { id, respond_by })
                }
                Urgency::Later => {
                    let half = item.sent_at + (item.respond_by.instant() - item.sent_at) / 2;
                    (!item.reminded.halfway && now >= half)
                        .then_some(Reminder::Halfway { id, respond_by })
                }
                Urgency::Answered => None,
            }
        })
        .collect()
}

/// How urgent a respond-by is for its reader: "soon" is the window of the user's
/// due-soon reminder, so what a screen highlights is what the reminder announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Answered,
    Overdue,
    /// Due within the policy's window.
    Soon,
    Later,
}

impl Urgency {
    pub fn of(
        respond_by: ResponseBy,
        responded: bool,
        now: DateTime<Utc>,
        policy: &ReminderPolicy,
    ) -> Self {
        match InboxSection::of(respond_by, responded, now) {
            InboxSection::Responded => Self::Answered,
            InboxSection::Overdue => Self::Overdue,
            InboxSection::Open if respond_by.instant() - now <= policy.due_soon_before => {
                Self::Soon
            }
            InboxSection::Open => Self::Later,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Overdue => "overdue",
            Self::Soon => "soon",
            Self::Later => "later",
        }
    }
}

/// A sent message, as far as the sender's deadline summary cares.
#[derive(Debug, Clone)]
pub struct Sent<Id, Recipient> {
    pub id: Id,
    pub respond_by: ResponseBy,
    /// Each recipient and whether they answered (a reply in the thread or "done").
    pub recipients: Vec<(Recipient, bool)>,
    pub summarised: bool,
}

/// Told to a sender once a deadline passed with recipients who did not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineSummary<Id, Recipient> {
    pub id: Id,
    pub respond_by: ResponseBy,
    pub answered: usize,
    pub unanswered: Vec<Recipient>,
}

pub fn deadline_summaries<Id: Clone, Recipient: Clone>(
    sent: &[Sent<Id, Recipient>],
    now: DateTime<Utc>,
) -> Vec<DeadlineSummary<Id, Recipient>> {
    sent.iter()
        .filter(|m| !m.summarised && now >= m.respond_by.instant())
        .filter_map(|m| {
            let unanswered: Vec<Recipient> = m
                .recipients
                .iter()
                .filter(|(_, answered)| !answered)
                .map(|(r, _)| r.clone())
                .collect();
            (!unanswered.is_empty()).then(|| DeadlineSummary {
                id: m.id.clone(),
                respond_by: m.respond_by,
                answered: m.recipients.len() - unanswered.len(),
                unanswered,
            })
        })
        .collect()
}

/// Settings files say `due_soon_before = 120` (minutes), not a serialised struct.
mod minutes {
    use chrono::Duration;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(d.num_minutes())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let minutes = u32::deserialize(d)?;
        Ok(Duration::minutes(i64::from(minutes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock as _, ManualClock};
    use chrono::TimeZone as _;

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
    }

    /// Sent at its respond-by: a window of nothing, so no halfway reminder.
    fn item(id: u32, due_in_hours: i64) -> Received<u32> {
        Received {
            id,
            sent_at: start() + Duration::hours(due_in_hours),
            respond_by: ResponseBy::from_instant(start() + Duration::hours(due_in_hours)),
            responded: false,
            reminded: Reminded::default(),
        }
    }

    /// Applies what was reminded, as the library would persist it.
    fn remember(items: &mut [Received<u32>], given: &[Reminder<u32>]) {
        for reminder in given {
            let (Reminder::DueSoon { id, .. }
            | Reminder::Overdue { id, .. }
            | Reminder::Halfway { id, .. }) = reminder;
            let Some(item) = items.iter_mut().find(|i| i.id == *id) else {
                continue;
            };
            match reminder {
                Reminder::DueSoon { .. } => item.reminded.due_soon = true,
                Reminder::Overdue { .. } => item.reminded.overdue = true,
                Reminder::Halfway { .. } => item.reminded.halfway = true,
            }
        }
    }

    #[test]
    fn halfway_through_the_window_once_and_not_after_due_soon() {
        let policy = ReminderPolicy::default();
        // Sent at the start, due in 24 h: halfway at 12 h.
        let mut items = vec![Received {
            sent_at: start(),
            ..item(1, 24)
        }];
        assert!(reminders_due(&items, start() + Duration::hours(11), policy).is_empty());
        let at_half = start() + Duration::hours(12);
        let given = reminders_due(&items, at_half, policy);
        assert_eq!(
            given,
            vec![Reminder::Halfway {
                id: 1,
                respond_by: items[0].respond_by
            }]
        );
        remember(&mut items, &given);
        assert!(
            reminders_due(&items, at_half, policy).is_empty(),
            "given once"
        );
        // A short window is due soon before it is halfway: only the due-soon one.
        let short = vec![Received {
            sent_at: start(),
            ..item(2, 3)
        }];
        let given = reminders_due(&short, start() + Duration::hours(2), policy);
        assert!(
            matches!(given.as_slice(), [Reminder::DueSoon { id: 2, .. }]),
            "{given:?}"
        );
    }

    #[test]
    fn due_soon_then_overdue_each_once_as_the_clock_moves() {
        let clock = ManualClock::new(start());
        let policy = ReminderPolicy::default();
        let mut items = vec![item(1, 24), item(2, 5)];

        assert!(reminders_due(&items, clock.now(), policy).is_empty());

        clock.advance(Duration::hours(3)); // item 2 is due in 2 h
        let given = reminders_due(&items, clock.now(), policy);
        assert_eq!(
            given,
            vec![Reminder::DueSoon {
                id: 2,
                respond_by: items[1].respond_by
            }]
        );
        remember(&mut items, &given);
        assert!(
            reminders_due(&items, clock.now(), policy).is_empty(),
            "given once"
        );

        clock.advance(Duration::hours(2)); // item 2 is due now
        let given = reminders_due(&items, clock.now(), policy);
        assert_eq!(
            given,
            vec![Reminder::Overdue {
                id: 2,
                respond_by: items[1].respond_by
            }]
        );
        remember(&mut items, &given);
        assert!(reminders_due(&items, clock.now(), policy).is_empty());
    }

    #[test]
    fn a_late_start_gives_only_the_overdue_reminder() {
        let items = vec![item(1, 1)];
        let given = reminders_due(
            &items,
            start() + Duration::hours(5),
            ReminderPolicy::default(),
        );
        assert_eq!(
            given,
            vec![Reminder::Overdue {
                id: 1,
                respond_by: items[0].respond_by
            }]
        );
    }

    #[test]
    fn urgency_follows_the_users_due_soon_setting() {
        let due = ResponseBy::from_instant(start() + Duration::hours(1));
        let half_hour = ReminderPolicy {
            due_soon_before: Duration::minutes(30),
        };
        let three_hours = ReminderPolicy {
            due_soon_before: Duration::hours(3),
        };
        let at = |now, policy: &ReminderPolicy| Urgency::of(due, false, now, policy);
        assert_eq!(at(start(), &half_hour), Urgency::Later);
        assert_eq!(at(start(), &three_hours), Urgency::Soon);
        assert_eq!(
            at(start() - Duration::hours(2), &three_hours),
            Urgency::Soon,
            "3 h ahead is within a 3 h window"
        );
        assert_eq!(
            at(start() + Duration::minutes(31), &half_hour),
            Urgency::Soon
        );
        assert_eq!(at(due.instant(), &half_hour), Urgency::Overdue);
        assert_eq!(
            Urgency::of(due, true, due.instant(), &half_hour),
            Urgency::Answered
        );
        // Soon is exactly when the due-soon reminder comes.
        for minutes in [0, 29, 30, 31, 59, 61, 200] {
            let now = due.instant() - Duration::minutes(minutes);
            let reminded = !reminders_due(
                &[Received {
                    id: 1,
                    sent_at: due.instant(),
                    respond_by: due,
                    responded: false,
                    reminded: Reminded::default(),
                }],
                now,
                half_hour,
            )
            .is_empty();
            let urgent = matches!(at(now, &half_hour), Urgency::Soon | Urgency::Overdue);
            assert_eq!(reminded, urgent, "{minutes} min before");
        }
        assert_eq!(Urgency::Soon.as_str(), "soon");
    }

    #[test]
    fn answered_messages_are_never_reminded() {
        let mut items = vec![item(1, 1)];
        items[0].responded = true;
        assert!(reminders_due(
            &items,
            start() + Duration::hours(5),
            ReminderPolicy::default()
        )
        .is_empty());
    }

    #[test]
    fn the_window_is_configurable() {
        let policy = ReminderPolicy {
            due_soon_before: Duration::minutes(30),
        };
        let items = vec![item(1, 1)];
        assert!(reminders_due(&items, start(), policy).is_empty());
        let given = reminders_due(&items, start() + Duration::minutes(31), policy);
        assert!(matches!(given[..], [Reminder::DueSoon { id: 1, .. }]));
        let json = serde_json::to_value(policy).unwrap();
        assert_eq!(json, serde_json::json!({ "due_soon_before": 30 }));
    }

    #[test]
    fn sender_hears_once_who_did_not_answer() {
        let respond_by = ResponseBy::from_instant(start() + Duration::hours(24));
        let mut sent = vec![Sent {
            id: 7,
            respond_by,
            recipients: vec![("bob", true), ("carol", false)],
            summarised: false,
        }];
        assert!(deadline_summaries(&sent, start()).is_empty(), "not yet due");
        let after = start() + Duration::hours(25);
        assert_eq!(
            deadline_summaries(&sent, after),
            vec![DeadlineSummary {
                id: 7,
                respond_by,
                answered: 1,
                unanswered: vec!["carol"]
            }]
        );
        sent[0].summarised = true;
        assert!(deadline_summaries(&sent, after).is_empty());
    }

    #[test]
    fn no_summary_when_everyone_answered() {
        let sent = vec![Sent {
            id: 1,
            respond_by: ResponseBy::from_instant(start()),
            recipients: vec![("bob", true)],
            summarised: false,
        }];
        assert!(deadline_summaries(&sent, start() + Duration::hours(1)).is_empty());
    }
}

/// Something to tell the user now, from [`give_reminders`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReminderEvent {
    /// Half the time to answer a received message has passed.
    Halfway {
        message: pigeon_store::protocol::MessageId,
        subject: String,
        respond_by: DateTime<Utc>,
    },
    /// A received message is due within the policy's window.
    DueSoon {
        message: pigeon_store::protocol::MessageId,
        subject: String,
        respond_by: DateTime<Utc>,
    },
    /// A received message's respond-by passed without an answer.
    Overdue {
        message: pigeon_store::protocol::MessageId,
        subject: String,
        respond_by: DateTime<Utc>,
    },
    /// A sent message's deadline passed with recipients who did not answer.
    DeadlinePassed {
        message: pigeon_store::protocol::MessageId,
        subject: String,
        answered: usize,
        unanswered: Vec<pigeon_store::protocol::UserName>,
    },
}

/// The reminders due at `now` over the library's messages, each given once: what was
/// given is remembered in the library, across restarts.
pub fn give_reminders(
    library: &crate::db::Library,
    now: DateTime<Utc>,
    policy: ReminderPolicy,
) -> Result<Vec<ReminderEvent>, crate::error::LibraryError> {
    const HALFWAY: &str = "halfway";
    const DUE_SOON: &str = "due_soon";
    const OVERDUE: &str = "overdue";
    const SUMMARY: &str = "deadline_summary";
    let received = library.received_all()?;
    let mut items = Vec::with_capacity(received.len());
    for r in &received {
        items.push(Received {
            id: r.message.id.clone(),
            sent_at: r.message.sent_at,
            respond_by: ResponseBy::from_instant(r.respond_by),
            responded: r.responded_at.is_some(),
            reminded: Reminded {
                halfway: library.reminder_given(&r.message.id, HALFWAY)?,
                due_soon: library.reminder_given(&r.message.id, DUE_SOON)?,
                overdue: library.reminder_given(&r.message.id, OVERDUE)?,
            },
        });
    }
    let subject_of = |id: &pigeon_store::protocol::MessageId| {
        received
            .iter()
            .find(|r| &r.message.id == id)
            .map(|r| r.message.subject.clone())
            .unwrap_or_default()
    };
    let mut events = Vec::new();
    for reminder in reminders_due(&items, now, policy) {
        let (id, respond_by, kind) = match reminder {
            Reminder::DueSoon { id, respond_by } => (id, respond_by, DUE_SOON),
            Reminder::Overdue { id, respond_by } => (id, respond_by, OVERDUE),
            Reminder::Halfway { id, respond_by } => (id, respond_by, HALFWAY),
        };
        library.remember_reminder(&id, kind, now)?;
        let (subject, respond_by) = (subject_of(&id), respond_by.instant());
        events.push(match kind {
            DUE_SOON => ReminderEvent::DueSoon {
                message: id,
                subject,
                respond_by,
            },
            HALFWAY => ReminderEvent::Halfway {
                message: id,
                subject,
                respond_by,
            },
            _ => ReminderEvent::Overdue {
                message: id,
                subject,
                respond_by,
            },
        });
    }
    let mut sent = Vec::new();
    for id in library.sent_ids()? {
        if let Some(s) = library.sent_message(&id)? {
            sent.push((
                Sent {
                    id: id.clone(),
                    // The last deadline: every recipient's own, moved by any grant.
                    respond_by: ResponseBy::from_instant(last_deadline(
                        &s.message,
                        &library.deadline_records(&id)?,
                    )),
                    recipients: s
                        .receipts
                        .iter()
                        .map(|r| {
                            let answered = RecipientState::reached(Some(r));
                            (r.recipient.clone(), answered == RecipientState::Responded)
                        })
                        .collect(),
                    summarised: library.reminder_given(&id, SUMMARY)?,
                },
                s.message.subject,
            ));
        }
    }
    let summaries_in: Vec<_> = sent.iter().map(|(s, _)| s.clone()).collect();
    for summary in deadline_summaries(&summaries_in, now) {
        library.remember_reminder(&summary.id, SUMMARY, now)?;
        let subject = sent
            .iter()
            .find(|(s, _)| s.id == summary.id)
            .map(|(_, subject)| subject.clone())
            .unwrap_or_default();
        events.push(ReminderEvent::DeadlinePassed {
            message: summary.id,
            subject,
            answered: summary.answered,
            unanswered: summary.unanswered,
        });
    }
    Ok(events)
}

#[cfg(test)]
mod library_tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::db::Library;
    use crate::home::PigeonHome;
    use crate::test_messages::message;
    use chrono::TimeZone as _;
    use pigeon_store::protocol::{Receipt, Response, UserName};

    #[test]
    fn halfway_due_soon_then_overdue_each_once_with_a_manual_clock() {
        let dir = tempfile::tempdir().unwrap();
        let library = Library::open(&PigeonHome::at(dir.path())).unwrap();
        let start = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        let clock = ManualClock::new(start);
        let m = message(
            "received00000001",
            "alice",
            &["bob"],
            start + Duration::hours(24),
        );
        library
            .store_received(
                &m,
                &Receipt::new(UserName::parse("bob").unwrap()),
                clock.now(),
            )
            .unwrap();
        let policy = ReminderPolicy::default();
        assert!(give_reminders(&library, clock.now(), policy)
            .unwrap()
            .is_empty());
        // Sent a day before its respond-by: halfway after 12 h, once.
        clock.advance(Duration::hours(12));
        let events = give_reminders(&library, clock.now(), policy).unwrap();
        assert!(
            matches!(events.as_slice(), [ReminderEvent::Halfway { .. }]),
            "{events:?}"
        );
        clock.advance(Duration::hours(9) + Duration::minutes(59));
        assert!(give_reminders(&library, clock.now(), policy)
            .unwrap()
            .is_empty());
        clock.advance(Duration::minutes(2));
        let events = give_reminders(&library, clock.now(), policy).unwrap();
        assert!(
            matches!(events.as_slice(), [ReminderEvent::DueSoon { .. }]),
            "{events:?}"
        );
        assert!(give_reminders(&library, clock.now(), policy)
            .unwrap()
            .is_empty());
        clock.advance(Duration::hours(2));
        let events = give_reminders(&library, clock.now(), policy).unwrap();
        assert!(
            matches!(events.as_slice(), [ReminderEvent::Overdue { .. }]),
            "{events:?}"
        );
        // Remembered in the database: a restart gives nothing again.
        drop(library);
        let library = Library::open(&PigeonHome::at(dir.path())).unwrap();
        assert!(give_reminders(&library, clock.now(), policy)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_sender_hears_once_who_missed_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let library = Library::open(&PigeonHome::at(dir.path())).unwrap();
        let start = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        let clock = ManualClock::new(start);
        let draft = library.create_draft(clock.now()).unwrap();
        library
            .finish_draft(&draft.id, std::time::Duration::from_secs(2), None, false)
            .unwrap();
        let entry = library
            .queue(
                &crate::db::NewOutgoing {
                    draft_id: Some(draft.id),
                    recipients: vec![
                        UserName::parse("bob").unwrap(),
                        UserName::parse("carol").unwrap(),
                    ],
                    subject: "Plan".into(),
                    text: None,
                    respond_by: start + Duration::hours(4),
                    respond_by_tz: "UTC".into(),
                    in_reply_to: None,
                    attachments: vec![],
                    at_ms: None,
                    chapter: None,
                    acknowledge_only: false,
                    deadlines: vec![],
                    working_hours_each: None,
                },
                clock.now(),
            )
            .unwrap();
        let mut sent = message(
            entry.message_id.as_str(),
            "alice",
            &["bob", "carol"],
            start + Duration::hours(4),
        );
        sent.id = entry.message_id.clone();
        library.record_sent(&sent).unwrap();
        let mut bob = Receipt::new(UserName::parse("bob").unwrap());
        bob.response = Some(Response::Done);
        library.update_receipts(&sent.id, &[bob]).unwrap();
        assert!(
            give_reminders(&library, clock.now(), ReminderPolicy::default())
                .unwrap()
                .is_empty()
        );
        clock.advance(Duration::hours(5));
        let events = give_reminders(&library, clock.now(), ReminderPolicy::default()).unwrap();
        assert_eq!(
            events,
            vec![ReminderEvent::DeadlinePassed {
                message: sent.id.clone(),
                subject: "Plan".into(),
                answered: 1,
                unanswered: vec![UserName::parse("carol").unwrap()],
            }]
        );
        assert!(
            give_reminders(&library, clock.now(), ReminderPolicy::default())
                .unwrap()
                .is_empty()
        );
    }
}
