//! The sent list: every message sent from this library, newest first, with how far
//! each recipient got and how its delivery stands.
//!
//! Both faces show it (the CLI's `status`, the desktop's Sent view); they word and
//! lay out what is decided here.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use pigeon_store::protocol::{
    closed, effective_deadline, nudged, Deadline, Message, MessageId, Receipt, Record, UserName,
};
use rusqlite::params;
use serde::Serialize;

use crate::db::{from_json, id_from_sql, parse_ts, Library, OutboxEntry, OutboxState};
use crate::error::Result;
use crate::respond_by::ResponseBy;

/// How far a recipient of a sent message got, as the sender sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientState {
    /// Answered with a reply or marked done.
    Responded,
    /// Watched, not answered yet, still in time.
    Viewed,
    /// Not watched yet, still in time.
    Pending,
    /// Not answered and the respond-by has passed.
    Overdue,
}

impl RecipientState {
    /// What a receipt (if any was synced) says, before the deadline is taken into account.
    pub fn reached(receipt: Option<&Receipt>) -> Self {
        match receipt {
            Some(r) if r.response.is_some() || r.responded_at.is_some() => Self::Responded,
            Some(r) if r.viewed_at.is_some() => Self::Viewed,
            _ => Self::Pending,
        }
    }

    /// The state at `now`: an answer counts whenever it came; without one, a passed
    /// respond-by (due exactly now counts as passed, as in the inbox) makes it overdue.
    pub fn of(receipt: Option<&Receipt>, respond_by: ResponseBy, now: DateTime<Utc>) -> Self {
        match Self::reached(receipt) {
            Self::Responded => Self::Responded,
            _ if respond_by.instant() <= now => Self::Overdue,
            reached => reached,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Responded => "responded",
            Self::Viewed => "viewed",
            Self::Pending => "pending",
            Self::Overdue => "overdue",
        }
    }
}

/// Where a sent message's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Queued: uploading, or waiting for the store to be reachable.
    Sending,
    Sent,
    /// Refused for a reason the sender must fix; never retried on its own.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
}

impl From<OutboxState> for DeliveryState {
    fn from(state: OutboxState) -> Self {
        match state {
            OutboxState::Queued => Self::Sending,
            OutboxState::Sent => Self::Sent,
            OutboxState::Failed => Self::Failed,
        }
    }
}

/// One recipient of a sent message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentRecipient {
    pub name: UserName,
    /// Their own deadline: the message's respond-by, or theirs for "working hours
    /// each", moved by any extension the sender granted.
    pub deadline: ResponseBy,
    /// Nudged already about that deadline.
    pub nudged: bool,
    pub state: RecipientState,
    /// The receipt as last synced; none before the first sync after sending.
    pub receipt: Option<Receipt>,
}

/// One message of the sent list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentLine {
    pub message_id: MessageId,
    pub subject: String,
    /// Every addressed recipient, in the order the sender named them.
    pub recipients: Vec<SentRecipient>,
    pub respond_by: ResponseBy,
    pub created_at: DateTime<Utc>,
    /// The outbox's own state (queued, sent, failed).
    pub state: OutboxState,
    pub delivery: DeliveryState,
    /// Why it is not sent yet (the last attempt's error) or why it failed.
    pub problem: Option<String>,
    pub in_reply_to: Option<MessageId>,
    /// Every recipient responded (false for a message without recipients).
    pub all_answered: bool,
    /// I closed its meeting.
    pub closed: bool,
}

impl SentLine {
    /// Who a nudge reaches now: not answered, not nudged about their deadline, and
    /// the meeting not closed (the rule of [`crate::meeting::Meeting::to_nudge`], from
    /// the receipts).
    pub fn to_nudge(&self) -> Vec<UserName> {
        if self.closed || self.state != OutboxState::Sent {
            return Vec::new();
        }
        self.recipients
            .iter()
            .filter(|r| r.state != RecipientState::Responded && !r.nudged)
            .map(|r| r.name.clone())
            .collect()
    }

    /// How many recipients responded.
    pub fn answered(&self) -> usize {
        self.recipients
            .iter()
            .filter(|r| r.state == RecipientState::Responded)
            .count()
    }

    fn new(
        row: OutboxRow,
        receipts: &mut HashMap<String, Vec<Receipt>>,
        records: &mut HashMap<String, Vec<Record>>,
        now: DateTime<Utc>,
    ) -> Self {
        let mut synced = receipts.remove(row.id.as_str()).unwrap_or_default();
        let records = records.remove(row.id.as_str()).unwrap_or_default();
        let respond_by = ResponseBy::from_instant(row.respond_by);
        let recipients: Vec<SentRecipient> =
            row.recipients
                .into_iter()
                .map(|name| {
                    let receipt = synced
                        .iter()
                        .position(|r| r.recipient == name)
                        .map(|i| synced.swap_remove(i));
                    let given = row
                        .deadlines
                        .iter()
                        .find(|d| d.recipient == name)
                        .map_or(row.respond_by, |d| d.respond_by);
                    let deadline = ResponseBy::from_instant(
                        row.message
                            .as_ref()
                            .and_then(|m| effective_deadline(m, &records, &name))
                            .unwrap_or(given),
                    );
                    SentRecipient {
                        state: RecipientState::of(receipt.as_ref(), deadline, now),
                        nudged: row.message.as_ref().is_some_and(|m| {
                            nudged(m, &records, &name, deadline.instant()).is_some()
                        }),
                        deadline,
                        name,
                        receipt,
                    }
                })
                .collect();
        let all_answered = !recipients.is_empty()
            && recipients
                .iter()
                .all(|r| r.state == RecipientState::Responded);
        SentLine {
            closed: row
                .message
                .as_ref()
                .is_some_and(|m| closed(m, &records).is_some()),
            problem: problem(row.state, row.failure, row.last_error),
            delivery: row.state.into(),
            message_id: row.id,
            subject: row.subject,
            recipients,
            respond_by,
            created_at: row.created_at,
            state: row.state,
            in_reply_to: row.in_reply_to,
            all_answered,
        }
    }
}

/// What keeps a message from being sent: why it failed, or the last attempt's error
/// while it is queued.
fn problem<T>(state: OutboxState, failure: Option<T>, last_error: Option<T>) -> Option<T> {
    match state {
        OutboxState::Failed => failure,
        OutboxState::Queued => last_error,
        OutboxState::Sent => None,
    }
}

impl OutboxEntry {
    /// Why it is not sent yet (the last attempt's error) or why it failed.
    pub fn problem(&self) -> Option<&str> {
        problem(
            self.state,
            self.failure.as_deref(),
            self.last_error.as_deref(),
        )
    }
}

/// The outbox columns the sent list needs (no attachments).
struct OutboxRow {
    id: MessageId,
    subject: String,
    recipients: Vec<UserName>,
    respond_by: DateTime<Utc>,
    state: OutboxState,
    last_error: Option<String>,
    failure: Option<String>,
    created_at: DateTime<Utc>,
    in_reply_to: Option<MessageId>,
    deadlines: Vec<Deadline>,
    /// The message as the store committed it, once sent.
    message: Option<Message>,
}

impl Library {
    /// Every message sent from this library, newest first, with each recipient's state
    /// at `now` as last synced. Three queries, however long the list.
    pub fn sent_list(&self, now: DateTime<Utc>) -> Result<Vec<SentLine>> {
        self.sent_lines(None, now)
    }

    /// One line of the sent list, by full message id; none if it was not sent from here.
    pub fn sent_line(&self, id: &MessageId, now: DateTime<Utc>) -> Result<Option<SentLine>> {
        Ok(self.sent_lines(Some(id), now)?.into_iter().next())
    }

    fn sent_lines(&self, only: Option<&MessageId>, now: DateTime<Utc>) -> Result<Vec<SentLine>> {
        let only = only.map(MessageId::as_str);
        let conn = self.read();
        let mut stmt = conn.prepare(
            "SELECT o.message_id, o.subject, o.recipients, o.respond_by, o.state, o.last_error,
                    o.failure, o.created_at, o.in_reply_to, o.deadlines, s.message
             FROM outbox o LEFT JOIN sent s ON s.message_id = o.message_id
             WHERE ?1 IS NULL OR o.message_id = ?1
             ORDER BY o.created_at DESC",
        )?;
        let rows = stmt
            .query_map(params![only], |r| {
                Ok((
                    OutboxRow {
                        id: id_from_sql(MessageId::parse, r.get(0)?)?,
                        subject: r.get(1)?,
                        recipients: from_json(&r.get::<_, String>(2)?)?,
                        respond_by: parse_ts(&r.get::<_, String>(3)?)?,
                        state: OutboxState::Queued,
                        last_error: r.get(5)?,
                        failure: r.get(6)?,
                        created_at: parse_ts(&r.get::<_, String>(7)?)?,
                        in_reply_to: r
                            .get::<_, Option<String>>(8)?
                            .map(|t| id_from_sql(MessageId::parse, t))
                            .transpose()?,
                        deadlines: r
                            .get::<_, Option<String>>(9)?
                            .map(|t| from_json(&t))
                            .transpose()?
                            .unwrap_or_default(),
                        message: r
                            .get::<_, Option<String>>(10)?
                            .map(|t| from_json(&t))
                            .transpose()?,
                    },
                    r.get::<_, String>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let rows = rows
            .into_iter()
            .map(|(row, state)| {
                Ok(OutboxRow {
                    state: OutboxState::parse(&state)?,
                    ..row
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut stmt = conn.prepare(
            "SELECT message_id, receipt FROM sent_recipients WHERE ?1 IS NULL OR message_id = ?1",
        )?;
        let mut receipts: HashMap<String, Vec<Receipt>> = HashMap::new();
        for row in stmt.query_map(params![only], |r| {
            Ok((
                r.get::<_, String>(0)?,
                from_json::<Receipt>(&r.get::<_, String>(1)?)?,
            ))
        })? {
            let (id, receipt) = row?;
            receipts.entry(id).or_default().push(receipt);
        }
        let mut stmt = conn.prepare(
            "SELECT message_id, record FROM deadline_records WHERE ?1 IS NULL OR message_id = ?1
             ORDER BY created_at, record_id",
        )?;
        let mut records: HashMap<String, Vec<Record>> = HashMap::new();
        for row in stmt.query_map(params![only], |r| {
            Ok((
                r.get::<_, String>(0)?,
                from_json::<Record>(&r.get::<_, String>(1)?)?,
            ))
        })? {
            let (id, record) = row?;
            records.entry(id).or_default().push(record);
        }
        Ok(rows
            .into_iter()
            .map(|row| SentLine::new(row, &mut receipts, &mut records, now))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone as _};
    use pigeon_store::protocol::Response;

    use super::*;
    use crate::db::NewOutgoing;
    use crate::home::PigeonHome;
    use crate::test_messages::message;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap()
    }

    fn receipt(name: &str) -> Receipt {
        Receipt::new(UserName::parse(name).unwrap())
    }

    #[test]
    fn a_recipient_is_responded_viewed_pending_or_overdue() {
        let due = ResponseBy::from_instant(now() + Duration::hours(2));
        let mut viewed = receipt("bob");
        viewed.viewed_at = Some(now());
        let mut done = receipt("bob");
        done.response = Some(Response::Done);
        let mut answered_without_kind = receipt("bob");
        answered_without_kind.responded_at = Some(now());
        let state = |r: Option<&Receipt>, at| RecipientState::of(r, due, at);
        assert_eq!(state(None, now()), RecipientState::Pending);
        assert_eq!(state(Some(&receipt("bob")), now()), RecipientState::Pending);
        assert_eq!(state(Some(&viewed), now()), RecipientState::Viewed);
        assert_eq!(state(Some(&done), now()), RecipientState::Responded);
        assert_eq!(
            state(Some(&answered_without_kind), now()),
            RecipientState::Responded
        );
        let late = now() + Duration::hours(3);
        assert_eq!(state(Some(&viewed), late), RecipientState::Overdue);
        assert_eq!(state(None, due.instant()), RecipientState::Overdue);
        assert_eq!(state(Some(&done), late), RecipientState::Responded);
        assert_eq!(RecipientState::Overdue.as_str(), "overdue");
    }

    fn queue(library: &Library, to: &[&str], subject: &str, at: DateTime<Utc>) -> MessageId {
        let draft = library.create_draft(at).unwrap();
        library
            .finish_draft(&draft.id, std::time::Duration::from_secs(1), None, false)
            .unwrap();
        library
            .queue(
                &NewOutgoing {
                    draft_id: Some(draft.id),
                    recipients: to.iter().map(|n| UserName::parse(*n).unwrap()).collect(),
                    subject: subject.into(),
                    text: None,
                    respond_by: now() + Duration::hours(4),
                    respond_by_tz: "UTC".into(),
                    in_reply_to: None,
                    attachments: vec![],
                    at_ms: None,
                    chapter: None,
                    acknowledge_only: false,
                    deadlines: vec![],
                    working_hours_each: None,
                },
                at,
            )
            .unwrap()
            .message_id
    }

    #[test]
    fn the_sent_list_is_newest_first_with_states_and_problems() {
        let dir = tempfile::tempdir().unwrap();
        let library = Library::open(&PigeonHome::at(dir.path())).unwrap();
        let older = queue(
            &library,
            &["bob", "carol"],
            "Older",
            now() - Duration::hours(2),
        );
        let failed = queue(&library, &["nobody"], "Refused", now() - Duration::hours(1));
        let waiting = queue(&library, &["bob"], "Waiting", now());
        let mut sent = message(
            older.as_str(),
            "alice",
            &["bob", "carol"],
            now() + Duration::hours(4),
        );
        sent.id = older.clone();
        library.record_sent(&sent).unwrap();
        let mut bob = receipt("bob");
        bob.response = Some(Response::Done);
        let mut carol = receipt("carol");
        carol.viewed_at = Some(now());
        library.update_receipts(&older, &[carol, bob]).unwrap();
        library
            .record_failure(&failed, "nobody is not a user: check the name")
            .unwrap();
        library
            .record_attempt_error(&waiting, "the hub is unreachable")
            .unwrap();

        let list = library.sent_list(now()).unwrap();
        let ids: Vec<_> = list.iter().map(|l| l.message_id.clone()).collect();
        assert_eq!(ids, [waiting.clone(), failed.clone(), older.clone()]);
        let [waiting_line, failed_line, older_line] = list.as_slice() else {
            panic!("three lines");
        };
        assert_eq!(waiting_line.delivery, DeliveryState::Sending);
        assert_eq!(
            waiting_line.problem.as_deref(),
            Some("the hub is unreachable")
        );
        assert_eq!(failed_line.delivery, DeliveryState::Failed);
        assert_eq!(
            failed_line.problem.as_deref(),
            Some("nobody is not a user: check the name")
        );
        assert_eq!(older_line.delivery, DeliveryState::Sent);
        assert_eq!(older_line.problem, None);
        let states: Vec<_> = older_line
            .recipients
            .iter()
            .map(|r| (r.name.as_str(), r.state))
            .collect();
        assert_eq!(
            states,
            [
                ("bob", RecipientState::Responded),
                ("carol", RecipientState::Viewed)
            ],
            "in the order the sender named them"
        );
        assert_eq!(older_line.answered(), 1);
        assert!(!older_line.all_answered);

        let late = library
            .sent_line(&older, now() + Duration::hours(5))
            .unwrap()
            .unwrap();
        assert_eq!(late.recipients[1].state, RecipientState::Overdue);
        assert_eq!(
            library
                .sent_line(&MessageId::parse("0000000000000000").unwrap(), now())
                .unwrap(),
            None
        );
    }

    #[test]
    fn all_answered_once_every_recipient_responded() {
        let dir = tempfile::tempdir().unwrap();
        let library = Library::open(&PigeonHome::at(dir.path())).unwrap();
        let id = queue(&library, &["bob"], "Plan", now());
        let mut sent = message(id.as_str(), "alice", &["bob"], now() + Duration::hours(4));
        sent.id = id.clone();
        library.record_sent(&sent).unwrap();
        assert!(!library.sent_line(&id, now()).unwrap().unwrap().all_answered);
        let mut bob = receipt("bob");
        bob.response = Some(Response::Reply {
            message: MessageId::parse("reply00000000001").unwrap(),
        });
        library.update_receipts(&id, &[bob]).unwrap();
        let line = library.sent_line(&id, now()).unwrap().unwrap();
        assert!(line.all_answered);
        assert_eq!(line.answered(), 1);
    }
}
