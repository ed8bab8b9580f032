//! The tokens whisper.cpp reads from the model file: the raw bytes of each byte-level BPE
//! token, in id order. CTranslate2's `vocabulary.txt` holds them one a line in GPT-2's
//! printable form (each byte mapped to a visible character, e.g. a space to `Ġ`).
//!
//! The first 50,257 tokens are written: what OpenAI's `vocab.json` files held and whisper.cpp's
//! `convert-pt-to-ggml.py` wrote for the official files. For English-only models the last
//! of them is `<|endoftext|>` (id 50256); multilingual ones have an empty token there and
//! `<|endoftext|>` after it. whisper.cpp names the rest (end of text when not written,
//! languages, tasks, timestamps) itself from `n_vocab`. Written this way, the converted
//! tiny.en and base have the official ggml files' exact sizes.

use std::collections::HashMap;

const END_OF_TEXT: &str = "<|endoftext|>";
/// GPT-2's vocabulary size, which both of Whisper's byte-level vocabularies keep.
pub(crate) const WRITTEN_TOKENS: usize = 50_257;

/// GPT-2's `bytes_to_unicode`, reversed: printable character -> byte.
fn unicode_to_byte() -> HashMap<char, u8> {
    let mut visible: Vec<u32> = (u32::from('!')..=u32::from('~'))
        .chain(u32::from('¡')..=u32::from('¬'))
        .chain(u32::from('®')..=u32::from('ÿ'))
        .collect();
    let mut chars = visible.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !visible.contains(&b) {
            visible.push(b);
            chars.push(256 + n);
            n += 1;
        }
    }
    visible
        .into_iter()
        .zip(chars)
        .filter_map(|(b, c)| Some((char::from_u32(c)?, u8::try_from(b).ok()?)))
        .collect()
}

/// The written tokens' bytes; the error is a short reason.
pub(crate) fn tokens(vocabulary: &str) -> Result<Vec<Vec<u8>>, String> {
    let lines: Vec<&str> = vocabulary.split('\n').collect();
    let eot = lines.iter().position(|l| *l == END_OF_TEXT);
    // The two layouts Whisper has: English-only (end of text is the last written token)
    // and multilingual (it is the first one after them).
    if !matches!(eot, Some(i) if i == WRITTEN_TOKENS - 1 || i == WRITTEN_TOKENS) {
        return Err(format!(
            "it is not a Whisper vocabulary: {END_OF_TEXT} is not token {} or {}",
            WRITTEN_TOKENS - 1,
            WRITTEN_TOKENS
        ));
    }
    let map = unicode_to_byte();
    lines[..WRITTEN_TOKENS]
        .iter()
        .enumerate()
        .map(|(i, token)| {
            if *token == END_OF_TEXT {
                return Ok(token.as_bytes().to_vec());
            }
            token
                .chars()
                .map(|c| map.get(&c).copied())
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| format!("line {} ({token:?}) is not a byte-level BPE token", i + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_every_byte_once() {
        let map = unicode_to_byte();
        assert_eq!(map.len(), 256);
        assert_eq!(map[&'Ġ'], b' ');
        assert_eq!(map[&'Ċ'], b'\n');
        assert_eq!(map[&'!'], b'!');
    }

    fn vocabulary(ordinary: &[&str], eot_at: usize) -> String {
        let mut lines: Vec<String> = ordinary.iter().map(|s| s.to_string()).collect();
        while lines.len() < eot_at {
            lines.push("a".to_string());
        }
        lines.push(END_OF_TEXT.to_string());
        lines.push("<|startoftranscript|>".to_string());
        lines.join("\n")
    }

    #[test]
    fn decodes_both_whisper_layouts() {
        let first = ["!", "Ġthe", "Ġcaf\u{00c3}\u{00a9}"];
        let english = tokens(&vocabulary(&first, WRITTEN_TOKENS - 1)).unwrap();
        assert_eq!(english.len(), WRITTEN_TOKENS);
        assert_eq!(english[0], b"!");
        assert_eq!(english[1], b" the");
        assert_eq!(english[2], " café".as_bytes());
        assert_eq!(english[WRITTEN_TOKENS - 1], b"<|endoftext|>");

        let mut ordinary = first.to_vec();
        ordinary.resize(WRITTEN_TOKENS - 1, "a");
        ordinary.push("");
        let multilingual = tokens(&vocabulary(&ordinary, WRITTEN_TOKENS)).unwrap();
        assert_eq!(multilingual.len(), WRITTEN_TOKENS);
        assert_eq!(multilingual[WRITTEN_TOKENS - 1], b"");
    }

    #[test]
    fn other_vocabularies_are_refused() {
        assert!(tokens("abc")
            .unwrap_err()
            .contains("not a Whisper vocabulary"));
        assert!(tokens(&vocabulary(&["a"], 10)).is_err());
        let spaced = vocabulary(&["a b"], WRITTEN_TOKENS - 1);
        assert!(tokens(&spaced).unwrap_err().contains("line 1"));
    }
}
