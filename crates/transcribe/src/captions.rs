//! A transcript as captions a player or an editor reads: WebVTT (the browser's `<track>`),
//! SRT (video editors, players), and plain text (copy, search, a quick read).

use std::fmt::Write;

use pigeon_protocol::{Segment, Transcript};

/// WebVTT: the `WEBVTT` header, then one cue per segment (`HH:MM:SS.mmm --> ...`).
pub fn webvtt(t: &Transcript) -> String {
    let mut out = String::from("WEBVTT\n");
    for segment in spoken(t) {
        let _ = write!(
            out,
            "\n{} --> {}\n{}\n",
            clock(segment.start_ms, '.'),
            clock(end_of(segment), '.'),
            escape_vtt(&one_line(&segment.text))
        );
    }
    out
}

/// SRT: numbered cues from 1, times with a comma before the milliseconds.
pub fn srt(t: &Transcript) -> String {
    let mut out = String::new();
    for (index, segment) in spoken(t).enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let _ = write!(
            out,
            "{}\n{} --> {}\n{}\n",
            index + 1,
            clock(segment.start_ms, ','),
            clock(end_of(segment), ','),
            one_line(&segment.text)
        );
    }
    out
}

/// The words alone, one segment per line.
pub fn text(t: &Transcript) -> String {
    let mut out = String::new();
    for segment in spoken(t) {
        out.push_str(&one_line(&segment.text));
        out.push('\n');
    }
    out
}

/// Segments with something to show.
fn spoken(t: &Transcript) -> impl Iterator<Item = &Segment> {
    t.segments.iter().filter(|s| !s.text.trim().is_empty())
}

/// A cue must last: a segment whisper stamped with no length shows for a moment.
fn end_of(segment: &Segment) -> u64 {
    segment.end_ms.max(segment.start_ms + 1)
}

/// A blank line ends a cue in both formats, so a cue's text is kept on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `&`, `<` and `>` are markup in WebVTT cue text (and `-->` must not appear in it).
fn escape_vtt(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `HH:MM:SS.mmm` (or with a comma, for SRT).
fn clock(ms: u64, separator: char) -> String {
    let (hours, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let (seconds, millis) = (rest / 1000, rest % 1000);
    format!("{hours:02}:{minutes:02}:{seconds:02}{separator}{millis:03}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcript() -> Transcript {
        let segment = |start_ms, end_ms, text: &str| Segment {
            start_ms,
            end_ms,
            text: text.into(),
            words: Vec::new(),
        };
        Transcript {
            language: "en".into(),
            model: "tiny.en".into(),
            duration_ms: 3_725_000,
            segments: vec![
                segment(0, 2_500, " Please review the budget."),
                segment(2_500, 2_500, "   "),
                segment(61_005, 63_450, "Q&A: <slides>\nnext --> later"),
                segment(3_723_004, 3_723_004, "Bye."),
            ],
        }
    }

    #[test]
    fn webvtt_has_the_header_and_one_cue_per_spoken_segment() {
        assert_eq!(
            webvtt(&transcript()),
            "WEBVTT\n\
             \n00:00:00.000 --> 00:00:02.500\nPlease review the budget.\n\
             \n00:01:01.005 --> 00:01:03.450\nQ&amp;A: &lt;slides&gt; next --&gt; later\n\
             \n01:02:03.004 --> 01:02:03.005\nBye.\n"
        );
    }

    #[test]
    fn srt_numbers_its_cues_and_uses_commas() {
        assert_eq!(
            srt(&transcript()),
            "1\n00:00:00,000 --> 00:00:02,500\nPlease review the budget.\n\
             \n2\n00:01:01,005 --> 00:01:03,450\nQ&A: <slides> next --> later\n\
             \n3\n01:02:03,004 --> 01:02:03,005\nBye.\n"
        );
    }

    #[test]
    fn text_is_one_line_per_segment() {
        assert_eq!(
            text(&transcript()),
            "Please review the budget.\nQ&A: <slides> next --> later\nBye.\n"
        );
    }

    #[test]
    fn an_empty_transcript_is_a_bare_header() {
        let empty = Transcript {
            segments: Vec::new(),
            ..transcript()
        };
        assert_eq!(webvtt(&empty), "WEBVTT\n");
        assert_eq!(srt(&empty), "");
        assert_eq!(text(&empty), "");
    }
}
