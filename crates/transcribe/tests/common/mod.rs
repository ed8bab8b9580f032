//! Helpers shared by the engine's tests and its benchmark: speech made with espeak-ng,
//! recorded into a clip by Pigeon's own recorder, and the real tiny.en model.
#![allow(dead_code)]
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "test helpers: a panic is the test failing"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use pigeon_media::file::open_file;
use pigeon_media::{Pacing, Recorder, RecorderConfig, RecordingOutcome, StopReason};
use pigeon_transcribe::Model;

/// What the speech tests say: plain office English, no numbers (espeak says "3" as
/// "three", whisper may write either).
pub const SPEECH: &str = "Please review the budget agenda before Friday. \
    The design team will share the new screens in the afternoon meeting. \
    If anything looks wrong, send a short message to the whole group, \
    and we will fix it together next week. Thank you all for the careful work.";

/// The real test model (whisper tiny.en, converted by the project's setup).
pub fn model_path() -> PathBuf {
    pigeon_transcribe::testing::tiny_en_model().unwrap_or_else(|advice| panic!("{advice}"))
}

pub fn load_model() -> Model {
    Model::load(&model_path()).expect("the tiny.en test model loads")
}

/// Runs a command, panicking with its stderr when it fails.
pub fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `text` spoken by espeak-ng (US English, 150 words a minute) into a WAV file.
pub fn speak(text: &str, out: &Path) {
    run(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(out)
        .arg(text));
}

/// `seconds` of digital silence, then `speech` (a WAV), into `out` (a WAV at the
/// speech's own rate).
pub fn pad_front(speech: &Path, seconds: f64, out: &Path) {
    run(Command::new("sox")
        .arg(speech)
        .arg(out)
        .args(["pad", &format!("{seconds}"), "0"]));
}

/// `input` repeated until it lasts at least `seconds` (sox), into `out`.
pub fn loop_to(input: &Path, seconds: f64, out: &Path) {
    let length = wav_seconds(input);
    let repeats = (seconds / length).ceil() as u32;
    run(Command::new("sox")
        .arg(input)
        .arg(out)
        .args(["repeat", &repeats.saturating_sub(1).to_string()]));
}

/// The length of a sound file, from sox.
pub fn wav_seconds(path: &Path) -> f64 {
    let output = Command::new("soxi")
        .arg("-D")
        .arg(path)
        .output()
        .expect("soxi runs");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("soxi gives a length")
}

/// Where the sound of a WAV first rises above -40 dBFS, in ms (espeak-ng starts its
/// speech after a short silence of its own).
pub fn onset_ms(wav: &Path) -> u64 {
    let sound = pigeon_transcribe::decode_sound(wav).expect("decode the wav");
    let first = sound
        .levels
        .iter()
        .position(|level| *level > -40.0)
        .expect("the wav is not silent");
    first as u64 * pigeon_transcribe::LEVEL_WINDOW_MS
}

/// Records `media` (a sound file; the still card stands in for a picture) through
/// Pigeon's recorder with the file source, as fast as it encodes, into `dir`.
pub fn record_file(media: &Path, dir: &Path) -> RecordingOutcome {
    let (video, audio) = open_file(media, Pacing::AsFastAsPossible).expect("open the file");
    let audio = audio.expect("the file has sound");
    let out = dir.join("clip.mp4");
    let mut config = RecorderConfig::new(&out);
    config.preview = None;
    let outcome = Recorder::start(config, Box::new(video), Some(Box::new(audio)))
        .expect("start recording")
        .wait()
        .expect("the recording finishes");
    assert_eq!(outcome.stop_reason, StopReason::SourcesFinished);
    outcome
}

/// The words of a transcript, one string.
pub fn words_of(transcript: &pigeon_protocol::Transcript) -> String {
    transcript
        .segments
        .iter()
        .map(|s| s.text.trim())
        .collect::<Vec<_>>()
        .join(" ")
}
