//! Respond-by times.
//!
//! A respond-by is an instant: the same moment for every recipient wherever they
//! are. The sender picks it in their own time zone (a preset or a typed time);
//! each reader sees it in theirs, and relative to now ("due in 3 h").

use std::fmt;

use chrono::{
    DateTime, Datelike as _, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime,
    TimeZone as _, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// When a working day ends, for the "end of the next working day" preset.
pub const END_OF_WORKING_DAY: NaiveTime = match NaiveTime::from_hms_opt(17, 0, 0) {
    Some(time) => time,
    None => panic!("17:00 is a valid time"),
};

/// How far ahead a respond-by may be. Clips are for near-term decisions; a year
/// catches typos such as 2062 for 2026.
pub const MAX_AHEAD: Duration = Duration::days(366);

/// The instant by which an answer is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResponseBy(DateTime<Utc>);

/// Why a respond-by was refused. Each message says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseByError {
    #[error("the respond-by time {at} has already passed; pick a time after now ({now})")]
    InPast { at: String, now: String },
    #[error(
        "the respond-by time {at} is more than a year away; pick a time within the next 366 days"
    )]
    TooFar { at: String },
    #[error(
        "\"{0}\" is not a respond-by time; use a duration such as 4h, 24h or 2d, \
         \"next-working-day\", or a date and time such as 2026-12-01T17:00"
    )]
    Unrecognised(String),
    #[error("{local} does not exist in {zone} (the clocks skip it); pick a time an hour later")]
    SkippedLocalTime { local: String, zone: String },
    #[error("{0:?} is not a respond-by choice; pick one of the offered choices")]
    UnknownChoice(String),
    #[error("{0:?} is not a date and time; give one such as 2026-12-01T17:00")]
    NotADateTime(String),
}

/// The choices offered when composing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "at")]
pub enum ResponseByPreset {
    In4Hours,
    In24Hours,
    In48Hours,
    /// 17:00 on the next Monday-to-Friday after today, in the sender's zone.
    EndOfNextWorkingDay,
    /// A date and time on the sender's wall clock.
    At(NaiveDateTime),
}

impl ResponseByPreset {
    /// What a new message gets unless the sender picks something else.
    pub const DEFAULT: Self = Self::In24Hours;

    /// The presets offered as one-click choices, in display order.
    pub const CHOICES: [Self; 4] = [
        Self::In4Hours,
        Self::In24Hours,
        Self::In48Hours,
        Self::EndOfNextWorkingDay,
    ];

    /// The choice's stable key, as faces send it back: "in4-hours", "in24-hours",
    /// "in48-hours", "end-of-next-working-day", or "at" for a typed time.
    pub fn key(&self) -> &'static str {
        match self {
            Self::In4Hours => "in4-hours",
            Self::In24Hours => "in24-hours",
            Self::In48Hours => "in48-hours",
            Self::EndOfNextWorkingDay => "end-of-next-working-day",
            Self::At(_) => "at",
        }
    }

    /// The one-click choice whose [`key`](Self::key) is `key`.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::CHOICES.into_iter().find(|p| p.key() == key)
    }

    pub fn label(&self) -> String {
        match self {
            Self::In4Hours => "In 4 hours".into(),
            Self::In24Hours => "In 24 hours".into(),
            Self::In48Hours => "In 48 hours".into(),
            Self::EndOfNextWorkingDay => "End of next working day".into(),
            Self::At(local) => local.format("%a %-d %b %Y, %H:%M").to_string(),
        }
    }

    /// The instant this choice means when made at `now` by a sender in `zone`.
    pub fn resolve(&self, now: DateTime<Utc>, zone: Tz) -> Result<ResponseBy, ResponseByError> {
        let at = match *self {
            Self::In4Hours => now + Duration::hours(4),
            Self::In24Hours => now + Duration::hours(24),
            Self::In48Hours => now + Duration::hours(48),
            Self::EndOfNextWorkingDay => {
                let day = next_working_day(now.with_timezone(&zone).date_naive());
                local_to_utc(day.and_time(END_OF_WORKING_DAY), zone)?
            }
            Self::At(local) => local_to_utc(local, zone)?,
        };
        ResponseBy::after(at, now)
    }
}

/// How a sender picked the respond-by in a form: a one-click preset by its key, or a
/// date and time on their own clock. Travels as `{"kind":"Preset","key":"in24-hours"}`
/// or `{"kind":"At","local":"2026-12-01T17:00"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all_fields = "camelCase")]
pub enum ResponseByChoice {
    Preset {
        key: String,
    },
    At {
        local: String,
    },
    /// `{"kind":"WorkingHoursEach","hours":8}`: each recipient their own deadline
    /// ([`crate::fair_deadlines::due`]).
    WorkingHoursEach {
        hours: u32,
    },
}

impl ResponseByChoice {
    /// The instant this choice means when made at `now` by a sender in `zone`; "working
    /// hours each" has no one instant (it needs the recipients' hours).
    pub fn resolve(&self, now: DateTime<Utc>, zone: Tz) -> Result<ResponseBy, ResponseByError> {
        let preset = match self {
            Self::WorkingHoursEach { hours } => {
                return Err(ResponseByError::UnknownChoice(format!("{hours}wh")))
            }
            Self::Preset { key } => ResponseByPreset::from_key(key)
                .ok_or_else(|| ResponseByError::UnknownChoice(key.clone()))?,
            Self::At { local } => match parse_typed(local.trim()) {
                Some(Typed::Preset(at @ ResponseByPreset::At(_))) => at,
                _ => return Err(ResponseByError::NotADateTime(local.clone())),
            },
        };
        preset.resolve(now, zone)
    }
}

impl ResponseBy {
    /// A respond-by at `at`, refused when it is not after `now` or too far away.
    pub fn after(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<Self, ResponseByError> {
        if at <= now {
            return Err(ResponseByError::InPast {
                at: at.to_rfc3339(),
                now: now.to_rfc3339(),
            });
        }
        if at - now > MAX_AHEAD {
            return Err(ResponseByError::TooFar {
                at: at.to_rfc3339(),
            });
        }
        Ok(Self(at))
    }

    /// A respond-by read back from storage or the wire, where it was checked when sent.
    pub fn from_instant(at: DateTime<Utc>) -> Self {
        Self(at)
    }

    /// Reads what a sender typed: `4h`, `90m`, `2d`, `next-working-day`, a wall-clock
    /// time in `zone` (`2026-12-01T17:00`, `2026-12-01 17:00`, or a date alone for the
    /// end of that working day), or an RFC 3339 instant with its own offset.
    pub fn parse(text: &str, now: DateTime<Utc>, zone: Tz) -> Result<Self, ResponseByError> {
        match parse_typed(text.trim()) {
            Some(Typed::Preset(preset)) => preset.resolve(now, zone),
            Some(Typed::After(span)) => Self::after(now + span, now),
            Some(Typed::Instant(at)) => Self::after(at, now),
            None => Err(ResponseByError::Unrecognised(text.to_owned())),
        }
    }

    pub fn instant(&self) -> DateTime<Utc> {
        self.0
    }

    /// The respond-by on a wall clock in `zone`, e.g. `Tue 1 Dec 2026, 17:00 CET`.
    pub fn display_in(&self, zone: Tz) -> String {
        self.0
            .with_timezone(&zone)
            .format("%a %-d %b %Y, %H:%M %Z")
            .to_string()
    }

    /// How it stands at `now`.
    pub fn due(&self, now: DateTime<Utc>) -> Due {
        let left = self.0 - now;
        if left.num_seconds().abs() < 60 {
            Due::Now
        } else if left > Duration::zero() {
            Due::In(left)
        } else {
            Due::Overdue(-left)
        }
    }
}

/// A respond-by relative to now. Displays as "due in 3 h", "due now", "overdue by 2 d".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    In(Duration),
    Now,
    Overdue(Duration),
}

impl fmt::Display for Due {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Due::In(left) => write!(f, "due in {}", ShortSpan(*left)),
            Due::Now => f.write_str("due now"),
            Due::Overdue(late) => write!(f, "overdue by {}", ShortSpan(*late)),
        }
    }
}

/// A duration rounded down to its largest sensible unit: "45 min", "3 h", "2 d".
/// Hours are kept up to two days so "due in 30 h" stays precise for tomorrow.
struct ShortSpan(Duration);

impl fmt::Display for ShortSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let minutes = self.0.num_minutes().max(1);
        if minutes < 60 {
            write!(f, "{minutes} min")
        } else if minutes < 48 * 60 {
            write!(f, "{} h", minutes / 60)
        } else {
            write!(f, "{} d", minutes / (24 * 60))
        }
    }
}

/// The reader's time zone: `TZ` when it names an IANA zone, else the system's.
/// Falls back to UTC (and says so in the log) when neither can be read.
pub fn local_time_zone() -> Tz {
    let from_env = std::env::var("TZ")
        .ok()
        .and_then(|tz| tz.trim_start_matches(':').parse::<Tz>().ok());
    if let Some(zone) = from_env {
        return zone;
    }
    match iana_time_zone::get_timezone().map(|name| name.parse::<Tz>()) {
        Ok(Ok(zone)) => zone,
        Ok(Err(error)) => {
            tracing::warn!(%error, "the system time zone is not an IANA zone; showing times in UTC");
            Tz::UTC
        }
        Err(error) => {
            tracing::warn!(%error, "could not read the system time zone; showing times in UTC");
            Tz::UTC
        }
    }
}

/// What a sender typed, before it is tied to a clock.
enum Typed {
    Preset(ResponseByPreset),
    After(Duration),
    Instant(DateTime<Utc>),
}

fn parse_typed(text: &str) -> Option<Typed> {
    let lower = text.to_ascii_lowercase();
    match lower.as_str() {
        "4h" => return Some(Typed::Preset(ResponseByPreset::In4Hours)),
        "24h" => return Some(Typed::Preset(ResponseByPreset::In24Hours)),
        "48h" => return Some(Typed::Preset(ResponseByPreset::In48Hours)),
        "next-working-day" | "eod" => {
            return Some(Typed::Preset(ResponseByPreset::EndOfNextWorkingDay))
        }
        _ => {}
    }
    if let Some(span) = parse_span(&lower) {
        return Some(Typed::After(span));
    }
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(Typed::Instant(instant.with_timezone(&Utc)));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(local) = NaiveDateTime::parse_from_str(text, format) {
            return Some(Typed::Preset(ResponseByPreset::At(local)));
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(Typed::Preset(ResponseByPreset::At(
            day.and_time(END_OF_WORKING_DAY),
        )));
    }
    None
}

/// `90m`, `4h`, `2d`, `1w`: a positive whole number and one unit.
fn parse_span(text: &str) -> Option<Duration> {
    let unit_at = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(unit_at);
    let n: i64 = number.parse().ok().filter(|n| *n > 0)?;
    match unit {
        "m" | "min" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    }
}

/// The first Monday-to-Friday after `today`.
fn next_working_day(today: NaiveDate) -> NaiveDate {
    let mut day = today;
    loop {
        day = day.succ_opt().unwrap_or(NaiveDate::MAX);
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) || day == NaiveDate::MAX {
            return day;
        }
    }
}

/// A wall-clock time in `zone` as an instant. In the repeated hour when clocks go
/// back, the earlier of the two instants is meant: answering early is never late.
fn local_to_utc(local: NaiveDateTime, zone: Tz) -> Result<DateTime<Utc>, ResponseByError> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) => Ok(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Ok(earlier.with_timezone(&Utc)),
        LocalResult::None => Err(ResponseByError::SkippedLocalTime {
            local: local.format("%Y-%m-%d %H:%M").to_string(),
            zone: zone.name().to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::New_York, Asia::Tokyo, Europe::Berlin};

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    // Tuesday 24 Nov 2026, 09:30 UTC = 10:30 in Berlin.
    fn now() -> DateTime<Utc> {
        utc(2026, 11, 24, 9, 30)
    }

    #[test]
    fn hour_presets_are_offsets_from_now() {
        for (preset, hours) in [
            (ResponseByPreset::In4Hours, 4),
            (ResponseByPreset::In24Hours, 24),
            (ResponseByPreset::In48Hours, 48),
        ] {
            let by = preset.resolve(now(), Berlin).unwrap();
            assert_eq!(by.instant(), now() + Duration::hours(hours));
        }
        assert_eq!(ResponseByPreset::DEFAULT, ResponseByPreset::In24Hours);
    }

    #[test]
    fn end_of_next_working_day_is_17_00_in_the_senders_zone() {
        // Tuesday -> Wednesday 17:00 Berlin (CET, UTC+1) = 16:00 UTC.
        let by = ResponseByPreset::EndOfNextWorkingDay
            .resolve(now(), Berlin)
            .unwrap();
        assert_eq!(by.instant(), utc(2026, 11, 25, 16, 0));
        // Friday afternoon in New York -> Monday 17:00 EST (UTC-5) = 22:00 UTC.
        let friday = utc(2026, 11, 27, 20, 0);
        let by = ResponseByPreset::EndOfNextWorkingDay
            .resolve(friday, New_York)
            .unwrap();
        assert_eq!(by.instant(), utc(2026, 11, 30, 22, 0));
        // Saturday -> Monday too.
        let saturday = utc(2026, 11, 28, 12, 0);
        let by = ResponseByPreset::EndOfNextWorkingDay
            .resolve(saturday, Berlin)
            .unwrap();
        assert_eq!(by.instant(), utc(2026, 11, 30, 16, 0));
    }

    #[test]
    fn the_same_instant_reads_in_each_readers_zone() {
        let by = ResponseBy::parse("2026-12-01T17:00", now(), Berlin).unwrap();
        assert_eq!(by.instant(), utc(2026, 12, 1, 16, 0));
        assert_eq!(by.display_in(Berlin), "Tue 1 Dec 2026, 17:00 CET");
        assert_eq!(by.display_in(New_York), "Tue 1 Dec 2026, 11:00 EST");
        assert_eq!(by.display_in(Tokyo), "Wed 2 Dec 2026, 01:00 JST");
    }

    #[test]
    fn typed_forms_are_understood() {
        let at = |text| ResponseBy::parse(text, now(), Berlin).map(|b| b.instant());
        assert_eq!(at("24h"), Ok(now() + Duration::hours(24)));
        assert_eq!(at(" 90m "), Ok(now() + Duration::minutes(90)));
        assert_eq!(at("2d"), Ok(now() + Duration::days(2)));
        assert_eq!(at("1w"), Ok(now() + Duration::weeks(1)));
        assert_eq!(at("2026-12-01 17:00"), Ok(utc(2026, 12, 1, 16, 0)));
        assert_eq!(at("2026-12-01"), Ok(utc(2026, 12, 1, 16, 0)));
        assert_eq!(at("2026-12-01T17:00:00Z"), Ok(utc(2026, 12, 1, 17, 0)));
        assert_eq!(at("2026-12-01T17:00:00+09:00"), Ok(utc(2026, 12, 1, 8, 0)));
        assert_eq!(at("next-working-day"), Ok(utc(2026, 11, 25, 16, 0)));
    }

    #[test]
    fn nonsense_and_zero_are_refused_with_examples() {
        for text in ["tomorrowish", "0h", "-4h", "4x", "", "h"] {
            let error = ResponseBy::parse(text, now(), Berlin).unwrap_err();
            assert_eq!(
                error,
                ResponseByError::Unrecognised(text.to_owned()),
                "{text}"
            );
            assert!(error.to_string().contains("2026-12-01T17:00"));
        }
    }

    #[test]
    fn the_past_is_refused_and_says_so() {
        let error = ResponseBy::parse("2026-11-24T10:00", now(), Berlin).unwrap_err();
        assert!(matches!(error, ResponseByError::InPast { .. }));
        assert!(error.to_string().contains("already passed"));
        assert!(ResponseBy::after(now(), now()).is_err());
    }

    #[test]
    fn far_future_typos_are_refused() {
        let error = ResponseBy::parse("2062-12-01T17:00", now(), Berlin).unwrap_err();
        assert!(matches!(error, ResponseByError::TooFar { .. }));
    }

    #[test]
    fn skipped_and_repeated_local_times() {
        // Berlin skips 02:00-03:00 on 29 Mar 2026 and repeats 02:00-03:00 on 25 Oct 2026.
        let march = utc(2026, 3, 1, 0, 0);
        let error = ResponseBy::parse("2026-03-29T02:30", march, Berlin).unwrap_err();
        assert!(matches!(error, ResponseByError::SkippedLocalTime { .. }));
        let october = utc(2026, 10, 1, 0, 0);
        let by = ResponseBy::parse("2026-10-25T02:30", october, Berlin).unwrap();
        assert_eq!(
            by.instant(),
            utc(2026, 10, 25, 0, 30),
            "the earlier instant (CEST)"
        );
    }

    #[test]
    fn relative_due_times() {
        let by = ResponseBy::from_instant(now());
        let at = |d: Duration| by.due(now() - d).to_string();
        assert_eq!(at(Duration::hours(3) + Duration::minutes(20)), "due in 3 h");
        assert_eq!(at(Duration::minutes(45)), "due in 45 min");
        assert_eq!(at(Duration::hours(30)), "due in 30 h");
        assert_eq!(at(Duration::days(3)), "due in 3 d");
        assert_eq!(at(Duration::seconds(20)), "due now");
        assert_eq!(at(-Duration::seconds(20)), "due now");
        assert_eq!(at(-Duration::minutes(5)), "overdue by 5 min");
        assert_eq!(
            at(-Duration::days(2) - Duration::hours(1)),
            "overdue by 2 d"
        );
    }

    #[test]
    fn a_form_choice_resolves_by_key_or_local_time() {
        let keys: Vec<&str> = ResponseByPreset::CHOICES.iter().map(|p| p.key()).collect();
        assert_eq!(
            keys,
            [
                "in4-hours",
                "in24-hours",
                "in48-hours",
                "end-of-next-working-day"
            ]
        );
        for preset in ResponseByPreset::CHOICES {
            // The key is the serde tag the presets already travel with.
            assert_eq!(serde_json::to_value(preset).unwrap()["kind"], preset.key());
            assert_eq!(ResponseByPreset::from_key(preset.key()), Some(preset));
        }
        let choice: ResponseByChoice =
            serde_json::from_str(r#"{"kind":"Preset","key":"in4-hours"}"#).unwrap();
        assert_eq!(
            choice.resolve(now(), Berlin).map(|b| b.instant()),
            Ok(now() + Duration::hours(4))
        );
        let choice: ResponseByChoice =
            serde_json::from_str(r#"{"kind":"At","local":"2026-12-01T17:00"}"#).unwrap();
        assert_eq!(
            choice.resolve(now(), Berlin).map(|b| b.instant()),
            Ok(utc(2026, 12, 1, 16, 0))
        );
        let unknown = ResponseByChoice::Preset {
            key: "soonish".into(),
        };
        assert_eq!(
            unknown.resolve(now(), Berlin),
            Err(ResponseByError::UnknownChoice("soonish".into()))
        );
        for local in ["24h", "tomorrow", "2026-12-01T17:00:00Z"] {
            let typed = ResponseByChoice::At {
                local: local.into(),
            };
            assert_eq!(
                typed.resolve(now(), Berlin),
                Err(ResponseByError::NotADateTime(local.into())),
                "{local}"
            );
        }
        let past = ResponseByChoice::At {
            local: "2026-11-24T08:00".into(),
        };
        assert!(matches!(
            past.resolve(now(), Berlin),
            Err(ResponseByError::InPast { .. })
        ));
    }

    #[test]
    fn presets_travel_as_json() {
        let json = serde_json::to_value(ResponseByPreset::EndOfNextWorkingDay).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "kind": "end-of-next-working-day" })
        );
        let by = ResponseBy::from_instant(utc(2026, 12, 1, 16, 0));
        assert_eq!(
            serde_json::to_value(by).unwrap(),
            serde_json::json!("2026-12-01T16:00:00Z")
        );
    }
}
