//! Moving a hub from SQLite and a local folder onto PostgreSQL and a Garage bucket with
//! `pigeon-hub migrate`, while its clients keep syncing: afterwards every message,
//! receipt and blob is there and byte-equal, tokens and cursors work on the new hub.
// Helpers of the tests below: a failed step stops the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use pigeon_store::protocol::BlobRef;
use pigeon_store::Store;

const MESSAGES: usize = 1000;

/// Every row of `table` in the SQLite file, in `order`, as psql's unaligned text would
/// print it (NULL as nothing, fields joined by `|`).
fn sqlite_rows(db: &std::path::Path, table: &str, columns: &str, order: &str) -> Vec<String> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut stmt = c
        .prepare(&format!("SELECT {columns} FROM {table} ORDER BY {order}"))
        .unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        Ok((0..n)
            .map(|i| match r.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Null => String::new(),
                rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).to_string(),
                other => panic!("unexpected {other:?}"),
            })
            .collect::<Vec<_>>()
            .join("|"))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn postgres_rows(url: &str, table: &str, columns: &str, order: &str) -> Vec<String> {
    psql(
        url,
        &format!("SELECT {columns} FROM {table} ORDER BY {order}"),
    )
    .lines()
    .map(str::to_string)
    .collect()
}

fn migrate(data: &std::path::Path, servers: &Servers, target: &std::path::Path) -> String {
    let out = hub_command(data)
        .args(["migrate", "--to", &servers.postgres_url(target)])
        .args([
            "--blobs",
            "s3",
            "--s3-bucket",
            &servers.get("PIGEON_TEST_S3_BUCKET"),
        ])
        .args(["--s3-endpoint", &servers.get("PIGEON_TEST_S3_ENDPOINT")])
        .args(["--s3-region", &servers.get("PIGEON_TEST_S3_REGION")])
        .args(["--s3-prefix", &server_name(target), "--s3-allow-http"])
        .env("AWS_ACCESS_KEY_ID", servers.get("PIGEON_TEST_S3_KEY_ID"))
        .env(
            "AWS_SECRET_ACCESS_KEY",
            servers.get("PIGEON_TEST_S3_SECRET"),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_of_1000_messages_moves_to_postgres_and_garage_while_clients_sync() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("old");
    // The source is always a single hub on SQLite and a local folder.
    let config = write_hub_config(&data, (String::new(), String::new()), &test_limits(), "");
    let (old, url) = spawn_hub(&config, &data, 0);
    let mut old = Stopping(Some(old));
    let client = |token: &str| -> Arc<dyn Store> {
        Arc::new(pigeon_store::HubClient::new(&url, token).unwrap())
    };
    let alice = client(&add_hub_user(&data, "alice"));
    let bob_token = add_hub_user(&data, "bob");
    let bob = client(&bob_token);
    add_hub_user(&data, "carol");
    let clip = upload_clip(&alice).await;

    // 1,000 messages, each with an attachment of its own, eight at a time.
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let sent: Vec<BlobRef> = futures_util::stream::iter(0..MESSAGES)
        .map(|i| {
            let (alice, clip, files) = (alice.clone(), clip.clone(), files.clone());
            async move {
                let doc =
                    upload_attachment(&alice, &files, format!("agenda {i} ").repeat(40).as_bytes())
                        .await;
                let mut m = message(&clip, &["bob", "carol"], &format!("message {i}"));
                attach(&mut m, &doc, "agenda.pdf");
                alice.commit_message(&m).await.unwrap();
                doc
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;

    // Clients keep syncing during the first run: bob pages his inbox and marks what he
    // sees, alice sends more.
    let syncing = Arc::new(AtomicBool::new(true));
    let sync = tokio::spawn({
        let (alice, bob, clip, syncing) =
            (alice.clone(), bob.clone(), clip.clone(), syncing.clone());
        async move {
            let mut cursor = None;
            let mut more_sent = 0;
            while syncing.load(Ordering::SeqCst) {
                let page = bob
                    .wait_inbox(cursor.as_ref(), Duration::from_millis(200))
                    .await
                    .unwrap();
                for e in page.entries.iter().step_by(7) {
                    bob.mark_viewed(&e.message.id).await.unwrap();
                }
                cursor = page.next.or(cursor);
                alice
                    .commit_message(&message(&clip, &["bob"], "during the move"))
                    .await
                    .unwrap();
                more_sent += 1;
                // A person's pace, not a benchmark's.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (cursor, more_sent)
        }
    });
    let servers = Servers::shared();
    let target = dir.path().join("new");
    let first = migrate(&data, &servers, &target);
    syncing.store(false, Ordering::SeqCst);
    let (cursor, more_sent) = sync.await.unwrap();
    assert!(more_sent > 0);
    // The move: stop the hub, run again for what changed since, serve from the new place.
    assert!(old.stop().unwrap().success());
    let second = migrate(&data, &servers, &target);
    eprintln!("first run: {first}second run: {second}");
    assert!(
        first.contains(" sealed blobs verified by sha256"),
        "{first}"
    );
    assert!(second.contains("Serve from there"), "{second}");

    let sqlite = data.join("hub.sqlite3");
    let pg = servers.postgres_url(&target);
    for (table, columns, order) in [
        ("users", "name, display_name, time_zone, token_sha256, created_ms, revoked_ms, working_hours", "name"),
        ("messages", "seq, id, sender, fingerprint, thread, body, sent_ms", "seq"),
        ("receipts", "message_seq, recipient, respond_by_ms, delivered_ms, viewed_ms, responded_ms, reply_id", "message_seq, recipient"),
        ("records", "seq, id, message_seq, author, fingerprint, created_ms, body", "seq"),
        ("blobs", "id, owner, kind, content_type, acknowledged, sealed_size, sealed_sha256", "id"),
        ("blob_parts", "blob_id, start, length, object_key", "blob_id, start"),
        ("message_blobs", "message_seq, blob_id, attachment_name", "message_seq, blob_id"),
    ] {
        let (a, b) = (sqlite_rows(&sqlite, table, columns, order), postgres_rows(&pg, table, columns, order));
        assert_eq!(a.len(), b.len(), "{table}");
        assert!(a == b, "{table} differs");
    }
    let messages: usize = psql(&pg, "SELECT COUNT(*) FROM messages")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(messages, MESSAGES + more_sent);

    // Serve from there: the old tokens work, every blob is byte-equal, bob's cursor goes on.
    let new_config = write_hub_config(&target, servers.toml(&target), &test_limits(), "");
    let (new, url) = spawn_hub(&new_config, &target.join("node"), 0);
    let _new = Stopping(Some(new));
    let bob = Arc::new(pigeon_store::HubClient::new(&url, &bob_token).unwrap());
    for doc in &sent {
        let d = bob.download(&doc.id, None).await.unwrap();
        assert_eq!(d.sha256, doc.sha256);
        let bytes = d.bytes().await.unwrap();
        assert_eq!(sha256_hex(&bytes), doc.sha256, "{}", doc.id);
    }
    // A user added on the new hub writes to bob; bob's cursor from the old hub reaches it.
    let erin: Arc<dyn Store> =
        Arc::new(pigeon_store::HubClient::new(&url, &add_hub_user(&target, "erin")).unwrap());
    let m = message(&upload_clip(&erin).await, &["bob"], "on the new hub");
    erin.commit_message(&m).await.unwrap();
    let mut cursor = cursor;
    let mut seen = 0;
    loop {
        let page = bob
            .wait_inbox(cursor.as_ref(), Duration::from_secs(10))
            .await
            .unwrap();
        assert!(!page.entries.is_empty(), "the old cursor continues");
        seen += page.entries.len();
        if page.entries.iter().any(|e| e.message.id == m.id) {
            break;
        }
        assert!(seen <= MESSAGES + more_sent + 1);
        cursor = page.next;
    }
}
