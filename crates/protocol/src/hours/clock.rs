//! The clock rules of working hours: is a user working at an instant, and when does
//! that end ([`next_change`]). Computed in the user's own zone with the zone's
//! daylight-saving rules, so "09:00" is 09:00 on their clock on both sides of a switch.
//!
//! Not here: wording ("off until Tue 09:00" is the library's), deadlines, reminders.

use chrono::{
    DateTime, Datelike, Days, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset,
    TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use serde::Serialize;

use super::{ClockTime, Day, WorkingHours, MAX_DAYS_OFF};
use crate::ApiError;

/// How far [`next_change`] looks ahead: every allowed day off plus two weeks.
const HORIZON_DAYS: u64 = MAX_DAYS_OFF as u64 + 14;

/// When a user's working/off state changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StateChange {
    /// The instant of the change.
    pub at: DateTime<Utc>,
    /// The same instant on the user's clock.
    pub local: DateTime<FixedOffset>,
    /// Whether the user works from then on.
    pub working: bool,
}

/// The zone of the hours; an unknown one is refused as [`super::check_working_hours`] does.
pub fn zone(hours: &WorkingHours) -> Result<Tz, ApiError> {
    hours.time_zone.parse::<Tz>().map_err(|_| {
        ApiError::invalid(format!(
            "working_hours.time_zone: {:?} is not an IANA zone name: pick one such as Europe/Berlin",
            hours.time_zone
        ))
    })
}

/// The instant on the user's clock.
pub fn local_time(
    hours: &WorkingHours,
    at: DateTime<Utc>,
) -> Result<DateTime<FixedOffset>, ApiError> {
    Ok(at.with_timezone(&zone(hours)?).fixed_offset())
}

/// Whether the user is working at `at`.
pub fn is_working(hours: &WorkingHours, at: DateTime<Utc>) -> Result<bool, ApiError> {
    Ok(working_at(hours, zone(hours)?, at))
}

/// When the state the user is in at `at` (working or off) ends; `None` when it does
/// not end within a year and two weeks (hours that are checked always have a change
/// sooner unless days off fill the year).
pub fn next_change(
    hours: &WorkingHours,
    at: DateTime<Utc>,
) -> Result<Option<StateChange>, ApiError> {
    let tz = zone(hours)?;
    let now = working_at(hours, tz, at);
    let today = at.with_timezone(&tz).date_naive();
    for ahead in 0..=HORIZON_DAYS {
        let Some(date) = today.checked_add_days(Days::new(ahead)) else {
            break;
        };
        if !works_on(hours, date) {
            continue;
        }
        // The state only changes at a span's edge or where the clock jumps; every such
        // instant of a day lies within that local day, so days can be taken in order.
        let mut candidates: Vec<DateTime<Utc>> = hours
            .spans
            .iter()
            .flat_map(|span| [span.start, span.end])
            .flat_map(|time| instants(tz, date, time))
            .chain(clock_jump_on(tz, date))
            .filter(|t| *t > at)
            .collect();
        candidates.sort();
        candidates.dedup();
        if let Some(change) = candidates
            .into_iter()
            .find(|t| working_at(hours, tz, *t) != now)
        {
            return Ok(Some(StateChange {
                at: change,
                local: change.with_timezone(&tz).fixed_offset(),
                working: !now,
            }));
        }
    }
    Ok(None)
}

fn works_on(hours: &WorkingHours, date: NaiveDate) -> bool {
    hours.days.contains(&Day::of(date.weekday())) && hours.days_off.binary_search(&date).is_err()
}

fn working_at(hours: &WorkingHours, tz: Tz, at: DateTime<Utc>) -> bool {
    let local = at.with_timezone(&tz).naive_local();
    let minute = local.hour() * 60 + local.minute();
    works_on(hours, local.date()) && hours.spans.iter().any(|s| s.contains(minute))
}

/// The instants at which the user's clock shows `time` on `date`: one, two where the
/// clock is set back (the hour repeats), and where it jumps forward past `time`, the
/// instant of the jump (when the clock first shows a later time).
fn instants(tz: Tz, date: NaiveDate, time: ClockTime) -> Vec<DateTime<Utc>> {
    let Some(naive) = date
        .and_hms_opt(0, 0, 0)
        .map(|midnight| midnight + Duration::minutes(i64::from(time.minutes())))
    else {
        return Vec::new();
    };
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => vec![t.with_timezone(&Utc)],
        LocalResult::Ambiguous(a, b) => vec![a.with_timezone(&Utc), b.with_timezone(&Utc)],
        LocalResult::None => first_shown_after(tz, naive).into_iter().collect(),
    }
}

/// The first instant after a gap in the clock that contains `naive`. Gaps last
/// minutes to hours (a day, once, in Samoa), so a minute-by-minute walk of 26 hours
/// finds the end.
fn first_shown_after(tz: Tz, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    (1..=26 * 60).find_map(|m| {
        tz.from_local_datetime(&(naive + Duration::minutes(m)))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    })
}

/// The instant the zone's offset changes during the local `date`, if it does.
fn clock_jump_on(tz: Tz, date: NaiveDate) -> Option<DateTime<Utc>> {
    let start = *instants(tz, date, ClockTime { minutes: 0 }).first()?;
    let end = *instants(tz, date, ClockTime::END_OF_DAY).first()?;
    let offset = |t: DateTime<Utc>| tz.offset_from_utc_datetime(&t.naive_utc()).fix();
    if offset(start) == offset(end) {
        return None;
    }
    // Bisect on whole seconds: the offset is a step function of the instant and
    // zones switch on a whole second.
    let (mut lo, mut hi) = (start.timestamp(), end.timestamp());
    let at = |s: i64| DateTime::from_timestamp(s, 0);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if offset(at(mid)?) == offset(at(lo)?) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    at(hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hours::tests::{hours, utc};

    fn change(h: &WorkingHours, at: &str) -> (String, String, bool) {
        let c = next_change(h, utc(at)).unwrap().unwrap();
        (c.at.to_rfc3339(), c.local.to_rfc3339(), c.working)
    }

    #[test]
    fn working_now_until_the_end_of_the_span() {
        let berlin = hours("Europe/Berlin", "mon-fri", "09:00-17:00");
        // Tuesday 1 December 2026, 11:00 in Berlin (UTC+1).
        assert!(is_working(&berlin, utc("2026-12-01T10:00:00Z")).unwrap());
        assert_eq!(
            change(&berlin, "2026-12-01T10:00:00Z"),
            (
                "2026-12-01T16:00:00+00:00".into(),
                "2026-12-01T17:00:00+01:00".into(),
                false
            )
        );
        // The span's end is off; its start is working.
        assert!(!is_working(&berlin, utc("2026-12-01T16:00:00Z")).unwrap());
        assert!(is_working(&berlin, utc("2026-12-01T08:00:00Z")).unwrap());
        assert!(!is_working(&berlin, utc("2026-12-01T07:59:59Z")).unwrap());
    }

    #[test]
    fn off_over_the_weekend_and_days_off() {
        let mut tokyo = hours("Asia/Tokyo", "mon-fri", "10:00-18:00");
        // Friday 4 December 2026, 18:00 in Tokyo → Monday 10:00.
        assert_eq!(
            change(&tokyo, "2026-12-04T09:00:00Z"),
            (
                "2026-12-07T01:00:00+00:00".into(),
                "2026-12-07T10:00:00+09:00".into(),
                true
            )
        );
        tokyo.days_off = vec![NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()];
        assert!(!is_working(&tokyo, utc("2026-12-07T02:00:00Z")).unwrap());
        assert_eq!(
            change(&tokyo, "2026-12-04T09:00:00Z").1,
            "2026-12-08T10:00:00+09:00"
        );
    }

    #[test]
    fn split_days_and_a_day_that_ends_at_midnight() {
        let split = hours("UTC", "mon-fri", "09:00-12:00,13:00-17:00");
        assert_eq!(
            change(&split, "2026-12-01T10:00:00Z").0,
            "2026-12-01T12:00:00+00:00"
        );
        assert_eq!(
            change(&split, "2026-12-01T12:30:00Z").0,
            "2026-12-01T13:00:00+00:00"
        );
        // Working until 24:00 Friday and from 00:00 Saturday is one stretch.
        let late = hours("UTC", "fri-sat", "00:00-24:00");
        assert_eq!(
            change(&late, "2026-12-04T12:00:00Z"),
            (
                "2026-12-06T00:00:00+00:00".into(),
                "2026-12-06T00:00:00+00:00".into(),
                false
            )
        );
        // Touching spans do not make a change at the seam.
        let seam = hours("UTC", "mon", "09:00-12:00,12:00-17:00");
        assert_eq!(
            change(&seam, "2026-11-30T10:00:00Z").0,
            "2026-11-30T17:00:00+00:00"
        );
    }

    #[test]
    fn berlin_keeps_nine_on_its_clock_across_both_switches() {
        let berlin = hours("Europe/Berlin", "mon-fri", "09:00-17:00");
        // Clocks go forward on Sunday 29 March 2026: Friday 17:00 CET → Monday 09:00 CEST.
        assert_eq!(
            change(&berlin, "2026-03-27T16:00:00Z"),
            (
                "2026-03-30T07:00:00+00:00".into(),
                "2026-03-30T09:00:00+02:00".into(),
                true
            )
        );
        // And back on Sunday 25 October 2026: Friday 17:00 CEST → Monday 09:00 CET.
        assert_eq!(
            change(&berlin, "2026-10-23T15:00:00Z"),
            (
                "2026-10-26T08:00:00+00:00".into(),
                "2026-10-26T09:00:00+01:00".into(),
                true
            )
        );
    }

    #[test]
    fn new_york_switches_on_its_own_dates() {
        let new_york = hours("America/New_York", "mon-fri", "09:00-17:00");
        // Forward on Sunday 8 March 2026 (Europe is still on winter time).
        assert_eq!(
            change(&new_york, "2026-03-06T22:00:00Z"),
            (
                "2026-03-09T13:00:00+00:00".into(),
                "2026-03-09T09:00:00-04:00".into(),
                true
            )
        );
        // Back on Sunday 1 November 2026 (a week after Europe).
        assert_eq!(
            change(&new_york, "2026-10-30T21:00:00Z"),
            (
                "2026-11-02T14:00:00+00:00".into(),
                "2026-11-02T09:00:00-05:00".into(),
                true
            )
        );
        // In the week between, Berlin and New York are five hours apart, not six.
        let berlin = hours("Europe/Berlin", "mon-fri", "09:00-17:00");
        let b = change(&berlin, "2026-10-26T18:00:00Z").0;
        let n = change(&new_york, "2026-10-26T23:00:00Z").0;
        assert_eq!(
            (b.as_str(), n.as_str()),
            ("2026-10-27T08:00:00+00:00", "2026-10-27T13:00:00+00:00")
        );
    }

    #[test]
    fn a_span_the_spring_gap_cuts_is_shorter_on_that_day() {
        // New York, Sunday 8 March 2026: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
        let sunday = hours("America/New_York", "sun", "01:00-04:00");
        assert!(is_working(&sunday, utc("2026-03-08T06:30:00Z")).unwrap());
        // 04:00 EDT is 08:00 UTC: two hours of work, not three.
        assert_eq!(
            change(&sunday, "2026-03-08T06:30:00Z"),
            (
                "2026-03-08T08:00:00+00:00".into(),
                "2026-03-08T04:00:00-04:00".into(),
                false
            )
        );
        // A span that starts in the gap starts when the clock jumps.
        let in_gap = hours("America/New_York", "sun", "02:30-05:00");
        assert_eq!(
            change(&in_gap, "2026-03-08T06:00:00Z"),
            (
                "2026-03-08T07:00:00+00:00".into(),
                "2026-03-08T03:00:00-04:00".into(),
                true
            )
        );
        // A span wholly inside the gap is never worked that day.
        let lost = hours("America/New_York", "sun", "02:00-02:30,05:00-06:00");
        assert_eq!(
            change(&lost, "2026-03-08T06:00:00Z").1,
            "2026-03-08T05:00:00-04:00"
        );
    }

    #[test]
    fn an_hour_the_autumn_switch_repeats_is_worked_twice() {
        // Berlin, Sunday 25 October 2026: 03:00 CEST goes back to 02:00 CET (01:00 UTC).
        let sunday = hours("Europe/Berlin", "sun", "01:00-02:30");
        // 02:30 CEST (00:30 UTC) ends the span…
        assert_eq!(
            change(&sunday, "2026-10-24T23:30:00Z").1,
            "2026-10-25T02:30:00+02:00"
        );
        // …and the repeated 02:00 CET starts it again until 02:30 CET.
        assert_eq!(
            change(&sunday, "2026-10-25T00:45:00Z"),
            (
                "2026-10-25T01:00:00+00:00".into(),
                "2026-10-25T02:00:00+01:00".into(),
                true
            )
        );
        assert_eq!(
            change(&sunday, "2026-10-25T01:00:00Z").0,
            "2026-10-25T01:30:00+00:00"
        );
    }

    #[test]
    fn no_change_within_the_horizon_and_unknown_zones() {
        let mut h = hours("UTC", "mon", "09:00-17:00");
        let first = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        h.days_off = (0..MAX_DAYS_OFF as u64)
            .map(|i| first + Days::new(i * 7))
            .collect();
        assert_eq!(next_change(&h, utc("2026-11-29T00:00:00Z")).unwrap(), None);
        let bad = hours("Mars/Olympus", "mon", "09:00-17:00");
        assert!(is_working(&bad, Utc::now())
            .unwrap_err()
            .message
            .contains("working_hours.time_zone"));
        assert!(next_change(&bad, Utc::now()).is_err());
    }
}
