//! Working-time arithmetic on a user's clock: an instant moved forward or back by an
//! amount of working time, the working time between two instants, and the fair
//! deadline ("N working hours each"). Time outside the user's working hours does not
//! count. It walks the working stretches [`clock::next_change`] gives, one stretch at a
//! time, so daylight-saving switches and days off are right because the clock is.
//!
//! Not here: which hours a user has (their profile, or [`super::default_working_hours`]
//! chosen by the caller) and how a deadline is worded.

use chrono::{DateTime, Duration, Utc};

use super::{check_working_hours, clock, WorkingHours};
use crate::ApiError;

/// "N working hours each" takes N from 1 to this: five working weeks.
pub const MAX_WORKING_HOURS_EACH: u32 = 200;

/// At most this much working time is added or taken away: far more than any deadline
/// needs, and it keeps the arithmetic far from chrono's limits.
const MAX_AMOUNT: Duration = Duration::days(366);

/// How far back [`sub_working_time`] looks before it gives up: two years.
const MAX_LOOKBACK: Duration = Duration::days(2 * 366);

/// One stretch of uninterrupted working time; `end` is `None` when it does not end
/// within the clock's horizon (a user who always works).
struct Stretch {
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
}

/// The working stretch the user is in at `at` (from `at` on), else the next one;
/// `None` when there is no working time ahead within the clock's horizon.
fn stretch_from(hours: &WorkingHours, at: DateTime<Utc>) -> Result<Option<Stretch>, ApiError> {
    let start = if clock::is_working(hours, at)? {
        at
    } else {
        match clock::next_change(hours, at)? {
            Some(change) => change.at,
            None => return Ok(None),
        }
    };
    let end = clock::next_change(hours, start)?.map(|change| change.at);
    Ok(Some(Stretch { start, end }))
}

fn check_amount(amount: Duration) -> Result<(), ApiError> {
    if amount < Duration::zero() {
        return Err(ApiError::invalid(
            "an amount of working time cannot be negative: give a positive one, e.g. 8 working hours",
        ));
    }
    if amount > MAX_AMOUNT {
        return Err(ApiError::invalid(
            "an amount of working time can be at most a year: give a smaller one",
        ));
    }
    Ok(())
}

fn no_working_time(hours: &WorkingHours, direction: &str, at: DateTime<Utc>) -> ApiError {
    ApiError::invalid(format!(
        "the working hours in {} have no working time {direction} {}: add working days or remove days off",
        hours.time_zone,
        at.to_rfc3339()
    ))
}

/// `from` moved forward by `amount` of working time on the user's clock (time outside
/// working hours does not count; starts counting at the next working moment when
/// `from` is off). Right across DST switches.
pub fn add_working_time(
    hours: &WorkingHours,
    from: DateTime<Utc>,
    amount: Duration,
) -> Result<DateTime<Utc>, ApiError> {
    check_amount(amount)?;
    if amount.is_zero() {
        return Ok(from);
    }
    let mut left = amount;
    let mut at = from;
    loop {
        let stretch =
            stretch_from(hours, at)?.ok_or_else(|| no_working_time(hours, "after", at))?;
        match stretch.end {
            Some(end) if end - stretch.start < left => {
                left -= end - stretch.start;
                at = end;
            }
            _ => return Ok(stretch.start + left),
        }
    }
}

/// `to` moved back by `amount` of working time (for "2 working hours before the
/// deadline"): the latest instant from which `amount` of working time ends at `to`.
pub fn sub_working_time(
    hours: &WorkingHours,
    to: DateTime<Utc>,
    amount: Duration,
) -> Result<DateTime<Utc>, ApiError> {
    check_amount(amount)?;
    if amount.is_zero() {
        return Ok(to);
    }
    // The clock only walks forward: take the stretches of a window before `to`, and
    // widen the window until it holds enough working time.
    let mut lookback = Duration::days(7) + amount * 5;
    loop {
        let stretches = stretches_between(hours, to - lookback, to)?;
        let mut left = amount;
        for (start, end) in stretches.iter().rev() {
            if *end - *start >= left {
                return Ok(*end - left);
            }
            left -= *end - *start;
        }
        if lookback >= MAX_LOOKBACK {
            return Err(no_working_time(hours, "in the two years before", to));
        }
        lookback = (lookback * 2).min(MAX_LOOKBACK);
    }
}

/// Working time between two instants (0 when `to <= from`).
pub fn working_time_between(
    hours: &WorkingHours,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Duration, ApiError> {
    Ok(stretches_between(hours, from, to)?
        .into_iter()
        .map(|(start, end)| end - start)
        .sum())
}

/// A piece of working time, start and end.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// The working stretches within `from..to`, cut to it, in order.
fn stretches_between(
    hours: &WorkingHours,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Span>, ApiError> {
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        let Some(stretch) = stretch_from(hours, at)? else {
            break;
        };
        if stretch.start >= to {
            break;
        }
        let end = stretch.end.map_or(to, |end| end.min(to));
        out.push((stretch.start, end));
        at = end;
    }
    Ok(out)
}

/// Checks N of "N working hours each".
pub fn check_working_hours_each(n_hours: u32) -> Result<(), ApiError> {
    if !(1..=MAX_WORKING_HOURS_EACH).contains(&n_hours) {
        return Err(ApiError::invalid(format!(
            "working_hours_each is {n_hours}: give from 1 to {MAX_WORKING_HOURS_EACH} working hours, e.g. 8"
        )));
    }
    Ok(())
}

/// The fair deadline: `n_hours` of working time from `sent_at` on the recipient's
/// clock, counted from when the message reaches their working day.
pub fn fair_deadline(
    hours: &WorkingHours,
    sent_at: DateTime<Utc>,
    n_hours: u32,
) -> Result<DateTime<Utc>, ApiError> {
    check_working_hours_each(n_hours)?;
    check_working_hours(hours)?;
    add_working_time(hours, sent_at, Duration::hours(i64::from(n_hours)))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use chrono_tz::Tz;

    use super::*;
    use crate::hours::tests::{hours, utc};
    use crate::hours::{default_working_hours, DailySpan, Day};

    /// The instant on the user's own clock, as RFC 3339 with its offset.
    fn local(h: &WorkingHours, at: DateTime<Utc>) -> String {
        clock::local_time(h, at).unwrap().to_rfc3339()
    }

    fn plus(h: &WorkingHours, from: &str, working_hours: i64) -> String {
        local(
            h,
            add_working_time(h, utc(from), Duration::hours(working_hours)).unwrap(),
        )
    }

    fn minus(h: &WorkingHours, to: &str, working_hours: i64) -> String {
        local(
            h,
            sub_working_time(h, utc(to), Duration::hours(working_hours)).unwrap(),
        )
    }

    /// Tuesday 8 December 2026, 16:00 in Berlin.
    const SENT: &str = "2026-12-08T15:00:00Z";

    #[test]
    fn eight_working_hours_each_on_three_clocks() {
        let alice = hours("Europe/Berlin", "mon-fri", "09:00-17:00");
        let bob = hours("America/New_York", "mon-fri", "09:00-17:00");
        let yuki = hours("Asia/Tokyo", "mon,tue,thu,fri", "10:00-18:00");
        let deadline = |h: &WorkingHours| local(h, fair_deadline(h, utc(SENT), 8).unwrap());
        // Alice: 16:00-17:00 on Tuesday, then seven hours on Wednesday.
        assert_eq!(deadline(&alice), "2026-12-09T16:00:00+01:00");
        // Bob: it is 10:00 in New York; seven hours on Tuesday, one on Wednesday.
        assert_eq!(deadline(&bob), "2026-12-09T10:00:00-05:00");
        // Yuki: it reaches her at Wednesday 00:00, her day off; all of Thursday.
        assert_eq!(deadline(&yuki), "2026-12-10T18:00:00+09:00");
        // A dated day off instead of a weekly one gives the same.
        let mut yuki_dated = hours("Asia/Tokyo", "mon-fri", "10:00-18:00");
        yuki_dated.days_off = vec![NaiveDate::from_ymd_opt(2026, 12, 9).unwrap()];
        assert_eq!(deadline(&yuki_dated), "2026-12-10T18:00:00+09:00");
        // Each of them has exactly eight working hours until their deadline.
        for h in [&alice, &bob, &yuki, &yuki_dated] {
            let by = fair_deadline(h, utc(SENT), 8).unwrap();
            assert_eq!(
                working_time_between(h, utc(SENT), by).unwrap(),
                Duration::hours(8)
            );
        }
    }

    #[test]
    fn the_european_spring_switch_moves_no_working_hour() {
        let berlin = hours("Europe/Berlin", "mon-fri", "09:00-17:00");
        let new_york = hours("America/New_York", "mon-fri", "09:00-17:00");
        // Berlin goes to summer time on Sunday 29 March 2026; New York did on 8 March.
        // Friday 16:00 + 2 working hours is Monday 10:00 on the Berlin clock…
        assert_eq!(
            plus(&berlin, "2026-03-27T15:00:00Z", 2),
            "2026-03-30T10:00:00+02:00"
        );
        assert_eq!(
            minus(&berlin, "2026-03-30T08:00:00Z", 2),
            "2026-03-27T16:00:00+01:00"
        );
        // …and the same weekend leaves New York's Friday 16:00 + 2 at Monday 10:00 too.
        assert_eq!(
            plus(&new_york, "2026-03-27T20:00:00Z", 2),
            "2026-03-30T10:00:00-04:00"
        );
        // Across New York's own switch, Berlin is untouched and New York keeps 10:00.
        assert_eq!(
            plus(&new_york, "2026-03-06T21:00:00Z", 2),
            "2026-03-09T10:00:00-04:00"
        );
        assert_eq!(
            plus(&berlin, "2026-03-06T15:00:00Z", 2),
            "2026-03-09T10:00:00+01:00"
        );
    }

    #[test]
    fn the_autumn_switches_a_week_apart_move_no_working_hour() {
        let berlin = hours("Europe/Berlin", "mon-fri", "09:00-17:00");
        let new_york = hours("America/New_York", "mon-fri", "09:00-17:00");
        // Europe goes back on Sunday 25 October 2026, the US on 1 November.
        assert_eq!(
            plus(&berlin, "2026-10-23T14:00:00Z", 2),
            "2026-10-26T10:00:00+01:00"
        );
        assert_eq!(
            plus(&new_york, "2026-10-23T20:00:00Z", 2),
            "2026-10-26T10:00:00-04:00"
        );
        assert_eq!(
            plus(&new_york, "2026-10-30T20:00:00Z", 2),
            "2026-11-02T10:00:00-05:00"
        );
        assert_eq!(
            minus(&new_york, "2026-11-02T15:00:00Z", 2),
            "2026-10-30T16:00:00-04:00"
        );
        // 40 working hours from Berlin's Friday 16:00: the week after, Friday 16:00.
        assert_eq!(
            plus(&berlin, "2026-10-23T14:00:00Z", 40),
            "2026-10-30T16:00:00+01:00"
        );
        assert_eq!(
            working_time_between(
                &berlin,
                utc("2026-10-23T14:00:00Z"),
                utc("2026-10-30T15:00:00Z")
            )
            .unwrap(),
            Duration::hours(40)
        );
    }

    #[test]
    fn a_switch_inside_a_span_counts_the_hours_really_worked() {
        // New York, Sunday 8 March 2026: 02:00 EST jumps to 03:00 EDT, so a 01:00-04:00
        // span holds two working hours that day, and the third is the next Sunday.
        let sunday = hours("America/New_York", "sun", "01:00-04:00");
        assert_eq!(
            plus(&sunday, "2026-03-08T06:00:00Z", 2),
            "2026-03-08T04:00:00-04:00"
        );
        assert_eq!(
            plus(&sunday, "2026-03-08T06:00:00Z", 3),
            "2026-03-15T02:00:00-04:00"
        );
        // Berlin, Sunday 25 October 2026: 02:00-03:00 repeats, so 01:00-03:00 holds three.
        let repeated = hours("Europe/Berlin", "sun", "01:00-03:00");
        assert_eq!(
            working_time_between(
                &repeated,
                utc("2026-10-24T22:00:00Z"),
                utc("2026-10-25T04:00:00Z")
            )
            .unwrap(),
            Duration::hours(3)
        );
    }

    #[test]
    fn split_days_count_only_their_spans() {
        let split = hours("Europe/Berlin", "mon-fri", "09:00-12:00,13:00-17:00");
        // Tuesday 1 December 2026, 11:00 Berlin: one hour before lunch, two after.
        assert_eq!(
            plus(&split, "2026-12-01T10:00:00Z", 3),
            "2026-12-01T15:00:00+01:00"
        );
        assert_eq!(
            minus(&split, "2026-12-01T14:00:00Z", 3),
            "2026-12-01T11:00:00+01:00"
        );
        // Lunch counts for nothing, and a start at lunch counts from 13:00.
        assert_eq!(
            plus(&split, "2026-12-01T11:30:00Z", 1),
            "2026-12-01T14:00:00+01:00"
        );
        assert_eq!(
            working_time_between(
                &split,
                utc("2026-12-01T07:00:00Z"),
                utc("2026-12-01T18:00:00Z")
            )
            .unwrap(),
            Duration::hours(7)
        );
        // Exactly the working time of a span ends at its end, not at the next start.
        assert_eq!(
            plus(&split, "2026-12-01T08:00:00Z", 3),
            "2026-12-01T12:00:00+01:00"
        );
        // Going back from a span's start ends in the span before.
        assert_eq!(
            minus(&split, "2026-12-01T12:00:00Z", 1),
            "2026-12-01T11:00:00+01:00"
        );
    }

    #[test]
    fn off_time_and_edges() {
        let berlin = hours("Europe/Berlin", "mon-fri", "09:00-17:00");
        // Saturday: counting starts on Monday at 09:00.
        assert_eq!(
            plus(&berlin, "2026-12-05T12:00:00Z", 1),
            "2026-12-07T10:00:00+01:00"
        );
        // Nothing to add or take: the instant stays.
        let saturday = utc("2026-12-05T12:00:00Z");
        assert_eq!(
            add_working_time(&berlin, saturday, Duration::zero()).unwrap(),
            saturday
        );
        assert_eq!(
            sub_working_time(&berlin, saturday, Duration::zero()).unwrap(),
            saturday
        );
        // No working time between, or backwards.
        assert_eq!(
            working_time_between(&berlin, saturday, saturday + Duration::hours(20)).unwrap(),
            Duration::zero()
        );
        assert_eq!(
            working_time_between(&berlin, saturday, saturday - Duration::days(3)).unwrap(),
            Duration::zero()
        );
        // Minutes count too.
        assert_eq!(
            local(
                &berlin,
                add_working_time(&berlin, utc("2026-12-01T15:30:00Z"), Duration::minutes(45))
                    .unwrap()
            ),
            "2026-12-02T09:15:00+01:00"
        );
        // A user who always works: working time is plain time.
        let always = hours("UTC", "mon-sun", "00:00-24:00");
        let from = utc("2026-12-01T10:00:00Z");
        assert_eq!(
            add_working_time(&always, from, Duration::hours(30)).unwrap(),
            from + Duration::hours(30)
        );
        assert_eq!(
            sub_working_time(&always, from, Duration::hours(30)).unwrap(),
            from - Duration::hours(30)
        );
        assert!(add_working_time(&berlin, from, Duration::hours(-1)).is_err());
    }

    #[test]
    fn no_working_time_ahead_is_one_clear_error() {
        let mut never = hours("UTC", "mon", "09:00-17:00");
        let first = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        never.days_off = (0..crate::hours::MAX_DAYS_OFF as u64)
            .map(|i| first + chrono::Days::new(i * 7))
            .collect();
        let refused =
            add_working_time(&never, utc("2026-11-29T00:00:00Z"), Duration::hours(1)).unwrap_err();
        assert!(
            refused.message.contains("no working time after"),
            "{}",
            refused.message
        );
        assert!(refused.message.contains("remove days off"));
    }

    #[test]
    fn n_is_from_one_to_two_hundred() {
        let berlin = hours("Europe/Berlin", "mon-fri", "09:00-17:00");
        for refused in [0, 201] {
            let error = fair_deadline(&berlin, utc(SENT), refused).unwrap_err();
            assert!(error.message.contains("from 1 to 200"), "{}", error.message);
        }
        // 200 working hours are five working weeks: Tuesday 16:00 five weeks later.
        assert_eq!(
            local(&berlin, fair_deadline(&berlin, utc(SENT), 200).unwrap()),
            "2027-01-12T16:00:00+01:00"
        );
        let bad = hours("Mars/Olympus", "mon", "09:00-17:00");
        assert!(fair_deadline(&bad, utc(SENT), 8)
            .unwrap_err()
            .message
            .contains("working_hours.time_zone"));
    }

    #[test]
    fn default_hours_are_nine_to_five_on_weekdays() {
        let tz: Tz = "Asia/Tokyo".parse().unwrap();
        let h = default_working_hours(tz);
        assert_eq!(h.time_zone, "Asia/Tokyo");
        assert_eq!(h.days, Day::parse_set("mon-fri").unwrap());
        assert_eq!(h.spans, DailySpan::parse_list("09:00-17:00").unwrap());
        check_working_hours(&h).unwrap();
    }
}
