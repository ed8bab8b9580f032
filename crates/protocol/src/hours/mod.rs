//! Working hours: the part of a user's profile that says when they work — an IANA
//! zone, the days of the week, one or more daily spans in local time, and dated days
//! off — with the rule that checks them ([`check_working_hours`]) and the parsers the
//! faces use for what people type (`10:00-18:00`, `mon-fri`). The clock rules
//! (working now? until when?) are in [`clock`]; working-time arithmetic and the fair
//! deadline ("N working hours each") in [`working_time`].
//!
//! This module is NOT a scheduler: it stores no time (times on the wire stay UTC
//! instants) and sends no reminders; it only answers questions about given instants.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{fields, ApiError};

pub mod clock;
pub mod working_time;

pub use working_time::{
    add_working_time, check_working_hours_each, fair_deadline, sub_working_time,
    working_time_between, MAX_WORKING_HOURS_EACH,
};

/// At most this many daily spans (a split day has two or three).
pub const MAX_SPANS: usize = 6;
/// At most this many dated days off: a year's worth.
pub const MAX_DAYS_OFF: usize = 366;

/// When a user works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WorkingHours {
    /// IANA zone the spans are in, e.g. `Asia/Tokyo`.
    pub time_zone: String,
    /// The days of the week worked, in order, each once.
    pub days: Vec<Day>,
    /// The daily spans in local time, in order, not overlapping.
    pub spans: Vec<DailySpan>,
    /// Local dates not worked even when their weekday is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_off: Vec<NaiveDate>,
}

/// A day of the week; JSON spells it `mon` … `sun`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

const DAYS: [Day; 7] = [
    Day::Mon,
    Day::Tue,
    Day::Wed,
    Day::Thu,
    Day::Fri,
    Day::Sat,
    Day::Sun,
];

impl Day {
    /// The weekday as chrono counts it.
    pub fn weekday(self) -> Weekday {
        match self {
            Day::Mon => Weekday::Mon,
            Day::Tue => Weekday::Tue,
            Day::Wed => Weekday::Wed,
            Day::Thu => Weekday::Thu,
            Day::Fri => Weekday::Fri,
            Day::Sat => Weekday::Sat,
            Day::Sun => Weekday::Sun,
        }
    }

    /// The day of a chrono weekday.
    pub fn of(weekday: Weekday) -> Day {
        DAYS[weekday.num_days_from_monday() as usize]
    }

    /// The three-letter name, `mon` … `sun`.
    pub fn as_str(self) -> &'static str {
        match self {
            Day::Mon => "mon",
            Day::Tue => "tue",
            Day::Wed => "wed",
            Day::Thu => "thu",
            Day::Fri => "fri",
            Day::Sat => "sat",
            Day::Sun => "sun",
        }
    }

    /// Parses a set of days as people type it: `mon-fri`, `mon,wed,fri`, `sat-sun,mon`.
    /// A range may wrap the week (`fri-mon`). The result is in week order, each once.
    pub fn parse_set(text: &str) -> Result<Vec<Day>, ApiError> {
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('-') {
                Some((from, to)) => {
                    let (from, to) = (Day::from_str(from)?, Day::from_str(to)?);
                    let mut i = from as usize;
                    loop {
                        out.push(DAYS[i]);
                        if i == to as usize {
                            break;
                        }
                        i = (i + 1) % 7;
                    }
                }
                None => out.push(Day::from_str(part)?),
            }
        }
        out.sort();
        out.dedup();
        if out.is_empty() {
            return Err(no_days());
        }
        Ok(out)
    }
}

impl FromStr for Day {
    type Err = ApiError;

    fn from_str(s: &str) -> Result<Self, ApiError> {
        let lower = s.trim().to_ascii_lowercase();
        DAYS.iter()
            .copied()
            .find(|d| lower.len() >= 3 && full_name(*d).starts_with(&lower))
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "working_hours.days: {s:?} is not a day of the week: type days like mon-fri or mon,wed,fri"
                ))
            })
    }
}

fn full_name(day: Day) -> &'static str {
    match day {
        Day::Mon => "monday",
        Day::Tue => "tuesday",
        Day::Wed => "wednesday",
        Day::Thu => "thursday",
        Day::Fri => "friday",
        Day::Sat => "saturday",
        Day::Sun => "sunday",
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn no_days() -> ApiError {
    ApiError::invalid("working_hours.days is empty: give the days you work, e.g. mon-fri")
}

/// A local time of day on a 24-hour clock, `00:00` … `24:00` (the end of the day);
/// JSON spells it `"HH:MM"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime {
    minutes: u16,
}

impl ClockTime {
    /// The end of the day, `24:00`.
    pub const END_OF_DAY: ClockTime = ClockTime { minutes: 24 * 60 };

    /// `hour:minute`; `24:00` is the end of the day. None when out of range.
    pub fn new(hour: u32, minute: u32) -> Option<Self> {
        (minute < 60 && (hour < 24 || (hour == 24 && minute == 0))).then(|| ClockTime {
            minutes: (hour * 60 + minute) as u16,
        })
    }

    /// Minutes since local midnight, 0 … 1440.
    pub fn minutes(self) -> u32 {
        u32::from(self.minutes)
    }
}

impl FromStr for ClockTime {
    type Err = ApiError;

    fn from_str(s: &str) -> Result<Self, ApiError> {
        let parsed = s.trim().split_once(':').and_then(|(h, m)| {
            let ok = |p: &str, max: usize| {
                !p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_digit())
            };
            if !ok(h, 2) || m.len() != 2 || !ok(m, 2) {
                return None;
            }
            ClockTime::new(h.parse().ok()?, m.parse().ok()?)
        });
        parsed.ok_or_else(|| {
            ApiError::invalid(format!(
                "working_hours.spans: {s:?} is not a time of day: type a 24-hour time like 09:00 or 17:30"
            ))
        })
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

impl Serialize for ClockTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl utoipa::PartialSchema for ClockTime {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::ids::text_schema(
            "a local time of day on a 24-hour clock, 00:00 to 24:00",
            4,
            5,
            "^[0-9]{1,2}:[0-9]{2}$",
        )
    }
}
impl ToSchema for ClockTime {}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One daily span of work in local time, from `start` up to (not including) `end`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
pub struct DailySpan {
    pub start: ClockTime,
    pub end: ClockTime,
}

impl DailySpan {
    /// Whether the local minute of the day `minute` is in the span.
    pub fn contains(&self, minute: u32) -> bool {
        self.start.minutes() <= minute && minute < self.end.minutes()
    }

    /// Parses spans as people type them: `10:00-18:00` or `09:00-12:00,13:00-17:00`.
    /// The result is as typed; [`check_working_hours`] refuses empty, inverted and
    /// overlapping ones.
    pub fn parse_list(text: &str) -> Result<Vec<DailySpan>, ApiError> {
        text.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|part| {
                let (start, end) = part.split_once('-').ok_or_else(|| {
                    ApiError::invalid(format!(
                        "working_hours.spans: {part:?} is not a span: type it as START-END, e.g. 10:00-18:00"
                    ))
                })?;
                Ok(DailySpan {
                    start: start.parse()?,
                    end: end.parse()?,
                })
            })
            .collect()
    }
}

impl fmt::Display for DailySpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// Checks working hours a store is asked to keep; the error names the field and
/// says what to type.
pub fn check_working_hours(hours: &WorkingHours) -> Result<(), ApiError> {
    fields::time_zone(&hours.time_zone)
        .map_err(|e| ApiError::invalid(format!("working_hours.time_zone: {}", e.0)))?;
    if hours.days.is_empty() {
        return Err(no_days());
    }
    if hours.days.windows(2).any(|w| w[0] >= w[1]) {
        return Err(ApiError::invalid(
            "working_hours.days must list each day once, in week order: type them like mon-fri",
        ));
    }
    if hours.spans.is_empty() {
        return Err(ApiError::invalid(
            "working_hours.spans is empty: give at least one daily span, e.g. 09:00-17:00",
        ));
    }
    if hours.spans.len() > MAX_SPANS {
        return Err(ApiError::limit(
            "max_working_spans",
            MAX_SPANS as u64,
            hours.spans.len() as u64,
        ));
    }
    for span in &hours.spans {
        if span.start >= span.end {
            return Err(ApiError::invalid(format!(
                "working_hours.spans: {span} ends before it starts: give START-END within one day, e.g. 09:00-17:00 (a night shift is two spans, 22:00-24:00,00:00-06:00)"
            )));
        }
    }
    if let Some(w) = hours.spans.windows(2).find(|w| w[0].start >= w[1].start) {
        return Err(ApiError::invalid(format!(
            "working_hours.spans: {} comes after {}: list the spans in the order of the day",
            w[0], w[1]
        )));
    }
    if let Some(w) = hours.spans.windows(2).find(|w| w[1].start < w[0].end) {
        return Err(ApiError::invalid(format!(
            "working_hours.spans: {} and {} overlap: give spans that do not overlap, e.g. 09:00-12:00,13:00-17:00",
            w[0], w[1]
        )));
    }
    if hours.days_off.len() > MAX_DAYS_OFF {
        return Err(ApiError::limit(
            "max_days_off",
            MAX_DAYS_OFF as u64,
            hours.days_off.len() as u64,
        ));
    }
    if hours.days_off.windows(2).any(|w| w[0] >= w[1]) {
        return Err(ApiError::invalid(
            "working_hours.days_off must list each date once, earliest first: type dates like 2026-12-24",
        ));
    }
    Ok(())
}

/// The hours counted for a user who has set none: Monday to Friday, 09:00-17:00 in
/// `zone` (the caller picks the zone, e.g. the sender's).
pub fn default_working_hours(zone: chrono_tz::Tz) -> WorkingHours {
    const NINE_TO_FIVE: DailySpan = DailySpan {
        start: ClockTime { minutes: 9 * 60 },
        end: ClockTime { minutes: 17 * 60 },
    };
    WorkingHours::new(
        zone.name(),
        vec![Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri],
        vec![NINE_TO_FIVE],
        vec![],
    )
}

impl WorkingHours {
    /// Working hours with the days off put in order, each once (what people type
    /// may repeat a date); the spans are kept as given so a mistake is refused.
    pub fn new(
        time_zone: impl Into<String>,
        days: Vec<Day>,
        spans: Vec<DailySpan>,
        mut days_off: Vec<NaiveDate>,
    ) -> Self {
        days_off.sort();
        days_off.dedup();
        WorkingHours {
            time_zone: time_zone.into(),
            days,
            spans,
            days_off,
        }
    }

    /// The days as people type them back, e.g. `mon-fri` or `mon,wed,fri`.
    pub fn days_text(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        while i < self.days.len() {
            let mut j = i;
            while j + 1 < self.days.len() && self.days[j + 1] as usize == self.days[j] as usize + 1
            {
                j += 1;
            }
            parts.push(if j - i >= 2 {
                format!("{}-{}", self.days[i], self.days[j])
            } else {
                self.days[i..=j]
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            });
            i = j + 1;
        }
        parts.join(",")
    }

    /// The spans as people type them back, e.g. `09:00-12:00,13:00-17:00`.
    pub fn spans_text(&self) -> String {
        self.spans
            .iter()
            .map(DailySpan::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hours as people type them: `hours("Europe/Berlin", "mon-fri", "09:00-17:00")`.
    pub(super) fn hours(tz: &str, days: &str, spans: &str) -> WorkingHours {
        WorkingHours::new(
            tz,
            Day::parse_set(days).unwrap(),
            DailySpan::parse_list(spans).unwrap(),
            vec![],
        )
    }

    /// An RFC 3339 instant as UTC.
    pub(super) fn utc(text: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    #[test]
    fn days_parse_as_people_type_them() {
        use Day::*;
        assert_eq!(
            Day::parse_set("mon-fri").unwrap(),
            [Mon, Tue, Wed, Thu, Fri]
        );
        assert_eq!(Day::parse_set("Mon,wed, FRI").unwrap(), [Mon, Wed, Fri]);
        assert_eq!(Day::parse_set("fri-mon").unwrap(), [Mon, Fri, Sat, Sun]);
        assert_eq!(Day::parse_set("tuesday,tue").unwrap(), [Tue]);
        assert!(Day::parse_set("").unwrap_err().message.contains("mon-fri"));
        let refused = Day::parse_set("mon-fry").unwrap_err();
        assert!(refused.message.contains("\"fry\""), "{}", refused.message);
        assert!(Day::parse_set("mo").is_err());
        assert!(Day::parse_set("monkey").is_err());
    }

    #[test]
    fn spans_parse_and_print_back() {
        let spans = DailySpan::parse_list("9:00-12:30, 13:00-24:00").unwrap();
        assert_eq!(spans[0].to_string(), "09:00-12:30");
        assert_eq!(spans[1].end, ClockTime::END_OF_DAY);
        for bad in [
            "10-18",
            "10:00",
            "25:00-26:00",
            "10:60-11:00",
            "24:30-24:40",
            "a:00-b:00",
        ] {
            let refused = DailySpan::parse_list(bad).unwrap_err();
            assert!(refused.message.starts_with("working_hours.spans"), "{bad}");
        }
        let h = hours("UTC", "mon-wed,fri", "09:00-12:00,13:00-17:00");
        assert_eq!(h.days_text(), "mon-wed,fri");
        assert_eq!(h.spans_text(), "09:00-12:00,13:00-17:00");
        assert_eq!(
            hours("UTC", "mon,tue,thu", "09:00-17:00").days_text(),
            "mon,tue,thu"
        );
    }

    #[test]
    fn good_hours_pass_and_keep_their_json() {
        let mut h = hours("Asia/Tokyo", "mon-fri", "10:00-18:00");
        h.days_off = vec![NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()];
        check_working_hours(&h).unwrap();
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(
            json,
            r#"{"time_zone":"Asia/Tokyo","days":["mon","tue","wed","thu","fri"],"spans":[{"start":"10:00","end":"18:00"}],"days_off":["2026-12-24"]}"#
        );
        assert_eq!(serde_json::from_str::<WorkingHours>(&json).unwrap(), h);
        // No days off: the field is left out.
        h.days_off.clear();
        assert!(!serde_json::to_string(&h).unwrap().contains("days_off"));
        assert!(serde_json::from_str::<WorkingHours>(
            r#"{"time_zone":"UTC","days":["mon"],"spans":[{"start":"25:00","end":"26:00"}]}"#
        )
        .is_err());
    }

    #[test]
    fn bad_hours_are_refused_naming_the_field() {
        let refused = |h: WorkingHours| check_working_hours(&h).unwrap_err().message;
        assert!(refused(hours("Europe/Atlantis", "mon", "09:00-17:00"))
            .starts_with("working_hours.time_zone"));
        let mut no_days = hours("UTC", "mon", "09:00-17:00");
        no_days.days.clear();
        assert!(refused(no_days).starts_with("working_hours.days is empty"));
        let mut twice = hours("UTC", "mon", "09:00-17:00");
        twice.days.push(Day::Mon);
        assert!(refused(twice).contains("each day once"));
        let mut no_spans = hours("UTC", "mon", "09:00-17:00");
        no_spans.spans.clear();
        assert!(refused(no_spans).starts_with("working_hours.spans is empty"));
        assert!(refused(hours("UTC", "mon", "18:00-10:00")).contains("ends before it starts"));
        assert!(refused(hours("UTC", "mon", "10:00-10:00")).contains("ends before it starts"));
        assert!(refused(hours("UTC", "mon", "09:00-13:00,12:00-17:00")).contains("overlap"));
        assert!(
            refused(hours("UTC", "mon", "13:00-17:00,09:00-12:00")).contains("order of the day")
        );
        // Spans that touch are fine.
        check_working_hours(&hours("UTC", "mon", "09:00-12:00,12:00-17:00")).unwrap();
        let mut many = hours("UTC", "mon", "09:00-17:00");
        let first = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        many.days_off = (0..=MAX_DAYS_OFF as u64)
            .map(|i| first + chrono::Days::new(i))
            .collect();
        let too_many = check_working_hours(&many).unwrap_err();
        assert_eq!(too_many.limit.unwrap().limit, "max_days_off");
        let mut unsorted = hours("UTC", "mon", "09:00-17:00");
        unsorted.days_off = vec![first + chrono::Days::new(1), first];
        assert!(refused(unsorted).contains("earliest first"));
    }
}
