//! Cancelling a transcription stops whisper.cpp promptly, mid-clip.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests: a panic is the test failing"
)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pigeon_transcribe::{
    decode_sound, lower_this_threads_priority, transcribe, TranscribeError, TranscribeOptions,
};

/// How soon after the cancel the call must return: whisper.cpp checks between the
/// steps of its compute graph. Idle (13-50 ms measured) it is far sooner; at idle
/// priority on a loaded 2-core machine one step took 3.3 s.
const PROMPTLY: Duration = Duration::from_secs(6);

#[test]
fn cancel_stops_a_running_transcription_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let speech = dir.path().join("speech.wav");
    common::speak(common::SPEECH, &speech);
    let long = dir.path().join("long.wav");
    common::loop_to(&speech, 90.0, &long);
    let sound = decode_sound(&long).unwrap();
    let model = common::load_model();
    let cancel = AtomicBool::new(false);
    let (progress_tx, progress_rx) = mpsc::channel();

    let (result, cancelled_at, returned_at, progress) = std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            lower_this_threads_priority();
            let result = transcribe(
                &model,
                &sound,
                &TranscribeOptions::default(),
                &mut |p| {
                    let _ = progress_tx.send(p);
                },
                &cancel,
            );
            (result, Instant::now())
        });
        // Cancel once it is under way: after the first window is done (the first report,
        // 0.0, comes before any work), while the next one is being worked on.
        let progress = loop {
            let p = progress_rx
                .recv_timeout(Duration::from_secs(120))
                .expect("a progress report");
            if p > 0.0 {
                break p;
            }
        };
        let cancelled_at = Instant::now();
        cancel.store(true, Ordering::Relaxed);
        let (result, returned_at) = worker.join().unwrap();
        (result, cancelled_at, returned_at, progress)
    });
    let delay = returned_at.duration_since(cancelled_at);
    println!("cancelled at progress {progress:.2}; returned {delay:?} later");
    assert!(
        progress > 0.0 && progress < 0.9,
        "cancelled mid-clip ({progress})"
    );
    assert!(
        matches!(result, Err(TranscribeError::Cancelled)),
        "{result:?}"
    );
    assert!(delay <= PROMPTLY, "took {delay:?} to stop");
}

#[test]
fn a_transcription_cancelled_before_it_starts_does_no_work() {
    let model = common::load_model();
    let sound = pigeon_transcribe::Sound::from_samples(vec![0.1; 16_000 * 5]);
    let started = Instant::now();
    let result = transcribe(
        &model,
        &sound,
        &TranscribeOptions::default(),
        &mut |_| {},
        &AtomicBool::new(true),
    );
    assert!(
        matches!(result, Err(TranscribeError::Cancelled)),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(100));
    let text = result.unwrap_err().to_string();
    assert!(!text.contains('\n'), "{text}");
}
