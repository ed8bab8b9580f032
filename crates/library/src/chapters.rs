//! A clip's chapters: the agenda a sender types before recording, the marks made while
//! recording ([`crate::Recording::next_chapter`]), the titles edited before sending
//! ([`crate::Library::set_draft_chapters`]) and what a trim leaves of them ([`after_trim`]).
//!
//! The rules of a valid agenda are the protocol's ([`Limits::check_chapters`]): a
//! draft only ever holds chapters a store accepts, so a send never fails on them.

use pigeon_store::protocol::{fields, Chapter, Limits};

use crate::error::{LibraryError, Result};

/// A mark closer than this to the previous chapter's start is refused: a double press,
/// not a new item.
pub const MIN_CHAPTER_MS: u64 = 500;

/// The items of an agenda as typed: comma separated ("Budget, Hiring,Q3") or one per
/// line; each trimmed, blanks dropped.
pub fn parse_agenda(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Checks an agenda before a recording starts: as many items and titles as a clip's
/// chapters may have.
pub fn check_agenda(titles: &[String]) -> Result<()> {
    let chapters: Vec<Chapter> = titles
        .iter()
        .enumerate()
        .map(|(i, title)| Chapter {
            start_ms: i as u64,
            title: title.clone(),
        })
        .collect();
    check(&chapters, None)
}

/// Checks chapters by the protocol's rules ([`Limits::check_chapters`]) against the
/// clip's length when it is known.
pub fn check(chapters: &[Chapter], duration_ms: Option<u64>) -> Result<()> {
    Limits::default()
        .check_chapters(chapters, duration_ms)
        .map_err(LibraryError::refused)
}

/// The chapters of the part `start_ms..end_ms` a trim keeps, on the trimmed clip's
/// time: the chapter under way at `start_ms` now starts at 0, later ones shift by
/// `start_ms`, and what starts before it or at `end_ms` and after is dropped.
pub fn after_trim(chapters: &[Chapter], start_ms: u64, end_ms: u64) -> Vec<Chapter> {
    let under_way = chapters.iter().rposition(|c| c.start_ms <= start_ms);
    chapters
        .iter()
        .enumerate()
        .filter(|(i, c)| Some(*i) >= under_way && c.start_ms < end_ms)
        .map(|(_, c)| Chapter {
            start_ms: c.start_ms.saturating_sub(start_ms),
            title: c.title.clone(),
        })
        .collect()
}

/// The chapters with one more starting at `at_ms` (in Compose: the moment the sender
/// is watching), in its place by time and titled "Item N" by that place, to be renamed.
/// As with the first mark while recording, a first chapter past the start also makes
/// "Item 1" from the start, so the whole clip is in chapters. One at the moment of
/// another is left for [`check`] to refuse.
pub fn with_chapter_at(chapters: &[Chapter], at_ms: u64) -> Vec<Chapter> {
    let mut added = chapters.to_vec();
    if added.is_empty() && at_ms > 0 {
        added.push(Chapter {
            start_ms: 0,
            title: default_title(1),
        });
    }
    let place = added.partition_point(|c| c.start_ms < at_ms);
    added.insert(
        place,
        Chapter {
            start_ms: at_ms,
            title: default_title(place + 1),
        },
    );
    added
}

/// The title of the `number`th chapter (1-based) when the agenda has no item for it.
pub fn default_title(number: usize) -> String {
    format!("Item {number}")
}

/// "chapter 2 at 0:14: Hiring", as a face shows a mark (`index` 0-based).
pub fn describe(index: usize, chapter: &Chapter) -> String {
    format!(
        "chapter {} at {}: {}",
        index + 1,
        fields::moment(chapter.start_ms),
        chapter.title
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::chapter;

    #[test]
    fn an_agenda_reads_commas_or_lines() {
        assert_eq!(
            parse_agenda("Budget, Hiring,Q3"),
            ["Budget", "Hiring", "Q3"]
        );
        assert_eq!(
            parse_agenda("  Budget\n\nHiring  \r\n , Q3\n"),
            ["Budget", "Hiring", "Q3"]
        );
        assert!(parse_agenda(" , \n ").is_empty());
    }

    #[test]
    fn an_agenda_too_long_or_with_a_long_title_says_what_to_do() {
        let many: Vec<String> = (0..51).map(|i| format!("item {i}")).collect();
        let error = check_agenda(&many).unwrap_err().to_string();
        assert!(
            error.contains("at most 50 chapters") && error.contains("51"),
            "{error}"
        );
        let error = check_agenda(&["t".repeat(121)]).unwrap_err().to_string();
        assert!(error.contains("at most 120 characters"), "{error}");
        assert!(check_agenda(&parse_agenda("Budget,Hiring,Q3")).is_ok());
    }

    #[test]
    fn chapters_are_checked_against_the_clip() {
        let agenda = [chapter(0, "Budget"), chapter(3_000, "Hiring")];
        assert!(check(&agenda, Some(10_000)).is_ok());
        assert!(check(&agenda, None).is_ok());
        let past = check(&agenda, Some(2_000)).unwrap_err().to_string();
        assert!(past.contains("past the clip's end"), "{past}");
        let unsorted = check(&[chapter(3_000, "a"), chapter(1_000, "b")], None).unwrap_err();
        assert!(
            unsorted.to_string().contains("sort the chapters"),
            "{unsorted}"
        );
    }

    #[test]
    fn a_trim_keeps_the_chapter_under_way_and_shifts_the_rest() {
        let agenda = [
            chapter(0, "Intro"),
            chapter(4_000, "Budget"),
            chapter(9_000, "Hiring"),
            chapter(15_000, "Q3"),
        ];
        assert_eq!(
            after_trim(&agenda, 5_000, 12_000),
            [chapter(0, "Budget"), chapter(4_000, "Hiring")]
        );
        // A cut exactly at a chapter's start: that chapter opens the clip.
        assert_eq!(
            after_trim(&agenda, 9_000, 20_000),
            [chapter(0, "Hiring"), chapter(6_000, "Q3")]
        );
        // Only the end cut: what starts at the new end or later is gone.
        assert_eq!(after_trim(&agenda, 0, 9_000), agenda[..2]);
        // A first chapter after the cut keeps its distance from the new start.
        assert_eq!(
            after_trim(&agenda[1..], 1_000, 10_000),
            [chapter(3_000, "Budget"), chapter(8_000, "Hiring")]
        );
        assert!(after_trim(&[], 1_000, 2_000).is_empty());
    }

    #[test]
    fn a_chapter_added_in_compose_takes_its_place_by_time() {
        let agenda = [chapter(0, "Budget"), chapter(5_000, "Q3")];
        assert_eq!(
            with_chapter_at(&agenda, 2_500),
            [
                chapter(0, "Budget"),
                chapter(2_500, "Item 2"),
                chapter(5_000, "Q3")
            ]
        );
        assert_eq!(
            with_chapter_at(&agenda, 7_000),
            [
                chapter(0, "Budget"),
                chapter(5_000, "Q3"),
                chapter(7_000, "Item 3")
            ]
        );
        // The first one past the start also makes the start a chapter.
        assert_eq!(
            with_chapter_at(&[], 4_000),
            [chapter(0, "Item 1"), chapter(4_000, "Item 2")]
        );
        assert_eq!(with_chapter_at(&[], 0), [chapter(0, "Item 1")]);
        // At the moment of another: refused by the check, saying what to do.
        let twice = with_chapter_at(&agenda, 5_000);
        let error = check(&twice, Some(9_000)).unwrap_err().to_string();
        assert!(error.contains("each at its own moment"), "{error}");
    }

    #[test]
    fn a_mark_is_described_as_a_user_reads_it() {
        assert_eq!(
            describe(1, &chapter(14_000, "Hiring")),
            "chapter 2 at 0:14: Hiring"
        );
        assert_eq!(default_title(3), "Item 3");
    }
}
