//! The `Range` request header, for the one form a video element sends: a single byte range.

/// What a request asks for out of a resource of a known size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wanted {
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
pub(crate) fn parse(header: Option<&str>, size: u64) -> Wanted {
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
}
