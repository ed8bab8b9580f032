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

/// What scripts/test-env's virtual microphone says, over and over.
const LOOP: &str = "This is Pigeon's test microphone. One, two, three, four, five. \
    The quick brown fox jumps over the lazy dog.";

/// The microphone path (PulseAudio's 48 kHz null sink, the recorder's AAC) is much rougher
/// on tiny.en than the same speech from a file (0 %): measured 30 % and 48 % in two runs
/// ("over the lazy dog" heard as "silver malazy dog"; the text starts mid-loop, its first
/// word often cut). Why the virtual microphone's sound is harder is not known yet.
const WER_BOUND: f64 = 0.60;

/// whisper writes small numbers as digits or words, and a counted run of them as one
/// number ("12345"): compare them digit by digit.
fn as_digits(words: Vec<String>) -> Vec<String> {
    let names = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    words
        .into_iter()
        .flat_map(|w| match names.iter().position(|n| *n == w) {
            Some(digit) => vec![digit.to_string()],
            None if w.len() > 1 && w.chars().all(|c| c.is_ascii_digit()) => {
                w.chars().map(String::from).collect()
            }
            None => vec![w],
        })
        .collect()
}

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
    let heard = as_digits(pigeon_transcribe::normalised_words(&common::words_of(
        &transcript,
    )));
    // The recording starts anywhere in the loop: the reference is the stretch of the
    // looped text, from any word on, as long as what was heard, that fits it best.
    let said = as_digits(pigeon_transcribe::normalised_words(LOOP));
    let looped: Vec<String> = said.iter().cycle().take(said.len() * 4).cloned().collect();
    let n = heard.len().max(1);
    let (wer, start) = (0..said.len())
        .map(|k| {
            let reference = looped[k..k + n.min(looped.len() - k)].join(" ");
            (
                pigeon_transcribe::word_error_rate(&reference, &heard.join(" ")),
                k,
            )
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap();
    println!(
        "{} ms from the microphone; heard {heard:?}; WER {:.1} % against the loop from word {start} (bound {:.0} %)",
        sound.duration_ms(),
        wer * 100.0,
        WER_BOUND * 100.0
    );
    assert!(
        heard.len() >= 15,
        "12 s of speech is more than {} words",
        heard.len()
    );
    assert!(wer <= WER_BOUND, "WER {wer:.3} above {WER_BOUND}");
}
