//! The tokens whisper.cpp reads from the model file: the raw bytes of each byte-level BPE
//! token, in id order. CTranslate2's `vocabulary.txt` holds them one a line in GPT-2's
//! printable form (each byte mapped to a visible character, e.g. a space to `Ġ`).
//!
//! The ordinary tokens are written, and the first special one (`<|endoftext|>`) last, as
//! whisper.cpp's `convert-pt-to-ggml.py` did from GPT-2's `vocab.json` for the official
//! files (the converted tiny.en has the official file's exact size); whisper.cpp names the
//! other special tokens (languages, tasks, timestamps) itself, from `n_vocab`.

use std::collections::HashMap;

const FIRST_SPECIAL: &str = "<|endoftext|>";

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

/// The tokens' bytes up to `<|endoftext|>`; the error is a short reason.
pub(crate) fn tokens(vocabulary: &str) -> Result<Vec<Vec<u8>>, String> {
    let map = unicode_to_byte();
    let mut out = Vec::new();
    for (line_no, token) in vocabulary.split('\n').enumerate() {
        if token == FIRST_SPECIAL {
            out.push(token.as_bytes().to_vec());
            return Ok(out);
        }
        let bytes = token
            .chars()
            .map(|c| map.get(&c).copied())
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| {
                format!(
                    "line {} ({token:?}) is not a byte-level BPE token",
                    line_no + 1
                )
            })?;
        out.push(bytes);
    }
    Err(format!("it has no {FIRST_SPECIAL} token"))
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

    #[test]
    fn decodes_tokens_up_to_the_first_special_one() {
        let v = "!\nĠthe\nĠcaf\u{00c3}\u{00a9}\n<|endoftext|>\n<|startoftranscript|>";
        let t = tokens(v).unwrap();
        assert_eq!(
            t,
            vec![
                b"!".to_vec(),
                b" the".to_vec(),
                " café".as_bytes().to_vec(),
                b"<|endoftext|>".to_vec()
            ]
        );
        assert!(tokens("a b\n<|endoftext|>").is_err());
        assert!(tokens("abc").unwrap_err().contains("endoftext"));
    }
}
