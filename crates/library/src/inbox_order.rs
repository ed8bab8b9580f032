//! The order of the inbox: what needs an answer soonest comes first.
//!
//! Open items (not answered, not yet due) by respond-by, earliest first; then
//! overdue items, most recently due first; then answered items, latest
//! respond-by first.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde::Serialize;

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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone as _};

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
