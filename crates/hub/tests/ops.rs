//! What operators see: `/healthz` names the engines it checked and fails when one is
//! gone; `/metrics` counts requests, upload bytes, open long-polls and the pool.
// Helpers of the tests below: a failed step stops the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use pigeon_store::Store;

async fn get(url: &str) -> (u16, String) {
    let resp = reqwest::get(url).await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// The value of one sample line of a Prometheus exposition.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_names_the_engines_and_metrics_count_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(&dir.path().join("hub"), 0);
    let (status, body) = get(&format!("{}/healthz", hub.url)).await;
    assert_eq!(status, 200, "{body}");
    let (db, blobs) = if engine().on_servers() {
        ("postgres", "s3")
    } else {
        ("sqlite", "local")
    };
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "ok");
    assert!(
        lines[1].starts_with(&format!("database: {db} answered in ")),
        "{body}"
    );
    assert!(
        lines[2].starts_with(&format!("blobs: {blobs} answered in ")),
        "{body}"
    );

    let alice: Arc<dyn Store> = Arc::new(hub.client(&hub.add_user("alice")));
    let bob = Arc::new(hub.client(&hub.add_user("bob")));
    let clip = upload_clip(&alice).await;
    alice
        .commit_message(&message(&clip, &["bob"], "counted"))
        .await
        .unwrap();
    let waiting = tokio::spawn({
        let bob = bob.clone();
        let cursor = bob.inbox(&Default::default()).await.unwrap().next;
        async move {
            bob.wait_inbox(cursor.as_ref(), Duration::from_secs(30))
                .await
        }
    });
    // The open long-poll shows in the gauge (one hub behind a balancer may hold it).
    let started = Instant::now();
    let metrics = loop {
        let (status, text) = get(&format!("{}/metrics", hub.url)).await;
        assert_eq!(status, 200);
        if sample(&text, "pigeon_hub_long_polls_open") == Some(1.0) {
            break text;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    if engine() != Engine::Cluster {
        // One hub saw every request.
        assert_eq!(
            sample(
                &metrics,
                r#"pigeon_hub_requests_total{method="POST",route="/v1/messages",status="2xx"}"#
            ),
            Some(1.0),
            "{metrics}"
        );
        assert!(sample(&metrics, "pigeon_hub_upload_bytes_total").unwrap() >= clip.size as f64);
        assert_eq!(
            sample(&metrics, "pigeon_hub_messages_committed_total"),
            Some(1.0)
        );
        let pool = format!(r#"pigeon_hub_db_connections_max{{engine="{db}"}}"#);
        assert!(sample(&metrics, &pool).unwrap() >= 1.0, "{metrics}");
    }
    // Ids in paths never become series of their own.
    assert!(!metrics.contains(clip.id.as_str()));
    alice
        .commit_message(&message(&clip, &["bob"], "wakes the poll"))
        .await
        .unwrap();
    assert_eq!(waiting.await.unwrap().unwrap().entries.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_fails_and_says_which_engine_when_the_blob_storage_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    std::fs::create_dir_all(&data).unwrap();
    let config = data.join("hub.toml");
    // Nothing listens on port 9 of this machine.
    std::fs::write(
        &config,
        "[blobs]\nkind = \"s3\"\nbucket = \"gone\"\nendpoint = \"http://127.0.0.1:9\"\nregion = \"garage\"\nallow_http = true\naccess_key_id = \"x\"\nsecret_access_key = \"y\"\n",
    )
    .unwrap();
    let (mut child, url) = spawn_hub(&config, &data, 0);
    let (status, body) = get(&format!("{url}/healthz")).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 503, "{body}");
    assert!(
        body.starts_with("unhealthy\ndatabase: sqlite answered in "),
        "{body}"
    );
    assert!(body.contains("blobs: s3 FAILED after "), "{body}");
}
