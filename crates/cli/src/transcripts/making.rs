//! Making transcripts here: the Transcriber run with a progress bar (Ctrl-C puts the
//! job back in the queue), after `pigeon send` delivered, at `pigeon sync` and for
//! `pigeon transcribe`, and sharing the finished ones of sent messages.

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use pigeon_library::settings::TranscriptionSettings;
use pigeon_library::transcription::{ModelStatus, Transcriber, TranscriptionEvent};
use pigeon_library::transcripts::{StoredTranscript, TranscriptOwner, TranscriptState};

use super::{language_text, megabytes};
use crate::output::{self, short};
use crate::App;

impl App {
    /// Runs every queued transcription here with a progress bar; how many finished.
    /// Ctrl-C puts the running job back in the queue and ends the run (see
    /// [`App::leave_if_interrupted`]).
    pub async fn run_transcriptions(&self, settings: &TranscriptionSettings) -> Result<usize> {
        let bar = self.transcription_bar();
        let mut transcriber = Transcriber::new(
            self.library.clone(),
            settings.clone(),
            self.home.models_dir(),
        );
        if let Some(bar) = bar.clone() {
            transcriber = transcriber.with_progress(move |event: TranscriptionEvent| {
                if let TranscriptState::Running { progress } = event.state {
                    bar.set_message(format!("transcribing {}", owner_text(&event.owner)));
                    bar.set_position((progress.clamp(0.0, 1.0) * 1000.0) as u64);
                }
            });
        }
        let interrupted = crate::interrupt::flag();
        let run = transcriber.run_pending();
        tokio::pin!(run);
        let finished = loop {
            tokio::select! {
                finished = &mut run => break finished,
                // Asked again until the run ends: a job that starts later stops too.
                () = tokio::time::sleep(Duration::from_millis(50)) => {
                    if interrupted.load(Ordering::SeqCst) {
                        transcriber.cancel();
                    }
                }
            }
        };
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        Ok(finished?)
    }

    /// After a Ctrl-C stopped the transcription: says what stays queued and ends the run.
    pub(super) fn leave_if_interrupted(&self, sentence: &str) {
        if crate::interrupt::flag().load(Ordering::SeqCst) {
            eprintln!("{sentence}");
            // 128 + SIGINT, as a shell reports a process Ctrl-C ended.
            std::process::exit(130);
        }
    }

    /// A bar for transcription progress (0..1000), none under `--json`.
    fn transcription_bar(&self) -> Option<ProgressBar> {
        if self.out.json {
            return None;
        }
        let bar = ProgressBar::new(1000);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {percent:>3} %")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message("transcribing");
        Some(bar)
    }

    /// After `pigeon send` delivered: the sent clip's transcript, made here and shared,
    /// without ever failing the send (the message is out; `pigeon sync` finishes).
    pub async fn transcribe_sent(&self, draft_id: &str, message: &str, delivered: bool) {
        let owner = TranscriptOwner::Draft(draft_id.to_owned());
        let queued = matches!(
            self.library.transcript(&owner),
            Ok(Some(StoredTranscript {
                state: TranscriptState::Queued | TranscriptState::Running { .. },
                ..
            }))
        );
        if !queued {
            return;
        }
        let settings = &self.settings.transcription;
        match ModelStatus::of(settings, &self.home.models_dir()) {
            ModelStatus::Ready(_) => {}
            ModelStatus::Off => return,
            ModelStatus::NotDownloaded(entry) => {
                self.note(&format!(
                    "no transcript yet: the speech model {} ({}) is not downloaded; `pigeon \
                     models download {}` gets it, then `pigeon sync` makes and shares it",
                    entry.label,
                    megabytes(entry.bytes),
                    entry.key
                ));
                return;
            }
            ModelStatus::Broken(why) => {
                self.note(&format!("no transcript yet: {why}"));
                return;
            }
        }
        let id = short(message);
        let ran = self.run_transcriptions(settings).await;
        self.leave_if_interrupted(&format!(
            "stopped: message {id} was sent; its transcript stays queued and `pigeon sync` \
             makes and shares it"
        ));
        if let Err(e) = ran {
            self.note(&format!(
                "the transcript was not made ({}); `pigeon sync` tries again",
                output::error_text(&e)
            ));
            return;
        }
        let shared = delivered && self.share_transcripts_quietly().await;
        match self.library.transcript(&owner) {
            Ok(Some(StoredTranscript {
                state: TranscriptState::Done,
                transcript: Some(t),
                ..
            })) => self.note(&format!(
                "transcript made ({}, {} line(s)){}",
                language_text(&t.language),
                t.segments.len(),
                if shared {
                    " and shared with the recipients"
                } else {
                    "; it is shared at the next `pigeon sync`"
                }
            )),
            Ok(Some(StoredTranscript {
                state: TranscriptState::Failed { reason },
                ..
            })) => self.note(&format!(
                "the transcript could not be made: {reason}; `pigeon transcribe {id}` tries again"
            )),
            Ok(Some(StoredTranscript {
                state: TranscriptState::Queued,
                ..
            })) => self.note(
                "the transcript is queued: another Pigeon on this library (the desktop app) is \
                 making transcripts and makes and shares this one too",
            ),
            _ => {}
        }
    }

    /// `pigeon sync`'s part: queued transcriptions made (when the model is ready) and every
    /// finished one of a sent message shared. Returns (made, shared); a problem is a note.
    pub async fn transcribe_and_share_pending(
        &self,
        outbox: &pigeon_library::Outbox,
    ) -> (usize, usize) {
        let settings = &self.settings.transcription;
        let made = match ModelStatus::of(settings, &self.home.models_dir()) {
            ModelStatus::Ready(_) => match self.run_transcriptions(settings).await {
                Ok(made) => {
                    self.leave_if_interrupted(
                        "stopped: the transcripts not made yet stay queued for the next \
                         `pigeon sync`",
                    );
                    made
                }
                Err(e) => {
                    self.note(&format!(
                        "transcripts were not made ({}); the next `pigeon sync` tries again",
                        output::error_text(&e)
                    ));
                    0
                }
            },
            _ => 0,
        };
        let shared = match outbox.share_transcripts().await {
            Ok(shared) => shared,
            Err(e) => {
                self.note(&format!(
                    "transcripts were not shared ({}); the next `pigeon sync` tries again",
                    output::error_text(&anyhow::Error::new(e))
                ));
                0
            }
        };
        (made, shared)
    }

    /// Shares finished transcripts of sent messages; whether that worked.
    pub(super) async fn share_transcripts_quietly(&self) -> bool {
        let outbox = match self.outbox().await {
            Ok(outbox) => outbox,
            Err(e) => {
                tracing::info!(error = %e, "transcripts are shared at the next sync");
                return false;
            }
        };
        match outbox.share_transcripts().await {
            Ok(_) => true,
            Err(e) => {
                tracing::info!(error = %e, "transcripts are shared at the next sync");
                false
            }
        }
    }

    /// A line on stderr for a person; scripts under `--json` read the JSON only.
    fn note(&self, text: &str) {
        if !self.out.json {
            eprintln!("{text}");
        }
    }
}

fn owner_text(owner: &TranscriptOwner) -> String {
    match owner {
        TranscriptOwner::Draft(id) => format!("draft {}", short(id)),
        TranscriptOwner::Message(id) => format!("message {}", short(id.as_str())),
    }
}
