//! Making transcripts here: the [`Transcriber`] runs queued jobs one at a time on a
//! thread of its own below every other thread's priority (a recording never loses a
//! frame to it), loads the model once and keeps it, and stores each result (see
//! [`crate::transcripts`] for the jobs).
//!
//! Nothing else ever waits for it: a Stop only queues the job, sending goes at once,
//! and a transcript finished after the message was sent is shared by the next
//! [`crate::Outbox::share_transcripts`]. A model that is off, missing, partial or of the
//! wrong kind fails the job with one sentence ([`ModelStatus::problem`]) and breaks
//! nothing else; a clip without sound, or with silence only, gets an empty transcript.
//! A job left running by a killed process is run again by the next Transcriber.

mod job;
mod model;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};

pub use model::ModelStatus;

use crate::clock::{Clock, SystemClock};
use crate::db::Library;
use crate::error::{LibraryError, Result};
use crate::settings::TranscriptionSettings;
use crate::transcripts::{TranscriptOwner, TranscriptState};

/// A job changed state: queued again, running (with its progress), done or failed.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptionEvent {
    pub owner: TranscriptOwner,
    pub state: TranscriptState,
}

/// Called from the Transcriber's thread for every [`TranscriptionEvent`].
pub type EventFn = Arc<dyn Fn(TranscriptionEvent) + Send + Sync>;

/// Runs a library's queued transcription jobs, one at a time, on its own thread.
pub struct Transcriber {
    shared: Arc<Shared>,
    worker: Mutex<Option<mpsc::Sender<Run>>>,
}

/// What the Transcriber's thread reads.
struct Shared {
    library: Arc<Library>,
    settings: Mutex<TranscriptionSettings>,
    models_dir: PathBuf,
    events: Mutex<Option<EventFn>>,
    clock: Mutex<Arc<dyn Clock>>,
    /// Set by [`Transcriber::cancel`]: the running job goes back to the queue.
    stop: AtomicBool,
}

/// One pass over the queue, answered with how many jobs finished.
struct Run {
    reply: tokio::sync::oneshot::Sender<Result<usize>>,
}

impl Transcriber {
    /// A Transcriber for `library` with the model `settings` name (a catalog model is
    /// looked for in `models_dir`, usually [`crate::PigeonHome::models_dir`]). Its thread
    /// starts with the first [`Transcriber::run_pending`].
    pub fn new(
        library: Arc<Library>,
        settings: TranscriptionSettings,
        models_dir: PathBuf,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                library,
                settings: Mutex::new(settings),
                models_dir,
                events: Mutex::new(None),
                clock: Mutex::new(Arc::new(SystemClock)),
                stop: AtomicBool::new(false),
            }),
            worker: Mutex::new(None),
        }
    }

    /// Reports every job's changes (progress while it runs) to `f`, on the
    /// Transcriber's thread: keep it short.
    pub fn with_progress(self, f: impl Fn(TranscriptionEvent) + Send + Sync + 'static) -> Self {
        *lock(&self.shared.events) = Some(Arc::new(f));
        self
    }

    /// Times jobs by `clock` (tests).
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        *lock(&self.shared.clock) = clock;
        self
    }

    /// Uses new settings from the next job on (the model is loaded again if it changed).
    pub fn set_settings(&self, settings: TranscriptionSettings) {
        *lock(&self.shared.settings) = settings;
    }

    pub fn settings(&self) -> TranscriptionSettings {
        lock(&self.shared.settings).clone()
    }

    /// Whether the model of the current settings can be used.
    pub fn status(&self) -> ModelStatus {
        ModelStatus::of(&self.settings(), &self.shared.models_dir)
    }

    /// Whether transcripts can be made with the model `settings` name.
    pub fn model_status(settings: &TranscriptionSettings, models_dir: &Path) -> ModelStatus {
        ModelStatus::of(settings, models_dir)
    }

    /// Stops the job running now (it goes back to the queue, to be made later) and
    /// ends the current [`Transcriber::run_pending`].
    pub fn cancel(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }

    /// Runs every queued job (and every job a killed process left running), one at a
    /// time, oldest first; returns how many finished (done or failed). A received
    /// message's job whose clip is not downloaded stays queued
    /// ([`crate::transcripts::StoredTranscript::waits_for_download`]). When another
    /// process is already working through this library's queue, returns 0 at once: it
    /// makes them.
    ///
    /// Dropping the future does not stop the job running (see [`Self::cancel`]).
    pub async fn run_pending(&self) -> Result<usize> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.worker()?.send(Run { reply }).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    fn worker(&self) -> Result<mpsc::Sender<Run>> {
        let mut worker = lock(&self.worker);
        if let Some(sender) = worker.as_ref() {
            return Ok(sender.clone());
        }
        let (sender, runs) = mpsc::channel::<Run>();
        let shared = self.shared.clone();
        std::thread::Builder::new()
            .name("transcriber".into())
            .spawn(move || {
                // Before whisper.cpp starts its threads from here: they inherit it.
                pigeon_transcribe::lower_this_threads_priority();
                let mut engine = job::Engine::default();
                for run in runs {
                    shared.stop.store(false, Ordering::SeqCst);
                    let result = shared.run_queue(&mut engine);
                    let _ = run.reply.send(result);
                }
            })
            .map_err(|e| {
                LibraryError::Invalid(format!(
                    "the transcription thread could not start ({e}): close some programs and try again"
                ))
            })?;
        *worker = Some(sender.clone());
        Ok(sender)
    }
}

impl Shared {
    /// One pass: every job queued, until none is left or [`Transcriber::cancel`].
    fn run_queue(&self, engine: &mut job::Engine) -> Result<usize> {
        let lock_path = self.library.files_dir().join("transcription.lock");
        let Some(_lock) = model::QueueLock::try_take(&lock_path)? else {
            tracing::info!("another Pigeon is making this library's transcripts");
            return Ok(0);
        };
        let resumed = self.library.requeue_interrupted_transcriptions()?;
        if resumed > 0 {
            tracing::info!(resumed, "transcripts interrupted by a stop are made again");
        }
        let settings = lock(&self.settings).clone();
        let status = ModelStatus::of(&settings, &self.models_dir);
        let mut finished = 0;
        let mut waiting = std::collections::HashSet::new();
        loop {
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            let Some(next) = self
                .library
                .queued_transcriptions()?
                .into_iter()
                .find(|j| !waiting.contains(&j.owner))
            else {
                break;
            };
            match self.run_job(engine, &next, &settings, &status)? {
                job::Outcome::Finished => finished += 1,
                job::Outcome::WaitsForDownload => {
                    waiting.insert(next.owner);
                }
                job::Outcome::Superseded => {}
                job::Outcome::Cancelled => break,
            }
        }
        Ok(finished)
    }

    fn emit(&self, owner: &TranscriptOwner, state: TranscriptState) {
        let events = lock(&self.events).clone();
        if let Some(events) = events {
            events(TranscriptionEvent {
                owner: owner.clone(),
                state,
            });
        }
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        lock(&self.clock).now()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The values behind these locks are replaced whole: a panic leaves them usable.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn stopped() -> LibraryError {
    LibraryError::Invalid(
        "the transcription thread stopped unexpectedly: restart Pigeon to make transcripts".into(),
    )
}
