//! Garbage collection against a real hub on each engine: what is old and unused goes,
//! what is in use or recent stays, a dry run removes nothing, and a collection racing a
//! commit that references the same blob never leaves a message without its blob.
// Helpers of the tests below: a failed step stops the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use pigeon_store::protocol::{BlobKind, ErrorCode};
use pigeon_store::{BlobUpload, Store};

/// Orphaned parts count at once; blobs only by the default ages (rows are back-dated).
const GC_TOML: &str = "[gc]\ninterval_minutes = 0\norphan_parts_after_minutes = 0\n";

fn gc(hub: &HubProcess, dry_run: bool) -> String {
    let mut cmd = hub_command(&hub.data);
    cmd.arg("gc");
    if dry_run {
        cmd.arg("--dry-run");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Makes a blob look as if its last chunk came `days` ago.
fn age(hub: &HubProcess, blob: &str, days: i64) {
    let then = chrono::Utc::now().timestamp_millis() - days * 24 * 3600 * 1000;
    hub.sql_execute(&format!(
        "UPDATE blobs SET created_ms = {then}, touched_ms = {then} WHERE id = '{blob}'"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_unused_uploads_blobs_and_parts_go_and_everything_in_use_stays() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_with(&dir.path().join("hub"), 0, &test_limits(), GC_TOML);
    let alice: Arc<dyn Store> = Arc::new(hub.client(&hub.add_user("alice")));
    hub.add_user("bob");

    // Never sealed, idle for three days: garbage.
    let mut idle = BlobUpload::start(alice.clone(), BlobKind::Attachment, "application/pdf")
        .await
        .unwrap();
    idle.send_bytes(0, bytes::Bytes::from(vec![7u8; 300_000]))
        .await
        .unwrap();
    age(&hub, idle.id().as_str(), 3);
    // Never sealed but busy today: kept.
    let mut busy = BlobUpload::start(alice.clone(), BlobKind::Attachment, "application/pdf")
        .await
        .unwrap();
    busy.send_bytes(0, bytes::Bytes::from(vec![8u8; 1000]))
        .await
        .unwrap();
    // Sealed eight days ago and never sent: garbage.
    let unsent = upload_attachment(&alice, dir.path(), &vec![9u8; 200_000]).await;
    age(&hub, unsent.id.as_str(), 8);
    // Sealed as long ago but sent: kept.
    let clip = upload_clip(&alice).await;
    let sent = upload_attachment(&alice, dir.path(), b"the agenda").await;
    let mut m = message(&clip, &["bob"], "kept");
    attach(&mut m, &sent, "agenda.pdf");
    alice.commit_message(&m).await.unwrap();
    age(&hub, sent.id.as_str(), 8);
    age(&hub, clip.id.as_str(), 8);
    // A part a killed hub wrote but never recorded.
    hub.put_object(
        "blobs/0123456789abcdef0123456789abcdef/00000000000000000000-dead",
        &[1u8; 4096],
    );
    let keys_before = hub.object_keys();

    let dry = gc(&hub, true);
    assert!(
        dry.starts_with("would free 1 uploads never sealed (0.3 MB), 1 blobs nothing references (0.2 MB), 1 orphaned parts (0.0 MB)"),
        "{dry}"
    );
    assert_eq!(
        hub.object_keys().len(),
        keys_before.len(),
        "a dry run removes nothing"
    );
    assert_eq!(
        alice.blob_status(idle.id()).await.unwrap().acknowledged,
        300_000
    );

    let freed = gc(&hub, false);
    assert!(
        freed.starts_with("freed 1 uploads never sealed (0.3 MB), 1 blobs nothing references (0.2 MB), 1 orphaned parts (0.0 MB)"),
        "{freed}"
    );
    for gone in [idle.id(), &unsent.id] {
        let err = alice.blob_status(gone).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::NotFound), "{gone}");
    }
    assert_eq!(hub.object_keys().len(), keys_before.len() - 3);
    assert!(!hub.object_keys().iter().any(|k| k.contains("dead")));
    // What is in use is all there.
    assert_eq!(
        alice.blob_status(busy.id()).await.unwrap().acknowledged,
        1000
    );
    let got = alice
        .download(&sent.id, None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&got[..], b"the agenda");
    alice.download(&clip.id, None).await.unwrap();
    // A second collection finds nothing.
    assert!(gc(&hub, false).ends_with("0.0 MB in all\n"), "nothing left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_racing_a_commit_never_leaves_a_message_without_its_blob() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_with(&dir.path().join("hub"), 0, &test_limits(), GC_TOML);
    let alice: Arc<dyn Store> = Arc::new(hub.client(&hub.add_user("alice")));
    hub.add_user("bob");
    let clip = upload_clip(&alice).await;
    let (mut kept, mut refused) = (0, 0);
    for round in 0..16 {
        let bytes = format!("agenda {round}").into_bytes();
        let doc = upload_attachment(&alice, dir.path(), &bytes).await;
        age(&hub, doc.id.as_str(), 8);
        let mut m = message(&clip, &["bob"], &format!("race {round}"));
        attach(&mut m, &doc, "agenda.pdf");
        // The first rounds force each order; the rest start both at once.
        let (committed, _) = match round {
            0 => {
                gc(&hub, false);
                (alice.commit_message(&m).await, ())
            }
            1 => {
                let c = alice.commit_message(&m).await;
                gc(&hub, false);
                (c, ())
            }
            _ => {
                let collect = tokio::task::spawn_blocking({
                    let data = hub.data.clone();
                    move || hub_command(&data).arg("gc").output().unwrap()
                });
                // Staggered across the collector's start-up, so some rounds meet it
                // in the middle of its work.
                tokio::time::sleep(std::time::Duration::from_millis((round as u64 - 2) * 12)).await;
                let c = alice.commit_message(&m).await;
                assert!(collect.await.unwrap().status.success());
                (c, ())
            }
        };
        match committed {
            Ok(_) => {
                kept += 1;
                let got = alice
                    .download(&doc.id, None)
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                assert_eq!(
                    got, bytes,
                    "round {round}: a committed message keeps its blob"
                );
            }
            Err(e) => {
                refused += 1;
                assert!(!e.is_retryable(), "round {round}: {e}");
                assert!(e.to_string().contains("not found"), "round {round}: {e}");
                assert_eq!(
                    alice.blob_status(&doc.id).await.unwrap_err().code(),
                    Some(ErrorCode::NotFound)
                );
            }
        }
    }
    eprintln!("commits that won the race: {kept}, refused after the blob went: {refused}");
    assert!(kept >= 1 && refused >= 1);
}
