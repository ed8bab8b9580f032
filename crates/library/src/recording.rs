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

mod sources;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pigeon_media::composite::BubbleControl;
use pigeon_media::mix::MixLevels;
use pigeon_media::{PreviewSettings, QualityPreset, Recorder, RecorderConfig, StopReason};
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
        })
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
            ..
        } = self;
        let outcome = tokio::task::spawn_blocking(move || recorder.stop())
            .await
            .map_err(|e| LibraryError::Corrupt(format!("the recorder thread failed: {e}")))??;
        let (id, duration, playable) =
            (draft.id.clone(), outcome.duration, outcome.playable.clone());
        library
            .blocking(move |l| {
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
mod tests {
    use pigeon_store::protocol::Limits;
    use pigeon_store::{FolderStore, HubClient};

    use super::*;
    use crate::db::DraftState;
    use crate::home::PigeonHome;
    use crate::outbox::Delivery;
    use crate::test_support::{queue_to, user};

    /// A hub address that accepts connections and never answers: a hub stalling
    /// mid-request.
    fn stalling_hub() -> (std::net::TcpListener, String) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        (listener, url)
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_stop_returns_in_seconds_while_the_hub_stalls_and_the_draft_is_sent_later() {
        let dir = tempfile::tempdir().unwrap();
        let library = Arc::new(Library::open(&PigeonHome::at(dir.path().join("alice"))).unwrap());
        let (_listener, url) = stalling_hub();
        let hub = Outbox::new(
            library.clone(),
            Arc::new(HubClient::new(&url, "token").unwrap()),
        );
        let recording = Recording::start(
            library.clone(),
            Some(hub),
            &Sources::synthetic(),
            &RecordingOptions::default(),
        )
        .unwrap();
        // Stop once a fragment is on disk: there is something to upload.
        let id = recording.draft_id().to_owned();
        while library.draft(&id).unwrap().clip_announced == 0 {
            tokio::task::yield_now().await;
            std::thread::yield_now();
        }
        let started = std::time::Instant::now();
        let stopped = tokio::time::timeout(Duration::from_secs(60), recording.stop()).await;
        let took = started.elapsed();
        let recorded = stopped.expect("stop hung on the stalling hub").unwrap();
        assert!(
            took < STOP_WAITS_FOR_UPLOAD + Duration::from_secs(5),
            "stop took {took:?}"
        );
        let draft = recorded.draft;
        assert_eq!(draft.state, DraftState::Ready);
        assert!(draft.duration.is_some_and(|d| d > Duration::ZERO));
        assert!(draft.clip_path.is_file());

        // Later, with a store that answers, the draft is delivered whole.
        let shared = dir.path().join("shared");
        let alice = FolderStore::open_or_create(&shared, &user("alice"), Limits::default())
            .await
            .unwrap();
        FolderStore::open_or_create(&shared, &user("bob"), Limits::default())
            .await
            .unwrap();
        let outbox = Outbox::new(library.clone(), Arc::new(alice));
        let message = queue_to(&library, draft.id.clone(), "bob");
        match outbox.deliver(&message).await.unwrap() {
            Delivery::Sent(m) => {
                assert_eq!(
                    m.clip.as_ref().unwrap().size,
                    std::fs::metadata(&draft.clip_path).unwrap().len()
                )
            }
            other => panic!("the draft is delivered later: {other:?}"),
        }
    }

    /// Under scripts/test-env: its virtual display and output.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_screen_recording_with_a_bubble_and_computer_sound_hands_out_their_controls() {
        let dir = tempfile::tempdir().unwrap();
        let library = Arc::new(Library::open(&PigeonHome::at(dir.path().join("alice"))).unwrap());
        let sources = Sources::Devices {
            video: VideoChoice::Screen {
                target: pigeon_media::screen::ScreenTarget::Screen,
                bubble: Some(Bubble {
                    camera: Box::new(VideoChoice::TestPattern),
                    style: Default::default(),
                }),
            },
            audio: AudioChoice::TestTone,
            computer_sound: true,
            levels: MixGains {
                microphone: 1.0,
                computer: 0.25,
            },
        };
        let options = RecordingOptions {
            quality: QualityPreset::Low,
            ..RecordingOptions::default()
        };
        let recording = Recording::start(library.clone(), None, &sources, &options).unwrap();
        let bubble = recording.bubble().expect("the bubble can be moved");
        bubble.set_corner(pigeon_media::composite::Corner::TopLeft);
        let levels = recording.mix_levels().expect("the mix has levels");
        assert_eq!(
            levels.computer(),
            0.25,
            "the mix starts at the chosen level"
        );
        levels.set_computer(0.5);
        assert_eq!(levels.computer(), 0.5);
        let started = std::time::Instant::now();
        'recording: loop {
            for event in recording.recorder().events().try_iter() {
                if let pigeon_media::RecorderEvent::Progress { elapsed, .. } = event {
                    if elapsed >= Duration::from_secs(1) {
                        break 'recording;
                    }
                }
            }
            assert!(started.elapsed() < Duration::from_secs(30), "no progress");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let draft = recording.stop().await.unwrap().draft;
        let clip = pigeon_media::probe(&draft.clip_path).unwrap();
        let video = clip.video().unwrap();
        // The screen's quality, not the 480p asked for the camera.
        assert_eq!((video.width, video.height), (1920, 1080), "{clip:?}");
        assert!(clip.streams.len() == 2, "{clip:?}");

        let camera = Sources::synthetic();
        let recording = Recording::start(library, None, &camera, &options).unwrap();
        assert!(recording.bubble().is_none() && recording.mix_levels().is_none());
        recording.discard().unwrap();
    }
}
