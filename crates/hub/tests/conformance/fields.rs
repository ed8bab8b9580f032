//! Every field validated alike on both stores.

use super::*;

/// Every field of a message is checked by the same rule on both stores: a refusal is
/// `Invalid` with a sentence that says what to change, and nothing is stored.
pub(crate) async fn every_field_is_validated_and_nothing_is_stored(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let doc = upload_attachment(&t.alice, t.dir.path(), b"doc").await;
    let refused = |what: &'static str, m: pigeon_store::protocol::NewMessage| {
        let alice = t.alice.clone();
        async move {
            let err = alice.commit_message(&m).await.unwrap_err();
            let api = err
                .api()
                .unwrap_or_else(|| panic!("{what}: expected a refusal, got {err}"))
                .clone();
            assert_eq!(api.code, ErrorCode::Invalid, "{what}: {}", api.message);
            assert!(
                api.message.contains(": "),
                "{what}: no advice in {:?}",
                api.message
            );
        }
    };

    // A zone of the right shape that does not exist.
    let mut m = message(&clip, &["bob"], "zone");
    m.respond_by_tz = "Mars/Olympus_Mons".into();
    refused("an unknown time zone", m).await;

    // Control characters in text: an escape sequence in the subject, a NUL and a
    // carriage return in the text.
    refused(
        "an escape in the subject",
        message(&clip, &["bob"], "red \u{1b}[31m alert"),
    )
    .await;
    for text in ["nul \u{0} byte", "carriage\rreturn", "bell\u{7}"] {
        let mut m = message(&clip, &["bob"], "text");
        m.text = Some(text.into());
        refused("a control character in the text", m).await;
    }

    // Nonsense numbers and references.
    let mut m = message(&clip, &["bob"], "length");
    m.duration_ms = Some(u64::MAX);
    refused("a clip length of 584 million years", m).await;
    let mut m = message(&clip, &["bob"], "far");
    m.respond_by = Utc::now() + chrono::Duration::days(365 * 100);
    refused("a respond-by a century away", m).await;
    let mut m = message(&clip, &["bob"], "itself");
    m.in_reply_to = Some(m.id.clone());
    refused("a message answering itself", m).await;
    let mut m = message(&clip, &["bob"], "twice");
    attach(&mut m, &doc, "a.pdf");
    attach(&mut m, &doc, "b.pdf");
    refused("one attachment listed twice", m).await;

    // A cursor no store ever made.
    let err = t
        .bob
        .inbox(&InboxQuery {
            order: InboxOrder::Arrival,
            after: Some(pigeon_store::protocol::InboxCursor(format!(
                "a{}",
                "9".repeat(300)
            ))),
            limit: 10,
        })
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::Invalid);

    // Newlines and tabs are text, not control: the same message with them is stored.
    let mut ok = message(&clip, &["bob"], "fine\tsubject");
    ok.text = Some("line one\n\tline two".into());
    ok.duration_ms = Some(61_000);
    t.alice.commit_message(&ok).await.unwrap();
    let entries = inbox_all(&t.bob, InboxOrder::Arrival).await;
    assert_eq!(entries.len(), 1, "only the valid message is stored");
    assert_eq!(entries[0].message.id, ok.id);
}

/// Users are checked alike too: the hub's `user add` and the folder store refuse an
/// unknown zone and a display name with control characters.
#[tokio::test]
pub(crate) async fn users_are_validated_alike_on_both_stores() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("shared");
    pigeon_store::FolderStore::init(&root, test_limits())
        .await
        .unwrap();
    let hub_data = dir.path().join("hub");
    for (tz, display) in [
        ("Mars/Olympus_Mons", "Dave"),
        ("Europe/Berlin", "Dave\u{1b}[2J"),
    ] {
        let folder = pigeon_store::FolderStore::add_user(
            &root,
            &pigeon_store::protocol::User {
                name: user("dave"),
                display_name: display.into(),
                time_zone: tz.into(),
            },
        )
        .await
        .unwrap_err();
        assert_eq!(code(folder), ErrorCode::Invalid, "{tz} {display:?}");
        let out = hub_command(&hub_data)
            .args(["user", "add", "dave", "--tz", tz, "--display-name", display])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{tz} {display:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("time zone") || stderr.contains("display name"),
            "{stderr}"
        );
    }
    assert!(
        !root.join("users").join("dave.json").exists(),
        "nothing is stored"
    );
}
