//! One transcription job: the clip found, its sound decoded, the model (loaded once)
//! run with progress, and the result stored for the very job that was taken.

use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use pigeon_store::protocol::Transcript;
use pigeon_transcribe::{Model, TranscribeError, TranscribeOptions};

use super::{ModelStatus, Shared};
use crate::db::transcripts::Job;
use crate::error::Result;
use crate::settings::TranscriptionSettings;
use crate::transcripts::{TranscriptOwner, TranscriptState};

/// Progress is stored (and reported) in steps of this much, not for every percent.
const PROGRESS_STEP: f32 = 0.02;

/// How a job ended.
pub(super) enum Outcome {
    /// Done or failed (stored).
    Finished,
    /// A received clip that is not downloaded: left queued.
    WaitsForDownload,
    /// Queued again, or replaced by a received transcript, while it ran.
    Superseded,
    /// [`super::Transcriber::cancel`]: back in the queue.
    Cancelled,
}

/// Why a job made no transcript.
enum NotMade {
    /// The one sentence stored as its failure.
    Failed(String),
    /// Queued again or replaced while it ran: its result would be thrown away.
    Superseded,
    /// [`super::Transcriber::cancel`].
    Cancelled,
}

/// The model kept loaded between jobs (loading base.en takes a second or two).
#[derive(Default)]
pub(super) struct Engine {
    loaded: Option<(PathBuf, Model)>,
}

impl Engine {
    fn model(&mut self, path: &Path) -> Result<&Model, TranscribeError> {
        if self.loaded.as_ref().map(|(p, _)| p.as_path()) != Some(path) {
            self.loaded = None;
            self.loaded = Some((path.to_path_buf(), Model::load(path)?));
        }
        match &self.loaded {
            Some((_, model)) => Ok(model),
            None => Err(TranscribeError::Engine("the model was not kept".into())),
        }
    }
}

/// The clip a job transcribes and its length as recorded (for an empty transcript).
struct Clip {
    path: PathBuf,
    duration_ms: u64,
}

impl Shared {
    pub(super) fn run_job(
        &self,
        engine: &mut Engine,
        job: &Job,
        settings: &TranscriptionSettings,
        status: &ModelStatus,
    ) -> Result<Outcome> {
        let clip = match self.clip_of(&job.owner) {
            Ok(Some(clip)) => Ok(clip),
            Ok(None) => return Ok(Outcome::WaitsForDownload),
            Err(reason) => Err(reason),
        };
        if !self.library.start_transcription(job)? {
            return Ok(Outcome::Superseded);
        }
        self.emit(&job.owner, TranscriptState::Running { progress: 0.0 });
        let made = match (clip, status) {
            (Err(reason), _) => Err(NotMade::Failed(reason)),
            (Ok(clip), ModelStatus::Ready(model)) => {
                // whisper.cpp is C++: a panic (or a Rust bug around it) fails this job
                // with a sentence instead of leaving it running for ever.
                std::panic::catch_unwind(AssertUnwindSafe(|| {
                    self.make(engine, job, &clip, model, settings)
                }))
                .unwrap_or_else(|_| {
                    engine.loaded = None;
                    let e = TranscribeError::Engine("it stopped unexpectedly".into());
                    Err(NotMade::Failed(e.to_string()))
                })
            }
            (Ok(_), status) => Err(NotMade::Failed(status.problem().unwrap_or_default())),
        };
        let now = self.now();
        match made {
            Ok(transcript) => {
                if !self.library.finish_transcription(job, &transcript, now)? {
                    return Ok(Outcome::Superseded);
                }
                tracing::info!(owner = %job.owner, segments = transcript.segments.len(), "transcript made");
                self.emit(&job.owner, TranscriptState::Done);
                Ok(Outcome::Finished)
            }
            Err(NotMade::Cancelled) => {
                self.library.return_transcription(job)?;
                self.emit(&job.owner, TranscriptState::Queued);
                Ok(Outcome::Cancelled)
            }
            Err(NotMade::Superseded) => Ok(Outcome::Superseded),
            Err(NotMade::Failed(reason)) => {
                if !self.library.fail_transcription(job, &reason, now)? {
                    return Ok(Outcome::Superseded);
                }
                tracing::warn!(owner = %job.owner, reason, "no transcript");
                self.emit(&job.owner, TranscriptState::Failed { reason });
                Ok(Outcome::Finished)
            }
        }
    }

    /// The clip of `owner`: Ok(None) while a received clip is not downloaded; Err with
    /// the sentence a job fails with when there is none to transcribe.
    fn clip_of(&self, owner: &TranscriptOwner) -> Result<Option<Clip>, String> {
        let usable = |playable: Option<PathBuf>, clip: Option<PathBuf>| {
            playable
                .filter(|p| p.is_file())
                .or(clip.filter(|p| p.is_file()))
        };
        match owner {
            TranscriptOwner::Draft(id) => {
                let draft = self
                    .library
                    .draft(id)
                    .map_err(|_| "the recording was deleted, so it has no transcript".to_owned())?;
                let duration_ms = draft.duration.map_or(0, |d| d.as_millis() as u64);
                match usable(draft.playable_path, Some(draft.clip_path.clone())) {
                    Some(path) => Ok(Some(Clip { path, duration_ms })),
                    None => Err(format!(
                        "the recording file {} is gone, so it has no transcript",
                        draft.clip_path.display()
                    )),
                }
            }
            TranscriptOwner::Message(id) => {
                let received = self.library.received(id.as_str()).map_err(|_| {
                    "the message is no longer in this library, so it has no transcript".to_owned()
                })?;
                let duration_ms = received.message.duration_ms.unwrap_or(0);
                Ok(usable(received.playable_path, received.clip_path)
                    .map(|path| Clip { path, duration_ms }))
            }
        }
    }

    /// Decodes and transcribes; the error is the job's one-sentence failure.
    fn make(
        &self,
        engine: &mut Engine,
        job: &Job,
        clip: &Clip,
        model_path: &Path,
        settings: &TranscriptionSettings,
    ) -> Result<Transcript, NotMade> {
        let failed = |e: TranscribeError| NotMade::Failed(e.to_string());
        let model = engine.model(model_path).map_err(failed)?;
        let sound = match pigeon_transcribe::decode_sound(&clip.path) {
            Ok(sound) => sound,
            // Nothing was said: an empty transcript, not a failure.
            Err(TranscribeError::NoSound { .. }) => {
                return Ok(Transcript {
                    language: settings.language.clone().unwrap_or_else(|| "en".into()),
                    model: model.name().to_owned(),
                    duration_ms: clip.duration_ms,
                    segments: Vec::new(),
                })
            }
            Err(e) => return Err(failed(e)),
        };
        let options = TranscribeOptions {
            language: settings.language.clone(),
            ..TranscribeOptions::default()
        };
        // whisper.cpp polls the stop flag itself (a cancel stops it within a moment);
        // a job found superseded at a progress step raises it too, for this job only.
        let superseded = Cell::new(false);
        let mut reported = 0.0f32;
        let mut progress = |p: f32| {
            if p - reported < PROGRESS_STEP {
                return;
            }
            reported = p;
            match self.library.set_transcription_progress(job, p) {
                Ok(false) => {
                    superseded.set(true);
                    self.stop.store(true, Ordering::SeqCst);
                }
                Ok(true) => self.emit(&job.owner, TranscriptState::Running { progress: p }),
                Err(e) => tracing::info!(error = %e, "could not store the progress"),
            }
        };
        let made =
            pigeon_transcribe::transcribe(model, &sound, &options, &mut progress, &self.stop);
        match made {
            Ok(transcript) => Ok(transcript),
            Err(TranscribeError::Cancelled) if superseded.get() => {
                self.stop.store(false, Ordering::SeqCst);
                Err(NotMade::Superseded)
            }
            Err(TranscribeError::Cancelled) => Err(NotMade::Cancelled),
            Err(e) => Err(failed(e)),
        }
    }
}
