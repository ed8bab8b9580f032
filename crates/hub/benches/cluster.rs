//! Scale-out benchmark (not a test), inside scripts/test-env (its PostgreSQL and Garage):
//! `scripts/test-env cargo bench -p pigeon-hub --bench cluster`.
//!
//! 1. 500 MB through a hub on Garage against `rclone copy --checksum` of the same file
//!    straight into the same bucket: throughputs and their ratio.
//! 2. 50 concurrent senders committing through HAProxy to 1, 2 and 3 hubs on
//!    PostgreSQL: commits per second.
//! 3. 2,000 idle long-polls through HAProxy on 3 hubs: hub RSS per open poll, and the
//!    wake-up latency of all of them after one commit on one hub (p50, p99).
//! 4. An inbox of 100,000 messages on PostgreSQL: first page p50 and p99.
// A benchmark, not a test: a failed step aborts the run with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use pigeon_store::protocol::{BlobKind, InboxOrder, InboxQuery, Limits};
use pigeon_store::{BlobUpload, HubClient, RetryPolicy, Store};

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;

const MB: f64 = 1_000_000.0;

fn main() {
    bench_main(
        "cluster benchmark: run with `scripts/test-env cargo bench -p pigeon-hub --bench cluster`",
        run(),
    );
}

fn limits() -> Limits {
    Limits {
        max_attachment_bytes: 1_000_000_000,
        max_chunk_bytes: 1_000_000_000,
        max_recipients: 60,
        ..Limits::default()
    }
}

fn client(url: &str, token: &str) -> Arc<dyn Store> {
    Arc::new(HubClient::new(url, token).unwrap().with_retry(RetryPolicy {
        attempts: 10,
        first_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
    }))
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb * 1024.0 / MB)
        .unwrap_or(f64::NAN)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn cluster(servers: &Servers, data: &std::path::Path, hubs: usize) -> Cluster {
    let extra = "max_waiting_polls = 8192\n";
    let config = write_hub_config(data, servers.toml(data), &limits(), extra);
    Cluster::start(&config, data, 0, hubs)
}

async fn run() {
    let servers = Servers::shared();
    let dir = tempfile::tempdir().unwrap();
    println!("# Scale-out benchmark (release hubs, PostgreSQL 15 and Garage 2.5 on this machine)");
    println!(
        "cpus: {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    let parts =
        std::env::var("PIGEON_BENCH_PARTS").unwrap_or_else(|_| "upload,commits,polls,inbox".into());

    if parts.contains("upload") {
        upload_against_rclone(&servers, dir.path()).await;
    }
    if parts.contains("commits") {
        for hubs in 1..=3 {
            commits_per_second(&servers, &dir.path().join(format!("commits-{hubs}")), hubs).await;
        }
    }
    if parts.contains("polls") {
        idle_polls(&servers, &dir.path().join("polls")).await;
    }
    if parts.contains("inbox") {
        big_inbox(&servers, &dir.path().join("inbox")).await;
    }
}

async fn upload_against_rclone(servers: &Servers, dir: &std::path::Path) {
    const SIZE: usize = 500_000_000;
    let data = dir.join("upload");
    let c = cluster(servers, &data, 1);
    let alice = client(&c.url, &add_hub_user(&data, "alice"));
    let file = dir.join("big.bin");
    {
        // Incompressible, quickly: xorshift.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut bytes = vec![0u8; SIZE];
        for chunk in bytes.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let b = x.to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
        std::fs::write(&file, bytes).unwrap();
    }
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for round in 0..2 {
        let started = Instant::now();
        let mut up = BlobUpload::start(
            alice.clone(),
            BlobKind::Attachment,
            "application/octet-stream",
        )
        .await
        .unwrap();
        up.seal_file(&file).await.unwrap();
        ours.push(started.elapsed());
        let started = Instant::now();
        let out = servers
            .rclone(
                &[
                    "copyto",
                    "--checksum",
                    "--s3-upload-concurrency",
                    "4",
                    &file.to_string_lossy(),
                ],
                &format!("rclone-bench/{round}.bin"),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        theirs.push(started.elapsed());
    }
    let best = |v: &Vec<Duration>| *v.iter().min().unwrap();
    let (o, t) = (best(&ours), best(&theirs));
    let mbps = |d: Duration| SIZE as f64 / MB / d.as_secs_f64();
    println!("## 500 MB into Garage (best of 2, alternating)");
    println!(
        "ours (HubClient -> hub -> Garage, sha256 checked at seal): {:.2} s, {:.0} MB/s",
        o.as_secs_f64(),
        mbps(o)
    );
    println!(
        "rclone copyto --checksum straight into the bucket:        {:.2} s, {:.0} MB/s",
        t.as_secs_f64(),
        mbps(t)
    );
    println!(
        "ratio ours/rclone (throughput): {:.2} (goal >= 0.8)",
        mbps(o) / mbps(t)
    );
    std::fs::remove_file(&file).unwrap();
}

async fn commits_per_second(servers: &Servers, data: &std::path::Path, hubs: usize) {
    const SENDERS: usize = 50;
    const EACH: usize = 20;
    let c = cluster(servers, data, hubs);
    add_hub_user(data, "bob");
    let mut stores = Vec::new();
    for i in 0..SENDERS {
        stores.push(client(&c.url, &add_hub_user(data, &format!("s{i:02}"))));
    }
    let mut clips = Vec::new();
    for s in &stores {
        clips.push(upload_clip(s).await);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (s, clip) in stores.into_iter().zip(clips) {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for i in 0..EACH {
                let t = Instant::now();
                s.commit_message(&message(&clip, &["bob"], &format!("m{i}")))
                    .await
                    .unwrap();
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    println!(
        "## {SENDERS} senders, {hubs} hub(s): {} commits in {:.2} s = {:.0} commits/s (latency p50 {:.0} ms, p99 {:.0} ms)",
        all.len(),
        elapsed.as_secs_f64(),
        all.len() as f64 / elapsed.as_secs_f64(),
        percentile(&all, 0.5).as_secs_f64() * 1000.0,
        percentile(&all, 0.99).as_secs_f64() * 1000.0
    );
}

async fn idle_polls(servers: &Servers, data: &std::path::Path) {
    const POLLS: usize = 2000;
    let c = cluster(servers, data, 3);
    let alice = client(&c.url, &add_hub_user(data, "alice"));
    let bob_token = add_hub_user(data, "bob");
    let clip = upload_clip(&alice).await;
    let pids: Vec<u32> = (0..3).map(|i| c.hub_pid(i)).collect();
    let before: f64 = pids.iter().map(|p| rss_mb(*p)).sum();
    // Many connections: one client per poll (no shared connection pool).
    let mut waiting = Vec::new();
    for _ in 0..POLLS {
        let bob = HubClient::new(&c.url, &bob_token).unwrap();
        waiting.push(tokio::spawn(async move {
            bob.wait_inbox(None, Duration::from_secs(55))
                .await
                .map(|p| (p, Instant::now()))
        }));
    }
    // Until every poll waits on some hub.
    let ports: Vec<u16> = c
        .hub_urls
        .iter()
        .map(|u| u.rsplit(':').next().unwrap().parse().unwrap())
        .collect();
    let started = Instant::now();
    loop {
        let open: usize = ports
            .iter()
            .map(|p| {
                get_body(*p, "/metrics")
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("pigeon_hub_long_polls_open ")?
                            .parse::<usize>()
                            .ok()
                    })
                    .unwrap_or(0)
            })
            .sum();
        if open >= POLLS {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(50),
            "only {open} polls open"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after: f64 = pids.iter().map(|p| rss_mb(*p)).sum();
    // One commit, on hub 0 directly: every poll on every hub wakes.
    let direct = client(&c.hub_urls[0], &add_hub_user(data, "carol"));
    let m = message(&upload_clip(&direct).await, &["bob"], "wake up");
    let t0 = Instant::now();
    direct.commit_message(&m).await.unwrap();
    let mut wake = Vec::new();
    for w in waiting {
        let (page, at) = w.await.unwrap().unwrap();
        assert!(page.entries.iter().any(|e| e.message.id == m.id));
        wake.push(at.saturating_duration_since(t0));
    }
    wake.sort();
    drop(clip);
    println!(
        "## {POLLS} idle long-polls on 3 hubs: hub RSS {before:.0} MB -> {after:.0} MB, {:.1} KB per open poll; wake-up after one commit p50 {:.0} ms, p99 {:.0} ms",
        (after - before) * 1000.0 / POLLS as f64,
        percentile(&wake, 0.5).as_secs_f64() * 1000.0,
        percentile(&wake, 0.99).as_secs_f64() * 1000.0
    );
}

async fn big_inbox(servers: &Servers, data: &std::path::Path) {
    const MESSAGES: i64 = 100_000;
    let c = cluster(servers, data, 1);
    let alice = client(&c.url, &add_hub_user(data, "alice"));
    let bob = client(&c.url, &add_hub_user(data, "bob"));
    let clip = upload_clip(&alice).await;
    let m = message(&clip, &["bob"], "the template");
    alice.commit_message(&m).await.unwrap();
    // 100,000 copies of a real message, each with its own id, made by the database.
    let db = servers.postgres_url(data);
    let started = Instant::now();
    psql(
        &db,
        &format!(
            "INSERT INTO messages (id, sender, fingerprint, thread, body, sent_ms)
             SELECT id || '-' || g, sender, fingerprint, thread || '-' || g,
                    replace(body, id, id || '-' || g), sent_ms + g
             FROM messages, generate_series(1, {MESSAGES}) g WHERE id = '{id}';
             INSERT INTO receipts (message_seq, recipient, respond_by_ms)
             SELECT m.seq, 'bob', r.respond_by_ms + (m.seq % 1000) * 60000
             FROM messages m, receipts r
             WHERE r.recipient = 'bob' AND r.message_seq = (SELECT seq FROM messages WHERE id = '{id}')
               AND m.seq > r.message_seq;
             ANALYZE;",
            id = m.id
        ),
    );
    println!(
        "## inbox of {} messages on PostgreSQL (made in {:.1} s)",
        MESSAGES + 1,
        started.elapsed().as_secs_f64()
    );
    for order in [
        InboxOrder::Arrival,
        InboxOrder::RespondBy,
        InboxOrder::Newest,
    ] {
        let mut times = Vec::new();
        for _ in 0..40 {
            let q = InboxQuery {
                order,
                after: None,
                limit: 50,
            };
            let t = Instant::now();
            let page = bob.inbox(&q).await.unwrap();
            times.push(t.elapsed());
            assert_eq!(page.entries.len(), 50);
        }
        // The first pages warm the caches and the connection.
        let mut times = times.split_off(10);
        times.sort();
        println!(
            "first page ({order:?}, 50 entries): p50 {:.1} ms, p99 {:.1} ms (goal p50 <= 20 ms)",
            percentile(&times, 0.5).as_secs_f64() * 1000.0,
            percentile(&times, 0.99).as_secs_f64() * 1000.0
        );
    }
}
