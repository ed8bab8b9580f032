//! `pigeon-hub backup` of a single hub on SQLite and a local folder while a sender keeps
//! committing, and a restore from it: the restored hub serves every message of the
//! snapshot with byte-equal blobs, the old tokens work, and its database checks out.
// Helpers of the tests below: a failed step stops the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use pigeon_store::protocol::{BlobRef, InboxOrder, InboxQuery};
use pigeon_store::{HubClient, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_to_a_hub_with_everything_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    // Backups are of a single hub on SQLite and local blobs, whatever the suite's engine.
    let config = write_hub_config(&data, (String::new(), String::new()), &test_limits(), "");
    let (child, url) = spawn_hub(&config, &data, 0);
    let mut hub = Stopping(Some(child));
    let alice: Arc<dyn Store> =
        Arc::new(HubClient::new(&url, &add_hub_user(&data, "alice")).unwrap());
    let bob_token = add_hub_user(&data, "bob");
    let clip = upload_clip(&alice).await;
    let mut docs: Vec<BlobRef> = Vec::new();
    for i in 0..40 {
        let doc = upload_attachment(
            &alice,
            dir.path(),
            format!("minutes {i}").repeat(500).as_bytes(),
        )
        .await;
        let mut m = message(&clip, &["bob"], &format!("before {i}"));
        attach(&mut m, &doc, "minutes.pdf");
        alice.commit_message(&m).await.unwrap();
        docs.push(doc);
    }
    // A sender goes on while the backup runs.
    let sending = Arc::new(AtomicBool::new(true));
    let sender = tokio::spawn({
        let (alice, clip, sending) = (alice.clone(), clip.clone(), sending.clone());
        async move {
            let mut n = 0;
            while sending.load(Ordering::SeqCst) {
                alice
                    .commit_message(&message(&clip, &["bob"], "during"))
                    .await
                    .unwrap();
                n += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            n
        }
    });
    let backup = dir.path().join("backup");
    let out = hub_command(&data)
        .arg("backup")
        .arg(&backup)
        .output()
        .unwrap();
    sending.store(false, Ordering::SeqCst);
    let during = sender.await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(
        said.contains("blob parts") && said.contains("verified by sha256"),
        "{said}"
    );
    // A second backup into the same folder is refused, the first left alone.
    let again = hub_command(&data)
        .arg("backup")
        .arg(&backup)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    // Restore: the original is gone; a hub serves from the backup folder.
    hub.stop();
    std::fs::remove_dir_all(&data).unwrap();
    let c = rusqlite::Connection::open(backup.join("hub.sqlite3")).unwrap();
    let check: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let in_backup: i64 = c
        .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))
        .unwrap();
    drop(c);
    assert!(
        in_backup >= 40 && in_backup <= 40 + during as i64 + 1,
        "{in_backup}"
    );
    let config = write_hub_config(&backup, (String::new(), String::new()), &test_limits(), "");
    let (child, url) = spawn_hub(&config, &backup, 0);
    let _restored = Stopping(Some(child));
    let bob = HubClient::new(&url, &bob_token).unwrap();
    let mut seen = 0;
    let mut after = None;
    loop {
        let page = bob
            .inbox(&InboxQuery {
                order: InboxOrder::Arrival,
                after: after.clone(),
                limit: 100,
            })
            .await
            .unwrap();
        seen += page.entries.len();
        if !page.more {
            break;
        }
        after = page.next;
    }
    assert_eq!(seen as i64, in_backup, "every message of the snapshot");
    for doc in &docs {
        let got = bob
            .download(&doc.id, None)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(sha256_hex(&got), doc.sha256);
    }
    bob.download(&clip.id, None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
}
