//! A real microphone capture through the PulseAudio virtual source of
//! `scripts/test-env` ends up in the clip.
#![allow(
    clippy::expect_used,
    reason = "test helpers outside #[test] functions: a panic is the test failing"
)]

mod common;

use std::time::Duration;

use pigeon_media::microphone::{list_microphones, MicrophoneSource};
use pigeon_media::synthetic::SyntheticVideo;
use pigeon_media::{Pacing, Recorder, RecorderConfig};

fn require_test_env() -> Vec<f32> {
    assert!(
        std::env::var("PIGEON_TEST_ENV").as_deref() == Ok("1"),
        "this test needs the virtual microphone: run it as `scripts/test-env cargo nextest run -p pigeon-media`"
    );
    let raw = std::env::var("PIGEON_TEST_SPEECH_RAW")
        .expect("scripts/test-env exports PIGEON_TEST_SPEECH_RAW");
    let bytes = std::fs::read(raw).expect("read the fed speech");
    bytes
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect()
}

/// Averages groups of `n` samples (a crude low-pass + decimation).
fn decimate(samples: &[f32], n: usize) -> Vec<f32> {
    samples
        .chunks_exact(n)
        .map(|c| c.iter().sum::<f32>() / n as f32)
        .collect()
}

/// Best normalised cross-correlation of `needle` against any position of
/// the looped `haystack`.
fn best_ncc(needle: &[f32], haystack: &[f32]) -> f32 {
    let looped: Vec<f32> = haystack.iter().chain(haystack.iter()).copied().collect();
    let n = needle.len();
    let needle_energy: f32 = needle.iter().map(|v| v * v).sum::<f32>().sqrt();
    let mut best = 0f32;
    for lag in 0..haystack.len() {
        let window = &looped[lag..lag + n];
        let dot: f32 = needle.iter().zip(window).map(|(a, b)| a * b).sum();
        let energy: f32 = window.iter().map(|v| v * v).sum::<f32>().sqrt();
        if energy > 0.0 {
            best = best.max(dot / (needle_energy * energy));
        }
    }
    best
}

#[test]
fn microphone_speech_ends_up_in_the_clip() {
    let speech = require_test_env();
    let mics = list_microphones().expect("list inputs");
    assert!(!mics.is_empty(), "the virtual microphone is listed");
    let mic = MicrophoneSource::open(None).expect("open the default microphone");
    let meter = mic.meter();
    println!("microphone format {:?}, inputs {mics:?}", mic.format());
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("speech.mp4");
    let video =
        Box::new(SyntheticVideo::new(320, 240, 30, Pacing::RealTime, None).expect("settings"));
    let recorder =
        Recorder::start(RecorderConfig::new(&out), video, Some(Box::new(mic))).expect("start");
    // The meter shows the latest period only: watch it through pauses in the speech.
    let mut loudest = f32::MIN;
    common::wait_until("the level meter moves above -40 dBFS", || {
        loudest = loudest.max(meter.level().peak_dbfs);
        loudest > -40.0
    });
    println!("loudest peak on the meter: {loudest} dBFS");
    common::record_until(&recorder, Duration::from_secs(4));
    let outcome = recorder.stop().expect("stop");
    let playable = outcome.playable.expect("playable");
    let (rate, _, samples) = common::decode_audio(&playable);
    assert_eq!(rate, 48_000);
    assert!(
        samples.len() >= 96_000 + 72_000,
        "about 4 s of audio: {}",
        samples.len()
    );
    let rms = (samples.iter().map(|v| v * v).sum::<f32>() / samples.len() as f32).sqrt();
    println!("recorded rms {rms}");
    assert!(rms > 0.01, "the clip is not silent (rms {rms})");

    // A 1.5 s window of the clip matches the fed speech somewhere. On a loaded
    // machine PulseAudio may miss a period (a glitch the recorder fills with
    // silence), so each of three windows gets its chance.
    let decimated_speech = decimate(&speech, 4);
    let mut nccs = Vec::new();
    for start in [48_000, 24_000, 96_000] {
        let window = &samples[start..start + 72_000];
        let ncc = best_ncc(&decimate(window, 4), &decimated_speech);
        nccs.push(ncc);
        if ncc > 0.8 {
            break;
        }
    }
    println!("normalised cross-correlation with the fed speech: {nccs:.3?}");
    assert!(
        nccs.iter().any(|&ncc| ncc > 0.8),
        "the recorded sound is the fed speech (ncc {nccs:.3?})"
    );
}
