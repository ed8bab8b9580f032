//! Faults of a cluster: three hubs over one PostgreSQL database and one Garage bucket
//! behind HAProxy. A hub killed in the middle of a large upload, PostgreSQL restarted
//! while senders commit, Garage stopped during uploads, and a long-poll on one hub woken
//! by a commit on another. Runs inside scripts/test-env (its PostgreSQL and Garage);
//! the tests that stop a server start their own.
// Helpers of the tests below: a failed step stops the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use futures_util::StreamExt;
use pigeon_store::protocol::{BlobKind, Limits};
use pigeon_store::{BlobUpload, HubClient, RetryPolicy, Store, UploadProgress};
use sha2::{Digest, Sha256};

fn big_limits() -> Limits {
    Limits {
        max_attachment_bytes: 256 * 1024 * 1024,
        max_chunk_bytes: 16 * 1024 * 1024,
        max_recipients: 30,
        ..test_limits()
    }
}

/// A cluster of [`CLUSTER_HUBS`] hubs on `servers`, with its data under `data`.
fn cluster_on(servers: &Servers, data: &std::path::Path, limits: &Limits) -> Cluster {
    let config = write_hub_config(data, servers.toml(data), limits, "");
    Cluster::start(&config, data, 0, CLUSTER_HUBS)
}

/// A client that keeps trying for `patience` (a balancer taking a dead hub out, a
/// database restarting).
fn patient_client(url: &str, token: &str, patience: Duration) -> HubClient {
    let attempts = (patience.as_millis() / 250).max(2) as u32;
    HubClient::new(url, token).unwrap().with_retry(RetryPolicy {
        attempts,
        first_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(250),
    })
}

/// `len` bytes that do not compress, made fast: 1 MiB of noise, each MiB told apart
/// by its index.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let block: Vec<u8> = (0..1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut out = Vec::with_capacity(len);
    let mut i: u32 = 0;
    while out.len() < len {
        let take = (len - out.len()).min(block.len());
        let start = out.len();
        out.extend_from_slice(&block[..take]);
        out[start..start + 4.min(take)].copy_from_slice(&i.to_le_bytes()[..4.min(take)]);
        i += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_on_one_hub_wakes_within_a_second_for_a_commit_on_another() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cluster");
    let servers = Servers::shared();
    let cluster = cluster_on(&servers, &data, &test_limits());
    let alice = add_hub_user(&data, "alice");
    let bob = add_hub_user(&data, "bob");
    // Around the balancer: alice on hub 0, bob waiting on hub 1.
    let alice: Arc<dyn Store> = Arc::new(patient_client(
        &cluster.hub_urls[0],
        &alice,
        Duration::from_secs(2),
    ));
    let bob = Arc::new(patient_client(
        &cluster.hub_urls[1],
        &bob,
        Duration::from_secs(2),
    ));
    let clip = upload_clip(&alice).await;
    let mut cursor = bob.inbox(&Default::default()).await.unwrap().next;
    let mut worst = Duration::ZERO;
    for round in 0..5 {
        let waiting = tokio::spawn({
            let bob = bob.clone();
            let cursor = cursor.clone();
            async move {
                let page = bob
                    .wait_inbox(cursor.as_ref(), Duration::from_secs(20))
                    .await
                    .unwrap();
                (page, Instant::now())
            }
        });
        // Until the long-poll waits on hub 1 (its gauge says so).
        let port: u16 = cluster.hub_urls[1]
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let started = Instant::now();
        while !get_body(port, "/metrics").contains("\npigeon_hub_long_polls_open 1\n") {
            assert!(started.elapsed() < Duration::from_secs(10));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let m = message(&clip, &["bob"], &format!("round {round}"));
        alice.commit_message(&m).await.unwrap();
        let committed = Instant::now();
        let (page, woke) = waiting.await.unwrap();
        let latency = woke.saturating_duration_since(committed);
        assert_eq!(page.entries.len(), 1, "round {round}");
        assert_eq!(page.entries[0].message.id, m.id);
        worst = worst.max(latency);
        cursor = page.next;
    }
    eprintln!("cross-hub wake-up, worst of 5: {} ms", worst.as_millis());
    assert!(worst < Duration::from_secs(1), "{worst:?}");
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_killed_in_the_middle_of_a_200_mb_upload_and_the_client_goes_on() {
    const SIZE: usize = 200 * 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cluster");
    let servers = Servers::shared();
    let mut cluster = cluster_on(&servers, &data, &big_limits());
    let alice_token = add_hub_user(&data, "alice");
    let bob_token = add_hub_user(&data, "bob");
    let alice: Arc<dyn Store> = Arc::new(patient_client(
        &cluster.url,
        &alice_token,
        Duration::from_secs(10),
    ));
    let bytes = noise(SIZE);
    let sha = sha256_hex(&bytes);
    let file = write_file(dir.path(), "big.bin", &bytes);
    drop(bytes);

    let victim = cluster.hub_pid(0);
    let killed = Arc::new(AtomicBool::new(false));
    let k = killed.clone();
    let mut up = BlobUpload::start(
        alice.clone(),
        BlobKind::Attachment,
        "application/octet-stream",
    )
    .await
    .unwrap()
    .with_chunk_bytes(8 * 1024 * 1024)
    .with_progress(Arc::new(move |p: &UploadProgress| {
        if p.acknowledged >= 80 * 1024 * 1024 && !k.swap(true, Ordering::SeqCst) {
            // SIGKILL: the hub gets no chance to finish the chunk it is receiving.
            std::process::Command::new("kill")
                .args(["-9", &victim.to_string()])
                .status()
                .unwrap();
        }
    }));
    let sealed = up.seal_file(&file).await.unwrap();
    assert!(killed.load(Ordering::SeqCst));
    assert_eq!(sealed.size, SIZE as u64);
    assert_eq!(sealed.sha256, sha);
    cluster.kill_hub(0); // reap

    let mut m = message(&upload_clip(&alice).await, &["bob"], "the big one");
    attach(&mut m, &sealed, "big.bin");
    alice.commit_message(&m).await.unwrap();
    // A retry of the same commit through the balancer is the same message.
    alice.commit_message(&m).await.unwrap();
    let bob: Arc<dyn Store> = Arc::new(patient_client(
        &cluster.url,
        &bob_token,
        Duration::from_secs(5),
    ));
    let page = bob.inbox(&Default::default()).await.unwrap();
    assert_eq!(page.entries.len(), 1, "delivered once");
    // Downloaded through the balancer too, hashed as it streams.
    let mut d = bob.download(&sealed.id, None).await.unwrap();
    let mut h = Sha256::new();
    let mut got = 0usize;
    while let Some(piece) = d.body.next().await {
        let piece = piece.unwrap();
        got += piece.len();
        h.update(&piece);
    }
    assert_eq!(got, SIZE);
    assert_eq!(hex::encode(h.finalize()), sha);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_while_20_senders_commit_loses_and_doubles_nothing() {
    const SENDERS: usize = 20;
    const EACH: usize = 6;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cluster");
    let servers = Servers::private(dir.path(), &[Server::Postgres]);
    let cluster = cluster_on(&servers, &data, &big_limits());
    let names: Vec<String> = (0..SENDERS).map(|i| format!("sender{i:02}")).collect();
    let tokens: Vec<String> = names.iter().map(|n| add_hub_user(&data, n)).collect();
    add_hub_user(&data, "bob");
    let stores: Vec<Arc<dyn Store>> = tokens
        .iter()
        .map(|t| {
            Arc::new(patient_client(&cluster.url, t, Duration::from_secs(30))) as Arc<dyn Store>
        })
        .collect();
    let mut clips = Vec::new();
    for s in &stores {
        clips.push(upload_clip(s).await);
    }
    let started = Arc::new(tokio::sync::Barrier::new(SENDERS + 1));
    let mut senders = Vec::new();
    for (store, clip) in stores.iter().cloned().zip(clips) {
        let started = started.clone();
        senders.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..EACH {
                let m = message(&clip, &["bob"], &format!("commit {i}"));
                let committed = store
                    .commit_message(&m)
                    .await
                    .expect("a commit that outlives the restart");
                assert_eq!(committed.id, m.id);
                ids.push(m.id.clone());
                if i == 0 {
                    started.wait().await;
                }
            }
            ids
        }));
    }
    // Every sender has committed once and goes on: restart the database under them.
    started.wait().await;
    servers.restart_postgres();
    let mut ids = Vec::new();
    for s in senders {
        ids.extend(s.await.unwrap());
    }
    assert_eq!(ids.len(), SENDERS * EACH);
    let db = servers.postgres_url(&data);
    let total: usize = psql(&db, "SELECT COUNT(*) FROM messages")
        .trim()
        .parse()
        .unwrap();
    let distinct: usize = psql(&db, "SELECT COUNT(DISTINCT id) FROM messages")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(total, SENDERS * EACH, "nothing lost, nothing doubled");
    assert_eq!(distinct, total);
    for id in &ids {
        let n: usize = psql(
            &db,
            &format!("SELECT COUNT(*) FROM messages WHERE id = '{id}'"),
        )
        .trim()
        .parse()
        .unwrap();
        assert_eq!(n, 1, "{id}");
    }
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garage_stopped_during_uploads_gives_retryable_errors_then_the_upload_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cluster");
    let servers = Servers::private(dir.path(), &[Server::Garage]);
    let cluster = cluster_on(&servers, &data, &big_limits());
    let token = add_hub_user(&data, "alice");
    // No retries: each failure is seen as it is.
    let impatient: Arc<dyn Store> = Arc::new(
        HubClient::new(&cluster.url, &token)
            .unwrap()
            .with_retry(RetryPolicy {
                attempts: 1,
                first_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(10),
            }),
    );
    let bytes = noise(12 * 1024 * 1024);
    let file = write_file(dir.path(), "doc.bin", &bytes);
    let mut up = BlobUpload::start(impatient.clone(), BlobKind::Attachment, "application/pdf")
        .await
        .unwrap()
        .with_chunk_bytes(1024 * 1024);
    up.send_file_until(&file, 4 * 1024 * 1024).await.unwrap();

    servers.stop_garage();
    let err = up
        .send_file_until(&file, 8 * 1024 * 1024)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("blob storage"), "{err}");
    assert!(err.to_string().contains("retry"), "{err}");
    // The metadata is not in the bucket: where the upload stands is still known.
    let status = impatient.blob_status(up.id()).await.unwrap();
    assert_eq!(
        status.acknowledged,
        4 * 1024 * 1024,
        "what was acknowledged stays"
    );

    servers.start_garage();
    let mut resumed = BlobUpload::resume(impatient.clone(), up.id().clone())
        .await
        .unwrap();
    assert_eq!(resumed.acknowledged(), 4 * 1024 * 1024);
    let sealed = resumed.seal_file(&file).await.unwrap();
    assert_eq!(sealed.sha256, sha256_hex(&bytes));
    let got = impatient
        .download(&sealed.id, None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.len(), bytes.len());
    assert!(got == bytes);
}
