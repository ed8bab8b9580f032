//! Quiet hours: no notification and no reminder reaches the user outside their working
//! hours or while they asked not to be disturbed. What arrives meanwhile stays untold
//! in the library (announcements and reminders are only marked given when given), and
//! when the quiet ends it is given at once, summed up in one line: "While you were off:
//! 3 new messages, 1 due today".
//!
//! [`QuietSettings`] is what the settings file keeps (my working hours as my profile
//! last said, and "do not disturb until"); [`QuietSettings::at`] decides; [`held_summary`]
//! words what was held. Not here: the notifications themselves (the faces show them).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use pigeon_store::protocol::hours::{clock, WorkingHours};
use serde::{Deserialize, Serialize};

use crate::announce::Announcement;
use crate::db::Library;
use crate::error::Result;
use crate::reminders::ReminderEvent;

/// The `[quiet]` table of the settings file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietSettings {
    /// My working hours as my profile last gave them; none: never off hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_hours: Option<WorkingHours>,
    /// No notification before this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub do_not_disturb_until: Option<DateTime<Utc>>,
}

/// Whether notifications reach the user now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Quiet {
    Open,
    /// Outside my working hours, until they start again (`None`: not within a year).
    OffHours {
        until: Option<DateTime<Utc>>,
    },
    DoNotDisturb {
        until: DateTime<Utc>,
    },
}

impl Quiet {
    /// Notifications wait.
    pub fn holds(self) -> bool {
        self != Quiet::Open
    }

    /// What the tray and Settings say while it holds: "Do not disturb until 15:00".
    pub fn text(self, zone: Tz) -> Option<String> {
        let at = |t: DateTime<Utc>| t.with_timezone(&zone).format("%a %H:%M").to_string();
        match self {
            Quiet::Open => None,
            Quiet::DoNotDisturb { until } => Some(format!("Do not disturb until {}", at(until))),
            Quiet::OffHours { until: Some(until) } => Some(format!(
                "Outside working hours: notifications wait until {}",
                at(until)
            )),
            Quiet::OffHours { until: None } => {
                Some("Outside working hours: notifications wait".to_owned())
            }
        }
    }
}

impl QuietSettings {
    /// Whether notifications reach me at `now`. Hours that cannot be read (an unknown
    /// zone) hold nothing: a broken setting must not silence the app.
    pub fn at(&self, now: DateTime<Utc>) -> Quiet {
        if let Some(until) = self.do_not_disturb_until.filter(|u| *u > now) {
            return Quiet::DoNotDisturb { until };
        }
        let Some(hours) = &self.working_hours else {
            return Quiet::Open;
        };
        match clock::is_working(hours, now) {
            Ok(false) => Quiet::OffHours {
                until: clock::next_change(hours, now)
                    .ok()
                    .flatten()
                    .map(|change| change.at),
            },
            Ok(true) => Quiet::Open,
            Err(error) => {
                tracing::warn!(error = %error.message, "working hours unreadable: notifications are not held");
                Quiet::Open
            }
        }
    }
}

/// The one notification that stands for everything held: ("While you were off", "3
/// new messages, 1 answer, 1 due today"); `None` when nothing was held.
pub fn held_summary(
    announcements: &[Announcement],
    reminders: &[ReminderEvent],
    due_today: usize,
) -> Option<(String, String)> {
    if announcements.is_empty() && reminders.is_empty() {
        return None;
    }
    let new = announcements
        .iter()
        .filter(|a| a.respond_by.is_some())
        .count();
    let other = announcements.len() - new;
    let overdue = reminders
        .iter()
        .filter(|r| matches!(r, ReminderEvent::Overdue { .. }))
        .count();
    let passed = reminders
        .iter()
        .filter(|r| matches!(r, ReminderEvent::DeadlinePassed { .. }))
        .count();
    let count = |n: usize, one: &str, many: &str| match n {
        0 => None,
        1 => Some(format!("1 {one}")),
        n => Some(format!("{n} {many}")),
    };
    let parts: Vec<String> = [
        count(new, "new message", "new messages"),
        count(other, "reply or reaction", "replies and reactions"),
        count(due_today, "due today", "due today"),
        count(overdue, "overdue", "overdue"),
        count(passed, "deadline passed", "deadlines passed"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let body = if parts.is_empty() {
        "reminders waited for you".to_owned()
    } else {
        parts.join(", ")
    };
    Some(("While you were off".to_owned(), body))
}

impl Library {
    /// How many received messages I have not answered are due later today on my clock.
    pub fn due_today(&self, now: DateTime<Utc>, zone: Tz) -> Result<usize> {
        let today = now.with_timezone(&zone).date_naive();
        Ok(self
            .received_all()?
            .iter()
            .filter(|r| r.responded_at.is_none() && r.respond_by > now)
            .filter(|r| r.respond_by.with_timezone(&zone).date_naive() == today)
            .count())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use pigeon_store::protocol::hours::{DailySpan, Day};
    use pigeon_store::protocol::MessageId;

    use super::*;

    fn berlin_nine_to_five() -> WorkingHours {
        WorkingHours::new(
            "Europe/Berlin",
            Day::parse_set("mon-fri").unwrap(),
            DailySpan::parse_list("09:00-17:00").unwrap(),
            vec![],
        )
    }

    fn utc(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap()
    }

    #[test]
    fn off_hours_and_do_not_disturb_hold_until_they_end() {
        let quiet = QuietSettings {
            working_hours: Some(berlin_nine_to_five()),
            do_not_disturb_until: None,
        };
        // Tue 8 Dec 2026, 10:00 in Berlin: working.
        assert_eq!(quiet.at(utc(8, 9, 0)), Quiet::Open);
        // 22:00 in Berlin: off until Wednesday 09:00.
        let off = quiet.at(utc(8, 21, 0));
        assert_eq!(
            off,
            Quiet::OffHours {
                until: Some(utc(9, 8, 0))
            }
        );
        assert_eq!(
            off.text(chrono_tz::Europe::Berlin).unwrap(),
            "Outside working hours: notifications wait until Wed 09:00"
        );
        // Friday evening: off until Monday.
        assert_eq!(
            quiet.at(utc(11, 17, 30)),
            Quiet::OffHours {
                until: Some(utc(14, 8, 0))
            }
        );

        let dnd = QuietSettings {
            do_not_disturb_until: Some(utc(8, 11, 0)),
            ..quiet.clone()
        };
        assert_eq!(
            dnd.at(utc(8, 10, 0)),
            Quiet::DoNotDisturb {
                until: utc(8, 11, 0)
            }
        );
        assert_eq!(
            dnd.at(utc(8, 10, 0))
                .text(chrono_tz::Europe::Berlin)
                .unwrap(),
            "Do not disturb until Tue 12:00"
        );
        assert_eq!(dnd.at(utc(8, 11, 0)), Quiet::Open, "it ends on time");
        assert_eq!(QuietSettings::default().at(utc(8, 23, 0)), Quiet::Open);
    }

    #[test]
    fn held_news_is_summed_up_in_one_line() {
        let id = MessageId::parse("quiet00000000001").unwrap();
        let news = |respond_by: Option<DateTime<Utc>>| Announcement {
            message: id.clone(),
            thread: id.clone(),
            title: "t".into(),
            body: "b".into(),
            respond_by,
        };
        let held = [
            news(Some(utc(9, 12, 0))),
            news(Some(utc(9, 13, 0))),
            news(None),
        ];
        let overdue = ReminderEvent::Overdue {
            message: id.clone(),
            subject: "s".into(),
            respond_by: utc(8, 12, 0),
        };
        assert_eq!(
            held_summary(&held, std::slice::from_ref(&overdue), 1),
            Some((
                "While you were off".to_owned(),
                "2 new messages, 1 reply or reaction, 1 due today, 1 overdue".to_owned()
            ))
        );
        assert_eq!(
            held_summary(&[], &[], 3),
            None,
            "nothing held, nothing said"
        );
    }
}
