//! Screen recording through the `pigeon` CLI, on the test environment's virtual
//! display (`scripts/test-env`: Xvfb 1920x1080, PulseAudio with a virtual microphone
//! and output): `pigeon screens`, `pigeon record --screen` with a bubble and computer
//! sound, a window that closes, and a machine with no display at all.
//!
//! The picture itself (PSNR against the display, the bubble's corner, the cursor,
//! sync) is checked by pigeon-media's own tests; here it is what the user types and
//! reads, and what the draft holds.

// Scenario bodies fail the test with their unwraps, as a test's own do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use pigeon_media::composite::{bubble_rect, BubbleStyle};
use pigeon_media::StreamKind;
use pigeon_scenarios::{text, wait_for, User};
use serde_json::Value;

/// A user signed in to a shared folder in `dir`.
fn user(dir: &Path) -> User {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "the screen scenarios need the virtual display: run them under scripts/test-env"
    );
    let alice = User::new(dir, "alice");
    alice.login_folder(&dir.join("shared-folder"));
    alice
}

/// The screens `pigeon screens --json` lists.
fn screens(user: &User) -> Vec<Value> {
    user.json(&["screens"])["screens"]
        .as_array()
        .unwrap()
        .clone()
}

/// One decoded picture of `clip` at `at` seconds, packed RGB.
fn picture_at(clip: &Path, at: f64) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &at.to_string(), "-i"])
        .arg(clip)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The clip's sound, mono 48 kHz.
fn sound_of(clip: &Path) -> Vec<f32> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(clip)
        .args(["-f", "s16le", "-ac", "1", "-ar", "48000", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect()
}

/// The share of the sound's power at `hz` (Goertzel over 100 ms windows).
fn share_at(samples: &[f32], hz: f64) -> f64 {
    let n = 4800;
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * hz / 48_000.0).cos();
    let (mut tone, mut total) = (0.0, 0.0);
    for window in samples.chunks_exact(n) {
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &x in window {
            let s = f64::from(x) + coeff * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        // |X(k)|^2 / (N^2 / 2): the power of a sine at the bin, comparable to the mean square.
        tone += (s1 * s1 + s2 * s2 - coeff * s1 * s2) * 2.0 / (n * n) as f64;
        total += window.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / n as f64;
    }
    if total == 0.0 {
        0.0
    } else {
        tone / total
    }
}

/// Records `args` as `pigeon --json record ARGS` and returns the draft and its clip.
fn record(user: &User, args: &[&str]) -> (Value, std::path::PathBuf) {
    let mut all = vec!["record"];
    all.extend_from_slice(args);
    let draft = user.json(&all);
    let clip = Path::new(text(&draft["clip"])).to_path_buf();
    (draft, clip)
}

#[test]
fn screens_lists_the_virtual_screen_with_its_id_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let alice = user(dir.path());
    let listed = screens(&alice);
    let screen = listed
        .iter()
        .find(|s| s["id"] == "screen")
        .unwrap_or_else(|| panic!("the whole screen is listed: {listed:?}"));
    assert_eq!(
        (screen["width"].as_u64(), screen["height"].as_u64()),
        (Some(1920), Some(1080))
    );
    let out = alice.run(&["screens"]);
    assert!(out.status.success());
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(
        human.contains("1920x1080") && human.contains("(--screen)"),
        "{human}"
    );
}

#[test]
fn a_screen_recording_with_a_bubble_is_1080p_with_the_microphone() {
    let dir = tempfile::tempdir().unwrap();
    let alice = user(dir.path());
    let (draft, clip) = record(
        &alice,
        &["--screen", "--bubble", "synthetic", "--seconds", "3"],
    );
    assert_eq!(draft["state"], "ready");
    let seconds = draft["duration_seconds"].as_f64().unwrap();
    assert!((2.5..=3.6).contains(&seconds), "recorded {seconds} s");
    let info = pigeon_media::probe(&clip).unwrap();
    let video = info.video().unwrap();
    assert_eq!((video.width, video.height), (1920, 1080), "{info:?}");
    assert!(
        info.streams.iter().any(|s| s.kind == StreamKind::Audio),
        "the microphone is recorded: {info:?}"
    );

    // The test pattern's colour bars fill the bubble where the settings put it
    // (the default style: nothing was chosen). The pattern flashes white once a
    // second, on its own clock, so the best of three pictures a third of a second
    // apart is one between flashes.
    let (x, y, diameter) = bubble_rect(BubbleStyle::default(), 1920, 1080);
    let share = [1.2, 1.5, 1.8]
        .map(|at| coloured_share(&picture_at(&clip, at), x, y, diameter))
        .into_iter()
        .fold(0.0, f64::max);
    eprintln!("bubble: {:.0} % of its middle coloured", share * 100.0);
    assert!(
        share > 0.3,
        "the bubble at ({x}, {y}) shows the test pattern: {:.0} % of it is coloured",
        share * 100.0
    );
}

/// The share of strongly coloured pixels in the middle of the bubble at (`x`, `y`).
fn coloured_share(picture: &[u8], x: u32, y: u32, diameter: u32) -> f64 {
    let inner = diameter / 2;
    let (x0, y0) = (x + diameter / 4, y + diameter / 4);
    let mut coloured = 0;
    for row in y0..y0 + inner {
        for col in x0..x0 + inner {
            let at = ((row * 1920 + col) * 3) as usize;
            let px = &picture[at..at + 3];
            let (hi, lo) = (px.iter().max().unwrap(), px.iter().min().unwrap());
            if hi - lo > 60 {
                coloured += 1;
            }
        }
    }
    f64::from(coloured) / f64::from(inner * inner)
}

/// A small window with a known title on the virtual display, closed when dropped.
struct Window {
    child: Child,
}

impl Window {
    fn open(title: &str) -> Self {
        let child = Command::new("xmessage")
            .args([
                "-title",
                title,
                "-geometry",
                "400x200+100+100",
                "The agenda",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("xmessage (x11-utils) runs on the test display");
        Window { child }
    }

    fn close(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        self.close();
    }
}

/// The id `pigeon screens` gives the window titled `title`, once it is listed.
fn window_id(user: &User, title: &str) -> String {
    wait_for(Duration::from_secs(20), "the window to be listed", || {
        screens(user)
            .iter()
            .find(|s| s["name"] == title)
            .map(|s| text(&s["id"]).to_owned())
    })
}

#[test]
fn a_screen_window_that_closes_keeps_recording_and_a_closed_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let alice = user(dir.path());
    let title = "pigeon-scenario-window";
    let mut window = Window::open(title);
    let id = window_id(&alice, title);
    let number = id.strip_prefix("window:").unwrap();

    // Closed while it is recorded: the recording goes on and the user is told.
    let child = alice
        .command(&["--json", "record", "--window", number, "--seconds", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(
        Duration::from_secs(30),
        "the recording's first fragment",
        || {
            let draft = alice.recording_draft()?;
            (draft["clip_announced"].as_u64()? > 0).then_some(())
        },
    );
    window.close();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("was closed; the recording goes on"),
        "{stderr}"
    );
    let draft: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    let seconds = draft["duration_seconds"].as_f64().unwrap();
    assert!((3.5..=4.6).contains(&seconds), "recorded {seconds} s");

    // Closed before: nothing is recorded and the user is told what to choose.
    wait_for(
        Duration::from_secs(20),
        "the window to leave the list",
        || (!screens(&alice).iter().any(|s| s["id"] == id.as_str())).then_some(()),
    );
    let before = alice.json(&["drafts"])["drafts"].as_array().unwrap().len();
    let out = alice.run(&["record", "--window", number, "--seconds", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("is not open any more") && stderr.contains("`pigeon screens`"),
        "{stderr}"
    );
    let after = alice.json(&["drafts"])["drafts"].as_array().unwrap().len();
    assert_eq!(before, after, "a refused recording leaves no draft");

    let out = alice.run(&["record", "--window", "desk", "--seconds", "1"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a window id"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn without_a_display_screens_and_record_screen_say_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let alice = user(dir.path());
    for args in [
        &["screens"][..],
        &[
            "record",
            "--screen",
            "--bubble",
            "synthetic",
            "--seconds",
            "1",
        ],
    ] {
        let out = alice
            .command(args)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "`pigeon {}` fails", args.join(" "));
        let lines: Vec<_> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(
            lines[0].starts_with("error: No screen can be recorded")
                && lines[0].contains("record the camera instead"),
            "{stderr}"
        );
    }
    let drafts = alice.json(&["drafts"]);
    assert_eq!(drafts["drafts"].as_array().unwrap().len(), 0, "{drafts}");
}

#[test]
fn a_screen_bubble_without_a_camera_says_what_to_use_instead() {
    let dir = tempfile::tempdir().unwrap();
    let alice = user(dir.path());
    // The test environment has no camera; a machine with one records it.
    let out = alice.run(&["record", "--screen", "--bubble", "camera", "--seconds", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if pigeon_media::camera::list_cameras()
        .unwrap_or_default()
        .is_empty()
    {
        assert!(!out.status.success());
        assert!(
            stderr.contains("no camera was found") && stderr.contains("--bubble synthetic"),
            "{stderr}"
        );
    } else {
        assert!(out.status.success(), "{stderr}");
    }
    let out = alice.run(&["record", "--bubble", "synthetic", "--seconds", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--screen"),
        "a bubble needs a screen: {stderr}"
    );
}

/// A steady 1 kHz tone played into the virtual output for as long as it lives.
struct Tone {
    child: Child,
}

impl Tone {
    fn play(dir: &Path) -> Self {
        let sink = std::env::var("PIGEON_TEST_OUTPUT_SINK")
            .expect("the test environment's output sink (scripts/test-env)");
        let raw = dir.join("tone.raw");
        let made = Command::new("sox")
            .args([
                "-n",
                "-r",
                "48000",
                "-c",
                "2",
                "-b",
                "16",
                "-e",
                "signed-integer",
                "-t",
                "raw",
            ])
            .arg(&raw)
            .args(["synth", "60", "sine", "1000", "vol", "0.5"])
            .status()
            .unwrap();
        assert!(made.success());
        let child = Command::new("pacat")
            .args([
                "--playback",
                "--raw",
                "--format=s16le",
                "--rate=48000",
                "--channels=2",
            ])
            .args(["-d", &sink])
            .arg(&raw)
            .spawn()
            .unwrap();
        Tone { child }
    }
}

impl Drop for Tone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_screen_recording_with_computer_sound_holds_what_the_computer_plays() {
    let dir = tempfile::tempdir().unwrap();
    let alice = user(dir.path());
    let _tone = Tone::play(dir.path());
    // The tone reaches the output's monitor once pacat has connected.
    wait_for(Duration::from_secs(20), "the tone to play", || {
        let out = Command::new("pactl")
            .args(["list", "short", "sink-inputs"])
            .output()
            .ok()?;
        let sink = std::env::var("PIGEON_TEST_OUTPUT_SINK").ok()?;
        let index = String::from_utf8_lossy(
            &Command::new("pactl")
                .args(["list", "short", "sinks"])
                .output()
                .ok()?
                .stdout,
        )
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(sink.as_str()))?
        .split_whitespace()
        .next()?
        .to_owned();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(index.as_str()))
            .then_some(())
    });

    let (_, without) = record(&alice, &["--screen", "--seconds", "3"]);
    let (draft, with) = record(&alice, &["--screen", "--computer-sound", "--seconds", "3"]);
    assert_eq!(draft["state"], "ready");
    let tone_without = share_at(&sound_of(&without), 1000.0);
    let tone_with = share_at(&sound_of(&with), 1000.0);
    eprintln!(
        "1 kHz share: {:.1} % with computer sound, {:.1} % without",
        tone_with * 100.0,
        tone_without * 100.0
    );
    assert!(
        tone_with > 0.3 && tone_without < 0.1,
        "the computer's 1 kHz tone is {:.0} % of the sound with --computer-sound and {:.0} % without",
        tone_with * 100.0,
        tone_without * 100.0
    );
}
