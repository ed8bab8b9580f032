//! Speech heard through a microphone (the PulseAudio virtual microphone of
//! `scripts/test-env`, fed with looped espeak-ng speech), recorded by Pigeon's recorder
//! and transcribed by the real tiny.en model: the words said come out.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests: a panic is the test failing"
)]

mod common;

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use pigeon_media::microphone::MicrophoneSource;
use pigeon_media::synthetic::SyntheticVideo;
use pigeon_media::{Pacing, Recorder, RecorderConfig, RecorderEvent};
use pigeon_transcribe::{decode_sound, transcribe, TranscribeOptions};

/// What scripts/test-env's speech says, less the numbers (whisper writes "1" or "one").
const SAID: &[&str] = &[
    "this",
    "is",
    "pigeon's",
    "test",
    "microphone",
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "the",
    "lazy",
    "dog",
];

/// The loop lasts about 7.5 s: in 12 s every word is said whole at least once.
const RECORD_FOR: Duration = Duration::from_secs(12);

#[test]
fn speech_recorded_from_the_microphone_is_transcribed() {
    assert!(
        std::env::var("PIGEON_TEST_ENV").as_deref() == Ok("1"),
        "this test needs the virtual microphone: run it as `scripts/test-env cargo nextest run -p pigeon-transcribe`"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("microphone.mp4");
    let mic = MicrophoneSource::open(None).expect("open the default microphone");
    let video =
        Box::new(SyntheticVideo::new(320, 240, 30, Pacing::RealTime, None).expect("settings"));
    let mut config = RecorderConfig::new(&out);
    config.preview = None;
    let recorder = Recorder::start(config, video, Some(Box::new(mic))).expect("start");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match recorder.events().recv_timeout(left) {
            Ok(RecorderEvent::Progress { elapsed, .. }) if elapsed >= RECORD_FOR => break,
            Ok(RecorderEvent::Stopped(reason)) => panic!("the recording stopped: {reason}"),
            Ok(_) => {}
            Err(e) => panic!("no {RECORD_FOR:?} recorded within a minute: {e}"),
        }
    }
    let outcome = recorder.stop().expect("stop");
    let sound = decode_sound(&outcome.clip).expect("decode the clip");
    let model = common::load_model();
    let transcript = transcribe(
        &model,
        &sound,
        &TranscribeOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .expect("transcribe");
    let heard = pigeon_transcribe::normalised_words(&common::words_of(&transcript));
    let found = SAID
        .iter()
        .filter(|w| heard.iter().any(|h| h == *w))
        .count();
    println!(
        "{} ms from the microphone; heard {heard:?}; {found} of {} words said",
        sound.duration_ms(),
        SAID.len()
    );
    assert!(
        found * 4 >= SAID.len() * 3,
        "at least three quarters of the words said are heard ({found} of {})",
        SAID.len()
    );
}
