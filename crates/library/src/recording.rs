//! A recording into a new draft, uploaded while it is recorded.
//!
//! [`Recording::start`] creates the draft at once, starts the recorder on the sources
//! the user chose and, when the store is reachable, hands the recorder's fragment
//! announcements to the [`Outbox`] so the clip travels while it is recorded. Capture
//! never waits for the network: offline, the clip is simply uploaded at send.
//! The CLI and the desktop app both record through this type; what it records
//! ([`Sources`]) is chosen and opened in the `sources` submodule.
//!
//! A successful stop queues the draft's transcript (unless the face turned that off
//! with [`Recording::transcribe_at_stop`], from the user's settings); it is only queued
//! here, made later by the [`crate::Transcriber`], so neither the stop nor sending waits.
//!
//! While recording, [`Recording::next_chapter`] starts the next item of the agenda
//! ([`Recording::with_agenda`]) at the clip's time (pauses do not count); every mark is
//! saved in the draft at once, so a crashed recording keeps its chapters.

mod sources;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use pigeon_media::composite::BubbleControl;
use pigeon_media::mix::MixLevels;
use pigeon_media::{PreviewSettings, QualityPreset, Recorder, RecorderConfig, StopReason};
use pigeon_store::protocol::{Chapter, Limits};
use pigeon_store::BlobUpload;

pub use sources::{
    AudioChoice, Bubble, MixGains, OpenedSources, Sources, VideoChoice, SCREEN_FPS, SCREEN_QUALITY,
};

use crate::clock::{Clock, SystemClock};
use crate::db::{Draft, Library};
use crate::error::{LibraryError, Result};
use crate::outbox::Outbox;

/// How long a stop waits for the clip's upload (what is still in flight, the tail, the
/// seal and the poster) before it returns, whatever the network does; what is left is
/// sent at delivery, resumed from what the store acknowledged.
pub const STOP_WAITS_FOR_UPLOAD: Duration = Duration::from_secs(5);

/// How a recording is set up, beyond its sources.
#[derive(Debug, Clone)]
pub struct RecordingOptions {
    /// The quality of a camera recording; a screen is recorded at [`SCREEN_QUALITY`].
    pub quality: QualityPreset,
    pub max_length: Duration,
    /// Preview frames for a screen; None when nobody watches (the CLI).
    pub preview: Option<PreviewSettings>,
}

impl Default for RecordingOptions {
    fn default() -> Self {
        RecordingOptions {
            quality: QualityPreset::default(),
            max_length: pigeon_media::recorder::DEFAULT_MAX_LENGTH,
            preview: None,
        }
    }
}

/// How a recording ended: the ready draft and why it stopped.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub draft: Draft,
    pub reason: StopReason,
}

/// A recording in progress, tied to its draft.
pub struct Recording {
    library: Arc<Library>,
    draft: Draft,
    recorder: Recorder,
    upload: Option<(Outbox, tokio::task::JoinHandle<Option<BlobUpload>>)>,
    bubble: Option<BubbleControl>,
    mix: Option<MixLevels>,
    transcribe: bool,
    /// The titles typed before recording, in order.
    agenda: Vec<String>,
    /// The chapters marked so far, as saved in the draft.
    chapters: Mutex<Vec<Chapter>>,
}

impl Recording {
    /// Creates a draft and starts recording into it. With an `outbox` (the store is
    /// reachable), completed fragments are uploaded while recording; this must then be
    /// called within a tokio runtime. If the recorder cannot start, no draft is left.
    pub fn start(
        library: Arc<Library>,
        outbox: Option<Outbox>,
        sources: &Sources,
        options: &RecordingOptions,
    ) -> Result<Self> {
        Self::start_at(library, outbox, sources, options, SystemClock.now())
    }

    /// [`Recording::start`], with the draft created at `now` (the caller's [`Clock`]).
    pub fn start_at(
        library: Arc<Library>,
        outbox: Option<Outbox>,
        sources: &Sources,
        options: &RecordingOptions,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let quality = sources.quality(options.quality);
        let OpenedSources {
            video,
            audio,
            bubble,
            mix,
        } = sources.open(quality)?;
        let draft = library.create_draft(now)?;
        let mut config = RecorderConfig::new(&draft.clip_path);
        config.quality = quality;
        config.content = sources.content();
        config.max_length = options.max_length;
        config.preview = options.preview;
        let recorder = match Recorder::start(config, video, audio) {
            Ok(recorder) => recorder,
            Err(e) => {
                library.delete_draft(&draft.id)?;
                return Err(e.into());
            }
        };
        let upload = outbox.map(|outbox| {
            let task = outbox.upload_while_recording(
                &draft.id,
                &draft.clip_path,
                recorder.fragments().clone(),
            );
            (outbox, task)
        });
        Ok(Recording {
            library,
            draft,
            recorder,
            upload,
            bubble,
            mix,
            transcribe: true,
            agenda: Vec::new(),
            chapters: Mutex::new(Vec::new()),
        })
    }

    /// Records along an agenda: its first title is the first chapter, from the start;
    /// each [`Recording::next_chapter`] takes the next title ("Item N" past the list).
    /// A face checks what the user typed with [`crate::chapters::check_agenda`] first;
    /// here, blank titles are skipped and the list is cut to what a clip may carry.
    pub fn with_agenda(mut self, titles: Vec<String>) -> Self {
        let limits = Limits::default();
        self.agenda = titles
            .into_iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| pigeon_store::protocol::fields::name("a chapter title", t).is_ok())
            .map(|t| {
                t.chars()
                    .take(limits.max_chapter_title_chars as usize)
                    .collect()
            })
            .take(limits.max_chapters as usize)
            .collect();
        let first = self.agenda.first().map(|title| Chapter {
            start_ms: 0,
            title: title.clone(),
        });
        let chapters = self.chapters.get_mut().unwrap_or_else(|p| p.into_inner());
        *chapters = first.into_iter().collect();
        if chapters.is_empty() {
            return self;
        }
        if let Err(e) = self.library.set_draft_chapters(&self.draft.id, chapters) {
            // Kept here and saved with the next mark or at the stop.
            tracing::warn!(draft = %self.draft.id, error = %e, "the agenda is not saved yet");
        }
        self
    }

    /// Starts the next chapter now (the clip's time so far) and saves it in the draft.
    /// The first mark of a recording without an agenda also makes "Item 1" from the
    /// start. A mark within [`crate::chapters::MIN_CHAPTER_MS`] of the previous
    /// chapter's start is refused, as is one past the most a clip may carry.
    pub fn next_chapter(&self) -> Result<Chapter> {
        let at_ms = self.recorder.elapsed().as_millis() as u64;
        let mut chapters = self.chapters.lock().unwrap_or_else(|p| p.into_inner());
        let mut marked = chapters.clone();
        if marked.is_empty() {
            marked.push(Chapter {
                start_ms: 0,
                title: self.title_of(0),
            });
        }
        if let Some(last) = marked.last() {
            if at_ms < last.start_ms + crate::chapters::MIN_CHAPTER_MS {
                return Err(LibraryError::Invalid(format!(
                    "chapter {} ({}) began less than half a second ago: wait a moment before marking the next item",
                    marked.len(),
                    last.title
                )));
            }
        }
        let chapter = Chapter {
            start_ms: at_ms,
            title: self.title_of(marked.len()),
        };
        marked.push(chapter.clone());
        self.library.set_draft_chapters(&self.draft.id, &marked)?;
        *chapters = marked;
        Ok(chapter)
    }

    /// The chapters marked so far (the agenda's first item from the start).
    pub fn chapters(&self) -> Vec<Chapter> {
        self.chapters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The agenda's title of the chapter at `index` (0-based), or "Item N".
    fn title_of(&self, index: usize) -> String {
        self.agenda
            .get(index)
            .cloned()
            .unwrap_or_else(|| crate::chapters::default_title(index + 1))
    }

    /// Whether the stop queues the clip's transcript: pass the user's
    /// [`crate::settings::TranscriptionSettings::enabled`] (on unless told otherwise).
    pub fn transcribe_at_stop(mut self, enabled: bool) -> Self {
        self.transcribe = enabled;
        self
    }

    pub fn draft_id(&self) -> &str {
        &self.draft.id
    }

    /// The recorder: pause, resume, progress events, previews, level.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// Moves the camera bubble while recording (a screen recording with the camera).
    pub fn bubble(&self) -> Option<BubbleControl> {
        self.bubble.clone()
    }

    /// The microphone's and the computer sound's levels while recording (when both
    /// are mixed).
    pub fn mix_levels(&self) -> Option<MixLevels> {
        self.mix.clone()
    }

    /// Stops, finishes the draft and sends the clip's tail. If the store is away or
    /// slow, the rest is uploaded at send: a stop waits for the network at most
    /// [`STOP_WAITS_FOR_UPLOAD`].
    pub async fn stop(self) -> Result<Recorded> {
        let Recording {
            library,
            draft,
            recorder,
            upload,
            transcribe,
            chapters,
            ..
        } = self;
        let chapters = chapters.into_inner().unwrap_or_else(|p| p.into_inner());
        let outcome = tokio::task::spawn_blocking(move || recorder.stop())
            .await
            .map_err(|e| LibraryError::Corrupt(format!("the recorder thread failed: {e}")))??;
        let (id, duration, playable) =
            (draft.id.clone(), outcome.duration, outcome.playable.clone());
        library
            .blocking(move |l| {
                if !chapters.is_empty() {
                    // Each mark was saved; this saves an agenda that could not be.
                    l.set_draft_chapters(&id, &chapters)?;
                }
                l.finish_draft(&id, duration, playable.as_deref(), false)?;
                if transcribe {
                    // Queued only: the Transcriber makes it in the background.
                    let owner = crate::transcripts::TranscriptOwner::Draft(id.clone());
                    l.queue_transcription(&owner, SystemClock.now())?;
                }
                Ok(())
            })
            .await?;
        if let Some((outbox, mut task)) = upload {
            // One bound for the whole wait: the upload task may itself be stuck on a
            // request to a stalling hub, so it is awaited under the same timeout.
            let finish = async {
                let upload = (&mut task).await.ok().flatten();
                outbox.finish_clip(&draft.id, upload).await
            };
            match tokio::time::timeout(STOP_WAITS_FOR_UPLOAD, finish).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::info!(error = %e, "the clip will be uploaded at send"),
                Err(_) => {
                    // Stopped here, not left running: a delivery must not race it on
                    // the same blob. Nothing is lost, the clip is on disk and the
                    // delivery resumes from the store's acknowledged offset.
                    task.abort();
                    tracing::info!("the store is slow or away: the clip will be uploaded at send");
                }
            }
        }
        Ok(Recorded {
            draft: library.draft(&draft.id)?,
            reason: outcome.stop_reason,
        })
    }

    /// Throws the recording away: nothing of it stays on this machine.
    pub fn discard(self) -> Result<()> {
        if let Some((_, task)) = &self.upload {
            task.abort();
        }
        if let Err(e) = self.recorder.cancel() {
            tracing::info!(error = %e, "the discarded recording did not end cleanly");
        }
        discard_draft(&self.library, &self.draft.id)
    }
}

/// Deletes a draft that was not sent and its local files (re-record, discard).
pub fn discard_draft(library: &Library, id: &str) -> Result<()> {
    let draft = library.draft(id)?;
    if !matches!(
        draft.state,
        crate::db::DraftState::Ready | crate::db::DraftState::Recording
    ) {
        return Err(LibraryError::Invalid(format!(
            "draft {id} is already {}: it can no longer be discarded",
            draft.state.as_str()
        )));
    }
    for path in [Some(draft.clip_path.clone()), draft.playable_path.clone()]
        .into_iter()
        .flatten()
    {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(LibraryError::io(&path, e)),
        }
    }
    let _ = std::fs::remove_file(pigeon_media::recovery::marker_path(&draft.clip_path));
    library.delete_draft(&draft.id)
}

#[cfg(test)]
mod tests;
