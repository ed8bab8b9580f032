//! Word error rate: how far a transcript is from what was said, for tests and benchmarks.

/// (substitutions + deletions + insertions) / words of `reference`, after both are
/// lowercased and stripped of punctuation. 0.0 is perfect; it can exceed 1.0 when the
/// hypothesis adds many words. An empty reference scores 0.0 against an empty hypothesis
/// and 1.0 against anything else.
pub fn word_error_rate(reference: &str, hypothesis: &str) -> f64 {
    let reference = normalised_words(reference);
    let hypothesis = normalised_words(hypothesis);
    if reference.is_empty() {
        return if hypothesis.is_empty() { 0.0 } else { 1.0 };
    }
    edit_distance(&reference, &hypothesis) as f64 / reference.len() as f64
}

/// Lowercase words; punctuation is dropped (an apostrophe inside a word stays: "don't"),
/// and a hyphen or slash separates words ("follow-up" is "follow up").
pub fn normalised_words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '-' || c == '/' || c == '—')
        .map(|word| {
            word.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'' || *c == '’')
                .map(|c| if c == '’' { '\'' } else { c })
                .collect::<String>()
                .trim_matches('\'')
                .to_string()
        })
        .filter(|word| !word.is_empty())
        .collect()
}

/// Levenshtein distance over words (two rows).
fn edit_distance(a: &[String], b: &[String]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, word_a) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, word_b) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(word_a != word_b);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_words_score_zero_whatever_the_case_and_punctuation() {
        assert_eq!(
            word_error_rate(
                "Please review the budget agenda before Friday.",
                "please, review the BUDGET agenda -- before friday"
            ),
            0.0
        );
        assert_eq!(word_error_rate("don't stop", "Don’t stop!"), 0.0);
    }

    #[test]
    fn substitutions_deletions_and_insertions_each_count_one() {
        // One substitution in four words.
        assert_eq!(
            word_error_rate("one two three four", "one too three four"),
            0.25
        );
        // One deletion.
        assert_eq!(
            word_error_rate("one two three four", "one three four"),
            0.25
        );
        // Two insertions.
        assert_eq!(word_error_rate("one two", "one big two also"), 1.0);
        // Everything wrong.
        assert_eq!(word_error_rate("a b", "c d e"), 1.5);
        assert_eq!(word_error_rate("follow-up", "follow up"), 0.0);
    }

    #[test]
    fn empty_texts() {
        assert_eq!(word_error_rate("", ""), 0.0);
        assert_eq!(word_error_rate("...", "hello"), 1.0);
        assert_eq!(word_error_rate("hello world", ""), 1.0);
    }
}
