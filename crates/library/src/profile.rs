//! A change of my profile from what was typed or picked (a zone, daily spans such as
//! `10:00-18:00`, days such as `mon-fri`, dated days off): what it means against the
//! profile I have now, checked by the protocol's rule before any store sees it.
//!
//! Not here: storing it (the store's `set_profile`) or showing it ([`crate::availability`]).

use chrono::NaiveDate;
use pigeon_store::protocol::hours::{DailySpan, Day, WorkingHours};
use pigeon_store::protocol::{check_profile_update, Profile, ProfileUpdate};

use crate::LibraryError;

/// What someone asked to change; `None` keeps what the profile has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChange {
    /// An IANA zone, e.g. `Asia/Tokyo`; the working hours move to it.
    pub time_zone: Option<String>,
    /// Daily spans, e.g. `09:00-12:00,13:00-17:00`.
    pub spans: Option<String>,
    /// Days of the week, e.g. `mon-fri`.
    pub days: Option<String>,
    /// Dates off as `YYYY-MM-DD`; they replace the ones given before (none clears them).
    pub days_off: Option<Vec<String>>,
    /// Remove the working hours altogether.
    pub clear_hours: bool,
}

impl ProfileChange {
    /// Whether it changes anything at all (nothing asked: show the profile instead).
    pub fn is_empty(&self) -> bool {
        *self == ProfileChange::default()
    }
}

/// The update that makes `change` of `current`, checked as every store checks it.
pub fn profile_update(
    current: &Profile,
    change: &ProfileChange,
) -> Result<ProfileUpdate, LibraryError> {
    let time_zone = change
        .time_zone
        .as_deref()
        .map(str::trim)
        .unwrap_or(&current.user.time_zone)
        .to_owned();
    let touches_hours =
        change.spans.is_some() || change.days.is_some() || change.days_off.is_some();
    let working_hours = if change.clear_hours {
        if touches_hours {
            return Err(LibraryError::Invalid(
                "removing the working hours and setting them at once cannot both be done: ask for one".into(),
            ));
        }
        None
    } else {
        match (&current.working_hours, touches_hours) {
            (existing, false) => existing.clone().map(|mut h| {
                h.time_zone = time_zone.clone();
                h
            }),
            (existing, true) => Some(hours(existing.as_ref(), &time_zone, change)?),
        }
    };
    let update = ProfileUpdate {
        time_zone,
        working_hours,
    };
    check_profile_update(&update).map_err(LibraryError::refused)?;
    Ok(update)
}

fn hours(
    existing: Option<&WorkingHours>,
    time_zone: &str,
    change: &ProfileChange,
) -> Result<WorkingHours, LibraryError> {
    let refused = LibraryError::refused;
    let spans = match (&change.spans, existing) {
        (Some(text), _) => DailySpan::parse_list(text).map_err(refused)?,
        (None, Some(h)) => h.spans.clone(),
        (None, None) => {
            return Err(LibraryError::Invalid(
                "working hours need the daily span too, e.g. 09:00-17:00".into(),
            ))
        }
    };
    let days = match (&change.days, existing) {
        (Some(text), _) => Day::parse_set(text).map_err(refused)?,
        (None, Some(h)) => h.days.clone(),
        (None, None) => {
            return Err(LibraryError::Invalid(
                "working hours need the days worked too, e.g. mon-fri".into(),
            ))
        }
    };
    let days_off = match &change.days_off {
        Some(dates) => dates
            .iter()
            .map(|d| d.trim())
            .filter(|d| !d.is_empty() && !d.eq_ignore_ascii_case("none"))
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                    LibraryError::Invalid(format!(
                        "{d:?} is not a date: type days off as YYYY-MM-DD, e.g. 2026-12-24"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => existing.map(|h| h.days_off.clone()).unwrap_or_default(),
    };
    Ok(WorkingHours::new(time_zone, days, spans, days_off))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pigeon_store::protocol::{User, UserName};

    fn profile() -> Profile {
        Profile::of(User {
            name: UserName::parse("yuki").unwrap(),
            display_name: "Yuki".into(),
            time_zone: "Europe/Berlin".into(),
        })
    }

    fn change(tz: Option<&str>, spans: Option<&str>, days: Option<&str>) -> ProfileChange {
        ProfileChange {
            time_zone: tz.map(Into::into),
            spans: spans.map(Into::into),
            days: days.map(Into::into),
            ..ProfileChange::default()
        }
    }

    #[test]
    fn first_hours_need_spans_and_days() {
        let set = profile_update(
            &profile(),
            &change(Some("Asia/Tokyo"), Some("10:00-18:00"), Some("mon-fri")),
        )
        .unwrap();
        let hours = set.working_hours.unwrap();
        assert_eq!(set.time_zone, "Asia/Tokyo");
        assert_eq!(
            (
                hours.time_zone.as_str(),
                hours.spans_text(),
                hours.days_text()
            ),
            ("Asia/Tokyo", "10:00-18:00".into(), "mon-fri".into())
        );
        let no_days =
            profile_update(&profile(), &change(None, Some("10:00-18:00"), None)).unwrap_err();
        assert!(no_days.to_string().contains("mon-fri"), "{no_days}");
        let no_spans =
            profile_update(&profile(), &change(None, None, Some("mon-fri"))).unwrap_err();
        assert!(no_spans.to_string().contains("09:00-17:00"), "{no_spans}");
    }

    #[test]
    fn a_later_change_keeps_what_it_does_not_name() {
        let first = profile_update(
            &profile(),
            &change(None, Some("10:00-18:00"), Some("mon-fri")),
        )
        .unwrap();
        let current = profile().updated(&first);
        // Moving zone moves the hours with it.
        let moved = profile_update(&current, &change(Some("Asia/Tokyo"), None, None)).unwrap();
        let hours = moved.working_hours.unwrap();
        assert_eq!(
            (hours.time_zone.as_str(), hours.spans_text()),
            ("Asia/Tokyo", "10:00-18:00".into())
        );
        // Days off replace the earlier ones; "none" clears them.
        let off = ProfileChange {
            days_off: Some(vec![
                "2026-12-24".into(),
                "2026-12-24".into(),
                "2026-12-31".into(),
            ]),
            ..ProfileChange::default()
        };
        let with_off = current
            .clone()
            .updated(&profile_update(&current, &off).unwrap());
        assert_eq!(with_off.working_hours.as_ref().unwrap().days_off.len(), 2);
        let none = ProfileChange {
            days_off: Some(vec!["none".into()]),
            ..ProfileChange::default()
        };
        let cleared = profile_update(&with_off, &none).unwrap();
        assert!(cleared.working_hours.unwrap().days_off.is_empty());
        let removed = ProfileChange {
            clear_hours: true,
            ..ProfileChange::default()
        };
        assert_eq!(
            profile_update(&current, &removed).unwrap().working_hours,
            None
        );
    }

    #[test]
    fn mistakes_are_one_sentence_naming_what_to_type() {
        let bad = |c: ProfileChange| profile_update(&profile(), &c).unwrap_err().to_string();
        assert!(bad(change(Some("Asia/Edo"), None, None)).contains("IANA zone"));
        assert!(bad(change(None, Some("18:00-10:00"), Some("mon-fri")))
            .contains("ends before it starts"));
        assert!(bad(change(
            None,
            Some("09:00-13:00,12:00-17:00"),
            Some("mon-fri")
        ))
        .contains("overlap"));
        assert!(bad(change(None, Some("9-5"), Some("mon-fri"))).contains("24-hour time like 09:00"));
        assert!(bad(change(None, Some("09:00-17:00"), Some("weekdays"))).contains("mon-fri"));
        let off = ProfileChange {
            spans: Some("09:00-17:00".into()),
            days: Some("mon-fri".into()),
            days_off: Some(vec!["24.12.2026".into()]),
            ..ProfileChange::default()
        };
        assert!(bad(off).contains("YYYY-MM-DD"));
        let both = ProfileChange {
            days: Some("mon".into()),
            clear_hours: true,
            ..ProfileChange::default()
        };
        assert!(bad(both).contains("ask for one"));
        assert!(ProfileChange::default().is_empty());
    }
}
