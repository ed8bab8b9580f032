//! Known speech, recorded into a clip by Pigeon's own recorder, transcribed by the real
//! tiny.en model: the words come out (word error rate under a bound) at the right times.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests: a panic is the test failing"
)]

mod common;

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use pigeon_transcribe::{captions, decode_sound, transcribe, word_error_rate, TranscribeOptions};

/// tiny.en gets 10-20 % of espeak-ng's words wrong (platform-facts); measured on this
/// text through the recorder: see the printed value. The bound leaves a margin for
/// another CPU's float rounding picking other words.
const WER_BOUND: f64 = 0.30;

/// How far a word's stamp may be from when it is spoken.
const TIMING_TOLERANCE_MS: u64 = 500;

#[test]
fn known_speech_recorded_from_a_file_is_transcribed_within_the_error_bound() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("speech.wav");
    common::speak(common::SPEECH, &wav);
    let outcome = common::record_file(&wav, dir.path());
    let sound = decode_sound(&outcome.clip).expect("the recorded clip's sound decodes");
    let clip_ms = outcome.duration.as_millis() as u64;
    assert!(
        sound.duration_ms().abs_diff(clip_ms) < 300,
        "the decoded sound ({} ms) is as long as the clip ({clip_ms} ms)",
        sound.duration_ms()
    );

    let model = common::load_model();
    assert!(!model.is_multilingual());
    assert_eq!(model.name(), "tiny.en");
    let mut reports = Vec::new();
    let started = Instant::now();
    let transcript = transcribe(
        &model,
        &sound,
        &TranscribeOptions::default(),
        &mut |p| reports.push(p),
        &AtomicBool::new(false),
    )
    .expect("transcribe");
    let took = started.elapsed();
    let heard = common::words_of(&transcript);
    let wer = word_error_rate(common::SPEECH, &heard);
    println!(
        "{} s of speech transcribed in {:.2} s; WER {:.1} % (bound {:.0} %)\nheard: {heard}",
        sound.duration_ms() as f64 / 1000.0,
        took.as_secs_f64(),
        wer * 100.0,
        WER_BOUND * 100.0
    );
    assert!(wer <= WER_BOUND, "WER {wer:.3} above {WER_BOUND}: {heard}");
    assert_eq!(transcript.language, "en");
    assert_eq!(transcript.model, "tiny.en");
    assert_eq!(transcript.duration_ms, sound.duration_ms());
    assert_eq!(reports.last().copied(), Some(1.0), "progress ends at 1.0");
    assert!(
        reports.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back: {reports:?}"
    );

    // Times: in order, inside the clip, words inside their segments.
    let mut previous_end = 0;
    let mut words = 0usize;
    for segment in &transcript.segments {
        assert!(segment.start_ms >= previous_end && segment.end_ms >= segment.start_ms);
        assert!(segment.end_ms <= transcript.duration_ms + 3_000);
        previous_end = segment.end_ms;
        assert!(
            !segment.words.is_empty(),
            "word times for {:?}",
            segment.text
        );
        for word in &segment.words {
            assert!(word.start_ms >= segment.start_ms && word.end_ms <= segment.end_ms);
            words += 1;
        }
    }
    let spoken = pigeon_transcribe::normalised_words(common::SPEECH).len();
    assert!(
        words.abs_diff(spoken) <= spoken / 4,
        "{words} timed words for {spoken} spoken"
    );
    // The wire form passes the protocol's own check, and captions come out of it.
    let json = serde_json::to_vec(&transcript).unwrap();
    pigeon_protocol::check_transcript(&json).expect("a well-formed transcript");
    let vtt = captions::webvtt(&transcript);
    assert!(vtt.starts_with("WEBVTT\n\n00:00:0"), "{vtt}");
}

#[test]
fn a_word_spoken_after_three_seconds_of_silence_is_stamped_at_three_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let word = dir.path().join("word.wav");
    common::speak("Budget.", &word);
    let padded = dir.path().join("padded.wav");
    common::pad_front(&word, 3.0, &padded);
    // espeak-ng leaves a little silence before its first sound.
    let spoken_at = 3_000 + common::onset_ms(&word);
    let outcome = common::record_file(&padded, dir.path());
    let sound = decode_sound(&outcome.clip).unwrap();
    // The recorded clip has the sound where the file had it (the level rises there).
    let rises = sound.levels.iter().position(|l| *l > -40.0).unwrap() as u64 * 100;
    assert!(
        rises.abs_diff(spoken_at) <= 200,
        "the clip's sound starts at {rises} ms, the file's at {spoken_at} ms"
    );

    let model = common::load_model();
    let transcript = transcribe(
        &model,
        &sound,
        &TranscribeOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let words: Vec<_> = transcript.segments.iter().flat_map(|s| &s.words).collect();
    println!("spoken at {spoken_at} ms; transcript: {transcript:?}");
    let budget = words
        .iter()
        .find(|w| w.text.to_lowercase().contains("budget"))
        .unwrap_or_else(|| panic!("the word is heard: {words:?}"));
    let error = budget.start_ms.abs_diff(spoken_at);
    println!(
        "'{}' stamped {}..{} ms, spoken at {spoken_at} ms: off by {error} ms (tolerance {TIMING_TOLERANCE_MS})",
        budget.text, budget.start_ms, budget.end_ms
    );
    assert!(error <= TIMING_TOLERANCE_MS, "stamped {error} ms off");
    let segment = &transcript.segments[0];
    assert!(
        segment.start_ms.abs_diff(spoken_at) <= TIMING_TOLERANCE_MS,
        "its segment starts at {} ms",
        segment.start_ms
    );
    // The three seconds before it are a pause a player may skip.
    let pauses = pigeon_transcribe::pauses::pauses(Some(&transcript), &sound.levels);
    assert_eq!(pauses.first().map(|p| p.start_ms), Some(0), "{pauses:?}");
    assert!(
        pauses[0].end_ms + 200 >= spoken_at - pigeon_transcribe::pauses::MARGIN_MS
            && pauses[0].end_ms <= spoken_at,
        "{pauses:?}"
    );
}
