//! End-to-end scenarios: real `pigeon-hub` processes (or a shared folder) and the
//! `pigeon` CLI, one `PIGEON_HOME` per user.

// Shared scenario bodies sit outside `#[test]` functions; a failed unwrap in them is
// the scenario failing, as in a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use pigeon_scenarios::{agenda_pdf, sha256_file, signed_in, text, wait_for, Backend, Hub, User};
use serde_json::Value;

struct Team {
    hub: Option<Hub>,
    alice: User,
    bob: User,
    carol: User,
}

fn team(backend: Backend, dir: &Path) -> Team {
    let (hub, [alice, bob, carol]) = signed_in(backend, dir, ["alice", "bob", "carol"]);
    Team {
        hub,
        alice,
        bob,
        carol,
    }
}

fn record(user: &User, seconds: &str) -> Value {
    user.json(&["record", "--source", "synthetic", "--seconds", seconds])
}

fn ask_and_answer(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let t = team(backend, dir.path());

    // Carol's earlier message is due later: alice's must still come first.
    let carol_draft = record(&t.carol, "2");
    let sent = t.carol.json(&[
        "send",
        text(&carol_draft["draft"]),
        "--to",
        "bob",
        "--subject",
        "Later",
        "--respond-by",
        "48h",
    ]);
    assert_eq!(sent["state"], "sent");

    let draft = record(&t.alice, "10");
    let seconds = draft["duration_seconds"].as_f64().unwrap();
    assert!((9.5..=10.6).contains(&seconds), "recorded {seconds} s");
    assert_eq!(draft["uploaded"], true, "the clip was uploaded by the stop");
    let agenda = agenda_pdf();
    let sent = t.alice.json(&[
        "send",
        text(&draft["draft"]),
        "--to",
        "bob,carol",
        "--subject",
        "Quarterly plan",
        "--respond-by",
        "24h",
        "--attach",
        agenda.to_str().unwrap(),
    ]);
    assert_eq!(sent["state"], "sent");
    let message = text(&sent["message"]).to_owned();

    let synced = t.bob.json(&["sync"]);
    assert_eq!(synced["new_messages"].as_array().unwrap().len(), 2);
    assert_eq!(synced["posters"].as_array().unwrap().len(), 2, "{synced}");
    let inbox = t.bob.json(&["inbox"]);
    assert_eq!(inbox[0]["id"], message.as_str(), "due first: {inbox}");
    assert_eq!(inbox[0]["sender"], "alice");
    assert_eq!(inbox[1]["subject"], "Later");
    // The poster came with the sync; the clip waits for a fetch.
    let poster = Path::new(text(&inbox[0]["poster"])).to_path_buf();
    assert!(poster.starts_with(&t.bob.home), "{}", poster.display());
    assert!(std::fs::read(&poster)
        .unwrap()
        .starts_with(&[0xFF, 0xD8, 0xFF]));
    assert_eq!(inbox[0]["downloaded"], false);
    let shown = t.bob.json(&["show", &message]);
    assert_eq!(shown["poster_path"], inbox[0]["poster"]);
    assert_eq!(shown["clip_path"], Value::Null);

    let fetched = t.bob.json(&["fetch", &message]);
    let clip = pigeon_media::probe(Path::new(text(&fetched["playable"]))).unwrap();
    assert!(
        (9.5..=10.6).contains(&clip.duration.as_secs_f64()),
        "the fetched clip lasts {:?}",
        clip.duration
    );
    assert!(clip.video().is_some() && clip.audio().is_some());
    let pdf = Path::new(text(&fetched["attachments"][0])).to_path_buf();
    assert_eq!(sha256_file(&pdf), sha256_file(&agenda));

    let reply = t
        .bob
        .json(&["reply", &message, "--source", "synthetic", "--seconds", "2"]);
    assert_eq!(reply["state"], "sent");
    let inbox = t.bob.json(&["inbox"]);
    let original = inbox
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == message.as_str())
        .unwrap();
    assert_eq!(original["responded"], true, "a reply responds: {inbox}");

    let status = t.alice.json(&["status", &message]);
    let state_of = |name: &str| {
        status["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["recipient"] == name)
            .map(|r| r["state"].clone())
            .unwrap()
    };
    assert_eq!(state_of("bob"), "responded", "{status}");
    assert_ne!(state_of("carol"), "responded", "{status}");

    t.alice.json(&["sync"]);
    let inbox = t.alice.json(&["inbox"]);
    assert_eq!(inbox.as_array().unwrap().len(), 1);
    assert_eq!(inbox[0]["in_reply_to"], message.as_str());
    drop(t.hub);
}

#[test]
fn ask_and_answer_through_a_hub() {
    ask_and_answer(Backend::Hub);
}

#[test]
fn ask_and_answer_through_a_shared_folder() {
    ask_and_answer(Backend::Folder);
}

#[test]
fn a_hub_down_during_send_delivers_once_after_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = team(Backend::Hub, dir.path());
    let hub = t.hub.as_mut().unwrap();
    let port = hub.port;
    let draft = record(&t.alice, "2");
    hub.kill();

    let queued = t.alice.json(&[
        "send",
        text(&draft["draft"]),
        "--to",
        "bob",
        "--subject",
        "While the hub was down",
    ]);
    assert_eq!(queued["state"], "queued", "{queued}");
    let message = text(&queued["message"]).to_owned();

    t.hub = Some(Hub::start(&dir.path().join("hub"), port));

    // A message the store refuses stops on its own, with a reason, and blocks nothing.
    let refused_draft = record(&t.alice, "1");
    let refused = t.alice.run(&[
        "send",
        text(&refused_draft["draft"]),
        "--to",
        "nobody",
        "--subject",
        "To no one",
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("nobody"),
        "the reason names the recipient: {stderr}"
    );

    delivered_once_on_the_next_sync(&t, &message);
}

/// The total size of the files under `dir` (the hub's blob storage).
/// Alice's next sync sends the queued `message`, and bob's inbox then holds it exactly once.
fn delivered_once_on_the_next_sync(t: &Team, message: &str) {
    let synced = t.alice.json(&["sync"]);
    assert_eq!(synced["outbox"][0]["message"], message, "{synced}");
    assert_eq!(synced["outbox"][0]["state"], "sent", "{synced}");
    t.alice.json(&["sync"]);
    t.bob.json(&["sync"]);
    let inbox = t.bob.json(&["inbox"]);
    assert_eq!(
        inbox.as_array().unwrap().len(),
        1,
        "delivered once: {inbox}"
    );
    assert_eq!(inbox[0]["id"], message);
}

fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => bytes_under(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

/// `len` bytes that do not compress and are the same on every run.
fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn a_hub_stopped_mid_upload_of_send_delivers_once_after_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = team(Backend::Hub, dir.path());
    let draft = record(&t.alice, "1");
    assert_eq!(draft["uploaded"], true);
    // 48 MiB (one request of the client's 64 MiB): the hub is stopped once 20 MiB of it
    // are stored, so there is a real window in the middle of the upload.
    let big = dir.path().join("minutes.bin");
    std::fs::write(&big, noise(48 * 1024 * 1024)).unwrap();
    let hub_data = dir.path().join("hub");
    let before = bytes_under(&hub_data.join("blobs"));

    let send = t
        .alice
        .command(&[
            "--json",
            "send",
            text(&draft["draft"]),
            "--to",
            "bob",
            "--subject",
            "Stopped mid-upload",
            "--attach",
            big.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Stop the hub in the middle of the attachment's upload.
    wait_for(Duration::from_secs(30), "the upload to get going", || {
        (bytes_under(&hub_data.join("blobs")) >= before + 20 * 1024 * 1024).then_some(())
    });
    let port = t.hub.as_ref().unwrap().port;
    t.hub.as_mut().unwrap().kill();
    let out = send.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let queued: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(queued["state"], "queued", "{queued}");
    let message = text(&queued["message"]).to_owned();
    let drafts = t.alice.json(&["drafts"]);
    let attachment = &drafts["outbox"][0]["attachments"][0];
    assert!(
        attachment["blob"].is_string(),
        "the upload had begun: {drafts}"
    );
    assert_eq!(
        attachment["sealed"],
        Value::Null,
        "and not finished: {drafts}"
    );

    t.hub = Some(Hub::start(&hub_data, port));
    delivered_once_on_the_next_sync(&t, &message);
    let shown = t.bob.json(&["show", &message]);
    assert_eq!(
        shown["message"]["attachments"][0]["blob"]["id"], attachment["blob"],
        "the upload resumed into the same blob"
    );
    let fetched = t.bob.json(&["fetch", &message]);
    // Compared byte for byte: hashing 96 MB in a debug build would double the test's time.
    let downloaded = std::fs::read(text(&fetched["attachments"][0])).unwrap();
    assert!(
        downloaded == std::fs::read(&big).unwrap(),
        "the attachment arrived intact"
    );
}

#[test]
fn a_recipient_can_have_clips_downloaded_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let t = team(Backend::Folder, dir.path());
    assert_eq!(t.bob.json(&["config"])["download"], "on-demand");
    let set = t.bob.json(&["config", "download", "background"]);
    assert_eq!(set["download"], "background");
    let wrong = t.bob.run(&["config", "download", "always"]);
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("on-demand"),
        "the error lists the choices"
    );

    let draft = record(&t.alice, "2");
    let agenda = agenda_pdf();
    let sent = t.alice.json(&[
        "send",
        text(&draft["draft"]),
        "--to",
        "bob,carol",
        "--subject",
        "Read ahead",
        "--attach",
        agenda.to_str().unwrap(),
    ]);
    let message = text(&sent["message"]).to_owned();

    let synced = t.bob.json(&["sync"]);
    assert_eq!(synced["downloaded"][0], message.as_str(), "{synced}");
    let inbox = t.bob.json(&["inbox"]);
    assert_eq!(inbox[0]["downloaded"], true);
    assert_eq!(inbox[0]["viewed"], false, "downloaded, not yet seen");
    let shown = t.bob.json(&["show", &message]);
    let pdf = Path::new(text(&shown["attachment_paths"][0])).to_path_buf();
    assert_eq!(sha256_file(&pdf), sha256_file(&agenda));
    let clip = pigeon_media::probe(Path::new(text(&shown["playable_path"]))).unwrap();
    assert!(clip.video().is_some());

    // Carol kept the default: her sync brings the poster only.
    let synced = t.carol.json(&["sync"]);
    assert_eq!(synced["downloaded"], serde_json::json!([]), "{synced}");
    assert_eq!(synced["posters"][0], message.as_str(), "{synced}");

    // Back to on demand: the next message waits for a fetch.
    t.bob.json(&["config", "download", "on-demand"]);
    let draft = record(&t.alice, "1");
    t.alice.json(&[
        "send",
        text(&draft["draft"]),
        "--to",
        "bob",
        "--subject",
        "Later",
    ]);
    let synced = t.bob.json(&["sync"]);
    assert_eq!(synced["downloaded"], serde_json::json!([]), "{synced}");
}

#[test]
fn status_of_a_message_not_sent_from_here_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let t = team(Backend::Folder, dir.path());
    let draft = record(&t.alice, "1");
    let sent = t.alice.json(&[
        "send",
        text(&draft["draft"]),
        "--to",
        "bob",
        "--subject",
        "Check-in",
    ]);
    let message = text(&sent["message"]).to_owned();
    t.bob.json(&["sync"]);

    let received = t.bob.run(&["status", &message[..8]]);
    assert!(!received.status.success());
    let stderr = String::from_utf8_lossy(&received.stderr);
    assert!(
        stderr.contains("received from alice") && stderr.contains("pigeon show"),
        "a received message is named as such: {stderr}"
    );
    let unknown = t.bob.run(&["status", "nosuchmessage"]);
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("`pigeon status` (without an id)"),
        "an unknown id says where to look: {stderr}"
    );

    // The list the errors point to.
    let list = t.alice.json(&["status"]);
    assert_eq!(list[0]["message"], message.as_str(), "{list}");
    assert_eq!(list[0]["state"], "sent");
    assert_eq!(t.bob.json(&["status"]), serde_json::json!([]));
    // The same user on another library gets the status from the store by the whole id.
    let elsewhere = User::new(&dir.path().join("laptop"), "alice");
    elsewhere.login_folder(&dir.path().join("shared-folder"));
    let status = elsewhere.json(&["status", &message]);
    assert_eq!(status["recipients"][0]["recipient"], "bob", "{status}");
}

#[test]
fn a_killed_recording_resumes_its_upload_and_is_delivered_once() {
    let dir = tempfile::tempdir().unwrap();
    let t = team(Backend::Hub, dir.path());
    let mut child = t
        .alice
        .command(&["record", "--source", "synthetic", "--seconds", "10"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once a fragment was uploaded while recording and a later one recorded.
    let uploaded = wait_for(
        Duration::from_secs(30),
        "a fragment uploaded while recording",
        || {
            let draft = t.alice.recording_draft()?;
            let acknowledged = draft["clip_acknowledged"].as_u64()?;
            (acknowledged > 0).then_some(acknowledged)
        },
    );
    wait_for(
        Duration::from_secs(30),
        "a fragment after the uploaded one",
        || {
            let draft = t.alice.recording_draft()?;
            (draft["clip_announced"].as_u64()? > uploaded).then_some(())
        },
    );
    child.kill().unwrap();
    child.wait().unwrap();

    let drafts = t.alice.json(&["drafts"]);
    let draft = &drafts["drafts"][0];
    assert_eq!(draft["recovered"], true, "{drafts}");
    assert_eq!(draft["state"], "ready");
    let seconds = draft["duration"]["secs"].as_f64().unwrap();
    assert!((1.0..=5.5).contains(&seconds), "recovered {seconds} s");
    assert!(
        draft["clip_acknowledged"].as_u64().unwrap() > 0,
        "part of the clip was uploaded while recording: {draft}"
    );

    let sent = t.alice.json(&[
        "send",
        text(&draft["id"]),
        "--to",
        "bob",
        "--subject",
        "Cut short",
    ]);
    assert_eq!(sent["state"], "sent");
    t.alice.json(&["sync"]);
    t.bob.json(&["sync"]);
    let inbox = t.bob.json(&["inbox"]);
    assert_eq!(inbox.as_array().unwrap().len(), 1, "{inbox}");
    let fetched = t.bob.json(&["fetch", text(&inbox[0]["id"])]);
    let clip = pigeon_media::probe(Path::new(text(&fetched["playable"]))).unwrap();
    assert!(
        (clip.duration.as_secs_f64() - seconds).abs() < 0.5,
        "the delivered clip ({:?}) is the recovered draft ({seconds} s)",
        clip.duration
    );
}

#[test]
fn a_killed_recording_keeps_the_chapters_marked_before() {
    use std::io::Write as _;

    let dir = tempfile::tempdir().unwrap();
    let alice = User::new(dir.path(), "alice");
    alice.login_folder(&dir.path().join("shared-folder"));
    // No fixed end: it records until the test kills it, however slow the machine.
    let mut child = alice
        .command(&[
            "--json",
            "record",
            "--source",
            "synthetic",
            "--chapters",
            "Budget,Hiring",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The first bytes announced are the file's header; the mark waits for a fragment.
    let first = alice.fragments_after(0, 2);
    let mut keys = child.stdin.take().unwrap();
    keys.write_all(b"n\n").unwrap();
    keys.flush().unwrap();
    alice.draft_chapters(2);
    // Killed once two fragments past the one being written when the mark was seen are
    // on disk: the recovered clip surely reaches the mark, however slow the machine.
    let marked = alice.fragments_after(first, 0);
    alice.fragments_after(marked, 2);
    child.kill().unwrap();
    child.wait().unwrap();

    let drafts = alice.json(&["drafts"]);
    let draft = &drafts["drafts"][0];
    assert_eq!(draft["recovered"], true, "{drafts}");
    let chapters = draft["chapters"].as_array().unwrap();
    let titles: Vec<_> = chapters.iter().map(|c| text(&c["title"])).collect();
    assert_eq!(titles, ["Budget", "Hiring"], "{draft}");
    let hiring = chapters[1]["start_ms"].as_u64().unwrap();
    let length = draft["duration"]["secs"].as_u64().unwrap() * 1000
        + draft["duration"]["nanos"].as_u64().unwrap() / 1_000_000;
    assert!(hiring >= 500 && hiring < length, "{draft}");
}

#[test]
fn ctrl_c_stops_a_recording_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let alice = User::new(dir.path(), "alice");
    alice.login_folder(&dir.path().join("shared-folder"));
    let child = alice
        .command(&["--json", "record", "--source", "synthetic"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Interrupted once the recording has a media fragment on disk: the first bytes
    // announced (the file's header) come at once, the first fragment a second later.
    alice.fragments_after(0, 2);
    let out = pigeon_scenarios::interrupt(child);
    assert!(out.status.success(), "Ctrl-C is a clean stop");
    let draft: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    let seconds = draft["duration_seconds"].as_f64().unwrap();
    assert!((0.5..=3.5).contains(&seconds), "recorded {seconds} s");
    assert_eq!(draft["state"], "ready");
    assert_eq!(draft["recovered"], false);
}

#[test]
fn user_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let alice = User::new(dir.path(), "alice");
    alice.login_folder(&dir.path().join("shared-folder"));
    let cases: [(&[&str], &str); 4] = [
        (
            &["send", "nosuchdraft", "--to", "bob", "--subject", "x"],
            "pigeon drafts",
        ),
        (&["fetch", "nosuchmessage"], "pigeon inbox"),
        (
            &["record", "--source", "/no/such/file.mp4", "--seconds", "1"],
            "use camera, synthetic",
        ),
        (&["record", "--quality", "4k", "--seconds", "1"], "480p"),
    ];
    for (args, advice) in cases {
        let out = alice.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "`pigeon {}` failed", args.join(" "));
        assert!(
            stderr.contains(advice),
            "`pigeon {}` says what to do ({advice}): {stderr}",
            args.join(" ")
        );
    }
    let draft = record(&alice, "1");
    let out = alice.run(&[
        "send",
        text(&draft["draft"]),
        "--to",
        "bob",
        "--subject",
        "x",
        "--respond-by",
        "2001-01-01T10:00",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("already passed"),
        "a respond-by in the past is refused: {stderr}"
    );
    // Nothing was lost: the draft is still ready to send.
    let drafts = alice.json(&["drafts"]);
    assert_eq!(drafts["drafts"][0]["state"], "ready", "{drafts}");
}

#[test]
fn a_respond_by_is_one_instant_shown_in_each_readers_zone() {
    use chrono::{Duration as Days, TimeZone as _, Utc};
    let dir = tempfile::tempdir().unwrap();
    let t = team(Backend::Folder, dir.path());
    // Alice lives in Tokyo and types a wall-clock time there; Bob reads it in Berlin.
    let tokyo: chrono_tz::Tz = "Asia/Tokyo".parse().unwrap();
    let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    let day = (Utc::now() + Days::days(3))
        .with_timezone(&tokyo)
        .date_naive();
    let typed = format!("{day}T17:00");
    let instant = tokyo
        .from_local_datetime(&day.and_hms_opt(17, 0, 0).unwrap())
        .single()
        .unwrap()
        .with_timezone(&Utc);
    let draft = record(&t.alice, "1");
    let out = t
        .alice
        .command(&[
            "--json",
            "send",
            text(&draft["draft"]),
            "--to",
            "bob",
            "--subject",
            "Across zones",
            "--respond-by",
            &typed,
        ])
        .env("TZ", "Asia/Tokyo")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.bob.json(&["sync"]);
    let inbox = t.bob.json(&["inbox"]);
    let sent: chrono::DateTime<Utc> = inbox[0]["respond_by"].as_str().unwrap().parse().unwrap();
    assert_eq!(sent, instant, "the same instant for everyone");
    let shown = t.bob.run(&["show", text(&inbox[0]["id"])]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    let expected = instant
        .with_timezone(&berlin)
        .format("%a %-d %b %Y, %H:%M")
        .to_string();
    assert!(
        shown.contains(&expected) && shown.contains("due in"),
        "Bob sees {expected} Berlin time, relative to now: {shown}"
    );
}
