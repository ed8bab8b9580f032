//! Fair deadlines and more time over simulated days, end to end through the `pigeon`
//! CLI on a manual clock: alice (Berlin, 9-17), bob (New York, 9-17) and yuki (Tokyo,
//! 10-18, off on Wednesday). Alice sends "8 working hours each" on a Tuesday at 16:00
//! in Berlin; each deadline is checked on its reader's clock; yuki asks for more time
//! and alice grants it; bob runs overdue; the meeting grid and its summary say who
//! answered; and what nobody may do is refused in a sentence, storing nothing.

use chrono::{DateTime, Datelike as _, Duration, TimeZone as _, Utc, Weekday};
use chrono_tz::Tz;
use pigeon_scenarios::{signed_in, text, Backend, User};
use serde_json::Value;

/// The next Tuesday at 16:00 in Berlin at least two days ahead: the stores check
/// deadlines against their own clock, so the simulated days lie ahead of it.
fn next_tuesday_four_pm() -> DateTime<Utc> {
    let berlin = chrono_tz::Europe::Berlin;
    let mut day = (Utc::now() + Duration::days(2))
        .with_timezone(&berlin)
        .date_naive();
    while day.weekday() != Weekday::Tue {
        day = day.succ_opt().unwrap();
    }
    berlin
        .from_local_datetime(&day.and_hms_opt(16, 0, 0).unwrap())
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn instant(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text(v))
        .unwrap()
        .with_timezone(&Utc)
}

/// `at` on a wall clock in `zone`, as "Thu 18:00".
fn on_clock(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%a %H:%M").to_string()
}

fn hours(user: &User, zone: &str, spans: &str, days: &str) {
    user.json(&["profile", "--tz", zone, "--hours", spans, "--days", days]);
}

fn inbox_entry(user: &User, id: &str) -> Value {
    let inbox = user.json(&["inbox"]);
    inbox
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("{} has no {id}: {inbox}", user.name))
        .clone()
}

fn cell_states(meeting: &Value, who: &str) -> Vec<String> {
    meeting["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == who)
        .unwrap()["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| text(&c["state"]).to_owned())
        .collect()
}

fn deadlines(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (_hub, [alice, bob, yuki, carol]) =
        signed_in(backend, dir.path(), ["alice", "bob", "yuki", "carol"]);
    hours(&alice, "Europe/Berlin", "09:00-17:00", "mon-fri");
    hours(&bob, "America/New_York", "09:00-17:00", "mon-fri");
    hours(&yuki, "Asia/Tokyo", "10:00-18:00", "mon,tue,thu,fri");
    let (ny, tokyo) = (chrono_tz::America::New_York, chrono_tz::Asia::Tokyo);

    let t0 = next_tuesday_four_pm();
    let at = |d: Duration| (t0 + d).to_rfc3339();
    for user in [&alice, &bob, &yuki, &carol] {
        user.set_clock(&at(Duration::zero()));
    }
    let draft = alice.json(&["record", "--source", "synthetic", "--seconds", "1"]);
    let sent = alice.json(&[
        "send",
        text(&draft["draft"]),
        "--to",
        "bob,yuki",
        "--subject",
        "Budget review",
        "--respond-by",
        "8wh",
    ]);
    assert_eq!(sent["state"], "sent", "{sent}");
    let id = text(&sent["message"]).to_owned();
    let deadline_of = |who: &str| {
        sent["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["recipient"] == who)
            .map(|d| instant(&d["respond_by"]))
            .unwrap()
    };
    // Bob: 10:00 in New York, 7 h on Tuesday and 1 h on Wednesday.
    assert_eq!(on_clock(deadline_of("bob"), ny), "Wed 10:00");
    // Yuki: midnight in Tokyo, off on Wednesday: 8 h on Thursday.
    assert_eq!(on_clock(deadline_of("yuki"), tokyo), "Thu 18:00");
    assert_eq!(instant(&sent["respond_by"]), deadline_of("yuki"));

    // Each reader's inbox, reminders and overdue go by their own deadline.
    bob.set_clock(&at(Duration::hours(1)));
    yuki.set_clock(&at(Duration::hours(1)));
    bob.json(&["sync"]);
    yuki.json(&["sync"]);
    assert_eq!(
        instant(&inbox_entry(&bob, &id)["respond_by"]),
        deadline_of("bob")
    );
    assert_eq!(
        instant(&inbox_entry(&yuki, &id)["respond_by"]),
        deadline_of("yuki")
    );

    // Yuki asks for Friday 18:00 on her clock; carol, who is not a recipient, cannot.
    let friday = deadline_of("yuki") + Duration::days(1);
    let asked = yuki.json(&[
        "more-time",
        &id,
        "--until",
        &friday.to_rfc3339(),
        "--note",
        "off on Wednesday, travelling on Thursday",
    ]);
    assert_eq!(text(&asked["extensions"][0]["state"]), "asked", "{asked}");
    let stranger = carol.run(&["more-time", &id, "--until", &friday.to_rfc3339()]);
    assert!(!stranger.status.success());
    let said = String::from_utf8_lossy(&stranger.stderr);
    assert!(
        said.contains("no message you received or sent matches"),
        "{said}"
    );

    // Alice sees the request and grants it; yuki's deadline moves, bob's does not.
    alice.set_clock(&at(Duration::hours(2)));
    alice.json(&["sync"]);
    let requests = alice.json(&["more-time", &id]);
    assert_eq!(requests["extensions"][0]["recipient"], "yuki", "{requests}");
    let granted = alice.json(&["grant", &id, "--to", "yuki", "--note", "of course"]);
    assert_eq!(granted["state"], "shared", "{granted}");
    yuki.json(&["sync"]);
    assert_eq!(instant(&inbox_entry(&yuki, &id)["respond_by"]), friday);
    let decided = yuki.json(&["more-time", &id]);
    assert_eq!(decided["extensions"][0]["state"], "granted");
    assert_eq!(decided["extensions"][0]["answer_note"], "of course");
    assert_eq!(instant(&decided["my_deadline"]), friday);
    bob.json(&["sync"]);
    assert_eq!(
        instant(&inbox_entry(&bob, &id)["respond_by"]),
        deadline_of("bob")
    );

    // Wednesday 12:00 in New York: bob is overdue, yuki is not; yuki answers.
    let wednesday_noon = deadline_of("bob") + Duration::hours(2);
    bob.set_clock(&wednesday_noon.to_rfc3339());
    assert!(
        text(&inbox_entry(&bob, &id)["due"]).starts_with("overdue"),
        "{}",
        inbox_entry(&bob, &id)
    );
    yuki.set_clock(&wednesday_noon.to_rfc3339());
    assert!(text(&inbox_entry(&yuki, &id)["due"]).starts_with("due in"));
    yuki.json(&["reply", &id, "--text", "The numbers look right to me."]);

    alice.set_clock(&wednesday_noon.to_rfc3339());
    alice.json(&["sync"]);
    let meeting = alice.json(&["meeting", &id]);
    assert_eq!(cell_states(&meeting, "bob"), ["overdue"], "{meeting}");
    assert_eq!(cell_states(&meeting, "yuki"), ["answered"], "{meeting}");
    assert!(meeting["closed"].is_null());
    let summary = alice.run(&["meeting", &id, "--markdown"]);
    let summary = String::from_utf8(summary.stdout).unwrap();
    println!("{summary}");
    assert!(summary.starts_with("# Budget review\n"), "{summary}");
    assert!(
        summary.contains("- **yuki** answered: \u{201c}The numbers look right to me.\u{201d}"),
        "{summary}"
    );
    let open = summary.find("## Still open").unwrap();
    assert!(
        summary[open..].contains("- **bob**: no answer yet, overdue since"),
        "{summary}"
    );
    assert!(!summary[open..].contains("yuki"), "{summary}");

    // Alice nudges the one pending, once; then closes; nobody asks for more time after.
    let nudged = alice.json(&["nudge", &id]);
    assert_eq!(nudged["nudged"], serde_json::json!(["bob"]), "{nudged}");
    assert_eq!(alice.json(&["nudge", &id])["nudged"], serde_json::json!([]));
    assert_eq!(alice.json(&["close", &id])["state"], "shared");
    bob.json(&["sync"]);
    let late = bob.run(&["more-time", &id, "--until", &friday.to_rfc3339()]);
    assert!(!late.status.success());
    let said = String::from_utf8_lossy(&late.stderr);
    assert!(said.contains("alice closed this meeting"), "{said}");
    assert_eq!(alice.json(&["meeting", &id])["closed"], "closed-by-sender");
    // Only alice may grant: bob is refused, and nothing was queued for him.
    let not_sender = bob.run(&["grant", &id]);
    assert!(!not_sender.status.success());
    assert!(bob.json(&["more-time", &id])["extensions"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn fair_deadlines_and_more_time_through_a_hub() {
    deadlines(Backend::Hub);
}

#[test]
fn fair_deadlines_and_more_time_through_a_shared_folder() {
    deadlines(Backend::Folder);
}
