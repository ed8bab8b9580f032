//! The source of "now".
//!
//! Everything that depends on the time of day takes a [`Clock`], so tests move
//! time forward with a [`ManualClock`] instead of sleeping.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use crate::error::LibraryError;

/// The environment variable that starts a Pigeon (app or CLI) on a manual clock at
/// the instant it holds, so end-to-end tests can put "now" where they need it.
pub const TEST_CLOCK_VAR: &str = "PIGEON_TEST_CLOCK";

/// Tells the current instant.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(start))
    }

    pub fn set(&self, instant: DateTime<Utc>) {
        *self.lock() = instant;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A panic while holding this lock cannot leave a half-written instant.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

/// The clock a process runs on: the system's, or a manual one when
/// [`TEST_CLOCK_VAR`] names an instant.
#[derive(Clone)]
pub struct ChosenClock {
    pub clock: Arc<dyn Clock>,
    /// Set only when the process was started on a test clock; moving it moves `clock`.
    pub manual: Option<Arc<ManualClock>>,
}

/// Reads [`TEST_CLOCK_VAR`]: unset or empty is the system clock.
pub fn from_env() -> Result<ChosenClock, LibraryError> {
    chosen(std::env::var(TEST_CLOCK_VAR).ok().as_deref())
}

fn chosen(value: Option<&str>) -> Result<ChosenClock, LibraryError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(ChosenClock {
            clock: Arc::new(SystemClock),
            manual: None,
        }),
        Some(text) => {
            let manual = Arc::new(ManualClock::new(parse_instant(text).map_err(|_| {
                LibraryError::Invalid(format!(
                    "{TEST_CLOCK_VAR} must be an RFC 3339 instant such as \
                     2026-12-01T08:00:00Z, not {text:?}: fix it or unset it"
                ))
            })?));
            Ok(ChosenClock {
                clock: manual.clone(),
                manual: Some(manual),
            })
        }
    }
}

/// An RFC 3339 instant ("2026-12-01T08:00:00Z", "2026-12-01T09:00:00+01:00").
pub fn parse_instant(text: &str) -> Result<DateTime<Utc>, LibraryError> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            LibraryError::Invalid(format!(
                "{text:?} is not an RFC 3339 instant: write it like 2026-12-01T08:00:00Z"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::hours(3));
        assert_eq!(clock.now(), start + Duration::hours(3));
        clock.set(start);
        assert_eq!(clock.now(), start);
    }

    #[test]
    fn the_test_clock_starts_at_the_instant_given_and_moves_when_set() {
        let chosen = chosen(Some("2026-12-01T09:00:00+01:00")).unwrap();
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
        assert_eq!(chosen.clock.now(), start);
        let manual = chosen.manual.expect("a manual clock");
        manual.set(start + Duration::hours(2));
        assert_eq!(chosen.clock.now(), start + Duration::hours(2));
    }

    #[test]
    fn no_test_clock_is_the_system_clock() {
        for value in [None, Some(""), Some("  ")] {
            let chosen = chosen(value).unwrap();
            assert!(chosen.manual.is_none());
            assert!((chosen.clock.now() - Utc::now()).num_seconds().abs() < 60);
        }
    }

    #[test]
    fn a_test_clock_that_is_not_an_instant_is_refused_in_one_sentence() {
        let Err(error) = chosen(Some("tomorrow 9:00")) else {
            panic!("accepted");
        };
        let text = error.to_string();
        assert!(
            text.contains("PIGEON_TEST_CLOCK must be an RFC 3339 instant"),
            "{text}"
        );
        assert!(text.contains("\"tomorrow 9:00\""), "{text}");
    }
}
