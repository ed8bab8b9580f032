//! Trim before sending, end to end: alice records a synthetic clip with the CLI
//! (uploaded to a hub while it is recorded), trims it to 3.2..7.5 s and sends it to
//! bob. Bob receives exactly the trimmed file, its first and last pictures are the
//! requested frames (read from the frame counter strip of the synthetic picture),
//! and the hub's blob for the message is the trimmed file, not the untrimmed clip.
//! Chapters marked while recording (the CLI's next-item key) move with the trim and
//! reach the recipient as they were left.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use pigeon_media::synthetic::read_frame_index;
use pigeon_scenarios::{record_with_marks, sha256_file, signed_in, text, Backend};
use serde_json::Value;

/// The frame index of the picture in every frame slot of `clip`, decoded by the
/// ffmpeg CLI (luma only: that is where the strip is). A slot the recorder left
/// empty (a frame dropped live) shows the picture before, as players show it.
fn frame_indices(clip: &Path) -> Vec<Option<u64>> {
    let info = pigeon_media::probe(clip).unwrap();
    let video = info.video().unwrap();
    let (w, h) = (video.width, video.height);
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(clip)
        .args(["-vsync", "cfr", "-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = (w * h) as usize;
    assert_eq!(out.stdout.len() % size, 0);
    out.stdout
        .chunks_exact(size)
        .map(|picture| read_frame_index(picture, w, h))
        .collect()
}

#[test]
fn a_trimmed_clip_reaches_the_recipient_exactly_and_nothing_cut_off_is_referenced() {
    let dir = tempfile::tempdir().unwrap();
    let (_hub, [alice, bob]) = signed_in(Backend::Hub, dir.path(), ["alice", "bob"]);

    let recorded = alice.json(&["record", "--source", "synthetic", "--seconds", "10"]);
    assert_eq!(
        recorded["uploaded"], true,
        "uploaded while recorded: {recorded}"
    );
    let draft = text(&recorded["draft"]).to_owned();
    let untrimmed = alice.json(&["drafts"])["drafts"][0].clone();
    let old_blob = untrimmed["clip_sealed"]["id"].clone();
    assert!(old_blob.is_string(), "{untrimmed}");
    // A live recording's frame slots need not start at the pattern's frame 0 (the
    // recorder's clock starts a moment after the source's), so the requested frames
    // are those of the untrimmed clip at slots round(3.2 * 30) ..= round(7.5 * 30) - 1.
    let original = frame_indices(Path::new(text(&untrimmed["clip_path"])));
    let (first, last) = (96, 224);
    let kept = original[first..=last].to_vec();
    assert!(
        kept.iter().all(Option::is_some),
        "every picture carries its index"
    );

    let trimmed = alice.json(&["trim", &draft[..8], "--start", "0:03.2", "--end", "7.5"]);
    assert_eq!(trimmed["duration_seconds"], 4.3, "{trimmed}");
    assert_eq!(trimmed["full_reencode"], Value::Null, "{trimmed}");
    assert!(
        trimmed["reencoded_frames"].as_u64().unwrap() < 30,
        "only the first group of pictures is re-encoded: {trimmed}"
    );
    assert_eq!(trimmed["uploaded"], true, "{trimmed}");
    let alice_clip = Path::new(text(&trimmed["clip"])).to_path_buf();
    assert_eq!(frame_indices(&alice_clip), kept);

    let sent = alice.json(&[
        "send",
        &draft,
        "--to",
        "bob",
        "--subject",
        "Trimmed",
        "--respond-by",
        "24h",
    ]);
    assert_eq!(sent["state"], "sent", "{sent}");
    let message = text(&sent["message"]).to_owned();

    bob.json(&["sync"]);
    let fetched = bob.json(&["fetch", &message]);
    let bob_clip = Path::new(text(&fetched["clip"])).to_path_buf();
    assert_eq!(
        std::fs::read(&bob_clip).unwrap(),
        std::fs::read(&alice_clip).unwrap(),
        "bob has exactly alice's trimmed clip"
    );
    assert_eq!(frame_indices(Path::new(text(&fetched["playable"]))), kept);

    // The hub's blob for the message is the trimmed file, byte for byte; the
    // untrimmed upload is not what the message references.
    let shown = bob.json(&["show", &message]);
    let clip = &shown["message"]["clip"];
    assert_eq!(clip["sha256"], sha256_file(&alice_clip).as_str(), "{shown}");
    assert_eq!(clip["size"], std::fs::metadata(&alice_clip).unwrap().len());
    assert_ne!(clip["id"], old_blob, "the untrimmed blob is abandoned");
    let length = shown["message"]["duration_ms"].as_u64().unwrap();
    assert_eq!(length, 4300, "{shown}");
}

fn starts(chapters: &Value) -> Vec<(u64, String)> {
    chapters
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["start_ms"].as_u64().unwrap(),
                text(&c["title"]).to_owned(),
            )
        })
        .collect()
}

#[test]
fn chapters_marked_while_recording_move_with_a_trim_and_reach_the_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let (_, [alice, bob]) = signed_in(Backend::Folder, dir.path(), ["alice", "bob"]);
    // "Next item" once a second of clip is on disk, and again a fragment later: each
    // at least the half second after the previous chapter that a mark needs.
    let (printed, _) = record_with_marks(&alice, "Intro, Budget,Hiring", 2, 1);
    let marked = starts(&printed["chapters"]);
    let titles: Vec<_> = marked.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(titles, ["Intro", "Budget", "Hiring"], "{printed}");
    let (budget, hiring) = (marked[1].0, marked[2].0);
    assert!(
        marked[0].0 == 0 && budget >= 500 && hiring >= budget + 500,
        "{marked:?}"
    );

    // Cut between Budget and Hiring: Budget opens the trimmed clip, Hiring moves up.
    let cut = (budget + hiring) / 2;
    let draft = text(&printed["draft"]).to_owned();
    let start = format!("{}.{:03}", cut / 1000, cut % 1000);
    let trimmed = alice.json(&["trim", &draft[..8], "--start", &start]);
    let kept = vec![
        (0, "Budget".to_owned()),
        (hiring - cut, "Hiring".to_owned()),
    ];
    assert_eq!(starts(&trimmed["chapters"]), kept, "{trimmed}");
    assert_eq!(starts(&alice.recording_draft().unwrap()["chapters"]), kept);

    let sent = alice.json(&["send", &draft, "--to", "bob", "--subject", "Agenda"]);
    assert_eq!(sent["state"], "sent", "{sent}");
    bob.json(&["sync"]);
    let shown = bob.json(&["show", text(&sent["message"])]);
    assert_eq!(starts(&shown["message"]["chapters"]), kept, "{shown}");
}
