//! Transcripts: what a clip's speech said and when, as the sender's machine made it.
//!
//! A transcript travels as its own small blob ([`crate::BlobKind::Transcript`], JSON of
//! [`Transcript`]) named by a [`crate::RecordBody::Transcript`] record, so it can follow
//! a message that was sent before transcription finished.

use serde::{Deserialize, Serialize};

use crate::{fields, ApiError};

/// The MIME type of a transcript blob.
pub const TRANSCRIPT_CONTENT_TYPE: &str = "application/vnd.pigeon.transcript+json";

/// A clip's transcript: timed segments of text, each with its words where the model
/// gave word times. Times are milliseconds from the start of the clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// The spoken language as an ISO 639-1 code (`en`), detected or chosen.
    pub language: String,
    /// Which model made it (`tiny.en`, `base.en`, `base`, ...): display only.
    pub model: String,
    /// The length of the sound that was transcribed.
    pub duration_ms: u64,
    /// In time order, not overlapping.
    pub segments: Vec<Segment>,
}

/// One line of a transcript (a caption).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    /// The segment's words with their own times; empty when the model gave none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
}

/// One word of a segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

/// Most segments a transcript may have (a day of speech in short captions).
pub const MAX_TRANSCRIPT_SEGMENTS: usize = 50_000;
/// Most words, over all segments, a transcript may have.
pub const MAX_TRANSCRIPT_WORDS: usize = 500_000;
/// Longest text of one segment, in characters.
pub const MAX_SEGMENT_CHARS: u64 = 5_000;
/// Longest text of one word, in characters.
pub const MAX_WORD_CHARS: u64 = 200;
/// Longest model name, in characters.
pub const MAX_MODEL_CHARS: u64 = 64;
/// How far past `duration_ms` a time may lie: a model's last timestamp can run a little
/// past the end of the sound it heard.
pub const TRANSCRIPT_TIME_SLACK_MS: u64 = 3_000;

/// Checks a transcript blob's bytes, as both stores do when it is sealed, and returns
/// the transcript: well-formed JSON of a [`Transcript`], a short language code, a model
/// name on one line, a bounded number of segments and words, each segment's text free of
/// control characters (newline and tab allowed), segments in time order and not
/// overlapping, every end at or after its start and every time within the sound's length
/// plus [`TRANSCRIPT_TIME_SLACK_MS`].
pub fn check_transcript(bytes: &[u8]) -> Result<Transcript, ApiError> {
    let t: Transcript = serde_json::from_slice(bytes)
        .map_err(|e| refused(&format!("it is not the JSON of a transcript ({e})")))?;
    fields::language(&t.language)?;
    fields::chars_within("max_model_chars", MAX_MODEL_CHARS, &t.model)?;
    fields::name("the transcript's model name", &t.model)?;
    fields::duration_ms(t.duration_ms)?;
    fields::count_within(
        "max_transcript_segments",
        MAX_TRANSCRIPT_SEGMENTS as u64,
        t.segments.len(),
    )?;
    let words: usize = t.segments.iter().map(|s| s.words.len()).sum();
    fields::count_within("max_transcript_words", MAX_TRANSCRIPT_WORDS as u64, words)?;
    let latest = t.duration_ms.saturating_add(TRANSCRIPT_TIME_SLACK_MS);
    let mut previous_end = 0;
    for (i, s) in t.segments.iter().enumerate() {
        let n = i + 1;
        span(&format!("segment {n}"), s.start_ms, s.end_ms, latest)?;
        if s.start_ms < previous_end {
            return Err(refused(&format!(
                "segment {n} starts at {} ms, before segment {i} ends at {previous_end} ms",
                s.start_ms
            )));
        }
        previous_end = s.end_ms;
        fields::chars_within("max_segment_chars", MAX_SEGMENT_CHARS, &s.text)?;
        fields::text(&format!("segment {n}'s text"), &s.text)?;
        let mut previous_start = 0;
        for (j, w) in s.words.iter().enumerate() {
            let what = format!("word {} of segment {n}", j + 1);
            span(&what, w.start_ms, w.end_ms, latest)?;
            if w.start_ms < previous_start {
                return Err(refused(&format!(
                    "{what} starts at {} ms, before the word before it",
                    w.start_ms
                )));
            }
            previous_start = w.start_ms;
            fields::chars_within("max_word_chars", MAX_WORD_CHARS, &w.text)?;
            if w.text.chars().any(char::is_control) {
                return Err(refused(&format!("{what} has a control character")));
            }
        }
    }
    Ok(t)
}

/// `start..end` is a span that ends within `latest`.
fn span(what: &str, start: u64, end: u64, latest: u64) -> Result<(), ApiError> {
    if end < start {
        return Err(refused(&format!(
            "{what} ends at {end} ms, before it starts at {start} ms"
        )));
    }
    if end > latest {
        return Err(refused(&format!(
            "{what} ends at {end} ms, past the end of the sound"
        )));
    }
    Ok(())
}

fn refused(reason: &str) -> ApiError {
    ApiError::invalid(format!(
        "the transcript is not well formed: {reason}; make the transcript again and upload it as a new blob"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn segment(start_ms: u64, end_ms: u64, text: &str) -> Segment {
        Segment {
            start_ms,
            end_ms,
            text: text.into(),
            words: Vec::new(),
        }
    }

    fn good() -> Transcript {
        Transcript {
            language: "en".into(),
            model: "tiny.en".into(),
            duration_ms: 10_000,
            segments: vec![
                Segment {
                    words: vec![
                        Word {
                            start_ms: 0,
                            end_ms: 400,
                            text: " Hello".into(),
                        },
                        Word {
                            start_ms: 400,
                            end_ms: 900,
                            text: " there.".into(),
                        },
                    ],
                    ..segment(0, 1_000, " Hello there.")
                },
                segment(1_000, 4_000, " A second line\twith a tab."),
                segment(6_000, 10_500, " The last one runs a little long."),
            ],
        }
    }

    fn check(t: &Transcript) -> Result<Transcript, ApiError> {
        check_transcript(&serde_json::to_vec(t).unwrap())
    }

    fn refusal(t: &Transcript) -> String {
        let e = check(t).unwrap_err();
        assert!(
            matches!(e.code, ErrorCode::Invalid | ErrorCode::LimitExceeded),
            "{e:?}"
        );
        e.message
    }

    #[test]
    fn a_well_formed_transcript_reads_back_as_it_was() {
        assert_eq!(check(&good()).unwrap(), good());
        let empty = Transcript {
            segments: Vec::new(),
            ..good()
        };
        assert_eq!(check(&empty).unwrap(), empty);
    }

    #[test]
    fn malformed_json_says_what_to_do() {
        for bytes in [
            &b"not json"[..],
            b"{}",
            b"{\"language\":\"en\"}",
            b"\xff\xfe",
        ] {
            let e = check_transcript(bytes).unwrap_err();
            assert_eq!(e.code, ErrorCode::Invalid);
            assert!(
                e.message.contains("make the transcript again"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn segments_must_be_in_order_and_not_overlap() {
        let mut t = good();
        t.segments.swap(1, 2);
        assert!(
            refusal(&t).contains("segment 3 starts at 1000 ms"),
            "{}",
            refusal(&t)
        );
        let mut t = good();
        t.segments[1].start_ms = 900;
        assert!(refusal(&t).contains("before segment 1 ends"));
        let mut t = good();
        t.segments[1].end_ms = 500;
        assert!(refusal(&t).contains("segment 2 ends at 500 ms, before it starts"));
        let mut t = good();
        t.segments[0].words[0].start_ms = 200;
        t.segments[0].words[1].start_ms = 100;
        assert!(refusal(&t).contains("word 2 of segment 1"));
    }

    #[test]
    fn times_stay_within_the_sound() {
        let mut t = good();
        t.segments[2].end_ms = 10_000 + TRANSCRIPT_TIME_SLACK_MS + 1;
        assert!(refusal(&t).contains("past the end of the sound"));
        let mut t = good();
        t.segments[0].words[0].end_ms = u64::MAX;
        assert!(refusal(&t).contains("past the end"));
    }

    #[test]
    fn text_language_and_model_follow_the_field_rules() {
        let mut t = good();
        t.segments[1].text = "bad \u{1b}[31m escape".into();
        assert!(refusal(&t).contains("control character"));
        let mut t = good();
        t.segments[0].words[0].text = "a\nb".into();
        assert!(refusal(&t).contains("control character"));
        let mut t = good();
        t.language = "English".into();
        assert!(refusal(&t).contains("language"));
        let mut t = good();
        t.model = "x".repeat(65);
        assert_eq!(check(&t).unwrap_err().code, ErrorCode::LimitExceeded);
        let mut t = good();
        t.model = "tiny\nen".into();
        assert!(check(&t).is_err());
        let mut t = good();
        t.segments[1].text = "x".repeat(MAX_SEGMENT_CHARS as usize + 1);
        assert_eq!(check(&t).unwrap_err().code, ErrorCode::LimitExceeded);
    }

    #[test]
    fn counts_are_bounded() {
        let mut t = good();
        t.duration_ms = 24 * 60 * 60 * 1000;
        t.segments = (0..=MAX_TRANSCRIPT_SEGMENTS as u64)
            .map(|i| segment(i, i, ""))
            .collect();
        let e = check(&t).unwrap_err();
        assert_eq!(e.limit.unwrap().limit, "max_transcript_segments");
    }
}
