//! Whether someone is working, as the faces show it next to their name: their clock
//! now, working or off, until when on their clock, and the short phrase for it
//! ("working now, until 18:00", "off until Tue 09:00").
//!
//! The rules of working hours themselves (spans, days off, daylight-saving switches)
//! are `pigeon-protocol`'s ([`pigeon_store::protocol::hours`]); this module only picks
//! what to say. It is not quiet hours or reminders: nothing here holds or sends anything.

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use pigeon_store::protocol::hours::{clock, WorkingHours};
use pigeon_store::protocol::Profile;
use serde::Serialize;

use crate::LibraryError;

/// Within this many days ahead a time is named by its weekday ("Tue 09:00"); further
/// on by its date too, so a week's holiday does not read as next Tuesday.
const WEEKDAY_NAMED_WITHIN_DAYS: i64 = 6;

/// Someone's working state at an instant, on their clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Availability {
    /// Whether they are working now.
    pub working: bool,
    /// Now on their clock.
    pub local_now: DateTime<FixedOffset>,
    /// When that ends, on their clock; `None` when not within the next year.
    pub until: Option<DateTime<FixedOffset>>,
    /// What to show: "working now, until 18:00", "off until Tue 09:00".
    pub phrase: String,
}

/// Whether the owner of `hours` works at `now`, and until when.
pub fn availability(
    hours: &WorkingHours,
    now: DateTime<Utc>,
) -> Result<Availability, LibraryError> {
    let local_now = clock::local_time(hours, now).map_err(LibraryError::refused)?;
    let working = clock::is_working(hours, now).map_err(LibraryError::refused)?;
    let until = clock::next_change(hours, now)
        .map_err(LibraryError::refused)?
        .map(|change| change.local);
    let phrase = match (working, until) {
        (true, Some(end)) => format!("working now, until {}", when(local_now, end)),
        (true, None) => "working now".to_owned(),
        (false, Some(start)) => format!("off until {}", when(local_now, start)),
        (false, None) => "off, with no working time in the coming year".to_owned(),
    };
    Ok(Availability {
        working,
        local_now,
        until,
        phrase,
    })
}

/// The zone `profile`'s clock runs in: their working hours' zone, else their own.
pub fn clock_zone(profile: &Profile) -> &str {
    profile
        .working_hours
        .as_ref()
        .map_or(profile.user.time_zone.as_str(), |h| h.time_zone.as_str())
}

/// Now on `profile`'s clock ([`clock_zone`]).
pub fn local_now(
    profile: &Profile,
    now: DateTime<Utc>,
) -> Result<DateTime<FixedOffset>, LibraryError> {
    let zone = clock_zone(profile);
    let tz = zone.parse::<chrono_tz::Tz>().map_err(|_| {
        LibraryError::Invalid(format!(
            "{}'s time zone {zone:?} is not one this app knows: ask them to set it again with `pigeon profile --tz`",
            profile.user.name
        ))
    })?;
    Ok(now.with_timezone(&tz).fixed_offset())
}

/// `at` on `profile`'s clock as short as it stays clear from `now`, with their name:
/// "Thu 10:00 for bob".
pub fn their_clock(
    profile: &Profile,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<String, LibraryError> {
    Ok(format!(
        "{} for {}",
        when(local_now(profile, now)?, local_now(profile, at)?),
        profile.user.name
    ))
}

/// A time on their clock as short as it stays clear from `now` (also theirs):
/// "18:00" today, "Tue 09:00" this week, "Thu 24 Dec 09:00" later, with the year when
/// it is another.
pub(crate) fn when(now: DateTime<FixedOffset>, at: DateTime<FixedOffset>) -> String {
    let days = (at.date_naive() - now.date_naive()).num_days();
    if days == 0 {
        at.format("%H:%M").to_string()
    } else if days <= WEEKDAY_NAMED_WITHIN_DAYS {
        at.format("%a %H:%M").to_string()
    } else if at.year() == now.year() {
        at.format("%a %-d %b %H:%M").to_string()
    } else {
        at.format("%a %-d %b %Y %H:%M").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Days, NaiveDate};
    use pigeon_store::protocol::hours::{DailySpan, Day};
    use pigeon_store::protocol::{User, UserName};

    fn hours(tz: &str, days: &str, spans: &str) -> WorkingHours {
        WorkingHours::new(
            tz,
            Day::parse_set(days).unwrap(),
            DailySpan::parse_list(spans).unwrap(),
            vec![],
        )
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn working_now_until_the_end_of_their_day() {
        let tokyo = hours("Asia/Tokyo", "mon-fri", "10:00-18:00");
        // Wednesday 2 December 2026, 14:00 in Tokyo.
        let a = availability(&tokyo, utc("2026-12-02T05:00:00Z")).unwrap();
        assert!(a.working);
        assert_eq!(a.phrase, "working now, until 18:00");
        assert_eq!(a.local_now.to_rfc3339(), "2026-12-02T14:00:00+09:00");
        assert_eq!(a.until.unwrap().to_rfc3339(), "2026-12-02T18:00:00+09:00");
    }

    #[test]
    fn off_until_the_next_working_day_by_its_weekday() {
        let tokyo = hours("Asia/Tokyo", "mon-fri", "10:00-18:00");
        // Friday 4 December 2026, 19:00 in Tokyo: off until Monday.
        let a = availability(&tokyo, utc("2026-12-04T10:00:00Z")).unwrap();
        assert!(!a.working);
        assert_eq!(a.phrase, "off until Mon 10:00");
        // Early in a working day: off until later today.
        let early = availability(&tokyo, utc("2026-12-02T00:00:00Z")).unwrap();
        assert_eq!(early.phrase, "off until 10:00");
    }

    #[test]
    fn a_long_time_off_names_the_date() {
        let mut berlin = hours("Europe/Berlin", "mon-fri", "09:00-17:00");
        let first = NaiveDate::from_ymd_opt(2026, 12, 21).unwrap();
        berlin.days_off = (0..12).map(|i| first + Days::new(i)).collect();
        // Friday 18 December 2026, 18:00 in Berlin: back on Monday 4 January.
        let a = availability(&berlin, utc("2026-12-18T17:00:00Z")).unwrap();
        assert_eq!(a.phrase, "off until Mon 4 Jan 2027 09:00");
        let b = availability(&berlin, utc("2026-12-01T17:00:00Z")).unwrap();
        assert_eq!(b.phrase, "off until Wed 09:00");
    }

    #[test]
    fn their_clock_without_working_hours_is_their_zone() {
        let profile = Profile::of(User {
            name: UserName::parse("bob").unwrap(),
            display_name: "Bob".into(),
            time_zone: "America/New_York".into(),
        });
        let now = local_now(&profile, utc("2026-12-02T14:00:00Z")).unwrap();
        assert_eq!(now.to_rfc3339(), "2026-12-02T09:00:00-05:00");
        let mut broken = profile;
        broken.user.time_zone = "Mars/Olympus".into();
        let refused = local_now(&broken, Utc::now()).unwrap_err().to_string();
        assert!(refused.contains("pigeon profile --tz"), "{refused}");
    }

    #[test]
    fn unknown_zones_are_refused_with_what_to_do() {
        let refused = availability(&hours("Mars/Olympus", "mon", "09:00-17:00"), Utc::now())
            .unwrap_err()
            .to_string();
        assert!(refused.contains("working_hours.time_zone"), "{refused}");
    }
}
