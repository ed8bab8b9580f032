//! Working hours in the profile, end to end through the `pigeon` CLI over a hub and
//! over a shared folder: yuki sets her zone and hours, alice reads them with her local
//! time and whether she works, a mistake is one sentence that changes nothing, and
//! nobody's change touches another's profile.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pigeon_scenarios::{signed_in, Backend};

#[path = "deadlines.rs"]
mod deadlines;
use serde_json::Value;

fn working_hours(v: &Value) -> &Value {
    &v["profile"]["working_hours"]
}

fn profiles(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (_hub, [alice, yuki]) = signed_in(backend, dir.path(), ["alice", "yuki"]);

    let before = yuki.json(&["profile"]);
    assert!(working_hours(&before).is_null(), "{before}");
    assert!(before["availability"].is_null());

    let saved = yuki.json(&[
        "profile",
        "--tz",
        "Asia/Tokyo",
        "--hours",
        "10:00-18:00",
        "--days",
        "mon-fri",
        "--off",
        "2026-12-24",
    ]);
    assert_eq!(saved["saved"], true);
    assert_eq!(saved["profile"]["time_zone"], "Asia/Tokyo");
    assert_eq!(working_hours(&saved)["days"].as_array().unwrap().len(), 5);
    assert_eq!(working_hours(&saved)["spans"][0]["start"], "10:00");
    assert_eq!(working_hours(&saved)["days_off"][0], "2026-12-24");

    // Alice sees yuki's hours, her clock (Tokyo has no daylight saving) and her state.
    let seen = alice.json(&["profile", "--of", "yuki"]);
    assert_eq!(seen["profile"], saved["profile"]);
    assert!(
        seen["local_now"].as_str().unwrap().ends_with("+09:00"),
        "{seen}"
    );
    let phrase = seen["availability"]["phrase"].as_str().unwrap();
    assert!(
        phrase.starts_with("working now, until ") || phrase.starts_with("off until "),
        "{phrase}"
    );
    assert_eq!(
        seen["availability"]["working"].as_bool().unwrap(),
        phrase.starts_with("working")
    );
    // The text says the same in words.
    let shown = alice.run(&["profile", "--of", "yuki"]);
    let shown = String::from_utf8(shown.stdout).unwrap();
    assert!(
        shown.contains("working hours: mon-fri 10:00-18:00"),
        "{shown}"
    );
    assert!(
        shown.contains("days off: 2026-12-24") && shown.contains(phrase),
        "{shown}"
    );

    // Mistakes: one sentence saying what to type, and nothing changes.
    for (args, says) in [
        (vec!["--tz", "Asia/Edo"], "IANA zone"),
        (vec!["--hours", "18:00-10:00"], "ends before it starts"),
        (vec!["--hours", "09:00-13:00,12:00-17:00"], "overlap"),
        (vec!["--days", "weekdays"], "mon-fri"),
        (vec!["--off", "24.12."], "YYYY-MM-DD"),
    ] {
        let mut all = vec!["profile"];
        all.extend(args.iter());
        let out = yuki.run(&all);
        assert!(!out.status.success(), "{all:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(says), "{all:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one sentence: {stderr}");
        assert_eq!(
            alice.json(&["profile", "--of", "yuki"])["profile"],
            saved["profile"]
        );
    }
    let unknown = alice.run(&["profile", "--of", "zed"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8(unknown.stderr)
        .unwrap()
        .contains("zed is not a user"));

    // Alice's own change is hers alone.
    alice.json(&[
        "profile",
        "--tz",
        "Europe/Berlin",
        "--hours",
        "09:00-17:00",
        "--days",
        "mon-fri",
    ]);
    assert_eq!(yuki.json(&["profile"])["profile"], saved["profile"]);
    let alice_seen = yuki.json(&["profile", "--of", "alice"]);
    assert_eq!(alice_seen["profile"]["time_zone"], "Europe/Berlin");

    // Moving zone takes the hours along; --no-hours removes them.
    let moved = yuki.json(&["profile", "--tz", "America/New_York"]);
    assert_eq!(working_hours(&moved)["time_zone"], "America/New_York");
    assert_eq!(working_hours(&moved)["spans"][0]["start"], "10:00");
    let removed = yuki.json(&["profile", "--no-hours"]);
    assert!(working_hours(&removed).is_null(), "{removed}");
    assert_eq!(removed["profile"]["time_zone"], "America/New_York");
}

#[test]
fn working_hours_through_a_hub() {
    profiles(Backend::Hub);
}

#[test]
fn working_hours_through_a_shared_folder() {
    profiles(Backend::Folder);
}
