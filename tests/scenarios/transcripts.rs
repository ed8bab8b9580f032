//! Transcripts end to end, through a hub and through a shared folder, with the real
//! tiny.en model: alice records speech (espeak-ng, through the file source) and sends
//! it to bob. The message reaches bob at once and the transcript after it (nothing
//! waits for it); bob searches a word alice said and lands on her message at the moment
//! it is spoken; bob prints WebVTT. A `pigeon send` killed while it transcribes leaves
//! the message delivered and the job queued: alice's next `pigeon sync` makes and
//! shares the transcript, and bob finds it.

// A failed unwrap in a scenario body is the scenario failing, as in a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pigeon_scenarios::{signed_in, text, wait_for, Backend, User};
use serde_json::Value;

/// The word bob searches for (tiny.en hears "Elephant" or "Elephants": the search
/// takes the last word as a prefix), and the sentence that starts with it.
const WORD: &str = "elephant";
const BEFORE: &str = "Hello Bob, here is the plan for this week.";
const SENTENCE: &str = "Elephants are walking in the garden.";

/// How long any one wait may take before the scenario fails.
const LIMIT: Duration = Duration::from_secs(90);

/// A clip of speech to record and where [`WORD`] is spoken in it.
struct Speech {
    clip: PathBuf,
    word_at_ms: u64,
}

fn run(program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (scripts/setup installs it): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A wav file's sound as 16 kHz mono samples.
fn samples(wav: &Path) -> Vec<i16> {
    let raw = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-i",
            wav.to_str().unwrap(),
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            "16000",
            "-",
        ],
    );
    raw.chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// Two spoken sentences in an MP4 with a plain picture (the file source needs video);
/// the word's time is where the second sentence's sound starts.
fn speech_clip(dir: &Path) -> Speech {
    let say = |name: &str, words: &str| {
        let wav = dir.join(name);
        run(
            "espeak-ng",
            &[
                "-v",
                "en-us",
                "-s",
                "150",
                "-w",
                wav.to_str().unwrap(),
                words,
            ],
        );
        wav
    };
    let (first, second) = (say("before.wav", BEFORE), say("word.wav", SENTENCE));
    let lead = samples(&first).len() as u64;
    let second_samples = samples(&second);
    let onset = second_samples
        .iter()
        .position(|s| s.unsigned_abs() > 1000)
        .expect("the sentence has sound") as u64;
    // The picture source never ends: the clip is as long as the speech.
    let seconds = format!(
        "{:.3}",
        (lead + second_samples.len() as u64) as f64 / 16_000.0
    );
    let clip = dir.join("speech.mp4");
    run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-i",
            first.to_str().unwrap(),
            "-i",
            second.to_str().unwrap(),
            "-f",
            "lavfi",
            "-i",
            "color=c=0x336699:s=320x240:r=30",
            "-filter_complex",
            "[0:a][1:a]concat=n=2:v=0:a=1[a]",
            "-map",
            "2:v",
            "-map",
            "[a]",
            "-t",
            &seconds,
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            clip.to_str().unwrap(),
        ],
    );
    Speech {
        clip,
        word_at_ms: (lead + onset) * 1000 / 16_000,
    }
}

/// `pigeon --json send DRAFT` to bob, running, with the line it printed when the
/// message was delivered (before transcribing).
fn start_send(alice: &User, draft: &str, subject: &str) -> (Child, Value) {
    let mut child = alice
        .command(&["--json", "send", draft, "--to", "bob", "--subject", subject])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        for _ in lines {}
    });
    let line = rx.recv_timeout(LIMIT).expect("`pigeon send` says it sent");
    let sent: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(sent["state"], "sent", "{sent}");
    (child, sent)
}

/// A user's transcript of `id` as `pigeon --json transcript` reports it.
fn transcript(user: &User, id: &str) -> Value {
    user.json(&["transcript", id])
}

/// Bob syncs until his transcript of `message` is there.
fn bob_gets_the_transcript(bob: &User, message: &str) -> Value {
    wait_for(LIMIT, "bob's sync to bring the transcript", || {
        bob.json(&["sync"]);
        let t = transcript(bob, message);
        (t["state"] == "done").then_some(t)
    })
}

/// Bob's search for the word lands on `message` at the moment it is spoken.
fn bob_finds_the_word(bob: &User, message: &str, speech: &Speech) {
    let hits = bob.json(&["search", WORD]);
    let hit = hits
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["message"] == message && h["field"] == "transcript")
        .unwrap_or_else(|| panic!("no transcript hit on {message}: {hits}"));
    assert_eq!(hit["sender"], "alice", "{hit}");
    assert!(text(&hit["snippet"]).to_lowercase().contains(WORD), "{hit}");
    let at = hit["at_ms"].as_u64().unwrap_or_else(|| panic!("{hit}"));
    let shown = bob.json(&["show", message]);
    let length = shown["message"]["duration_ms"].as_u64().unwrap();
    assert!(at < length, "at {at} ms, within the {length} ms clip");
    assert!(
        at.abs_diff(speech.word_at_ms) <= 500,
        "{WORD:?} is spoken at {} ms; the hit says {at} ms",
        speech.word_at_ms
    );
    // People read the same hit: its short id and the moment.
    let out = bob.run(&["search", WORD]);
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{human}");
    let line = human
        .lines()
        .find(|l| l.starts_with(&message[..8]))
        .unwrap_or_else(|| panic!("{human}"));
    let moment = format!("at {}:{:02}", at / 60_000, at / 1000 % 60);
    assert!(line.contains(&moment), "{line:?} says {moment}");
    assert!(line.contains("alice"), "{line:?}");
}

fn a_transcript_follows_the_message(backend: Backend, then_kill: bool) {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let speech = speech_clip(dir.path());
    let (_hub, [alice, bob]) = signed_in(backend, dir.path(), ["alice", "bob"]);
    let model = pigeon_transcribe::testing::tiny_en_model().unwrap_or_else(|e| panic!("{e}"));
    let config = alice.json(&["config", "--model-path", model.to_str().unwrap()]);
    assert_eq!(config["transcription"]["model_state"], "ready", "{config}");
    let source = speech.clip.to_str().unwrap();

    // Recorded: the transcription is queued at Stop, made at send.
    let recorded = alice.json(&["record", "--source", source, "--seconds", "20"]);
    let draft = text(&recorded["draft"]).to_owned();
    assert_eq!(transcript(&alice, &draft)["state"], "queued");
    let early = alice.run(&["transcript", &draft[..8]]);
    let said = String::from_utf8_lossy(&early.stderr);
    assert!(!early.status.success(), "nothing to print yet");
    assert!(
        said.contains("is queued") && said.contains(&format!("pigeon transcribe {}", &draft[..8])),
        "says where it stands and what to do: {said}"
    );

    // The message goes at once; bob has it while alice is still transcribing.
    let (mut send, sent) = start_send(&alice, &draft, "The plan");
    let message = text(&sent["message"]).to_owned();
    bob.json(&["sync"]);
    assert_eq!(bob.json(&["inbox"])[0]["id"], message.as_str());
    let early = transcript(&bob, &message);
    assert!(
        send.try_wait().unwrap().is_none(),
        "alice's send finished transcribing before bob's sync: the clip is too short to \
         show the order"
    );
    assert_eq!(early["state"], "none", "nothing waited for it: {early}");
    assert!(send.wait().unwrap().success(), "alice's send");
    let made = transcript(&alice, &draft);
    assert_eq!(made["state"], "done", "{made}");
    assert_eq!(made["origin"], "made_here", "{made}");
    println!(
        "first message sent and transcribed at {:?}",
        started.elapsed()
    );

    let got = bob_gets_the_transcript(&bob, &message);
    assert_eq!(got["origin"], "received", "{got}");
    assert_eq!(
        got["transcript"], made["transcript"],
        "bob has alice's transcript"
    );
    bob_finds_the_word(&bob, &message, &speech);
    let vtt = bob.run(&["transcript", &message[..8], "--vtt"]);
    assert!(vtt.status.success(), "{vtt:?}");
    let vtt = String::from_utf8(vtt.stdout).unwrap();
    assert!(vtt.starts_with("WEBVTT"), "{vtt}");
    assert!(vtt.contains(" --> "), "{vtt}");
    assert!(vtt.to_lowercase().contains(WORD), "{vtt}");
    let shown = String::from_utf8(bob.run(&["show", &message]).stdout).unwrap();
    assert!(shown.contains("transcript English (en)"), "{shown}");
    println!("bob found the first transcript at {:?}", started.elapsed());
    if !then_kill {
        nothing_is_queued_with_transcription_off(&alice, &bob);
        return;
    }

    // Killed while transcribing: delivered, the job left queued for the next run.
    let recorded = alice.json(&["record", "--source", source, "--seconds", "20"]);
    let draft = text(&recorded["draft"]).to_owned();
    let (mut send, sent) = start_send(&alice, &draft, "The plan, again");
    let message = text(&sent["message"]).to_owned();
    wait_for(LIMIT, "alice's send to be transcribing", || {
        let t = transcript(&alice, &draft);
        assert_ne!(t["state"], "done", "transcribed before it could be killed");
        (t["state"] == "running").then_some(())
    });
    send.kill().unwrap();
    send.wait().unwrap();
    let left = transcript(&alice, &draft);
    assert!(
        ["running", "queued"].contains(&text(&left["state"])),
        "{left}"
    );
    bob.json(&["sync"]);
    let inbox = bob.json(&["inbox"]);
    assert!(
        inbox
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == message.as_str()),
        "the killed send delivered: {inbox}"
    );
    assert_eq!(transcript(&bob, &message)["state"], "none");

    let synced = alice.json(&["sync"]);
    assert_eq!(synced["transcribed"], 1, "{synced}");
    assert!(
        synced["transcripts_shared"].as_u64().unwrap() >= 1,
        "{synced}"
    );
    assert_eq!(transcript(&alice, &draft)["state"], "done");
    bob_gets_the_transcript(&bob, &message);
    bob_finds_the_word(&bob, &message, &speech);
    println!(
        "the killed send's transcript arrived at {:?}",
        started.elapsed()
    );
}

/// Turned off, a recording queues no transcript and a send makes none.
fn nothing_is_queued_with_transcription_off(alice: &User, bob: &User) {
    let config = alice.json(&["config", "--transcription", "off"]);
    assert_eq!(config["transcription"]["enabled"], false, "{config}");
    let recorded = alice.json(&["record", "--source", "synthetic", "--seconds", "1"]);
    let draft = text(&recorded["draft"]).to_owned();
    assert_eq!(transcript(alice, &draft)["state"], "none");
    let sent = alice.json(&["send", &draft, "--to", "bob", "--subject", "Quiet"]);
    let message = text(&sent["message"]);
    assert_eq!(transcript(alice, &draft)["state"], "none");
    bob.json(&["sync"]);
    assert_eq!(transcript(bob, message)["state"], "none");
}

// Each transcription takes whisper.cpp several seconds of both cores, so the killed
// send is shown once, through the hub.
#[test]
fn a_transcript_follows_the_message_through_a_hub_also_after_a_killed_send() {
    a_transcript_follows_the_message(Backend::Hub, true);
}

#[test]
fn a_transcript_follows_the_message_through_a_shared_folder() {
    a_transcript_follows_the_message(Backend::Folder, false);
}
