//! Per-recipient deadlines: a message sent "N working hours each" carries one
//! [`Deadline`] per recipient, each computed by the sender from the recipient's working
//! hours ([`crate::hours::fair_deadline`]). `respond_by` stays on the message as the
//! latest of them, so a reader that knows nothing of deadlines sees the last one.
//!
//! Not here: how a deadline is computed (the sender's client does that once, at queue
//! time, so a retried commit carries the same instants) and how it moves later (a
//! granted extension, [`crate::effective_deadline`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{fields, hours, ApiError, Message, NewMessage, UserName};

/// One recipient's own respond-by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Deadline {
    pub recipient: UserName,
    pub respond_by: DateTime<Utc>,
}

/// The commit rule for a message's deadlines: when there are any, each recipient has
/// exactly one, nobody else has one, each is after `now`, and `respond_by` is the
/// latest; `working_hours_each` (what the sender chose, for display) needs deadlines.
pub fn check_deadlines(m: &NewMessage, now: DateTime<Utc>) -> Result<(), ApiError> {
    if let Some(n) = m.working_hours_each {
        hours::check_working_hours_each(n)?;
        if m.deadlines.is_empty() {
            return Err(ApiError::invalid(
                "the message says \"working hours each\" but carries no deadlines: give each recipient their deadline",
            ));
        }
    }
    if m.deadlines.is_empty() {
        return Ok(());
    }
    fields::each_once(
        "deadline recipient",
        m.deadlines.iter().map(|d| &d.recipient),
    )?;
    if let Some(stranger) = m
        .deadlines
        .iter()
        .find(|d| !m.recipients.contains(&d.recipient))
    {
        return Err(ApiError::invalid(format!(
            "the message gives {} a deadline but is not sent to them: add them as a recipient or leave their deadline out",
            stranger.recipient
        )));
    }
    if let Some(missing) = m
        .recipients
        .iter()
        .find(|r| !m.deadlines.iter().any(|d| &d.recipient == *r))
    {
        return Err(ApiError::invalid(format!(
            "the message gives deadlines but none to {missing}: give every recipient a deadline"
        )));
    }
    for d in &m.deadlines {
        fields::respond_by(d.respond_by, now)?;
    }
    let latest = m.deadlines.iter().map(|d| d.respond_by).max();
    if latest != Some(m.respond_by) {
        return Err(ApiError::invalid(format!(
            "respond_by ({}) is not the latest of the deadlines: set it to the latest one",
            m.respond_by.to_rfc3339()
        )));
    }
    Ok(())
}

impl Message {
    /// The deadline the message gave `user`: their own one, else `respond_by`; `None`
    /// for someone who is not a recipient. A granted extension moves it later
    /// ([`crate::effective_deadline`]).
    pub fn deadline_of(&self, user: &UserName) -> Option<DateTime<Utc>> {
        if !self.recipients.contains(user) {
            return None;
        }
        Some(
            self.deadlines
                .iter()
                .find(|d| &d.recipient == user)
                .map_or(self.respond_by, |d| d.respond_by),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use chrono::{Duration, TimeZone};

    fn name(n: &str) -> UserName {
        UserName::parse(n).unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 8, 15, 0, 0).unwrap()
    }

    fn message(deadlines: &[(&str, i64)]) -> NewMessage {
        let mut m: NewMessage = serde_json::from_str(
            r#"{"id":"0123456789abcdef","recipients":["bob","yuki"],"subject":"s","text":"t",
            "attachments":[],"respond_by":"2030-01-01T00:00:00Z","respond_by_tz":"UTC",
            "in_reply_to":null}"#,
        )
        .unwrap();
        m.deadlines = deadlines
            .iter()
            .map(|(r, h)| Deadline {
                recipient: name(r),
                respond_by: now() + Duration::hours(*h),
            })
            .collect();
        if let Some(latest) = m.deadlines.iter().map(|d| d.respond_by).max() {
            m.respond_by = latest;
        }
        m.working_hours_each = Some(8);
        m
    }

    #[test]
    fn a_deadline_for_each_recipient_with_the_latest_as_respond_by_is_accepted() {
        let m = message(&[("bob", 19), ("yuki", 27)]);
        check_deadlines(&m, now()).unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains("\"deadlines\""), "{json}");
        assert!(json.contains("\"working_hours_each\":8"), "{json}");
    }

    #[test]
    fn a_message_without_deadlines_keeps_its_old_json() {
        let mut m = message(&[]);
        m.working_hours_each = None;
        check_deadlines(&m, now()).unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert!(!json.contains("deadlines"), "{json}");
        assert!(!json.contains("working_hours_each"), "{json}");
    }

    #[test]
    fn every_recipient_and_nobody_else_has_one_deadline() {
        let refused = |m: NewMessage| check_deadlines(&m, now()).unwrap_err().message;
        assert!(refused(message(&[("bob", 19)])).contains("none to yuki"));
        assert!(refused(message(&[("bob", 19), ("yuki", 3), ("carol", 5)]))
            .contains("carol a deadline but is not sent to them"));
        assert!(refused(message(&[("bob", 19), ("bob", 20), ("yuki", 3)])).contains("bob"));
        let mut m = message(&[("bob", 19), ("yuki", 27)]);
        m.respond_by = now() + Duration::hours(19);
        assert!(refused(m).contains("not the latest"));
        let mut m = message(&[]);
        m.working_hours_each = Some(8);
        assert!(refused(m).contains("carries no deadlines"));
        let mut m = message(&[("bob", 19), ("yuki", 27)]);
        m.working_hours_each = Some(0);
        assert!(refused(m).contains("from 1 to"));
    }

    #[test]
    fn a_deadline_in_the_past_is_refused() {
        let m = message(&[("bob", -1), ("yuki", 27)]);
        assert_eq!(
            check_deadlines(&m, now()).unwrap_err().code,
            ErrorCode::RespondByInPast
        );
    }

    #[test]
    fn each_reader_has_their_own_deadline_and_strangers_none() {
        let m = message(&[("bob", 19), ("yuki", 27)]).committed(crate::Committed {
            sender: name("alice"),
            clip: None,
            attachments: vec![],
            poster: None,
            thread: crate::MessageId::parse("0123456789abcdef").unwrap(),
            sent_at: now(),
        });
        assert_eq!(
            m.deadline_of(&name("bob")),
            Some(now() + Duration::hours(19))
        );
        assert_eq!(
            m.deadline_of(&name("yuki")),
            Some(now() + Duration::hours(27))
        );
        assert_eq!(m.deadline_of(&name("alice")), None);
        let mut plain = m.clone();
        plain.deadlines.clear();
        assert_eq!(plain.deadline_of(&name("bob")), Some(plain.respond_by));
    }
}
