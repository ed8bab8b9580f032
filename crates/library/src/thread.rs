//! Threads: a message and its replies, found by the thread id every message carries
//! (the id of the thread's first message), and the subject a reply gets.

use chrono::{DateTime, Utc};
use pigeon_store::protocol::{MessageId, UserName};
use serde::Serialize;

use crate::db::Library;
use crate::error::Result;

/// One message of a thread, received or sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreadEntry {
    pub id: MessageId,
    pub sender: UserName,
    pub subject: String,
    pub sent_at: DateTime<Utc>,
    /// Sent by the library's own user.
    pub mine: bool,
}

impl Library {
    /// The messages of `thread`, received and sent, oldest first; `me` is the user's
    /// name (to tell their own messages). The committed messages only, read as
    /// [`Library::conversation`] reads them (which adds what answers what, and more).
    pub fn thread(&self, thread: &MessageId, me: &str) -> Result<Vec<ThreadEntry>> {
        let stored = crate::conversation::stored_in_thread(&self.read(), thread)?;
        let mut entries: Vec<ThreadEntry> = stored
            .into_iter()
            .map(|s| ThreadEntry {
                mine: s.message.sender.as_str() == me,
                id: s.message.id,
                sender: s.message.sender,
                subject: s.message.subject,
                sent_at: s.message.sent_at,
            })
            .collect();
        entries.sort_by(|a, b| a.sent_at.cmp(&b.sent_at).then_with(|| a.id.cmp(&b.id)));
        Ok(entries)
    }
}

/// The subject of a reply: "Re: " before the original's, unless it already starts
/// with "Re:" in any case, so a long exchange never reads "Re: Re: Re:".
pub fn reply_subject(original: &str) -> String {
    let original = original.trim();
    let already = original
        .get(..3)
        .is_some_and(|start| start.eq_ignore_ascii_case("re:"));
    if already {
        original.to_owned()
    } else {
        format!("Re: {original}").trim_end().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone as _};
    use pigeon_store::protocol::Receipt;

    use super::*;
    use crate::db::NewOutgoing;
    use crate::home::PigeonHome;
    use crate::test_messages::message;

    #[test]
    fn a_reply_subject_gets_one_re() {
        assert_eq!(reply_subject("Budget"), "Re: Budget");
        assert_eq!(reply_subject("Re: Budget"), "Re: Budget");
        assert_eq!(reply_subject("RE: Budget"), "RE: Budget");
        assert_eq!(reply_subject("re:Budget"), "re:Budget");
        assert_eq!(reply_subject(" Budget "), "Re: Budget");
        assert_eq!(reply_subject(&reply_subject("Budget")), "Re: Budget");
        assert_eq!(reply_subject("Rebase plan"), "Re: Rebase plan");
        assert_eq!(reply_subject("Ré"), "Re: Ré");
        assert_eq!(reply_subject(""), "Re:");
    }

    #[test]
    fn a_thread_holds_received_and_sent_messages_of_its_id_only_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let library = Library::open(&PigeonHome::at(dir.path())).unwrap();
        let start = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        let bob = Receipt::new(UserName::parse("bob").unwrap());
        let first = message(
            "first00000000001",
            "alice",
            &["bob"],
            start + Duration::hours(24),
        );
        let thread = first.id.clone();
        let mut answer_of_alice = message(
            "second0000000002",
            "alice",
            &["bob"],
            start + Duration::hours(30),
        );
        answer_of_alice.thread = thread.clone();
        answer_of_alice.in_reply_to = Some(thread.clone());
        let other = message(
            "other00000000003",
            "carol",
            &["bob"],
            start + Duration::hours(26),
        );
        for m in [&answer_of_alice, &first, &other] {
            library.store_received(m, &bob, start).unwrap();
        }
        // Bob's reply, sent from this library.
        let draft = library.create_draft(start).unwrap();
        library
            .finish_draft(&draft.id, std::time::Duration::from_secs(1), None, false)
            .unwrap();
        let entry = library
            .queue(
                &NewOutgoing {
                    draft_id: Some(draft.id),
                    recipients: vec![UserName::parse("alice").unwrap()],
                    subject: reply_subject(&first.subject),
                    text: None,
                    respond_by: start + Duration::hours(48),
                    respond_by_tz: "UTC".into(),
                    in_reply_to: Some(thread.clone()),
                    attachments: vec![],
                    at_ms: None,
                    chapter: None,
                    acknowledge_only: false,
                    deadlines: vec![],
                    working_hours_each: None,
                },
                start,
            )
            .unwrap();
        let mut reply = message(
            entry.message_id.as_str(),
            "bob",
            &["alice"],
            start + Duration::hours(26),
        );
        reply.thread = thread.clone();
        reply.in_reply_to = Some(thread.clone());
        reply.subject = "Re: Plan".into();
        library.record_sent(&reply).unwrap();

        let entries = library.thread(&thread, "bob").unwrap();
        let order: Vec<_> = entries.iter().map(|e| (e.id.as_str(), e.mine)).collect();
        assert_eq!(
            order,
            [
                ("first00000000001", false),
                (entry.message_id.as_str(), true),
                ("second0000000002", false)
            ],
            "by sent_at, without the other thread"
        );
        assert_eq!(entries[1].subject, "Re: Plan");
        assert!(library
            .thread(&MessageId::parse("nothread00000000").unwrap(), "bob")
            .unwrap()
            .is_empty());
    }
}
