//! Fault tests: the hub killed mid-upload and restarted; injected 503s and dropped
//! connections through a fault-injecting TCP proxy; graceful shutdown finishing an
//! in-flight chunk.
// Helpers of the tests below: a failed step stops the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use pigeon_store::protocol::{BlobKind, InboxOrder, InboxQuery, Limits};
use pigeon_store::{BlobUpload, HubClient, RetryPolicy, Store, StoreError, UploadProgress};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn big_limits() -> Limits {
    Limits {
        max_attachment_bytes: 256 * 1024 * 1024,
        ..test_limits()
    }
}

/// Deterministic, incompressible-looking test data.
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_killed_mid_upload_then_restarted_resumes_from_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    let mut hub = HubProcess::start_with(&data, 0, &big_limits(), "");
    let token = hub.add_user("alice");
    let port = hub.port;
    let store: Arc<dyn Store> = Arc::new(hub.client(&token));

    let bytes = pseudo_random(24 * 1024 * 1024, 7);
    let file = write_file(dir.path(), "big.bin", &bytes);
    let pid = hub.pid();
    let killed = Arc::new(AtomicBool::new(false));
    let acked_before_kill = Arc::new(AtomicU64::new(0));
    let (k, a) = (killed.clone(), acked_before_kill.clone());
    let mut up = BlobUpload::start(
        store.clone(),
        BlobKind::Attachment,
        "application/octet-stream",
    )
    .await
    .unwrap()
    .with_chunk_bytes(512 * 1024)
    .with_progress(Arc::new(move |p: &UploadProgress| {
        a.store(p.acknowledged, Ordering::SeqCst);
        if p.acknowledged >= 8 * 1024 * 1024 && !k.swap(true, Ordering::SeqCst) {
            // SIGKILL: the hub gets no chance to finish anything.
            std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .unwrap();
        }
    }));
    let err = up.seal_file(&file).await.unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
    assert!(err.is_retryable());
    assert!(killed.load(Ordering::SeqCst));
    hub.kill(); // reap
    let acked = acked_before_kill.load(Ordering::SeqCst);

    // Restart on the same port and data; a fresh upload object asks where to resume.
    let _hub = HubProcess::start_with(&data, port, &big_limits(), "");
    let mut resumed = BlobUpload::resume(store.clone(), up.id().clone())
        .await
        .unwrap();
    assert!(
        resumed.acknowledged() >= acked,
        "{} < {acked}",
        resumed.acknowledged()
    );
    assert!(resumed.acknowledged() < bytes.len() as u64);
    let sealed = resumed.seal_file(&file).await.unwrap();
    assert_eq!(sealed.sha256, sha256_hex(&bytes));
    let back = store
        .download(&sealed.id, None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(sha256_hex(&back), sealed.sha256);
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    Pass,
    /// Answer 503 without asking the hub.
    Reply503,
    /// Forward the request, let the hub answer, then drop the connection before the
    /// client sees the answer (the worst case for exactly-once).
    DropAfterForward,
}

async fn fault_proxy(
    upstream: SocketAddr,
    plan: fn(usize) -> Fault,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let n = c.fetch_add(1, Ordering::SeqCst);
            let fault = plan(n);
            tokio::spawn(async move {
                match fault {
                    Fault::Pass => {
                        if let Ok(mut hub) = TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut hub).await;
                        }
                    }
                    Fault::Reply503 => {
                        let mut buf = [0u8; 4096];
                        let _ = client.read(&mut buf).await;
                        let _ = client
                            .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                        let _ = client.shutdown().await;
                    }
                    Fault::DropAfterForward => {
                        let Ok(hub) = TcpStream::connect(upstream).await else {
                            return;
                        };
                        let (mut hub_read, mut hub_write) = hub.into_split();
                        let (mut client_read, _client_write) = client.into_split();
                        let forward = tokio::spawn(async move {
                            let _ = tokio::io::copy(&mut client_read, &mut hub_write).await;
                        });
                        // Wait for the hub's answer, then drop everything.
                        let mut buf = [0u8; 1];
                        let _ =
                            tokio::time::timeout(Duration::from_secs(10), hub_read.read(&mut buf))
                                .await;
                        forward.abort();
                    }
                }
            });
        }
    });
    (addr, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_503s_and_dropped_connections_deliver_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(&dir.path().join("hub"), 0);
    let alice_token = hub.add_user("alice");
    let bob: Arc<dyn Store> = Arc::new(hub.client(&hub.add_user("bob")));
    let upstream: SocketAddr = hub.url.trim_start_matches("http://").parse().unwrap();
    // Every request first gets a 503, then is processed with its answer lost, then passes.
    let (proxy, connections) = fault_proxy(upstream, |n| match n % 3 {
        0 => Fault::Reply503,
        1 => Fault::DropAfterForward,
        _ => Fault::Pass,
    })
    .await;
    // One connection per request, so every request meets the faults.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let alice: Arc<dyn Store> = Arc::new(
        HubClient::new(&format!("http://{proxy}"), &alice_token)
            .unwrap()
            .with_http_client(http)
            .with_retry(RetryPolicy {
                attempts: 10,
                first_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(50),
            }),
    );

    let doc = pseudo_random(300_000, 3);
    let mut sent = Vec::new();
    for i in 0..3 {
        let mut clip = BlobUpload::start(alice.clone(), BlobKind::Clip, "video/mp4")
            .await
            .unwrap()
            .with_chunk_bytes(64 * 1024);
        let clip = clip.seal_file(&test_clip()).await.unwrap();
        let att = upload_attachment(&alice, dir.path(), &doc).await;
        let mut m = message(&clip, &["bob"], &format!("flaky {i}"));
        attach(&mut m, &att, "doc.bin");
        let committed = alice.commit_message(&m).await.unwrap();
        assert_eq!(committed.id, m.id);
        sent.push(m.id);
    }
    assert!(connections.load(Ordering::SeqCst) >= 30);

    let page = bob
        .inbox(&InboxQuery {
            order: InboxOrder::Arrival,
            after: None,
            limit: 100,
        })
        .await
        .unwrap();
    let got: Vec<_> = page.entries.iter().map(|e| e.message.id.clone()).collect();
    assert_eq!(got, sent, "each message exactly once, in order");
    for e in &page.entries {
        let clip = bob
            .download(&e.message.clip.as_ref().unwrap().id, None)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(sha256_hex(&clip), e.message.clip.as_ref().unwrap().sha256);
        let att = &e.message.attachments[0].blob;
        let bytes = bob
            .download(&att.id, None)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(bytes, doc);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_an_in_flight_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    let mut hub = HubProcess::start(&data, 0);
    let token = hub.add_user("alice");
    let http = reqwest::Client::new();
    let id = hub.create_attachment_blob(&token, "application/pdf").await;
    // A chunk whose body trickles in over ~1 s.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let put = tokio::spawn({
        let url = format!("{}/v1/blobs/{id}/chunks?offset=0", hub.url);
        let token = token.clone();
        async move { http.put(url).bearer_auth(token).body(body).send().await }
    });
    tx.send(Ok(bytes::Bytes::from(vec![1u8; 100_000])))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Shutdown starts while the chunk is still arriving.
    let pid = hub.pid();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        tx.send(Ok(bytes::Bytes::from(vec![2u8; 100_000])))
            .await
            .unwrap();
    }
    drop(tx);
    let resp = put.await.unwrap().unwrap();
    assert_eq!(resp.status(), 200);
    let status: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(status["acknowledged"], 600_000);
    let exit = hub.terminate_wait();
    assert!(exit.success(), "{exit:?}");
    // After a restart the acknowledged bytes are there.
    let hub = HubProcess::start(&data, 0);
    let store = hub.client(&token);
    let st = store
        .blob_status(&pigeon_store::protocol::BlobId::parse(id).unwrap())
        .await
        .unwrap();
    assert_eq!(st.acknowledged, 600_000);
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_retries_5xx_and_network_errors_but_never_4xx() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(&dir.path().join("hub"), 0);
    let token = hub.add_user("alice");
    let upstream: SocketAddr = hub.url.trim_start_matches("http://").parse().unwrap();
    let retry = RetryPolicy {
        attempts: 4,
        first_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    };
    let client = |proxy: SocketAddr| {
        HubClient::new(&format!("http://{proxy}"), &token)
            .unwrap()
            .with_http_client(
                reqwest::Client::builder()
                    .pool_max_idle_per_host(0)
                    .build()
                    .unwrap(),
            )
            .with_retry(retry.clone())
    };

    // A 404 is answered once and not retried.
    let (proxy, count) = fault_proxy(upstream, |_| Fault::Pass).await;
    let err = client(proxy).message(&new_id()).await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(pigeon_store::protocol::ErrorCode::NotFound)
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);

    // A hub that always answers 503 is tried `attempts` times, then reported unreachable
    // with advice.
    let (proxy, count) = fault_proxy(upstream, |_| Fault::Reply503).await;
    let err = client(proxy).me().await.unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("can be retried"), "{err}");
    assert_eq!(count.load(Ordering::SeqCst), 4);

    // Two 503s, then the answer: the caller never notices.
    let (proxy, count) = fault_proxy(
        upstream,
        |n| if n < 2 { Fault::Reply503 } else { Fault::Pass },
    )
    .await;
    assert_eq!(client(proxy).me().await.unwrap().name.as_str(), "alice");
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_shorter_than_announced_fails_with_the_files_error_without_retrying() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_with(&dir.path().join("hub"), 0, &big_limits(), "");
    let token = hub.add_user("alice");
    let store: Arc<dyn Store> = Arc::new(hub.client(&token).with_retry(RetryPolicy {
        attempts: 6,
        first_delay: Duration::from_secs(5),
        max_delay: Duration::from_secs(5),
    }));
    let bytes = pseudo_random(3 * 1024 * 1024, 11);
    let file = write_file(dir.path(), "short.bin", &bytes);
    let mut up = BlobUpload::start(store, BlobKind::Attachment, "application/octet-stream")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let err = up
        .send_file_until(&file, bytes.len() as u64 + 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LocalFile { .. }), "{err}");
    assert!(!err.is_retryable(), "{err}");
    // A retry would have waited 5 s: the local file's error is not the network's.
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(up.refresh().await.unwrap(), 0);
}

/// A hub with this configuration and alice's token and store on it.
fn alice_on_hub(
    dir: &std::path::Path,
    limits: &Limits,
    toml: &str,
) -> (HubProcess, String, Arc<dyn Store>) {
    let hub = HubProcess::start_with(&dir.join("hub"), 0, limits, toml);
    let token = hub.add_user("alice");
    let store: Arc<dyn Store> = Arc::new(hub.client(&token));
    (hub, token, store)
}

/// A streamed chunk body that arrives piece by piece every `gap`, `pieces` times.
fn trickle(pieces: usize, piece: usize, gap: Duration) -> reqwest::Body {
    let stream = futures_util::stream::unfold(0usize, move |i| async move {
        if i == pieces {
            return None;
        }
        if i > 0 {
            // The slow client being simulated, not a wait for the hub.
            tokio::time::sleep(gap).await;
        }
        Some((Ok::<_, std::io::Error>(vec![i as u8; piece]), i + 1))
    });
    reqwest::Body::wrap_stream(stream)
}

/// The request timeout bounds ordinary calls; a long-poll waits its own time and a
/// chunk upload may take as long as it keeps sending, but one that stalls is cut off and
/// stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_timeout_spares_long_polls_and_live_uploads_but_not_stalled_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, token, store) = alice_on_hub(
        dir.path(),
        &test_limits(),
        "request_timeout_secs = 1\nupload_idle_secs = 1\n",
    );

    let started = std::time::Instant::now();
    let page = store
        .wait_inbox(None, Duration::from_secs(3))
        .await
        .unwrap();
    assert!(page.entries.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(2900),
        "the wait was cut short"
    );

    let id = hub.create_attachment_blob(&token, "application/pdf").await;
    let http = reqwest::Client::new();
    let put = |offset: u64, body: reqwest::Body| {
        http.put(format!("{}/v1/blobs/{id}/chunks?offset={offset}", hub.url))
            .bearer_auth(&token)
            .body(body)
            .send()
    };
    // 2 s of sending in all, never idle for 1 s: accepted.
    let resp = put(0, trickle(5, 1000, Duration::from_millis(400)))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Silent for 3 s in the middle: cut off after 1 s, nothing of it stored.
    let _ = put(5000, trickle(2, 1000, Duration::from_secs(3))).await;
    let status = store
        .blob_status(&pigeon_store::protocol::BlobId::parse(id.as_str()).unwrap())
        .await
        .unwrap();
    assert_eq!(status.acknowledged, 5000);
}

/// With the running hash of every upload dropped from memory as soon as it is idle,
/// uploads still seal: each chunk continues the state stored with the blob. A blob with
/// no stored state (begun before hubs stored it) is hashed from its stored bytes at
/// seal, and a wrong sha256 is refused either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_whose_running_hash_was_dropped_seals_from_the_stored_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, _, store) = alice_on_hub(dir.path(), &big_limits(), "upload_hash_idle_secs = 0\n");
    let bytes = pseudo_random(3 * 1024 * 1024 + 17, 5);
    let file = write_file(dir.path(), "doc.bin", &bytes);
    let mut up = BlobUpload::start(store.clone(), BlobKind::Attachment, "application/pdf")
        .await
        .unwrap()
        .with_chunk_bytes(1024 * 1024);
    let sealed = up.seal_file(&file).await.unwrap();
    assert_eq!(sealed.sha256, sha256_hex(&bytes));

    for wrong in [false, true] {
        let mut up = BlobUpload::start(store.clone(), BlobKind::Attachment, "application/pdf")
            .await
            .unwrap()
            .with_chunk_bytes(1024 * 1024);
        up.send_file_until(&file, bytes.len() as u64).await.unwrap();
        let stored = hub.sql_count(&format!(
            "SELECT COUNT(*) FROM blobs WHERE id = '{}' AND hash_state IS NOT NULL",
            up.id()
        ));
        assert_eq!(
            stored, 1,
            "each chunk stores the running hash with the blob"
        );
        hub.sql_execute(&format!(
            "UPDATE blobs SET hash_state = NULL WHERE id = '{}'",
            up.id()
        ));
        if !wrong {
            let sealed = up
                .seal(bytes.len() as u64, sha256_hex(&bytes))
                .await
                .unwrap();
            assert_eq!(sealed.size, bytes.len() as u64);
            continue;
        }
        let err = up
            .seal(bytes.len() as u64, "0".repeat(64))
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Some(pigeon_store::protocol::ErrorCode::ChecksumMismatch)
        );
    }
}

/// With room for one request at a time, a second request waits until the first (a
/// chunk upload still sending) is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_concurrency_limit_makes_requests_wait_their_turn() {
    const BIG: usize = 16 * 1024 * 1024;
    let limits = Limits {
        max_chunk_bytes: 64 * 1024 * 1024,
        ..big_limits()
    };
    let dir = tempfile::tempdir().unwrap();
    let (hub, token, store) = alice_on_hub(dir.path(), &limits, "max_concurrent_requests = 1\n");
    let id = hub.create_attachment_blob(&token, "application/pdf").await;
    let (sent_tx, sent_rx) = tokio::sync::oneshot::channel::<()>();
    let mut sent_tx = Some(sent_tx);
    let pieces = futures_util::stream::unfold(0usize, move |i| {
        if i == 2 {
            // 32 MiB went out, more than socket buffers hold: the hub's handler is reading
            // this request, so it holds the one slot.
            if let Some(tx) = sent_tx.take() {
                let _ = tx.send(());
            }
        }
        async move {
            match i {
                0 | 1 => Some((Ok::<_, std::io::Error>(vec![1u8; BIG]), i + 1)),
                2..=4 => {
                    // The slow client being simulated.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Some((Ok(vec![2u8; 1000]), i + 1))
                }
                _ => None,
            }
        }
    });
    let url = format!("{}/v1/blobs/{id}/chunks?offset=0", hub.url);
    let upload = tokio::spawn({
        let token = token.clone();
        async move {
            let resp = reqwest::Client::new()
                .put(url)
                .bearer_auth(token)
                .body(reqwest::Body::wrap_stream(pieces))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
        }
    });
    sent_rx.await.unwrap();
    store.me().await.unwrap();
    // The hub answered `me` only after the upload: its bytes were all stored by then.
    let status = store
        .blob_status(&pigeon_store::protocol::BlobId::parse(id.as_str()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        status.acknowledged,
        2 * BIG as u64 + 3000,
        "the second request was answered while the first held the only slot"
    );
    upload.await.unwrap();
}
