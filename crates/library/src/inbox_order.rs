//! The order of the inbox: what needs an answer soonest comes first.
//!
//! Open items (not answered, not yet due) by respond-by, earliest first; then
//! overdue items, most recently due first; then answered items, latest
//! respond-by first. Messages with the same respond-by keep newest first.
//!
//! [`inbox`] is the Inbox as every face lists it; [`most_urgent`] (the tray's list)
//! is its head, so the two can never disagree.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::{Library, ReceivedMessage};
use crate::error::Result;
use crate::respond_by::ResponseBy;

/// The inbox's groups, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InboxSection {
    Open,
    Overdue,
    Responded,
}

impl InboxSection {
    pub fn of(respond_by: ResponseBy, responded: bool, now: DateTime<Utc>) -> Self {
        if responded {
            Self::Responded
        } else if respond_by.instant() <= now {
            Self::Overdue
        } else {
            Self::Open
        }
    }
}

/// Compares two inbox items given their respond-by and whether they were answered.
pub fn compare(a: (ResponseBy, bool), b: (ResponseBy, bool), now: DateTime<Utc>) -> Ordering {
    let (sa, sb) = (
        InboxSection::of(a.0, a.1, now),
        InboxSection::of(b.0, b.1, now),
    );
    sa.cmp(&sb).then_with(|| match sa {
        InboxSection::Open => a.0.cmp(&b.0),
        InboxSection::Overdue | InboxSection::Responded => b.0.cmp(&a.0),
    })
}

/// Sorts items in inbox order; `key` gives each item's respond-by and answered flag.
/// Stable, so equal deadlines keep the caller's order (e.g. newest first).
pub fn sort<T>(items: &mut [T], now: DateTime<Utc>, key: impl Fn(&T) -> (ResponseBy, bool)) {
    items.sort_by(|a, b| compare(key(a), key(b), now));
}

/// Every received message in inbox order at `now`.
pub fn inbox(library: &Library, now: DateTime<Utc>) -> Result<Vec<ReceivedMessage>> {
    let mut messages = library.received_all()?;
    order(&mut messages, now);
    Ok(messages)
}

/// The first `n` unanswered messages of the inbox at `now`, in the inbox's order.
pub fn most_urgent(
    library: &Library,
    now: DateTime<Utc>,
    n: usize,
) -> Result<Vec<ReceivedMessage>> {
    Ok(head(library.received_all()?, now, n))
}

/// Puts received messages in inbox order: newest first, then (stably) by section
/// and respond-by.
fn order(messages: &mut [ReceivedMessage], now: DateTime<Utc>) {
    messages.sort_by_key(|m| std::cmp::Reverse(m.message.sent_at));
    sort(messages, now, |m| {
        (
            ResponseBy::from_instant(m.respond_by),
            m.responded_at.is_some(),
        )
    });
}

fn head(mut messages: Vec<ReceivedMessage>, now: DateTime<Utc>, n: usize) -> Vec<ReceivedMessage> {
    order(&mut messages, now);
    messages.retain(|r| r.responded_at.is_none());
    messages.truncate(n);
    messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone as _};
    use pigeon_store::protocol::{Receipt, UserName};

    use crate::home::PigeonHome;
    use crate::test_messages::message;

    #[test]
    fn the_inbox_is_newest_first_within_a_deadline_and_answered_last() {
        let dir = tempfile::tempdir().unwrap();
        let library = Library::open(&PigeonHome::at(dir.path())).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
        let due = now + Duration::hours(5);
        let mut older = message("older00000000001", "alice", &["bob"], due);
        older.sent_at = now - Duration::hours(3);
        let mut newer = message("newer00000000002", "carol", &["bob"], due);
        newer.sent_at = now - Duration::hours(1);
        let soon = message(
            "soon000000000003",
            "carol",
            &["bob"],
            now + Duration::hours(1),
        );
        let answered = message(
            "answered00000004",
            "alice",
            &["bob"],
            now + Duration::hours(2),
        );
        let mut receipt = Receipt::new(UserName::parse("bob").unwrap());
        for m in [&older, &answered, &newer, &soon] {
            library.store_received(m, &receipt, now).unwrap();
        }
        receipt.responded_at = Some(now);
        library.store_received(&answered, &receipt, now).unwrap();
        let ids: Vec<_> = inbox(&library, now)
            .unwrap()
            .into_iter()
            .map(|m| m.message.id.to_string())
            .collect();
        assert_eq!(
            ids,
            [
                "soon000000000003",
                "newer00000000002",
                "older00000000001",
                "answered00000004"
            ]
        );
    }

    /// The tray used to list unanswered messages by respond-by alone, so what was
    /// overdue for days came before what is due in an hour, unlike the inbox.
    #[test]
    fn the_most_urgent_are_the_head_of_the_inbox() {
        let dir = tempfile::tempdir().unwrap();
        let library = Library::open(&PigeonHome::at(dir.path())).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
        let hours = [
            ("overdue-long0001", -48),
            ("open-soon0000002", 2),
            ("overdue-just0003", -1),
            ("answered00000004", 1),
            ("open-later000005", 30),
        ];
        for (id, h) in hours {
            let m = message(id, "alice", &["bob"], now + Duration::hours(h));
            let mut receipt = Receipt::new(UserName::parse("bob").unwrap());
            if id.starts_with("answered") {
                receipt.responded_at = Some(now);
            }
            library.store_received(&m, &receipt, now).unwrap();
        }
        let ids = |list: Vec<ReceivedMessage>| -> Vec<String> {
            list.into_iter().map(|m| m.message.id.to_string()).collect()
        };
        let inbox_unanswered: Vec<String> = ids(inbox(&library, now).unwrap())
            .into_iter()
            .filter(|id| !id.starts_with("answered"))
            .collect();
        assert_eq!(
            ids(most_urgent(&library, now, 10).unwrap()),
            inbox_unanswered
        );
        assert_eq!(
            ids(most_urgent(&library, now, 3).unwrap()),
            ["open-soon0000002", "open-later000005", "overdue-just0003"]
        );
        assert!(most_urgent(&library, now, 0).unwrap().is_empty());
    }

    #[test]
    fn open_by_deadline_then_overdue_then_answered() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
        let at = |h: i64| ResponseBy::from_instant(now + Duration::hours(h));
        let mut items = vec![
            ("answered-late", at(10), true),
            ("open-tomorrow", at(24), false),
            ("overdue-long", at(-48), false),
            ("open-soon", at(2), false),
            ("overdue-just", at(-1), false),
            ("answered-early", at(-5), true),
        ];
        sort(&mut items, now, |i| (i.1, i.2));
        let names: Vec<_> = items.iter().map(|i| i.0).collect();
        assert_eq!(
            names,
            [
                "open-soon",
                "open-tomorrow",
                "overdue-just",
                "overdue-long",
                "answered-late",
                "answered-early"
            ]
        );
    }

    #[test]
    fn due_exactly_now_counts_as_overdue() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
        assert_eq!(
            InboxSection::of(ResponseBy::from_instant(now), false, now),
            InboxSection::Overdue
        );
    }
}
