//! Words from whisper's tokens: a token that starts with a space starts a word, any other
//! token (a sub-word piece, punctuation) belongs to the word before it.

use pigeon_protocol::Word;

use crate::sound::LEVEL_WINDOW_MS;

/// One text token of a segment as whisper gave it (special tokens already left out).
#[derive(Debug, Clone, PartialEq)]
pub struct TextToken {
    /// Raw bytes: a token may end in the middle of a multi-byte character.
    pub bytes: Vec<u8>,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// Joins sub-word tokens into words with the first piece's start and the last one's end.
pub fn words_from_tokens(tokens: &[TextToken]) -> Vec<Word> {
    let mut words = Vec::new();
    let mut current: Option<(Vec<u8>, u64, u64)> = None;
    for token in tokens {
        let starts_word = token.bytes.first().is_some_and(|b| b.is_ascii_whitespace());
        match current.as_mut() {
            Some((bytes, _, end)) if !starts_word => {
                bytes.extend_from_slice(&token.bytes);
                *end = (*end).max(token.end_ms);
            }
            _ => {
                if let Some(done) = current.take() {
                    push_word(&mut words, done);
                }
                current = Some((token.bytes.clone(), token.start_ms, token.end_ms));
            }
        }
    }
    if let Some(done) = current {
        push_word(&mut words, done);
    }
    words
}

fn push_word(words: &mut Vec<Word>, (bytes, start_ms, end_ms): (Vec<u8>, u64, u64)) {
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    if text.is_empty() {
        return;
    }
    // A word made only of punctuation (a lone dash or ellipsis) joins the word before.
    if !text.chars().any(char::is_alphanumeric) {
        if let Some(last) = words.last_mut() {
            last.text.push_str(&text);
            last.end_ms = last.end_ms.max(end_ms);
            return;
        }
    }
    words.push(Word {
        start_ms,
        end_ms: end_ms.max(start_ms),
        text,
    });
}

/// The longest quiet inside one spoken word (a stop consonant, a breath between syllables).
pub const QUIET_WITHIN_A_WORD_MS: u64 = 500;

/// Moves each word's start to where its sound begins and its end to where it stops,
/// when the sound within its span starts or ends quiet: whisper stamps the first word
/// after a silence from the start of that silence (its segment starts where its 30 s
/// window did). `levels` are dBFS per [`LEVEL_WINDOW_MS`]; `quiet_below` from
/// [`crate::sound::quiet_threshold`]. A word with no loud window keeps its times.
///
/// A word ends with the first stretch of sound it starts with: whisper may stretch the
/// last word before a pause over the pause up to the next sentence's first sound, and
/// no single word holds a quiet longer than [`QUIET_WITHIN_A_WORD_MS`].
pub fn fit_words_to_sound(words: &mut [Word], levels: &[f32], quiet_below: f32) {
    let window = LEVEL_WINDOW_MS;
    let longest_quiet = (QUIET_WITHIN_A_WORD_MS / window) as usize;
    for word in words {
        let first = (word.start_ms / window) as usize;
        let last = (word.end_ms.div_ceil(window) as usize).min(levels.len());
        if first >= last {
            continue;
        }
        let loud = |i: &usize| levels[*i] >= quiet_below;
        let Some(rise) = (first..last).find(loud) else {
            continue;
        };
        let mut fall = rise;
        for i in rise..last {
            if loud(&i) {
                fall = i;
            } else if i - fall > longest_quiet {
                break;
            }
        }
        word.start_ms = word.start_ms.max(rise as u64 * window);
        word.end_ms = word
            .end_ms
            .min((fall as u64 + 1) * window)
            .max(word.start_ms);
    }
}

/// True for a segment whisper fills in when it hears no words: `[BLANK_AUDIO]`,
/// `(music)`, `[ Silence ]`, `*sigh*`, or nothing at all.
pub fn is_annotation_only(text: &str) -> bool {
    let mut depth = 0i32;
    let mut outside = String::new();
    for c in text.chars() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            _ if depth <= 0 => outside.push(c),
            _ => {}
        }
    }
    let bare = outside.trim();
    let starred = bare.len() >= 2 && bare.starts_with('*') && bare.ends_with('*');
    starred || !bare.chars().any(char::is_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str, start_ms: u64, end_ms: u64) -> TextToken {
        TextToken {
            bytes: text.as_bytes().to_vec(),
            start_ms,
            end_ms,
        }
    }

    #[test]
    fn sub_word_pieces_and_punctuation_join_their_word() {
        let tokens = [
            token(" Please", 0, 300),
            token(" review", 300, 500),
            token(" the", 500, 600),
            token(" bud", 600, 700),
            token("get", 700, 900),
            token(".", 900, 950),
            token(" Thanks", 1200, 1500),
            token("!", 1500, 1520),
        ];
        let words = words_from_tokens(&tokens);
        let texts: Vec<_> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["Please", "review", "the", "budget.", "Thanks!"]);
        assert_eq!((words[3].start_ms, words[3].end_ms), (600, 950));
        assert_eq!((words[4].start_ms, words[4].end_ms), (1200, 1520));
    }

    #[test]
    fn a_character_split_over_two_tokens_is_whole_again() {
        let e_acute = "é".as_bytes();
        let tokens = [
            TextToken {
                bytes: [b" caf".as_slice(), &e_acute[..1]].concat(),
                start_ms: 0,
                end_ms: 100,
            },
            TextToken {
                bytes: e_acute[1..].to_vec(),
                start_ms: 100,
                end_ms: 200,
            },
        ];
        let words = words_from_tokens(&tokens);
        assert_eq!(words.len(), 1);
        assert_eq!(words[0].text, "café");
    }

    #[test]
    fn a_lone_dash_joins_the_word_before_and_the_first_token_may_lack_a_space() {
        let words = words_from_tokens(&[token("Well", 0, 100), token(" -", 100, 150)]);
        assert_eq!(words.len(), 1);
        assert_eq!(words[0].text, "Well-");
        assert_eq!(words[0].end_ms, 150);
        assert!(words_from_tokens(&[]).is_empty());
    }

    #[test]
    fn words_stamped_over_a_silence_move_to_their_sound() {
        // Quiet (-80) for 3 s, loud (-20) from 3.0 to 3.5 s, quiet again.
        let levels: Vec<f32> = (0..40)
            .map(|i| if (30..35).contains(&i) { -20.0 } else { -80.0 })
            .collect();
        let mut words = vec![
            Word {
                start_ms: 0,
                end_ms: 3_460,
                text: "Budget.".into(),
            },
            // Whisper heard it over quiet sound: nothing to fit it to, it stays.
            Word {
                start_ms: 3_700,
                end_ms: 3_900,
                text: "Yes.".into(),
            },
        ];
        fit_words_to_sound(&mut words, &levels, -45.0);
        assert_eq!((words[0].start_ms, words[0].end_ms), (3_000, 3_460));
        assert_eq!((words[1].start_ms, words[1].end_ms), (3_700, 3_900));
        // A word whose span ends in quiet ends where its sound does.
        let mut long = vec![Word {
            start_ms: 2_950,
            end_ms: 3_990,
            text: "budget".into(),
        }];
        fit_words_to_sound(&mut long, &levels, -45.0);
        assert_eq!((long[0].start_ms, long[0].end_ms), (3_000, 3_500));
    }

    #[test]
    fn a_word_stretched_over_a_pause_ends_with_its_own_sound() {
        // "Friday." sounds 2.8-3.3 s; the next sentence starts at 6.4 s; whisper
        // stamped the word 2.79-7.0 s. A short dip (200 ms) inside a word is kept.
        let levels: Vec<f32> = (0..80)
            .map(|i| match i {
                28..=30 | 33..=34 | 64..=75 => -20.0,
                _ => -80.0,
            })
            .collect();
        let mut words = vec![Word {
            start_ms: 2_790,
            end_ms: 7_000,
            text: "Friday.".into(),
        }];
        fit_words_to_sound(&mut words, &levels, -45.0);
        assert_eq!((words[0].start_ms, words[0].end_ms), (2_800, 3_500));
    }

    #[test]
    fn annotations_are_not_speech() {
        for text in [
            "[BLANK_AUDIO]",
            " (music)",
            "[ Silence ]",
            "*sigh*",
            "",
            " ... ",
        ] {
            assert!(is_annotation_only(text), "{text:?}");
        }
        for text in ["Hello.", "(laughs) yes", "Budget [draft]"] {
            assert!(!is_annotation_only(text), "{text:?}");
        }
    }
}
