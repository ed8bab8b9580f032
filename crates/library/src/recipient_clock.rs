//! A recipient's clock as Compose shows it next to their name: their local time now,
//! whether they work ("working now, until 18:00", "off until Tue 09:00"), and what the
//! chosen respond-by means on their clock ("Wed 02:00 for yuki"), flagged when it falls
//! outside their working hours.
//!
//! The working state and its phrase are [`crate::availability`]'s; this module only
//! puts them next to the respond-by. For "N working hours each" the face passes each
//! recipient's own deadline ([`crate::fair_deadlines`]) as their respond-by.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use pigeon_store::protocol::hours::{clock, WorkingHours};
use pigeon_store::protocol::Profile;
use serde::Serialize;

use crate::availability::{availability, clock_zone, local_now, when};
use crate::LibraryError;

/// One recipient's clock, now and at the respond-by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecipientClock {
    /// Their user name.
    pub name: String,
    /// The zone their clock runs in (their working hours' zone, else their own).
    pub time_zone: String,
    /// Now on their clock.
    pub local_now: DateTime<FixedOffset>,
    /// Now on their clock as shown: "Wed 23:00".
    pub local_now_text: String,
    /// Whether they work now; `None` when they gave no working hours.
    pub working: Option<bool>,
    /// "working now, until 18:00", "off until Tue 09:00"; `None` without working hours.
    pub availability: Option<String>,
    /// The respond-by on their clock.
    pub respond_by_local: DateTime<FixedOffset>,
    /// The respond-by on their clock, as short as it stays clear: "Wed 02:00".
    pub respond_by_text: String,
    /// Whether the respond-by falls outside their working hours (false without hours:
    /// nothing is known to be unfair).
    pub respond_by_outside_hours: bool,
    /// The whole line: "Wed 02:00 for yuki, outside their working hours".
    pub respond_by_phrase: String,
}

/// `profile`'s clock at `now` and at `respond_by`.
pub fn recipient_clock(
    profile: &Profile,
    respond_by: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<RecipientClock, LibraryError> {
    let name = profile.user.name.to_string();
    let local = local_now(profile, now)?;
    // Its own offset: a daylight-saving switch may lie between now and then.
    let respond_by_local = local_now(profile, respond_by)?;
    let respond_by_text = when(local, respond_by_local);
    let (working, phrase, outside) = match &profile.working_hours {
        Some(hours) => {
            let state = availability(hours, now)?;
            (
                Some(state.working),
                Some(state.phrase),
                !within_hours(hours, respond_by)?,
            )
        }
        None => (None, None, false),
    };
    let respond_by_phrase = if outside {
        format!("{respond_by_text} for {name}, outside their working hours")
    } else {
        format!("{respond_by_text} for {name}")
    };
    Ok(RecipientClock {
        time_zone: clock_zone(profile).to_owned(),
        local_now_text: local.format("%a %H:%M").to_string(),
        local_now: local,
        working,
        availability: phrase,
        respond_by_local,
        respond_by_text,
        respond_by_outside_hours: outside,
        respond_by_phrase,
        name,
    })
}

/// Whether a deadline at `at` is within working time: a span's end counts as in it (an
/// answer due at 18:00 is due by the end of the day, not after it), its start does not
/// (due at 10:00 leaves no working time before it).
fn within_hours(hours: &WorkingHours, at: DateTime<Utc>) -> Result<bool, LibraryError> {
    clock::is_working(hours, at - Duration::minutes(1)).map_err(LibraryError::refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pigeon_store::protocol::hours::{DailySpan, Day};
    use pigeon_store::protocol::{User, UserName};

    fn yuki(hours: bool) -> Profile {
        let mut profile = Profile::of(User {
            name: UserName::parse("yuki").unwrap(),
            display_name: "Yuki".into(),
            time_zone: "Asia/Tokyo".into(),
        });
        if hours {
            profile.working_hours = Some(WorkingHours::new(
                "Asia/Tokyo",
                Day::parse_set("mon-fri").unwrap(),
                DailySpan::parse_list("10:00-18:00").unwrap(),
                vec![],
            ));
        }
        profile
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_respond_by_in_their_night_is_flagged() {
        // Tuesday 1 December 2026, 15:00 in Tokyo; due Wednesday 02:00 in Tokyo.
        let c = recipient_clock(
            &yuki(true),
            utc("2026-12-01T17:00:00Z"),
            utc("2026-12-01T06:00:00Z"),
        )
        .unwrap();
        assert_eq!(c.local_now_text, "Tue 15:00");
        assert_eq!(c.working, Some(true));
        assert_eq!(c.availability.as_deref(), Some("working now, until 18:00"));
        assert_eq!(c.respond_by_text, "Wed 02:00");
        assert!(c.respond_by_outside_hours);
        assert_eq!(
            c.respond_by_phrase,
            "Wed 02:00 for yuki, outside their working hours"
        );
        assert_eq!(c.respond_by_local.to_rfc3339(), "2026-12-02T02:00:00+09:00");
    }

    #[test]
    fn a_respond_by_in_their_day_is_not() {
        // Off now (Tuesday 20:00 in Tokyo), due Wednesday 12:00 in Tokyo.
        let c = recipient_clock(
            &yuki(true),
            utc("2026-12-02T03:00:00Z"),
            utc("2026-12-01T11:00:00Z"),
        )
        .unwrap();
        assert_eq!(c.working, Some(false));
        assert_eq!(c.availability.as_deref(), Some("off until Wed 10:00"));
        assert!(!c.respond_by_outside_hours);
        assert_eq!(c.respond_by_phrase, "Wed 12:00 for yuki");
    }

    #[test]
    fn the_end_of_their_day_is_in_it_and_its_start_is_not() {
        let now = utc("2026-12-01T01:00:00Z");
        // Tuesday 18:00 and 10:00 in Tokyo.
        let at_end = recipient_clock(&yuki(true), utc("2026-12-01T09:00:00Z"), now).unwrap();
        assert!(!at_end.respond_by_outside_hours, "{at_end:?}");
        assert_eq!(at_end.respond_by_text, "18:00");
        let at_start = recipient_clock(&yuki(true), utc("2026-12-02T01:00:00Z"), now).unwrap();
        assert!(at_start.respond_by_outside_hours, "{at_start:?}");
        // A weekend deadline is outside.
        let saturday = recipient_clock(&yuki(true), utc("2026-12-05T03:00:00Z"), now).unwrap();
        assert_eq!(
            saturday.respond_by_phrase,
            "Sat 12:00 for yuki, outside their working hours"
        );
    }

    #[test]
    fn without_working_hours_only_their_clock_is_known() {
        let c = recipient_clock(
            &yuki(false),
            utc("2026-12-01T17:00:00Z"),
            utc("2026-12-01T06:00:00Z"),
        )
        .unwrap();
        assert_eq!((c.working, c.availability), (None, None));
        assert!(!c.respond_by_outside_hours);
        assert_eq!(c.respond_by_phrase, "Wed 02:00 for yuki");
        assert_eq!(c.time_zone, "Asia/Tokyo");
    }

    #[test]
    fn their_offset_at_the_respond_by_is_the_zones_then() {
        let mut bob = yuki(false);
        bob.user.name = UserName::parse("bob").unwrap();
        bob.user.time_zone = "America/New_York".into();
        // Sent Friday 6 March 2026 (EST), due Monday 9 March 10:00 (EDT, after the switch).
        let c = recipient_clock(
            &bob,
            utc("2026-03-09T14:00:00Z"),
            utc("2026-03-06T15:00:00Z"),
        )
        .unwrap();
        assert_eq!(c.respond_by_local.to_rfc3339(), "2026-03-09T10:00:00-04:00");
        assert_eq!(c.respond_by_text, "Mon 10:00");
    }

    #[test]
    fn an_unknown_zone_says_what_to_do() {
        let mut broken = yuki(false);
        broken.user.time_zone = "Mars/Olympus".into();
        let refused = recipient_clock(&broken, Utc::now(), Utc::now())
            .unwrap_err()
            .to_string();
        assert!(refused.contains("pigeon profile --tz"), "{refused}");
    }
}
