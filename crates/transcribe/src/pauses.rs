//! Pauses a player may skip: stretches where nobody speaks, found from the transcript's
//! gaps between words and confirmed by the sound's level (a gap in the words over loud
//! sound is a laugh, music or a word whisper missed, and is kept). Without a transcript
//! the level alone decides.

use pigeon_protocol::{Transcript, Word};
use serde::{Deserialize, Serialize};

use crate::engine::fit_words_to_sound;
use crate::sound::{quiet_threshold, LEVEL_WINDOW_MS};

/// The shortest silence worth skipping.
pub const MIN_PAUSE_MS: u64 = 1_500;
/// Kept at each end of a silence, so the breath before and after a word is heard.
pub const MARGIN_MS: u64 = 300;

/// A stretch of a clip to jump over, in milliseconds from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub start_ms: u64,
    pub end_ms: u64,
}

/// The pauses of a clip from its transcript (when it has one) and its sound's levels
/// (RMS dBFS per 100 ms, as [`crate::Sound::levels`]; empty when unknown), in order.
/// Each is a silence of at least [`MIN_PAUSE_MS`] less [`MARGIN_MS`] at both ends.
pub fn pauses(transcript: Option<&Transcript>, levels: &[f32]) -> Vec<Pause> {
    let window = LEVEL_WINDOW_MS;
    let length_ms = (levels.len() as u64 * window).max(transcript.map_or(0, |t| t.duration_ms));
    if length_ms == 0 || (transcript.is_none() && levels.is_empty()) {
        return Vec::new();
    }
    let quiet_below = quiet_threshold(levels);
    let speech = transcript
        .map(|t| speech_spans(t, levels, quiet_below))
        .unwrap_or_default();
    let windows = length_ms.div_ceil(window) as usize;
    let mut silent = vec![true; windows];
    for (i, level) in levels.iter().enumerate() {
        if *level >= quiet_below {
            silent[i] = false;
        }
    }
    for (start, end) in speech {
        let first = (start / window) as usize;
        let last = (end.div_ceil(window) as usize).max(first + 1).min(windows);
        for flag in silent.iter_mut().take(last).skip(first) {
            *flag = false;
        }
    }
    let mut found = Vec::new();
    let mut run_start: Option<usize> = None;
    for i in 0..=windows {
        let is_silent = silent.get(i).copied().unwrap_or(false);
        match (is_silent, run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(first)) => {
                run_start = None;
                let start = first as u64 * window;
                let end = (i as u64 * window).min(length_ms);
                if end.saturating_sub(start) >= MIN_PAUSE_MS {
                    // No margin is needed where the clip itself begins or ends.
                    let start = if start == 0 { 0 } else { start + MARGIN_MS };
                    let end = if end == length_ms {
                        end
                    } else {
                        end - MARGIN_MS
                    };
                    found.push(Pause {
                        start_ms: start,
                        end_ms: end,
                    });
                }
            }
            _ => {}
        }
    }
    found
}

/// Where words are spoken: each word (or each segment that has no word times), trimmed
/// to where its sound is loud when the levels say so: whisper may stretch the last word
/// before a silence over the whole silence, and the level is the ground truth for that.
/// A word with no loud sound at all (spoken softly) keeps its whole span.
fn speech_spans(t: &Transcript, levels: &[f32], quiet_below: f32) -> Vec<(u64, u64)> {
    let mut spans = Vec::new();
    for segment in &t.segments {
        if segment.text.trim().is_empty() {
            continue;
        }
        let mut words = if segment.words.is_empty() {
            vec![Word {
                start_ms: segment.start_ms,
                end_ms: segment.end_ms,
                text: segment.text.clone(),
            }]
        } else {
            segment.words.clone()
        };
        fit_words_to_sound(&mut words, levels, quiet_below);
        spans.extend(words.iter().map(|w| (w.start_ms, w.end_ms)));
    }
    spans
}

#[cfg(test)]
mod tests {
    use pigeon_protocol::Segment;

    use super::*;

    /// Levels per 100 ms: speech (-20 dBFS) where `loud` says, hiss (-70) elsewhere.
    fn levels(length_ms: u64, loud: &[(u64, u64)]) -> Vec<f32> {
        (0..length_ms / 100)
            .map(|i| {
                let at = i * 100;
                if loud.iter().any(|(s, e)| at >= *s && at < *e) {
                    -20.0
                } else {
                    -70.0
                }
            })
            .collect()
    }

    fn transcript(duration_ms: u64, words: &[(u64, u64)]) -> Transcript {
        Transcript {
            language: "en".into(),
            model: "tiny.en".into(),
            duration_ms,
            segments: vec![Segment {
                start_ms: words.first().map_or(0, |w| w.0),
                end_ms: words.last().map_or(0, |w| w.1),
                text: "words".into(),
                words: words
                    .iter()
                    .map(|(s, e)| Word {
                        start_ms: *s,
                        end_ms: *e,
                        text: "word".into(),
                    })
                    .collect(),
            }],
        }
    }

    #[test]
    fn a_long_gap_between_words_over_quiet_sound_is_a_pause_with_margins() {
        let words = [(0, 1_000), (4_000, 5_000)];
        let found = pauses(Some(&transcript(5_000, &words)), &levels(5_000, &words));
        assert_eq!(
            found,
            [Pause {
                start_ms: 1_300,
                end_ms: 3_700
            }]
        );
    }

    #[test]
    fn a_word_stretched_over_a_silence_does_not_hide_the_pause() {
        // "Friday." is spoken 2.4-2.8 s, but whisper stamped it until 7.0 s.
        let sound = levels(9_000, &[(0, 2_800), (7_000, 9_000)]);
        let words = [(0, 2_400), (2_400, 7_000), (7_000, 9_000)];
        assert_eq!(
            pauses(Some(&transcript(9_000, &words)), &sound),
            [Pause {
                start_ms: 3_100,
                end_ms: 6_700
            }]
        );
    }

    #[test]
    fn a_word_stretched_into_the_next_sentence_does_not_hide_the_pause() {
        // As whisper does it: "Friday." (2.4-2.8 s) stamped until 7.6 s, over the first
        // 0.6 s of the next sentence (sound from 7.0 s), which it stamped late.
        let sound = levels(9_000, &[(0, 2_800), (7_000, 9_000)]);
        let words = [(0, 2_400), (2_400, 7_600), (7_600, 9_000)];
        assert_eq!(
            pauses(Some(&transcript(9_000, &words)), &sound),
            [Pause {
                start_ms: 3_100,
                end_ms: 6_700
            }]
        );
    }

    #[test]
    fn a_short_gap_is_not_a_pause() {
        let words = [(0, 1_000), (2_400, 3_000)];
        assert!(pauses(Some(&transcript(3_000, &words)), &levels(3_000, &words)).is_empty());
    }

    #[test]
    fn a_gap_in_the_words_over_loud_sound_is_kept() {
        // Words stop at 1 s and start at 5 s, but something is heard from 2 to 3 s.
        let words = [(0, 1_000), (5_000, 6_000)];
        let sound = levels(6_000, &[(0, 1_000), (2_000, 3_000), (5_000, 6_000)]);
        let found = pauses(Some(&transcript(6_000, &words)), &sound);
        // 1.0-2.0 s is too short; 3.0-5.0 s is a pause.
        assert_eq!(
            found,
            [Pause {
                start_ms: 3_300,
                end_ms: 4_700
            }]
        );
    }

    #[test]
    fn without_a_transcript_the_level_decides_and_the_clip_edges_need_no_margin() {
        let sound = levels(8_000, &[(2_000, 3_000)]);
        assert_eq!(
            pauses(None, &sound),
            [
                Pause {
                    start_ms: 0,
                    end_ms: 1_700
                },
                Pause {
                    start_ms: 3_300,
                    end_ms: 8_000
                }
            ]
        );
    }

    #[test]
    fn without_levels_the_transcript_gaps_decide() {
        let words = [(500, 1_000), (3_000, 3_500)];
        assert_eq!(
            pauses(Some(&transcript(3_500, &words)), &[]),
            [Pause {
                start_ms: 1_300,
                end_ms: 2_700
            }]
        );
        assert!(pauses(None, &[]).is_empty());
    }

    #[test]
    fn a_silent_clip_is_one_pause() {
        assert_eq!(
            pauses(None, &[-100.0; 30]),
            [Pause {
                start_ms: 0,
                end_ms: 3_000
            }]
        );
    }
}
