//! A recording process killed with SIGKILL leaves a clip that recovers to
//! within 2 s of what was recorded.

mod common;

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use pigeon_media::synthetic::{SyntheticAudio, SyntheticVideo};
use pigeon_media::{Pacing, Recorder, RecorderConfig, RecorderEvent};

const CHILD_ENV: &str = "PIGEON_CRASH_CHILD_CLIP";

/// The recording process: started by the test below, never on its own.
#[test]
#[ignore = "the child process of sigkill_mid_recording_recovers_all_but_the_last_seconds"]
fn crash_child_records_until_killed() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let out = PathBuf::from(path);
    let video =
        Box::new(SyntheticVideo::new(640, 360, 30, Pacing::RealTime, None).expect("settings"));
    let audio = Box::new(SyntheticAudio::new(48_000, Pacing::RealTime, None).expect("settings"));
    let recorder = Recorder::start(RecorderConfig::new(&out), video, Some(audio)).expect("start");
    // Tells the parent how much is recorded, until it kills this process.
    for event in recorder.events() {
        if let RecorderEvent::Progress { elapsed, .. } = event {
            println!("RECORDED {}", elapsed.as_millis());
        }
    }
}

#[test]
fn sigkill_mid_recording_recovers_all_but_the_last_seconds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = dir.path().join("crashed.mp4");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "crash_child_records_until_killed",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &clip)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the recording process");
    // The child's reports arrive on a thread, so waiting for them has a deadline.
    let stdout = child.stdout.take().expect("stdout");
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut recorded = Duration::ZERO;
    while recorded < Duration::from_millis(4500) {
        let line = match lines.recv_timeout(common::PATIENCE) {
            Ok(line) => line,
            Err(e) => panic!(
                "the child reported no progress within {:?}: {e}",
                common::PATIENCE
            ),
        };
        if let Some(ms) = line.strip_prefix("RECORDED ") {
            recorded = Duration::from_millis(ms.trim().parse().expect("milliseconds"));
        }
    }
    // SIGKILL: no destructor, no trailer, no cleanup.
    child.kill().expect("kill -9 the recorder");
    let _ = child.wait();

    let unfinished = pigeon_media::find_unfinished(dir.path()).expect("scan");
    assert_eq!(unfinished, vec![clip.clone()], "the crashed clip is found");
    let recovered =
        pigeon_media::recover(&clip, &dir.path().join("recovered.mp4")).expect("recover");
    let lost = recorded.as_secs_f64() - recovered.duration.as_secs_f64();
    println!(
        "recorded {recorded:?}, recovered {:?}, lost {lost:.2} s",
        recovered.duration
    );
    assert!(
        lost <= 2.0,
        "lost {lost:.2} s (recorded {recorded:?}, recovered {:?})",
        recovered.duration
    );
    assert!(lost >= -0.2, "cannot recover more than was recorded");
    assert!(
        pigeon_media::find_unfinished(dir.path())
            .expect("scan")
            .is_empty(),
        "recovered clips are not found again"
    );
    let info = pigeon_media::validate(&recovered.playable).expect("the recovered clip plays");
    assert!(info.audio().is_some());
    if let Some(gst) = common::gstreamer_duration(&recovered.playable) {
        assert!(
            (gst - recovered.duration.as_secs_f64()).abs() <= 0.1,
            "GStreamer duration {gst}"
        );
    }
}
