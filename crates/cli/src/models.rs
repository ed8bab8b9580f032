//! `pigeon models`, `pigeon models download` and the transcription part of `pigeon
//! config`: which speech model transcripts are made with, whether it is here, and
//! getting it (resumable: a stopped download keeps its part file and continues).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};
use pigeon_library::settings::TranscriptionSettings;
use pigeon_library::transcription::ModelStatus;
use pigeon_transcribe::models::{
    self, DownloadProgress, ModelEntry, ModelError, CATALOG, DEFAULT_MODEL,
};
use serde_json::json;

use crate::flags::TranscriptionFlags;
use crate::transcripts::megabytes;
use crate::App;

impl App {
    /// `pigeon models`: the catalog, what is downloaded, what is used.
    pub fn models(&self) -> Result<()> {
        let dir = self.home.models_dir();
        let chosen = &self.settings.transcription;
        if self.out.json {
            let list: Vec<_> = CATALOG
                .iter()
                .map(|entry| {
                    let installed = models::installed(entry, &dir);
                    json!({
                        "key": entry.key,
                        "label": entry.label,
                        "bytes": entry.bytes,
                        "multilingual": entry.multilingual,
                        "installed": installed.is_some(),
                        "path": installed,
                        "default": entry.key == DEFAULT_MODEL,
                        "used": in_use(chosen, entry),
                    })
                })
                .collect();
            println!(
                "{}",
                json!({"models": list, "model_path": chosen.model_path, "dir": dir})
            );
            return Ok(());
        }
        for entry in CATALOG {
            let here = if models::installed(entry, &dir).is_some() {
                "downloaded"
            } else {
                "not downloaded"
            };
            println!(
                "{} {:<9} {:<22} {:>7}  {here}{}",
                if in_use(chosen, entry) { "*" } else { " " },
                entry.key,
                entry.label,
                megabytes(entry.bytes),
                if entry.key == DEFAULT_MODEL {
                    "  (default)"
                } else {
                    ""
                }
            );
        }
        match &chosen.model_path {
            Some(path) => println!(
                "transcripts are made with the model file {} (`pigeon config --model KEY` \
                 uses one of these instead)",
                path.display()
            ),
            None => println!(
                "* is used; `pigeon models download KEY` gets one, `pigeon config --model KEY` \
                 chooses it"
            ),
        }
        Ok(())
    }

    /// `pigeon models download [KEY]`: into the data folder, checksum checked.
    pub async fn download_model(&self, key: Option<&str>) -> Result<()> {
        let key = key.unwrap_or(&self.settings.transcription.model);
        let entry = catalog_entry(key)?;
        let dir = self.home.models_dir();
        if let Some(path) = models::installed(entry, &dir) {
            self.out.say(
                json!({"key": entry.key, "path": path, "downloaded": false}),
                format!("{} is already downloaded: {}", entry.key, path.display()),
            );
            return Ok(());
        }
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("the models folder {} cannot be made", dir.display()))?;
        let bar = self.download_bar(entry);
        let done = Arc::new(AtomicU64::new(0));
        let seen = done.clone();
        let moved = bar.clone();
        let progress = move |p: DownloadProgress| {
            seen.store(p.done, Ordering::Relaxed);
            if let Some(bar) = &moved {
                bar.set_length(p.total);
                bar.set_position(p.done);
            }
        };
        // Ctrl-C stops the download between chunks; the part file stays.
        let cancel = crate::interrupt::flag();
        let downloaded = models::download(entry, &dir, progress, cancel).await;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let path = match downloaded {
            Ok(path) => path,
            Err(ModelError::Cancelled) => bail!(
                "the download of {} stopped with {} of {} here; `pigeon models download {}` \
                 continues it",
                entry.key,
                megabytes(done.load(Ordering::Relaxed)),
                megabytes(entry.bytes),
                entry.key
            ),
            Err(e) => bail!(
                "{} was not downloaded: {e} (`pigeon models download {}`)",
                entry.key,
                entry.key
            ),
        };
        let used = in_use(&self.settings.transcription, entry);
        if used {
            // Transcripts that failed for want of this model are made at the next sync.
            self.library.requeue_failed_transcriptions(self.now())?;
        }
        self.out.say(
            json!({"key": entry.key, "path": path, "downloaded": true, "used": used}),
            format!(
                "downloaded {} ({}) to {}{}",
                entry.label,
                megabytes(entry.bytes),
                path.display(),
                if used {
                    String::new()
                } else {
                    format!("; `pigeon config --model {}` uses it", entry.key)
                }
            ),
        );
        Ok(())
    }

    fn download_bar(&self, entry: &ModelEntry) -> Option<ProgressBar> {
        if self.out.json {
            return None;
        }
        let bar = ProgressBar::new(entry.bytes);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}, {eta} left",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(format!("downloading {}", entry.key));
        Some(bar)
    }

    /// The settings under the transcription flags of `pigeon config`; whether any was given.
    pub fn apply_transcription_flags(
        &self,
        settings: &mut TranscriptionSettings,
        flags: &TranscriptionFlags,
    ) -> Result<bool> {
        let mut changed = false;
        if let Some(on) = &flags.transcription {
            settings.enabled = on == "on";
            changed = true;
        }
        if let Some(key) = &flags.model {
            catalog_entry(key)?;
            settings.set_model(key)?;
            settings.model_path = None;
            changed = true;
        }
        if let Some(path) = &flags.model_path {
            if !path.is_file() {
                bail!(
                    "--model-path {}: no such file; give the path of a whisper.cpp model \
                     (ggml .bin) file",
                    path.display()
                );
            }
            let path = std::path::absolute(path)
                .with_context(|| format!("{} is not a usable path", path.display()))?;
            settings.model_path = Some(path);
            changed = true;
        }
        if let Some(language) = &flags.language {
            settings
                .set_language(Some(language))
                .with_context(|| format!("--language {language}"))?;
            changed = true;
        }
        Ok(changed)
    }

    /// The transcription lines of `pigeon config`, as text and JSON.
    pub fn transcription_config(
        &self,
        settings: &TranscriptionSettings,
    ) -> (String, serde_json::Value) {
        let status = ModelStatus::of(settings, &self.home.models_dir());
        let model = match &settings.model_path {
            Some(path) => path.display().to_string(),
            None => settings.model.clone(),
        };
        let (state, about) = match &status {
            ModelStatus::Ready(_) => ("ready", "ready".to_owned()),
            ModelStatus::Off => ("off", String::new()),
            ModelStatus::NotDownloaded(entry) => (
                "not-downloaded",
                format!(
                    "not downloaded ({}): `pigeon models download {}`",
                    megabytes(entry.bytes),
                    entry.key
                ),
            ),
            ModelStatus::Broken(why) => ("broken", why.clone()),
        };
        let language = settings.language.as_deref().unwrap_or("auto");
        let text = format!(
            "transcription {}\nmodel     {model}{}\nlanguage  {language}",
            if settings.enabled { "on" } else { "off" },
            if about.is_empty() {
                String::new()
            } else {
                format!(", {about}")
            }
        );
        let value = json!({
            "enabled": settings.enabled,
            "model": settings.model,
            "model_path": settings.model_path,
            "language": settings.language,
            "model_state": state,
        });
        (text, value)
    }
}

/// The catalog entry `key` names, or a sentence listing the keys.
fn catalog_entry(key: &str) -> Result<&'static ModelEntry> {
    match models::entry(key) {
        Some(entry) => Ok(entry),
        None => bail!(
            "{key:?} is not a model Pigeon knows: use one of {} (`pigeon models` lists them), \
             or `pigeon config --model-path FILE` for a model file you have",
            CATALOG.iter().map(|e| e.key).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Whether transcripts are made with `entry` (no model file given instead).
fn in_use(settings: &TranscriptionSettings, entry: &ModelEntry) -> bool {
    settings.model_path.is_none() && settings.model == entry.key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_model_lists_the_known_ones() {
        let error = catalog_entry("huge").unwrap_err().to_string();
        assert!(error.contains("base.en"), "{error}");
        assert!(error.contains("`pigeon models`"), "{error}");
        assert_eq!(catalog_entry(DEFAULT_MODEL).unwrap().key, DEFAULT_MODEL);
    }
}
