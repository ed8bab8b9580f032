//! "N working hours each": a respond-by that gives every recipient their own deadline,
//! N hours of their own working time from when the message is sent (so it starts when
//! it reaches their working day), computed once when the message is queued so a retried
//! delivery carries the same instants.
//!
//! A recipient whose working hours are unknown is counted Monday to Friday, 09:00-17:00
//! in their own time zone, or in the sender's when even their profile could not be read;
//! each such guess is named so the face can say it. The arithmetic is the protocol's
//! ([`pigeon_store::protocol::hours::fair_deadline`]); the stores check the result.

use chrono::{DateTime, Timelike as _, Utc};
use chrono_tz::Tz;
use pigeon_store::protocol::hours::{default_working_hours, fair_deadline, WorkingHours};
use pigeon_store::protocol::{Deadline, Profile, UserName};

use crate::respond_by::{ResponseBy, ResponseByChoice};
use crate::LibraryError;

/// When a new message is due: one instant for everyone, or one per recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The latest deadline: what a reader without deadlines sees.
    pub respond_by: ResponseBy,
    /// One per recipient for "N working hours each", else empty.
    pub deadlines: Vec<Deadline>,
    /// N, for "N working hours each".
    pub working_hours_each: Option<u32>,
    /// One sentence per recipient whose hours were assumed.
    pub assumed: Vec<String>,
}

impl Due {
    /// The same respond-by for every recipient.
    pub fn one(respond_by: ResponseBy) -> Self {
        Due {
            respond_by,
            deadlines: Vec::new(),
            working_hours_each: None,
            assumed: Vec::new(),
        }
    }
}

/// What `choice` means for `recipients` at `now`: one instant, or each recipient's
/// own deadline by their `profiles`.
pub fn due(
    choice: &ResponseByChoice,
    recipients: &[UserName],
    profiles: &[Profile],
    sender_zone: Tz,
    now: DateTime<Utc>,
) -> Result<Due, LibraryError> {
    match choice {
        ResponseByChoice::WorkingHoursEach { hours } => {
            fair_deadlines(*hours, recipients, profiles, sender_zone, now)
        }
        other => Ok(Due::one(
            other
                .resolve(now, sender_zone)
                .map_err(|e| LibraryError::Invalid(e.to_string()))?,
        )),
    }
}

/// Reads "N working hours each" as typed: `8wh`, `8 wh`; `None` for anything else.
pub fn parse_working_hours_each(text: &str) -> Option<u32> {
    let lower = text.trim().to_ascii_lowercase();
    let digits = lower.strip_suffix("wh")?.trim_end();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Each recipient's deadline `n` working hours after `now`, by their profile's hours
/// (found in `profiles` by name).
pub fn fair_deadlines(
    n: u32,
    recipients: &[UserName],
    profiles: &[Profile],
    sender_zone: Tz,
    now: DateTime<Utc>,
) -> Result<Due, LibraryError> {
    let mut deadlines = Vec::with_capacity(recipients.len());
    let mut assumed = Vec::new();
    for recipient in recipients {
        let profile = profiles.iter().find(|p| &p.user.name == recipient);
        let hours = match profile {
            Some(Profile {
                working_hours: Some(hours),
                ..
            }) => hours.clone(),
            Some(p) => {
                let zone: Tz = p.user.time_zone.parse().unwrap_or(sender_zone);
                assumed.push(format!(
                    "{recipient} gave no working hours: counted Mon-Fri 09:00-17:00 in {}",
                    zone.name()
                ));
                default_working_hours(zone)
            }
            None => {
                assumed.push(format!(
                    "{recipient}'s working hours could not be read: counted Mon-Fri 09:00-17:00 in {}, your zone",
                    sender_zone.name()
                ));
                default_working_hours(sender_zone)
            }
        };
        deadlines.push(Deadline {
            recipient: recipient.clone(),
            respond_by: to_whole_minute(deadline(&hours, now, n, recipient)?),
        });
    }
    let latest = deadlines
        .iter()
        .map(|d| d.respond_by)
        .max()
        .ok_or_else(|| LibraryError::Invalid("give at least one recipient".into()))?;
    let respond_by = ResponseBy::after(latest, now)
        .map_err(|e| LibraryError::Invalid(format!("{e}; pick fewer working hours")))?;
    Ok(Due {
        respond_by,
        deadlines,
        working_hours_each: Some(n),
        assumed,
    })
}

/// `at` moved up to the next whole minute: a deadline reads as a time of day, and an
/// instant without a fraction keeps its value through every store and column.
fn to_whole_minute(at: DateTime<Utc>) -> DateTime<Utc> {
    let whole = at
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(at);
    if whole < at {
        whole + chrono::Duration::minutes(1)
    } else {
        whole
    }
}

fn deadline(
    hours: &WorkingHours,
    now: DateTime<Utc>,
    n: u32,
    recipient: &UserName,
) -> Result<DateTime<Utc>, LibraryError> {
    fair_deadline(hours, now, n).map_err(|e| {
        LibraryError::Invalid(format!(
            "no deadline {n} working hours away could be found for {recipient}: {}",
            e.message
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use pigeon_store::protocol::hours::{DailySpan, Day, WorkingHours};
    use pigeon_store::protocol::User;

    fn name(n: &str) -> UserName {
        UserName::parse(n).unwrap()
    }

    fn profile(n: &str, zone: &str, hours: Option<(&str, &str)>) -> Profile {
        Profile {
            user: User {
                name: name(n),
                display_name: n.into(),
                time_zone: zone.into(),
            },
            working_hours: hours.map(|(days, spans)| {
                WorkingHours::new(
                    zone,
                    Day::parse_set(days).unwrap(),
                    DailySpan::parse_list(spans).unwrap(),
                    vec![],
                )
            }),
        }
    }

    #[test]
    fn working_hours_each_reads_as_typed() {
        assert_eq!(parse_working_hours_each("8wh"), Some(8));
        assert_eq!(parse_working_hours_each(" 16 WH "), Some(16));
        for other in ["wh", "8h", "-8wh", "8.5wh", "8 w h", "24h"] {
            assert_eq!(parse_working_hours_each(other), None, "{other}");
        }
    }

    #[test]
    fn each_recipient_counts_their_own_hours_and_guesses_are_named() {
        // Tuesday 8 Dec 2026, 16:00 in Berlin.
        let now = Utc.with_ymd_and_hms(2026, 12, 8, 15, 0, 0).unwrap();
        let profiles = [
            profile("bob", "America/New_York", Some(("mon-fri", "09:00-17:00"))),
            profile(
                "yuki",
                "Asia/Tokyo",
                Some(("mon,tue,thu,fri", "10:00-18:00")),
            ),
            profile("carol", "Europe/London", None),
        ];
        let to = [name("bob"), name("yuki"), name("carol"), name("dan")];
        let due = fair_deadlines(8, &to, &profiles, chrono_tz::Europe::Berlin, now).unwrap();
        let of = |n: &str| {
            due.deadlines
                .iter()
                .find(|d| d.recipient == name(n))
                .unwrap()
                .respond_by
        };
        // Bob: 10:00 New York now, 7 h today, 1 h on Wednesday.
        assert_eq!(
            of("bob"),
            Utc.with_ymd_and_hms(2026, 12, 9, 15, 0, 0).unwrap()
        );
        // Yuki: midnight in Tokyo, off on Wednesday: all 8 h on Thursday.
        assert_eq!(
            of("yuki"),
            Utc.with_ymd_and_hms(2026, 12, 10, 9, 0, 0).unwrap()
        );
        // Carol: 15:00 in London by default hours, 2 h today, 6 h on Wednesday.
        assert_eq!(
            of("carol"),
            Utc.with_ymd_and_hms(2026, 12, 9, 15, 0, 0).unwrap()
        );
        // Dan is unknown: the sender's Berlin, 1 h today, 7 h on Wednesday.
        assert_eq!(
            of("dan"),
            Utc.with_ymd_and_hms(2026, 12, 9, 15, 0, 0).unwrap()
        );
        assert_eq!(due.respond_by.instant(), of("yuki"));
        assert_eq!(due.working_hours_each, Some(8));
        assert_eq!(
            due.assumed,
            [
                "carol gave no working hours: counted Mon-Fri 09:00-17:00 in Europe/London",
                "dan's working hours could not be read: counted Mon-Fri 09:00-17:00 in Europe/Berlin, your zone"
            ]
        );
    }

    #[test]
    fn a_daylight_saving_switch_between_send_and_deadline_moves_no_deadline_by_an_hour() {
        // Friday 12 March 2027, 15:00 UTC: New York switches on Sunday 14 March, Berlin
        // not before the 28th.
        let now = Utc.with_ymd_and_hms(2027, 3, 12, 15, 0, 0).unwrap();
        let profiles = [
            profile("bob", "America/New_York", Some(("mon-fri", "09:00-17:00"))),
            profile("alice", "Europe/Berlin", Some(("mon-fri", "09:00-17:00"))),
        ];
        let due = fair_deadlines(
            16,
            &[name("bob"), name("alice")],
            &profiles,
            chrono_tz::UTC,
            now,
        )
        .unwrap();
        let local = |n: &str, zone: Tz| {
            due.deadlines
                .iter()
                .find(|d| d.recipient == name(n))
                .unwrap()
                .respond_by
                .with_timezone(&zone)
                .format("%a %d %b %H:%M %Z")
                .to_string()
        };
        // Bob: 7 h on Friday (from 10:00 EST), 8 on Monday, 1 on Tuesday: 10:00 on his
        // clock, now EDT (14:00 UTC, not 15:00).
        assert_eq!(
            local("bob", chrono_tz::America::New_York),
            "Tue 16 Mar 10:00 EDT"
        );
        // Alice: 1 h on Friday (from 16:00), 8 on Monday, 7 on Tuesday.
        assert_eq!(
            local("alice", chrono_tz::Europe::Berlin),
            "Tue 16 Mar 16:00 CET"
        );
    }

    #[test]
    fn deadlines_fall_on_whole_minutes_never_earlier() {
        // Sent at 10:00:17.743 in New York: 8 h on his clock ends mid-minute.
        let now = Utc.with_ymd_and_hms(2026, 12, 8, 15, 0, 17).unwrap()
            + chrono::Duration::microseconds(743_131);
        let profiles = [profile(
            "bob",
            "America/New_York",
            Some(("mon-fri", "09:00-17:00")),
        )];
        let due = fair_deadlines(8, &[name("bob")], &profiles, chrono_tz::UTC, now).unwrap();
        assert_eq!(
            due.deadlines[0].respond_by,
            Utc.with_ymd_and_hms(2026, 12, 9, 15, 1, 0).unwrap()
        );
        assert_eq!(due.respond_by.instant(), due.deadlines[0].respond_by);
    }

    #[test]
    fn too_many_hours_are_refused_in_a_sentence() {
        let now = Utc.with_ymd_and_hms(2026, 12, 8, 15, 0, 0).unwrap();
        let refused = fair_deadlines(500, &[name("bob")], &[], chrono_tz::UTC, now).unwrap_err();
        assert!(refused.to_string().contains("working hours"), "{refused}");
    }
}
