//! Words as the index sees them: split where SQLite's `unicode61` tokenizer splits
//! (anything but letters, digits and combining marks), lower case, diacritics removed.
//! The library's search sends FTS5 a query built from what the user typed, and the
//! Player's search inside one transcript matches lines by the same rules here, so a
//! word found by one is found by the other.

use super::fold::{DROPPED_MARKS, FOLDED, NOT_LOWERED};

/// What the user typed, as phrases of normalised words: each whitespace-separated
/// word is one phrase (`e-mail` is `e mail`, `don't` is `don t`); every phrase must be
/// found; the last word is a prefix unless the user typed a space after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Words {
    /// Each phrase with the text the user typed for it (for the FTS5 query) and its
    /// normalised words (for matching here). No phrase is empty.
    phrases: Vec<(String, Vec<String>)>,
    /// The last word of the last phrase matches any word it begins.
    prefix: bool,
}

impl Words {
    pub(crate) fn parse(typed: &str) -> Self {
        let phrases: Vec<(String, Vec<String>)> = typed
            .split_whitespace()
            .map(|word| (word.to_owned(), tokens(word)))
            .filter(|(_, tokens)| !tokens.is_empty())
            .collect();
        let prefix = !phrases.is_empty() && !typed.ends_with(char::is_whitespace);
        Self { phrases, prefix }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// The FTS5 query: every phrase quoted, so nothing typed is read as FTS5 syntax
    /// (`"`, `*`, `-`, `^`, `:`, `NEAR`, `AND`, `OR`, `NOT`, parentheses); phrases
    /// joined by the implicit AND; the last one a prefix. None when nothing is left
    /// to look for (only punctuation was typed).
    pub(crate) fn fts_query(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let mut query = String::new();
        for (i, (typed, _)) in self.phrases.iter().enumerate() {
            if i > 0 {
                query.push(' ');
            }
            // Inside a quoted FTS5 string only `"` is special, and doubling escapes it;
            // the tokenizer then splits the text exactly as it split what was indexed.
            query.push('"');
            query.push_str(&typed.replace('"', "\"\""));
            query.push('"');
        }
        if self.prefix {
            query.push('*');
        }
        Some(query)
    }

    /// Whether `text` holds every phrase.
    pub(crate) fn matches(&self, text: &str) -> bool {
        let tokens = tokens(text);
        !self.is_empty()
            && (0..self.phrases.len())
                .all(|p| (0..tokens.len()).any(|at| self.found_at(p, &tokens, at)))
    }

    /// The index, among `words`, of the first word where any phrase begins (the word a
    /// search result should play from).
    pub(crate) fn first_match<'a>(
        &self,
        words: impl IntoIterator<Item = &'a str>,
    ) -> Option<usize> {
        // Each token with the word it came from: a phrase may span words, and a word
        // may hold several tokens (`don't`).
        let mut tokens = Vec::new();
        let mut word_of = Vec::new();
        for (i, word) in words.into_iter().enumerate() {
            for token in self::tokens(word) {
                tokens.push(token);
                word_of.push(i);
            }
        }
        (0..tokens.len())
            .find(|&at| (0..self.phrases.len()).any(|p| self.found_at(p, &tokens, at)))
            .map(|at| word_of[at])
    }

    /// Up to `width` words of `text` around the first match, each matched word wrapped
    /// in `[` `]`, `…` where text is left out (as FTS5's `snippet()` shows them).
    pub(crate) fn snippet(&self, text: &str, width: usize) -> String {
        let spans = spans(text);
        let tokens: Vec<String> = spans.iter().map(|(_, t)| t.clone()).collect();
        let mut matched = vec![false; tokens.len()];
        for at in 0..tokens.len() {
            for p in 0..self.phrases.len() {
                if self.found_at(p, &tokens, at) {
                    let len = self.phrases[p].1.len();
                    matched[at..at + len].iter_mut().for_each(|m| *m = true);
                }
            }
        }
        let first = matched.iter().position(|&m| m).unwrap_or(0);
        // A little context before the first match, and the window filled to `width`.
        let start = first
            .saturating_sub(3)
            .min(tokens.len().saturating_sub(width));
        let end = (start + width).min(tokens.len());
        let mut out = String::new();
        let mut from = if start == 0 {
            0
        } else {
            out.push('…');
            spans[start].0.start
        };
        for i in start..end {
            let span = &spans[i].0;
            out.push_str(&text[from..span.start]);
            if matched[i] {
                out.push('[');
                out.push_str(&text[span.clone()]);
                out.push(']');
            } else {
                out.push_str(&text[span.clone()]);
            }
            from = span.end;
        }
        if end == tokens.len() {
            out.push_str(&text[from..]);
        } else {
            out.push('…');
        }
        out
    }

    /// Whether phrase `p` starts at `tokens[at]`.
    fn found_at(&self, p: usize, tokens: &[String], at: usize) -> bool {
        let phrase = &self.phrases[p].1;
        let last_phrase = p + 1 == self.phrases.len();
        if at + phrase.len() > tokens.len() {
            return false;
        }
        phrase.iter().enumerate().all(|(k, word)| {
            let token = &tokens[at + k];
            if self.prefix && last_phrase && k + 1 == phrase.len() {
                token.starts_with(word.as_str())
            } else {
                token == word
            }
        })
    }
}

/// The words of `text` as the index stores them.
pub(crate) fn tokens(text: &str) -> Vec<String> {
    spans(text).into_iter().map(|(_, token)| token).collect()
}

/// Each word of `text` with the bytes it spans.
fn spans(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let mut spans = Vec::new();
    let mut current = String::new();
    let mut start = None;
    for (at, c) in text.char_indices() {
        if is_token_char(c) {
            start.get_or_insert(at);
            fold_into(c, &mut current);
        } else if let Some(from) = start.take() {
            spans.push((from..at, std::mem::take(&mut current)));
        }
    }
    if let Some(from) = start {
        spans.push((from..text.len(), current));
    }
    // A word of dropped marks alone folds to nothing.
    spans.retain(|(_, token)| !token.is_empty());
    spans
}

fn is_token_char(c: char) -> bool {
    match c {
        // Combining diacritical marks are part of a word, except the ones the
        // tokenizer's Unicode tables do not count as marks (Rust calls them letters).
        '\u{345}' | '\u{363}'..='\u{36f}' => false,
        '\u{300}'..='\u{362}' => true,
        _ => c.is_alphanumeric(),
    }
}

fn fold_into(c: char, out: &mut String) {
    if NOT_LOWERED.contains(&c) {
        out.push(c);
        return;
    }
    for lower in c.to_lowercase() {
        if DROPPED_MARKS
            .iter()
            .any(|&(from, to)| (from..=to).contains(&lower))
        {
            continue;
        }
        match FOLDED.binary_search_by_key(&lower, |&(from, _)| from) {
            Ok(i) => out.push(FOLDED[i].1),
            Err(_) => out.push(lower),
        }
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    #[test]
    fn words_fold_exactly_as_the_index_tokenizer_does() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'unicode61 remove_diacritics 2');
             CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance');",
        )
        .unwrap();
        let mut disagree = Vec::new();
        for c in (0x80u32..0x530)
            .chain(0x1e00..0x2000)
            .filter_map(char::from_u32)
        {
            if !c.is_alphanumeric() {
                continue;
            }
            let text = format!("x{c}x");
            conn.execute("DELETE FROM t", []).unwrap();
            conn.execute("INSERT INTO t (x) VALUES (?1)", [&text])
                .unwrap();
            let index: Vec<String> = conn
                .prepare("SELECT term FROM v ORDER BY offset")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let ours = tokens(&text);
            if ours != index {
                disagree.push(format!(
                    "U+{:04X} {c}: index {index:?}, ours {ours:?}",
                    c as u32
                ));
            }
        }
        // Decomposed diacritics fold too.
        assert_eq!(tokens("Cre\u{300}me"), vec!["creme"]);
        assert!(
            disagree.is_empty(),
            "{} letters differ:\n{}",
            disagree.len(),
            disagree.join("\n")
        );
    }

    #[test]
    fn snippets_mark_every_matched_word_and_cut_long_text_around_the_first() {
        let words = Words::parse("blue wha");
        assert_eq!(
            words.snippet("A blue whale, and a blue sky.", 16),
            "A [blue] [whale], and a [blue] sky."
        );
        let long = "one two three four five six seven eight nine ten blue whale \
                    eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen";
        assert_eq!(
            words.snippet(long, 8),
            "…eight nine ten [blue] [whale] eleven twelve thirteen…"
        );
        assert_eq!(
            Words::parse("Été").snippet("l'été dernier", 16),
            "l'[été] dernier"
        );
    }
}
