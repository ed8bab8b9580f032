//! The names of the languages a transcript can be in, as the faces show them.

/// The English name of a common spoken language by its ISO 639-1 code (`de` →
/// "German"), for the language a transcript was detected in; `None` for codes not listed.
pub fn language_name(code: &str) -> Option<&'static str> {
    const NAMES: &[(&str, &str)] = &[
        ("en", "English"),
        ("de", "German"),
        ("fr", "French"),
        ("es", "Spanish"),
        ("it", "Italian"),
        ("pt", "Portuguese"),
        ("nl", "Dutch"),
        ("pl", "Polish"),
        ("sv", "Swedish"),
        ("da", "Danish"),
        ("no", "Norwegian"),
        ("fi", "Finnish"),
        ("cs", "Czech"),
        ("sk", "Slovak"),
        ("hu", "Hungarian"),
        ("ro", "Romanian"),
        ("el", "Greek"),
        ("tr", "Turkish"),
        ("ru", "Russian"),
        ("uk", "Ukrainian"),
        ("ar", "Arabic"),
        ("he", "Hebrew"),
        ("hi", "Hindi"),
        ("ja", "Japanese"),
        ("ko", "Korean"),
        ("zh", "Chinese"),
        ("vi", "Vietnamese"),
        ("id", "Indonesian"),
        ("th", "Thai"),
        ("ca", "Catalan"),
    ];
    NAMES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_codes_have_names_and_others_none() {
        assert_eq!(language_name("en"), Some("English"));
        assert_eq!(language_name("de"), Some("German"));
        assert_eq!(language_name("xx"), None);
        assert_eq!(language_name(""), None);
    }
}
