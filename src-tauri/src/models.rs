//! Settings › Transcription: on or off, which model (from the catalog, or a model
//! file already on disk), the language, and the model's download — its size said
//! before asking, with progress, cancel, and resumable — plus the model status the
//! Player's first-use notice reads.
//!
//! The catalog, the download and its checks live in `pigeon_transcribe::models`; what
//! "ready" means lives in the library's `Transcriber::model_status`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use pigeon_library::settings::TranscriptionSettings;
use pigeon_library::transcription::{ModelStatus, Transcriber};
use pigeon_transcribe::models::{self, DownloadProgress, ModelEntry, CATALOG, DEFAULT_MODEL};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter as _, Manager as _, State};
use tauri_plugin_dialog::DialogExt as _;

use crate::blocking;
use crate::error::CommandResult;
use crate::session::Session;

/// Emitted with a [`ModelDownloadView`] while a model downloads and when it stops.
pub const MODEL_DOWNLOAD_EVENT: &str = "model-download";

/// How many progress events a download sends at most (one per half percent).
const PROGRESS_STEPS: u64 = 200;

/// Whether a transcript can be made now, and if not, what to offer.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ModelStatusView {
    Ready {
        path: String,
    },
    NotDownloaded {
        key: &'static str,
        label: &'static str,
        bytes: u64,
    },
    Off,
    Broken {
        sentence: String,
    },
}

impl From<ModelStatus> for ModelStatusView {
    fn from(status: ModelStatus) -> Self {
        match status {
            ModelStatus::Ready(path) => Self::Ready {
                path: path.display().to_string(),
            },
            ModelStatus::NotDownloaded(entry) => Self::NotDownloaded {
                key: entry.key,
                label: entry.label,
                bytes: entry.bytes,
            },
            ModelStatus::Off => Self::Off,
            ModelStatus::Broken(sentence) => Self::Broken {
                sentence: as_sentence(&sentence),
            },
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptionSettingsView {
    pub enabled: bool,
    pub model: String,
    pub model_path: Option<String>,
    pub language: Option<String>,
    pub status: ModelStatusView,
    pub models_dir: String,
}

/// What the user chose in Settings › Transcription.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptionChoice {
    pub enabled: bool,
    pub model: String,
    pub model_path: Option<String>,
    pub language: Option<String>,
}

/// One model of the catalog.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelView {
    pub key: &'static str,
    pub label: &'static str,
    pub bytes: u64,
    pub installed: bool,
    pub multilingual: bool,
    pub is_default: bool,
    /// Part of it was downloaded: Download continues from there.
    pub partial: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelDownloadView {
    pub key: String,
    pub done: u64,
    pub total: u64,
    pub finished: bool,
    pub cancelled: bool,
    pub error: Option<String>,
}

/// The library's words ("the speech model … is incomplete: download it again") as a
/// sentence on its own line: a capital first letter and a full stop.
pub fn as_sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let mut sentence: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !sentence.ends_with(['.', '!', '?']) {
        sentence.push('.');
    }
    sentence
}

/// The downloads running now, each with its cancel flag.
#[derive(Default)]
pub struct ModelDownloads(Mutex<HashMap<String, Arc<AtomicBool>>>);

fn status_of(settings: &TranscriptionSettings, dir: &Path) -> ModelStatusView {
    Transcriber::model_status(settings, dir).into()
}

/// Only on the blocking pool: the status looks at the model file.
fn view_of(session: &Session, settings: &TranscriptionSettings) -> TranscriptionSettingsView {
    let dir = session.home.models_dir();
    TranscriptionSettingsView {
        enabled: settings.enabled,
        model: settings.model.clone(),
        model_path: settings
            .model_path
            .as_ref()
            .map(|p| p.display().to_string()),
        language: settings.language.clone(),
        status: status_of(settings, &dir),
        models_dir: dir.display().to_string(),
    }
}

async fn current_view(app: &AppHandle) -> anyhow::Result<TranscriptionSettingsView> {
    crate::session::blocking(app.clone(), |_, session| {
        let settings = session.settings_blocking()?.transcription;
        Ok(view_of(session, &settings))
    })
    .await
}

/// Where a download of `entry` keeps what arrived so far.
fn partial_file(entry: &ModelEntry, dir: &Path) -> PathBuf {
    dir.join(format!("{}.part", entry.file_name))
}

/// A model became usable (downloaded, chosen, turned on): the jobs that failed for
/// the want of one are queued again and the transcriber is woken.
async fn model_may_be_ready(session: &Session) -> anyhow::Result<()> {
    let now = session.now();
    let requeued = session
        .library_call(move |library| library.requeue_failed_transcriptions(now))
        .await?;
    if requeued > 0 {
        tracing::info!(requeued, "transcripts that failed are made again");
    }
    session.transcribe.notify_one();
    Ok(())
}

#[tauri::command]
pub async fn transcription_settings(app: AppHandle) -> CommandResult<TranscriptionSettingsView> {
    Ok(current_view(&app).await?)
}

/// Ready, not downloaded (with what to offer), off, or broken (one sentence).
#[tauri::command]
pub async fn model_status(app: AppHandle) -> CommandResult<ModelStatusView> {
    Ok(current_view(&app).await?.status)
}

/// Saves the choice; a model or language the catalog does not know is refused.
#[tauri::command]
pub async fn set_transcription_settings(
    app: AppHandle,
    choice: TranscriptionChoice,
) -> CommandResult<TranscriptionSettingsView> {
    let session = app.state::<Session>();
    let model_path = match choice.model_path.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(path) if Path::new(path).is_absolute() => Some(PathBuf::from(path)),
        Some(path) => {
            return Err(anyhow!(
            "{path:?} is not a full path: choose the model file with \"Use a model file on disk\""
        )
            .into())
        }
    };
    let mut settings = session.settings().await?;
    let transcription = &mut settings.transcription;
    transcription.enabled = choice.enabled;
    transcription.set_model(choice.model.trim())?;
    transcription.set_language(choice.language.as_deref())?;
    transcription.model_path = model_path;
    session.save_settings(settings, "transcription").await?;
    let view = current_view(&app).await?;
    if matches!(view.status, ModelStatusView::Ready { .. }) {
        model_may_be_ready(&session).await?;
    }
    Ok(view)
}

/// "Use a model file on disk": the system's file dialog; None when cancelled.
#[tauri::command]
pub async fn pick_model_file(app: AppHandle) -> CommandResult<Option<TranscriptionSettingsView>> {
    let dialog = app
        .dialog()
        .file()
        .set_title("Use a Whisper model file (ggml .bin)")
        .add_filter("Whisper ggml model", &["bin"]);
    let picked = blocking::run(move || Ok(dialog.blocking_pick_file())).await?;
    let Some(path) = picked.and_then(|p| p.into_path().ok()) else {
        return Ok(None);
    };
    let session = app.state::<Session>();
    let mut settings = session.settings().await?;
    settings.transcription.model_path = Some(path);
    session.save_settings(settings, "model file").await?;
    let view = current_view(&app).await?;
    if matches!(view.status, ModelStatusView::Ready { .. }) {
        model_may_be_ready(&session).await?;
    }
    Ok(Some(view))
}

#[tauri::command]
pub async fn model_catalog(app: AppHandle) -> CommandResult<Vec<ModelView>> {
    Ok(crate::session::blocking(app, |_, session| {
        let dir = session.home.models_dir();
        Ok(CATALOG
            .iter()
            .map(|entry| ModelView {
                key: entry.key,
                label: entry.label,
                bytes: entry.bytes,
                installed: models::installed(entry, &dir).is_some(),
                multilingual: entry.multilingual,
                is_default: entry.key == DEFAULT_MODEL,
                partial: partial_file(entry, &dir).is_file(),
            })
            .collect())
    })
    .await?)
}

fn emit(app: &AppHandle, view: ModelDownloadView) {
    let _ = app.emit(MODEL_DOWNLOAD_EVENT, view);
}

/// Downloads the model (continuing a partial download), checks it and makes it the
/// chosen model; progress goes out as [`MODEL_DOWNLOAD_EVENT`].
#[tauri::command]
pub async fn download_model(
    app: AppHandle,
    downloads: State<'_, ModelDownloads>,
    key: String,
) -> CommandResult<TranscriptionSettingsView> {
    let entry = models::entry(&key)
        .ok_or_else(|| anyhow!("there is no model called {key:?} to download"))?;
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let mut running = downloads
            .0
            .lock()
            .map_err(|_| anyhow!("the model download could not start; restart Pigeon"))?;
        if running.contains_key(&key) {
            return Err(anyhow!("{} is already downloading", entry.label).into());
        }
        running.insert(key.clone(), cancel.clone());
    }
    let session = app.state::<Session>();
    let dir = session.home.models_dir();
    let progress_app = app.clone();
    let step = (entry.bytes / PROGRESS_STEPS).max(1);
    let mut last = None::<u64>;
    let progress = move |p: DownloadProgress| {
        if last.is_some_and(|l| p.done < l + step && p.done < p.total) {
            return;
        }
        last = Some(p.done);
        emit(
            &progress_app,
            ModelDownloadView {
                key: entry.key.to_owned(),
                done: p.done,
                total: p.total,
                finished: false,
                cancelled: false,
                error: None,
            },
        );
    };
    let result = models::download(entry, &dir, progress, &cancel).await;
    if let Ok(mut running) = downloads.0.lock() {
        running.remove(&key);
    }
    let cancelled = cancel.load(Ordering::SeqCst);
    let arrived = tokio::fs::metadata(partial_file(entry, &dir))
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    match result {
        Ok(path) => {
            tracing::info!(model = entry.key, path = %path.display(), "model downloaded");
            let mut settings = session.settings().await?;
            settings.transcription.model = entry.key.to_owned();
            session.save_settings(settings, "model").await?;
            model_may_be_ready(&session).await?;
            emit(
                &app,
                ModelDownloadView {
                    key,
                    done: entry.bytes,
                    total: entry.bytes,
                    finished: true,
                    cancelled: false,
                    error: None,
                },
            );
            Ok(current_view(&app).await?)
        }
        Err(error) => {
            let sentence = if cancelled {
                format!(
                    "The download of {} was stopped; Download continues where it stopped.",
                    entry.label
                )
            } else {
                format!("{error}")
            };
            emit(
                &app,
                ModelDownloadView {
                    key,
                    done: arrived,
                    total: entry.bytes,
                    finished: false,
                    cancelled,
                    error: Some(sentence.clone()),
                },
            );
            Err(anyhow!(sentence).into())
        }
    }
}

/// Stops the model's download; what arrived is kept for the next Download.
#[tauri::command]
pub fn cancel_model_download(downloads: State<'_, ModelDownloads>, key: String) {
    if let Ok(running) = downloads.0.lock() {
        if let Some(cancel) = running.get(&key) {
            cancel.store(true, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_librarys_words_become_a_sentence() {
        assert_eq!(
            as_sentence("the speech model x.bin is incomplete: download it again"),
            "The speech model x.bin is incomplete: download it again."
        );
        assert_eq!(as_sentence("Already one."), "Already one.");
        assert_eq!(as_sentence(""), "");
    }

    #[test]
    fn a_model_not_downloaded_says_what_to_offer() {
        let entry = models::entry(DEFAULT_MODEL).unwrap();
        let view = ModelStatusView::from(ModelStatus::NotDownloaded(entry));
        assert_eq!(
            serde_json::to_value(view).unwrap(),
            serde_json::json!({
                "kind": "not-downloaded",
                "key": entry.key,
                "label": entry.label,
                "bytes": entry.bytes,
            })
        );
        assert_eq!(
            serde_json::to_value(ModelStatusView::from(ModelStatus::Broken(
                "the model file is damaged".into()
            )))
            .unwrap(),
            serde_json::json!({ "kind": "broken", "sentence": "The model file is damaged." })
        );
        assert_eq!(
            serde_json::to_value(ModelStatusView::Off).unwrap(),
            serde_json::json!({ "kind": "off" })
        );
    }
}
