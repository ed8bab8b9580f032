//! The `Range` request header, for the one form clients send: a single byte range. The
//! hub's downloads and the playback server both read it here. All arithmetic is
//! checked: no header, however large its numbers, can overflow.

use crate::{ApiError, ErrorCode};

/// What a request asks for out of a resource of a known size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// No usable `Range` header: the whole resource, with 200. A header in another unit, one
    /// that does not parse, or one asking for several ranges lands here too (RFC 9110 lets a
    /// server ignore `Range`); video elements ask for one range at a time.
    Whole,
    /// One range, `start..=end`, already clamped to the resource: 206.
    Part { start: u64, end: u64 },
    /// A well-formed range that lies outside the resource: 416.
    Unsatisfiable,
}

/// Reads a `Range` header value (`bytes=a-b`, `bytes=a-`, `bytes=-n`) against `size` bytes.
pub fn parse(header: Option<&str>, size: u64) -> Wanted {
    let Some(header) = header else {
        return Wanted::Whole;
    };
    let Some((unit, set)) = header.trim().split_once('=') else {
        return Wanted::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Wanted::Whole;
    }
    let mut specs = set.split(',').map(str::trim).filter(|s| !s.is_empty());
    let (Some(spec), None) = (specs.next(), specs.next()) else {
        return Wanted::Whole;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return Wanted::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // The last `n` bytes.
        let Some(n) = number(last) else {
            return Wanted::Whole;
        };
        if n == 0 || size == 0 {
            return Wanted::Unsatisfiable;
        }
        return Wanted::Part {
            start: size - n.min(size),
            end: size - 1,
        };
    }
    let Some(start) = number(first) else {
        return Wanted::Whole;
    };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match number(last) {
            Some(end) if end >= start => end,
            _ => return Wanted::Whole,
        }
    };
    if start >= size {
        return Wanted::Unsatisfiable;
    }
    Wanted::Part {
        start,
        end: end.min(size - 1),
    }
}

impl Wanted {
    /// The bytes to send as `start..end` (end exclusive) out of `size`, or `None` for a
    /// range outside the resource.
    pub fn bounds(self, size: u64) -> Option<(u64, u64)> {
        match self {
            Wanted::Whole => Some((0, size)),
            Wanted::Part { start, end } => Some((start, end.saturating_add(1).min(size))),
            Wanted::Unsatisfiable => None,
        }
    }
}

/// A byte range `start..end` of a resource of `size` bytes asked for by value (the
/// store API's form, `end` exclusive, `None` = to the end), checked like a header.
pub fn check_bounds(start: u64, end: Option<u64>, size: u64) -> Result<(u64, u64), ApiError> {
    let end = end.unwrap_or(size).min(size);
    if start >= size || start >= end {
        return Err(unsatisfiable(size));
    }
    Ok((start, end))
}

/// The refusal of a range outside a resource of `size` bytes.
pub fn unsatisfiable(size: u64) -> ApiError {
    ApiError::new(
        ErrorCode::RangeNotSatisfiable,
        format!("the blob has {size} bytes: ask for a range inside it"),
    )
}

/// Decimal digits only (no sign, no spaces); a number too large for `u64` saturates, which
/// is what a byte position beyond any file means.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(start: u64, end: u64) -> Wanted {
        Wanted::Part { start, end }
    }

    #[test]
    fn no_header_is_the_whole_resource() {
        assert_eq!(parse(None, 10), Wanted::Whole);
    }

    #[test]
    fn the_three_single_range_forms() {
        assert_eq!(parse(Some("bytes=2-5"), 10), part(2, 5));
        assert_eq!(parse(Some("bytes=2-"), 10), part(2, 9));
        assert_eq!(parse(Some("bytes=-3"), 10), part(7, 9));
        assert_eq!(parse(Some(" Bytes = 0 - 0 "), 10), part(0, 0));
    }

    #[test]
    fn ranges_are_clamped_to_the_resource() {
        assert_eq!(parse(Some("bytes=2-100"), 10), part(2, 9));
        assert_eq!(parse(Some("bytes=-100"), 10), part(0, 9));
        assert_eq!(
            parse(Some("bytes=0-99999999999999999999999"), 10),
            part(0, 9)
        );
    }

    #[test]
    fn ranges_outside_the_resource_are_unsatisfiable() {
        assert_eq!(parse(Some("bytes=10-"), 10), Wanted::Unsatisfiable);
        assert_eq!(parse(Some("bytes=10-20"), 10), Wanted::Unsatisfiable);
        assert_eq!(parse(Some("bytes=-0"), 10), Wanted::Unsatisfiable);
        assert_eq!(parse(Some("bytes=0-"), 0), Wanted::Unsatisfiable);
        assert_eq!(parse(Some("bytes=-5"), 0), Wanted::Unsatisfiable);
    }

    #[test]
    fn anything_else_is_ignored() {
        for header in [
            "items=0-5",
            "bytes",
            "bytes=",
            "bytes=5-2",
            "bytes=a-b",
            "bytes=+1-2",
            "bytes=-",
            "bytes=1",
            "bytes=0-1,4-5",
        ] {
            assert_eq!(parse(Some(header), 10), Wanted::Whole, "{header}");
        }
        assert_eq!(parse(Some("bytes=0-1,"), 10), part(0, 1));
    }

    #[test]
    fn the_largest_numbers_do_not_overflow() {
        let max = u64::MAX;
        assert_eq!(parse(Some("bytes=0-18446744073709551615"), 10), part(0, 9));
        assert_eq!(
            parse(Some("bytes=0-18446744073709551615"), 10).bounds(10),
            Some((0, 10))
        );
        assert_eq!(
            parse(Some("bytes=18446744073709551615-"), max),
            Wanted::Unsatisfiable
        );
        assert_eq!(
            parse(Some("bytes=0-18446744073709551615"), max).bounds(max),
            Some((0, max))
        );
        assert_eq!(parse(Some("bytes=-18446744073709551615"), 10), part(0, 9));
        assert_eq!(check_bounds(5, Some(max), 10), Ok((5, 10)));
        assert!(check_bounds(10, None, 10).is_err());
        assert!(check_bounds(5, Some(5), 10).is_err());
    }
}
