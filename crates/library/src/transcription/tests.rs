//! The Transcriber with the real tiny.en model (`pigeon_transcribe::testing`), speech
//! made with espeak-ng, and a real folder store between two libraries.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use pigeon_store::protocol::Limits;
use pigeon_store::{FolderStore, SharedStore};

use super::*;
use crate::home::PigeonHome;
use crate::inbox::Inbox;
use crate::outbox::{Delivery, Outbox};
use crate::recording::{Recording, RecordingOptions, Sources};
use crate::test_support::{queue_to, recorded_draft, until_recorded, user};
use crate::transcripts::Origin;

const SPOKEN: &str = "Please review the budget before the meeting on Friday.";

fn tiny_en() -> PathBuf {
    pigeon_transcribe::testing::tiny_en_model().unwrap_or_else(|e| panic!("{e}"))
}

fn tiny_settings() -> TranscriptionSettings {
    TranscriptionSettings {
        model_path: Some(tiny_en()),
        ..TranscriptionSettings::default()
    }
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A ready draft whose clip (video only) plays with `sound` as its player-ready copy.
fn draft_with_sound(library: &Library, sound: &Path) -> String {
    let id = recorded_draft(library);
    let draft = library.draft(&id).unwrap();
    let playable = draft.clip_path.with_extension("wav");
    std::fs::copy(sound, &playable).unwrap();
    library
        .finish_draft(&id, draft.duration.unwrap(), Some(&playable), false)
        .unwrap();
    id
}

/// `text` spoken by espeak-ng into a WAV in `dir`.
fn speech(dir: &Path, text: &str) -> PathBuf {
    let out = dir.join("speech.wav");
    run(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&out)
        .arg(text));
    out
}

fn text_of(t: &pigeon_store::protocol::Transcript) -> String {
    let words: Vec<_> = t.segments.iter().map(|s| s.text.trim()).collect();
    words.join(" ")
}

fn library_in(dir: &Path, name: &str) -> Arc<Library> {
    Arc::new(Library::open(&PigeonHome::at(dir.join(name))).unwrap())
}

fn draft_owner(id: &str) -> TranscriptOwner {
    TranscriptOwner::Draft(id.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_only_queues_the_transcript_unless_transcription_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let library = library_in(dir.path(), "alice");
    for enabled in [true, false] {
        let recording = Recording::start(
            library.clone(),
            None,
            &Sources::synthetic(),
            &RecordingOptions::default(),
        )
        .unwrap()
        .transcribe_at_stop(enabled);
        until_recorded(&recording, 500).await;
        let draft = recording.stop().await.unwrap().draft;
        let stored = library.transcript(&draft_owner(&draft.id)).unwrap();
        if enabled {
            let stored = stored.expect("the stop queued the transcript");
            assert_eq!(stored.state, TranscriptState::Queued, "queued, not made");
            assert_eq!(stored.origin, Origin::MadeHere);
            assert_eq!(stored.transcript, None);
        } else {
            assert_eq!(stored, None, "nothing is queued with transcription off");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_transcriber_makes_a_queued_transcript_with_progress_on_its_own_thread() {
    let dir = tempfile::tempdir().unwrap();
    let library = library_in(dir.path(), "alice");
    let id = draft_with_sound(&library, &speech(dir.path(), SPOKEN));
    library
        .queue_transcription(&draft_owner(&id), Utc::now())
        .unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let main_thread = std::thread::current().id();
    let transcriber = Transcriber::new(library.clone(), tiny_settings(), dir.path().join("models"))
        .with_progress(move |e| {
            assert_ne!(std::thread::current().id(), main_thread);
            seen.lock().unwrap().push(e);
        });
    let started = std::time::Instant::now();
    assert_eq!(transcriber.run_pending().await.unwrap(), 1);
    let took = started.elapsed();

    let stored = library.transcript(&draft_owner(&id)).unwrap().unwrap();
    assert_eq!(stored.state, TranscriptState::Done);
    assert_eq!(stored.model.as_deref(), Some("tiny.en"));
    assert_eq!(stored.language.as_deref(), Some("en"));
    let transcript = stored.transcript.unwrap();
    let heard = text_of(&transcript);
    let wer = pigeon_transcribe::word_error_rate(SPOKEN, &heard);
    println!(
        "tiny.en heard {heard:?} (WER {:.0} %) in {took:?}",
        wer * 100.0
    );
    assert!(wer < 0.4, "WER {wer} for {heard:?}");

    let events = events.lock().unwrap().clone();
    let progress: Vec<f32> = events
        .iter()
        .filter_map(|e| match e.state {
            TranscriptState::Running { progress } => Some(progress),
            _ => None,
        })
        .collect();
    assert!(progress.len() >= 2, "progress was reported: {events:?}");
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    assert_eq!(
        events.last().map(|e| &e.state),
        Some(&TranscriptState::Done)
    );
    assert!(events.iter().all(|e| e.owner == draft_owner(&id)));
    // Nothing left: a second pass finishes nothing.
    assert_eq!(transcriber.run_pending().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn clips_without_sound_or_with_silence_only_get_an_empty_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let library = library_in(dir.path(), "alice");
    let video_only = recorded_draft(&library);
    let silence = dir.path().join("silence.wav");
    run(Command::new("sox")
        .args(["-n", "-r", "16000", "-c", "1"])
        .arg(&silence)
        .args(["trim", "0", "3"]));
    let silent = draft_with_sound(&library, &silence);
    for id in [&video_only, &silent] {
        library
            .queue_transcription(&draft_owner(id), Utc::now())
            .unwrap();
    }
    let transcriber = Transcriber::new(library.clone(), tiny_settings(), dir.path().join("m"));
    assert_eq!(transcriber.run_pending().await.unwrap(), 2);
    for id in [&video_only, &silent] {
        let stored = library.transcript(&draft_owner(id)).unwrap().unwrap();
        assert_eq!(stored.state, TranscriptState::Done, "{id}: {stored:?}");
        let transcript = stored.transcript.unwrap();
        assert!(transcript.segments.is_empty(), "{transcript:?}");
        assert_eq!(transcript.model, "tiny.en");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transcription_left_running_by_a_killed_process_is_made_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let home = PigeonHome::at(dir.path().join("alice"));
    let id = {
        let library = Library::open(&home).unwrap();
        let id = draft_with_sound(&library, &speech(dir.path(), SPOKEN));
        library
            .queue_transcription(&draft_owner(&id), Utc::now())
            .unwrap();
        // The process took the job, then died (no lock is held any more).
        let job = library.queued_transcriptions().unwrap().remove(0);
        assert!(library.start_transcription(&job).unwrap());
        id
    };
    let library = Arc::new(Library::open(&home).unwrap());
    assert!(matches!(
        library
            .transcript(&draft_owner(&id))
            .unwrap()
            .unwrap()
            .state,
        TranscriptState::Running { .. }
    ));
    let transcriber = Transcriber::new(library.clone(), tiny_settings(), home.models_dir());

    // While another process works through the queue, it is left to that one.
    let lock_path = library.files_dir().join("transcription.lock");
    let other = model::QueueLock::try_take(&lock_path)
        .unwrap()
        .expect("free");
    assert!(model::QueueLock::try_take(&lock_path).unwrap().is_none());
    assert_eq!(transcriber.run_pending().await.unwrap(), 0);
    assert!(matches!(
        library
            .transcript(&draft_owner(&id))
            .unwrap()
            .unwrap()
            .state,
        TranscriptState::Running { .. }
    ));
    drop(other);

    assert_eq!(transcriber.run_pending().await.unwrap(), 1);
    let stored = library.transcript(&draft_owner(&id)).unwrap().unwrap();
    assert_eq!(stored.state, TranscriptState::Done);
    assert!(!text_of(&stored.transcript.unwrap()).is_empty());
}

/// Alice and bob on one shared folder.
async fn alice_and_bob(dir: &Path) -> (Arc<Library>, Outbox, Arc<Library>, Inbox) {
    let shared = dir.join("shared");
    let alice: SharedStore = Arc::new(
        FolderStore::open_or_create(&shared, &user("alice"), Limits::default())
            .await
            .unwrap(),
    );
    let bob: SharedStore = Arc::new(
        FolderStore::open_or_create(&shared, &user("bob"), Limits::default())
            .await
            .unwrap(),
    );
    let alice_library = library_in(dir, "alice");
    let bob_library = library_in(dir, "bob");
    (
        alice_library.clone(),
        Outbox::new(alice_library, alice),
        bob_library.clone(),
        Inbox::new(bob_library, bob, false),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transcript_made_after_sending_reaches_the_recipient_at_their_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, outbox, bob, inbox) = alice_and_bob(dir.path()).await;
    let draft = draft_with_sound(&alice, &speech(dir.path(), SPOKEN));
    alice
        .queue_transcription(&draft_owner(&draft), Utc::now())
        .unwrap();
    // The message goes at once; its transcript is not made yet.
    let id = queue_to(&alice, draft.clone(), "bob");
    assert!(matches!(
        outbox.deliver(&id).await.unwrap(),
        Delivery::Sent(_)
    ));
    assert_eq!(outbox.share_transcripts().await.unwrap(), 0);
    let report = inbox.sync(Utc::now()).await.unwrap();
    assert_eq!(report.new_messages, vec![id.clone()]);
    assert!(report.new_transcripts.is_empty());
    assert_eq!(bob.transcript_of_message(&id).unwrap(), None);
    // Bob asks for one here before the clip is downloaded: it waits for the download.
    bob.queue_transcription(&TranscriptOwner::Message(id.clone()), Utc::now())
        .unwrap();
    let waiting = bob.transcript_of_message(&id).unwrap().unwrap();
    assert!(waiting.waits_for_download, "{waiting:?}");
    let bobs = Transcriber::new(bob.clone(), tiny_settings(), dir.path().join("bm"));
    assert_eq!(bobs.run_pending().await.unwrap(), 0);

    let transcriber = Transcriber::new(alice.clone(), tiny_settings(), dir.path().join("am"));
    assert_eq!(transcriber.run_pending().await.unwrap(), 1);
    let made = alice.transcript_of_message(&id).unwrap().unwrap();
    assert_eq!(made.state, TranscriptState::Done);
    assert_eq!(outbox.share_transcripts().await.unwrap(), 1);
    assert_eq!(outbox.share_transcripts().await.unwrap(), 0, "shared once");
    assert!(alice
        .transcript_of_message(&id)
        .unwrap()
        .unwrap()
        .shared_at
        .is_some());

    let report = inbox.sync(Utc::now()).await.unwrap();
    assert_eq!(report.new_transcripts, vec![id.clone()], "{report:?}");
    let received = bob.transcript_of_message(&id).unwrap().unwrap();
    assert_eq!(received.state, TranscriptState::Done);
    assert_eq!(
        received.origin,
        Origin::Received,
        "it replaced the one asked here"
    );
    assert_eq!(received.transcript, made.transcript);
    assert!(!received.waits_for_download);
    // The folder lists the record again: nothing changes.
    let report = inbox.sync(Utc::now()).await.unwrap();
    assert!(report.new_transcripts.is_empty(), "{report:?}");
    assert_eq!(bobs.run_pending().await.unwrap(), 0, "no job is left");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_usable_model_the_transcript_fails_with_one_sentence_and_the_message_still_goes()
{
    let dir = tempfile::tempdir().unwrap();
    let (alice, outbox, _bob, _inbox) = alice_and_bob(dir.path()).await;
    let models = dir.path().join("models");
    let not_a_model = dir.path().join("notes.bin");
    std::fs::write(
        &not_a_model,
        b"these are not the weights you are looking for",
    )
    .unwrap();
    let cases: [(TranscriptionSettings, &str); 3] = [
        (
            TranscriptionSettings::default(),
            "is not downloaded: download it in Settings",
        ),
        (
            TranscriptionSettings {
                model_path: Some(not_a_model),
                ..TranscriptionSettings::default()
            },
            "is not a whisper.cpp speech model",
        ),
        (
            TranscriptionSettings {
                model_path: Some(dir.path().join("gone.bin")),
                ..TranscriptionSettings::default()
            },
            "is missing",
        ),
    ];
    for (settings, sentence) in cases {
        let draft = draft_with_sound(&alice, &speech(dir.path(), SPOKEN));
        alice
            .queue_transcription(&draft_owner(&draft), Utc::now())
            .unwrap();
        let transcriber = Transcriber::new(alice.clone(), settings, models.clone());
        assert!(transcriber.status().problem().unwrap().contains(sentence));
        assert_eq!(transcriber.run_pending().await.unwrap(), 1);
        match alice
            .transcript(&draft_owner(&draft))
            .unwrap()
            .unwrap()
            .state
        {
            TranscriptState::Failed { reason } => {
                assert!(reason.contains(sentence), "{reason}");
                assert_eq!(reason.matches(". ").count(), 0, "one sentence: {reason}");
            }
            other => panic!("{sentence}: {other:?}"),
        }
        let id = queue_to(&alice, draft, "bob");
        assert!(matches!(
            outbox.deliver(&id).await.unwrap(),
            Delivery::Sent(_)
        ));
        assert_eq!(outbox.share_transcripts().await.unwrap(), 0);
    }
    // Turned off: nothing can be made, said so.
    let off = TranscriptionSettings {
        enabled: false,
        ..TranscriptionSettings::default()
    };
    assert_eq!(ModelStatus::of(&off, &models), ModelStatus::Off);
    assert!(ModelStatus::of(&off, &models)
        .problem()
        .unwrap()
        .contains("turn it on in Settings"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_transcription_goes_back_to_the_queue_to_be_made_later() {
    let dir = tempfile::tempdir().unwrap();
    let library = library_in(dir.path(), "alice");
    let long = [SPOKEN; 4].join(" ");
    let id = draft_with_sound(&library, &speech(dir.path(), &long));
    library
        .queue_transcription(&draft_owner(&id), Utc::now())
        .unwrap();
    let (events, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let transcriber = Arc::new(
        Transcriber::new(library.clone(), tiny_settings(), dir.path().join("m")).with_progress(
            move |e| {
                let _ = events.send(e);
            },
        ),
    );
    let running = tokio::spawn({
        let transcriber = transcriber.clone();
        async move { transcriber.run_pending().await }
    });
    let first = seen.recv().await.unwrap();
    assert!(
        matches!(first.state, TranscriptState::Running { .. }),
        "{first:?}"
    );
    transcriber.cancel();
    assert_eq!(running.await.unwrap().unwrap(), 0, "nothing finished");
    let stored = library.transcript(&draft_owner(&id)).unwrap().unwrap();
    assert_eq!(stored.state, TranscriptState::Queued);
    assert_eq!(stored.transcript, None);
    let mut last = first;
    while let Ok(e) = seen.try_recv() {
        last = e;
    }
    assert_eq!(last.state, TranscriptState::Queued);
    assert_eq!(
        library.queued_transcriptions().unwrap().len(),
        1,
        "made later"
    );
}
