//! The transcription part of the settings: whether clips are transcribed, with which
//! model and in which language.

use std::path::PathBuf;

use pigeon_transcribe::models;
use serde::{Deserialize, Serialize};

use super::SettingsError;

/// How transcripts are made on this machine (see [`crate::transcription`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TranscriptionSettings {
    /// Whether each clip is transcribed after Stop (and received ones without a
    /// transcript can be made here). Off: nothing is queued and no model is needed.
    pub enabled: bool,
    /// The catalog model to use (`models::CATALOG` key), kept in
    /// [`crate::PigeonHome::models_dir`] once downloaded.
    pub model: String,
    /// A model file already on disk (offline and managed installs); it wins over
    /// [`Self::model`].
    pub model_path: Option<PathBuf>,
    /// The spoken language (`en`, `de`, ...); None: English for an English model,
    /// detected for a multilingual one.
    pub language: Option<String>,
}

impl Default for TranscriptionSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            model: models::DEFAULT_MODEL.to_owned(),
            model_path: None,
            language: None,
        }
    }
}

impl TranscriptionSettings {
    /// Chooses a catalog model by its key; nothing changes when no model has it.
    pub fn set_model(&mut self, key: &str) -> Result<(), SettingsError> {
        match models::entry(key) {
            Some(entry) => {
                self.model = entry.key.to_owned();
                Ok(())
            }
            None => Err(SettingsError::UnknownValue(format!(
                "{key:?} is not a speech model: use {}",
                model_keys()
            ))),
        }
    }

    /// Sets the spoken language: a 2-3 letter code (`en`, `de`, `haw`), or `auto` (or
    /// nothing) for the model's own choice.
    pub fn set_language(&mut self, code: Option<&str>) -> Result<(), SettingsError> {
        let code = code
            .map(str::trim)
            .filter(|c| !c.is_empty() && *c != "auto");
        match code {
            None => self.language = None,
            Some(c)
                if (2..=3).contains(&c.len()) && c.chars().all(|ch| ch.is_ascii_alphabetic()) =>
            {
                self.language = Some(c.to_ascii_lowercase());
            }
            Some(c) => {
                return Err(SettingsError::UnknownValue(format!(
                "{c:?} is not a language code: use a 2 or 3 letter code such as en or de, or auto"
            )))
            }
        }
        Ok(())
    }
}

/// The catalog's keys, for error messages.
fn model_keys() -> String {
    let keys: Vec<_> = models::CATALOG.iter().map(|m| m.key).collect();
    keys.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_and_languages_are_checked_before_they_are_remembered() {
        let mut t = TranscriptionSettings::default();
        t.set_model("tiny.en").unwrap();
        assert_eq!(t.model, "tiny.en");
        let error = t.set_model("huge").unwrap_err().to_string();
        assert!(error.contains("is not a speech model: use"), "{error}");
        assert!(error.contains("base.en"), "{error}");
        assert_eq!(t.model, "tiny.en", "a refused model changes nothing");
        t.set_language(Some("DE")).unwrap();
        assert_eq!(t.language.as_deref(), Some("de"));
        t.set_language(Some("auto")).unwrap();
        assert_eq!(t.language, None);
        assert!(t.set_language(Some("german")).is_err());
        assert!(t.set_language(Some("d1")).is_err());
    }
}
