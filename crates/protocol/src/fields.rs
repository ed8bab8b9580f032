//! One function per field rule. The hub and the folder store both call these for every
//! field of every request they store, so a value one accepts the other accepts too.
//! Each refusal is an [`ApiError`] that says what to change.

use std::fmt::Display;

use chrono::{DateTime, Utc};

use crate::{ApiError, ErrorCode, Invalid};

/// Longest display name of a user.
pub const MAX_DISPLAY_NAME_CHARS: u64 = 100;
/// Longest clip a message may claim (display only, but a nonsense value is refused):
/// a day.
pub const MAX_DURATION_MS: u64 = 24 * 60 * 60 * 1000;
/// Furthest respond-by from now, in days (about ten years): further is a typo.
pub const MAX_RESPOND_BY_DAYS: i64 = 3653;

/// A real IANA zone name (`Europe/Berlin`, `UTC`), as the zone database knows it.
pub fn time_zone(tz: &str) -> Result<(), Invalid> {
    if tz.len() <= 64 && tz.parse::<chrono_tz::Tz>().is_ok() {
        Ok(())
    } else {
        Err(Invalid(format!(
            "the time zone must be an IANA zone name such as Europe/Berlin (got {tz:?}): pick the zone from the list"
        )))
    }
}

/// Free text (subject, message text): no control characters except newline and tab.
pub fn text(what: &str, text: &str) -> Result<(), ApiError> {
    match text
        .chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t')
    {
        Some(c) => Err(ApiError::invalid(format!(
            "{what} contains the control character {:?}: remove it (only newlines and tabs are allowed)",
            c
        ))),
        None => Ok(()),
    }
}

/// A name shown on one line (display names, attachment names): not blank, no control
/// characters at all.
pub fn name(what: &str, name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!(
            "{what} {name:?} is empty or has control characters: rename it"
        )));
    }
    Ok(())
}

/// At most `max` characters, refused with the limit's name.
pub fn chars_within(limit: &str, max: u64, text: &str) -> Result<(), ApiError> {
    let chars = text.chars().count() as u64;
    if chars > max {
        return Err(ApiError::limit(limit, max, chars));
    }
    Ok(())
}

/// At most `max` items, refused with the limit's name.
pub fn count_within(limit: &str, max: u64, count: usize) -> Result<(), ApiError> {
    let count = count as u64;
    if count > max {
        return Err(ApiError::limit(limit, max, count));
    }
    Ok(())
}

/// Each item listed once.
pub fn each_once<'a, T: Eq + std::hash::Hash + Display + 'a>(
    what: &str,
    items: impl Iterator<Item = &'a T>,
) -> Result<(), ApiError> {
    let mut seen = std::collections::HashSet::new();
    for item in items {
        if !seen.insert(item) {
            return Err(ApiError::invalid(format!(
                "{what} {item} is listed twice: list each {what} once"
            )));
        }
    }
    Ok(())
}

/// A user's display name.
pub fn display_name(display_name: &str) -> Result<(), ApiError> {
    if display_name.chars().count() as u64 > MAX_DISPLAY_NAME_CHARS {
        return Err(ApiError::invalid(format!(
            "the display name is longer than {MAX_DISPLAY_NAME_CHARS} characters: shorten it"
        )));
    }
    name("the display name", display_name)
}

/// Attachment names are display text: any printable text, no control characters.
pub fn attachment_name(name_text: &str, max_chars: u64) -> Result<(), ApiError> {
    chars_within("max_attachment_name_chars", max_chars, name_text)?;
    name("attachment name", name_text).map_err(|_| {
        ApiError::invalid(format!(
            "attachment name {name_text:?} is empty or has control characters: rename the file"
        ))
    })
}

/// Respond-by lies in the future, and not absurdly far.
pub fn respond_by(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ApiError> {
    if at <= now {
        return Err(ApiError::new(
            ErrorCode::RespondByInPast,
            format!(
                "respond-by {} is in the past (now {}): choose a later time",
                at.to_rfc3339(),
                now.to_rfc3339()
            ),
        ));
    }
    if at > now + chrono::Duration::days(MAX_RESPOND_BY_DAYS) {
        return Err(ApiError::invalid(format!(
            "respond-by {} is more than ten years away: choose an earlier time",
            at.to_rfc3339()
        )));
    }
    Ok(())
}

/// A spoken language as a short code: ISO 639-1 or 639-3 (`en`, `de`, `haw`), optionally
/// with a region or script (`pt-BR`, `zh-Hant`). Whisper names languages this way.
pub fn language(code: &str) -> Result<(), ApiError> {
    let (base, tail) = match code.split_once('-') {
        Some((b, t)) => (b, Some(t)),
        None => (code, None),
    };
    let base_ok = (2..=3).contains(&base.len()) && base.bytes().all(|b| b.is_ascii_lowercase());
    let tail_ok = tail
        .is_none_or(|t| (2..=8).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric()));
    if base_ok && tail_ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "the language {code:?} is not a short language code such as en or pt-BR: send the code the transcriber detected"
        )))
    }
}

/// A clip length as the sender measured it.
pub fn duration_ms(ms: u64) -> Result<(), ApiError> {
    if ms > MAX_DURATION_MS {
        return Err(ApiError::invalid(format!(
            "the clip length {ms} ms is more than a day: send the length the recorder measured"
        )));
    }
    Ok(())
}

/// A moment in a clip as people write it: `1:23`, `1:02:03` past an hour, with tenths
/// when they are not zero (`0:03.2`).
pub fn moment(ms: u64) -> String {
    let (tenths, seconds) = ((ms % 1000) / 100, ms / 1000);
    let (h, m, s) = (seconds / 3600, (seconds / 60) % 60, seconds % 60);
    let whole = if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    };
    if tenths == 0 {
        whole
    } else {
        format!("{whole}.{tenths}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_are_real_names() {
        assert!(time_zone("Europe/Berlin").is_ok());
        assert!(time_zone("America/Argentina/Buenos_Aires").is_ok());
        assert!(time_zone("UTC").is_ok());
        for bad in [
            "Mars/Olympus_Mons",
            "../x",
            "",
            "Europe/Berlin\n",
            "europe/berlin x",
        ] {
            assert!(time_zone(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn text_allows_newline_and_tab_only() {
        assert!(text("t", "line one\nline two\tend").is_ok());
        for bad in ["a\rb", "a\u{0}b", "a\u{1b}[31mb", "a\u{7f}", "a\u{85}b"] {
            let e = text("the subject", bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::Invalid);
            assert!(e.message.contains("the subject"), "{}", e.message);
        }
    }

    #[test]
    fn names_are_one_printable_line() {
        assert!(name("n", "Ann Lee").is_ok());
        assert!(name("n", "  ").is_err());
        assert!(name("n", "a\tb").is_err());
        assert!(display_name(&"x".repeat(101)).is_err());
        assert!(attachment_name("a.pdf", 5).is_ok());
        assert_eq!(
            attachment_name("ab.pdf", 5)
                .unwrap_err()
                .limit
                .unwrap()
                .limit,
            "max_attachment_name_chars"
        );
    }

    #[test]
    fn respond_by_and_duration_bounds() {
        let now = Utc::now();
        assert!(respond_by(now + chrono::Duration::hours(1), now).is_ok());
        assert_eq!(
            respond_by(now, now).unwrap_err().code,
            ErrorCode::RespondByInPast
        );
        assert!(respond_by(now + chrono::Duration::days(4000), now).is_err());
        assert!(duration_ms(90_000).is_ok());
        assert!(duration_ms(u64::MAX).is_err());
    }

    #[test]
    fn moments_read_as_clock_times() {
        assert_eq!(moment(0), "0:00");
        assert_eq!(moment(83_000), "1:23");
        assert_eq!(moment(3_250), "0:03.2");
        assert_eq!(moment(3_723_000), "1:02:03");
    }

    #[test]
    fn languages_are_short_codes() {
        for good in ["en", "de", "haw", "pt-BR", "zh-Hant"] {
            assert!(language(good).is_ok(), "{good}");
        }
        for bad in [
            "", "e", "EN", "engl", "en-", "en-B", "en_US", "../x", "en\n", "en-BR-x",
        ] {
            assert!(language(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn each_once_names_the_repeat() {
        let e = each_once("recipient", ["bob", "ann", "bob"].iter()).unwrap_err();
        assert!(e.message.contains("bob"));
        assert!(each_once("recipient", ["bob", "ann"].iter()).is_ok());
    }
}
