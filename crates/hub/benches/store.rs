//! Shared-store benchmark (not a test). Run: `cargo bench -p pigeon-hub --bench store`.
//!
//! 1. A 500 MB blob through `HubClient` to a loopback hub, and `curl` of the same bytes
//!    to the same hub: throughputs, ratio, client and hub peak RSS.
//! 2. 50 clients sending 20 MB messages at once: all delivered exactly once, p50/p99
//!    commit latency.
//! 3. Inbox listing of a user with 10,000 messages: p50 page latency.
//!
//! The hub runs on the tests' engines (`PIGEON_TEST_HUB_ENGINE`): SQLite and a local
//! folder by default; `postgres` (inside scripts/test-env) puts it on PostgreSQL and the
//! Garage bucket. The header line names them.
// A benchmark, not a test: a failed step aborts the run with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use pigeon_store::protocol::{
    BlobKind, InboxOrder, InboxQuery, Limits, MessageId, NewAttachment, NewMessage, UserName,
};
use pigeon_store::{upload_file, BlobUpload, HubClient, Store, DEFAULT_CHUNK_BYTES};
use sha2::{Digest, Sha256};

// The tests' fixtures: the real hub process, users and a test clip.
#[path = "../tests/common/mod.rs"]
mod common;

use common::{add_hub_user as add_user, server_name, Engine, HubProcess, Servers};
const MB: u64 = 1_000_000;

fn main() {
    common::bench_main(
        "store benchmark: run with `cargo bench -p pigeon-hub --bench store`",
        run(),
    );
}

/// Peak resident set (VmHWM) of a process, in MB.
fn peak_rss_mb(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb * 1024.0 / MB as f64)
        .unwrap_or(f64::NAN)
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the ")" that ends the command name; utime and stime are 14 and 15.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds (user + system) used so far by this process's waited-for children.
fn children_cpu_secs() -> f64 {
    // SAFETY: rusage is plain integers, for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage only writes into the struct it is given, which outlives the call.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// CPU seconds this process spends reading `path` and computing its sha256 and nothing
/// else: the least work any client that seals with a sha256 does per upload.
fn hash_only_cpu_secs(path: &Path, me: &str) -> f64 {
    let c0 = cpu_secs(me);
    let mut f = std::fs::File::open(path).unwrap();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut f, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    std::hint::black_box(h.finalize());
    cpu_secs(me) - c0
}

/// The engines the hub runs on, as the header line names them.
fn engines_label() -> &'static str {
    match common::engine() {
        Engine::Sqlite => "sqlite + local disk",
        Engine::Postgres => "postgres + s3 (Garage)",
        Engine::Cluster => panic!(
            "the store benchmark runs one hub: PIGEON_TEST_HUB_ENGINE=sqlite or postgres \
             (several hubs: cargo bench -p pigeon-hub --bench cluster)"
        ),
    }
}

/// Deletes an uploaded blob's stored parts (`blobs/BLOB/...` under the hub's blob root:
/// files under `DATA/blobs`, or objects under the hub's prefix in the test bucket,
/// deleted with rclone) before the kernel starts writing them back, so that disk
/// writeback does not land in the next upload's timing, and checks that none is left.
fn drop_stored(hub: &HubProcess, blob: &str) {
    let dir = format!("blobs/{blob}");
    if common::engine().on_servers() {
        let out = Servers::shared()
            .rclone(&["purge"], &format!("{}/{dir}", server_name(&hub.data)))
            .output()
            .expect("run rclone");
        assert!(
            out.status.success(),
            "rclone purge {dir}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        std::fs::remove_dir_all(hub.data.join("blobs").join(&dir)).unwrap();
    }
    let left = hub.object_keys();
    assert!(
        !left.iter().any(|k| k.starts_with(&format!("{dir}/"))),
        "parts of {blob} are still stored: {left:?}"
    );
}

/// Resets VmHWM so the next reading covers only what follows.
fn reset_peak_rss(pid: &str) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

fn write_random_file(path: &Path, len: u64) -> String {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut h = Sha256::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for w in buf.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w.copy_from_slice(&x.to_le_bytes()[..w.len()]);
        }
        let n = left.min(buf.len() as u64) as usize;
        f.write_all(&buf[..n]).unwrap();
        h.update(&buf[..n]);
        left -= n as u64;
    }
    f.flush().unwrap();
    hex::encode(h.finalize())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn new_message(
    clip: &pigeon_store::protocol::BlobRef,
    to: &str,
    attachment: Option<&pigeon_store::protocol::BlobRef>,
    hours: i64,
) -> NewMessage {
    NewMessage {
        id: MessageId::parse(uuid::Uuid::new_v4().to_string()).unwrap(),
        recipients: vec![UserName::parse(to).unwrap()],
        subject: "benchmark".into(),
        text: None,
        clip: Some(clip.id.clone()),
        attachments: attachment
            .map(|a| {
                vec![NewAttachment {
                    blob: a.id.clone(),
                    name: "agenda.pdf".into(),
                }]
            })
            .unwrap_or_default(),
        poster: None,
        duration_ms: None,
        respond_by: Utc::now() + chrono::Duration::hours(hours),
        respond_by_tz: "Europe/Berlin".into(),
        in_reply_to: None,
        at_ms: None,
        chapter: None,
        chapters: vec![],
        acknowledge_only: false,
        deadlines: vec![],
        working_hours_each: None,
    }
}

async fn run() {
    let dir =
        tempfile::tempdir_in(std::env::var("PIGEON_BENCH_DIR").unwrap_or_else(|_| "/tmp".into()))
            .unwrap();
    // Limits far above the benchmark's sizes: it measures speed, not refusals.
    let big = Limits {
        max_clip_bytes: 1_000_000_000,
        max_attachment_bytes: 1_000_000_000,
        max_chunk_bytes: 1_000_000_000,
        ..Limits::default()
    };
    let engines = engines_label();
    let hub = HubProcess::start_with(&dir.path().join("hub"), 0, &big, "");
    let hub_pid = hub.pid().to_string();
    let me = "self";
    // PIGEON_BENCH_PARTS=upload runs only the 500 MB comparison (while working on it).
    let upload_only = std::env::var("PIGEON_BENCH_PARTS").is_ok_and(|p| p == "upload");
    let alice_token = add_user(&hub.data, "alice");
    let alice: Arc<dyn Store> = Arc::new(HubClient::new(&hub.url, &alice_token).unwrap());
    println!(
        "# Shared store benchmark, engines: {engines}\nhub {} (release), data in {}",
        hub.url,
        dir.path().display()
    );
    println!(
        "cpus: {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );

    // ---- 1. 500 MB upload: ours vs curl ----
    let size = 500 * MB;
    let file = dir.path().join("blob-500mb.bin");
    let sha = write_random_file(&file, size);
    // Warm the page cache for both readers alike.
    let _ = Command::new("cat")
        .arg(&file)
        .stdout(Stdio::null())
        .status();

    let chunk_mb: usize = std::env::var("PIGEON_BENCH_CHUNK_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CHUNK_BYTES / (1024 * 1024));
    let rounds: usize = std::env::var("PIGEON_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut ours_runs = Vec::new();
    let mut curl_runs = Vec::new();
    let mut ours_cpu = Vec::new();
    let mut curl_hub_cpu = Vec::new();
    let mut curl_cpu = Vec::new();
    // Measured before the uploads, not between them: pauses between the uploads change
    // what the next one costs (freed memory is handed back and faulted in again).
    let hash_cpu: Vec<f64> = (0..3).map(|_| hash_only_cpu_secs(&file, me)).collect();
    let (mut ours_client_rss, mut ours_hub_rss, mut curl_rss, mut curl_hub_rss) =
        (0f64, 0f64, 0f64, 0f64);
    // Alternate the two a few times, each going first every other round, so neither
    // always meets the state the other leaves: loopback throughput on 2 cores is noisy.
    for round in 0..rounds {
        for ours_now in [round % 2 == 0, round % 2 == 1] {
            if ours_now {
                reset_peak_rss(me);
                reset_peak_rss(&hub_pid);
                let (c0, h0) = (cpu_secs(me), cpu_secs(&hub_pid));
                let started = Instant::now();
                let mut up = BlobUpload::start(
                    alice.clone(),
                    BlobKind::Attachment,
                    "application/octet-stream",
                )
                .await
                .unwrap()
                .with_chunk_bytes(chunk_mb * 1024 * 1024);
                let blob = up.seal_file(&file).await.unwrap();
                ours_runs.push(started.elapsed());
                ours_cpu.push((cpu_secs(me) - c0, cpu_secs(&hub_pid) - h0));
                assert_eq!(blob.sha256, sha);
                ours_client_rss = ours_client_rss.max(peak_rss_mb(me));
                ours_hub_rss = ours_hub_rss.max(peak_rss_mb(&hub_pid));
                drop_stored(&hub, blob.id.as_str());
            } else {
                let curl_blob = hub
                    .create_attachment_blob(&alice_token, "application/octet-stream")
                    .await;
                reset_peak_rss(&hub_pid);
                let (h0, k0) = (cpu_secs(&hub_pid), children_cpu_secs());
                let started = Instant::now();
                let mut curl = Command::new("curl")
                    .args([
                        "-sS",
                        "-o",
                        "/dev/null",
                        "-w",
                        "%{http_code}",
                        "-X",
                        "PUT",
                        "-H",
                    ])
                    .arg(format!("Authorization: Bearer {alice_token}"))
                    .args(["-H", "Content-Type: application/octet-stream", "-T"])
                    .arg(&file)
                    .arg(format!("{}/v1/blobs/{curl_blob}/chunks?offset=0", hub.url))
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap();
                let curl_pid = curl.id().to_string();
                let code = loop {
                    if let Some(status) = curl.try_wait().unwrap() {
                        assert!(status.success());
                        let mut out = String::new();
                        std::io::Read::read_to_string(&mut curl.stdout.take().unwrap(), &mut out)
                            .unwrap();
                        break out;
                    }
                    curl_rss = curl_rss.max(peak_rss_mb(&curl_pid));
                    std::thread::sleep(Duration::from_millis(5));
                };
                curl_runs.push(started.elapsed());
                curl_hub_cpu.push(cpu_secs(&hub_pid) - h0);
                curl_cpu.push(children_cpu_secs() - k0);
                assert_eq!(code, "200", "curl upload failed");
                curl_hub_rss = curl_hub_rss.max(peak_rss_mb(&hub_pid));
                let sealed = hub
                    .post_json(
                        &format!("/v1/blobs/{curl_blob}/seal"),
                        &alice_token,
                        serde_json::json!({"size": size, "sha256": sha}),
                    )
                    .await;
                assert_eq!(sealed["sha256"], sha.as_str());
                drop_stored(&hub, &curl_blob);
            }
        }
    }
    let runs = |v: &[Duration]| {
        v.iter()
            .map(|d| format!("{:.2}", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (ours_list, curl_list) = (runs(&ours_runs), runs(&curl_runs));
    ours_runs.sort();
    curl_runs.sort();
    let (ours, curl_time) = (
        ours_runs[ours_runs.len() / 2],
        curl_runs[curl_runs.len() / 2],
    );
    let mbps = |d: Duration| size as f64 / MB as f64 / d.as_secs_f64();
    println!("\n## 1. 500 MB upload to a loopback hub (medians of {rounds} alternating runs)");
    println!("runs (s): ours [{ours_list}], curl [{curl_list}]");
    println!(
        "HubClient ({chunk_mb} MiB chunks, sha256 + seal): {:.2} s, {:.0} MB/s",
        ours.as_secs_f64(),
        mbps(ours)
    );
    println!(
        "curl -T (one PUT, no hashing): {:.2} s, {:.0} MB/s",
        curl_time.as_secs_f64(),
        mbps(curl_time)
    );
    println!(
        "ratio ours/curl: {:.2}",
        curl_time.as_secs_f64() / ours.as_secs_f64()
    );
    let cpu = |v: &[f64]| {
        v.iter()
            .map(|c| format!("{c:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "CPU seconds per run: ours client [{}] hub [{}]; curl run hub [{}]",
        cpu(&ours_cpu.iter().map(|c| c.0).collect::<Vec<_>>()),
        cpu(&ours_cpu.iter().map(|c| c.1).collect::<Vec<_>>()),
        cpu(&curl_hub_cpu)
    );
    println!(
        "CPU seconds per run: curl [{}]; our client's sha256 of the file alone [{}]",
        cpu(&curl_cpu),
        cpu(&hash_cpu)
    );
    // Both uploads are CPU-bound on a small machine: their times then stand in the ratio
    // of the work they make both processes do. The hub does the same work in both (it
    // receives, hashes and stores the same bytes); its least measured cost is the one
    // least disturbed by the machine's other work. This says what ratio the clients'
    // work allows, and what it would allow if ours did nothing but read the file and
    // compute the sha256 it must seal with.
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let hub_work = ours_cpu
        .iter()
        .map(|c| c.1)
        .chain(curl_hub_cpu.iter().copied())
        .fold(f64::INFINITY, f64::min);
    let client_work = median(&ours_cpu.iter().map(|c| c.0).collect::<Vec<_>>());
    let (curl_work, hash_work) = (median(&curl_cpu), median(&hash_cpu));
    println!(
        "work per upload (CPU-s): hub {hub_work:.2} (least of all runs), our client {client_work:.2}, curl {curl_work:.2}, \
         sha256 alone {hash_work:.2} (medians)"
    );
    println!(
        "ratio that work allows when CPU-bound: {:.2}; with a client that only reads and hashes: {:.2}",
        (hub_work + curl_work) / (hub_work + client_work),
        (hub_work + curl_work) / (hub_work + hash_work)
    );
    println!(
        "peak RSS during our uploads: client {ours_client_rss:.0} MB, hub {ours_hub_rss:.0} MB"
    );
    println!(
        "peak RSS during curl uploads: curl {curl_rss:.0} MB (sampled), hub {curl_hub_rss:.0} MB"
    );
    std::fs::remove_file(&file).unwrap();
    if upload_only {
        return;
    }

    // ---- 2. 50 concurrent senders of 20 MB messages ----
    let bob_token = add_user(&hub.data, "bob");
    let bob: Arc<dyn Store> = Arc::new(HubClient::new(&hub.url, &bob_token).unwrap());
    let clip_file = common::test_clip();
    let doc = dir.path().join("doc-20mb.bin");
    write_random_file(&doc, 20 * MB);
    let mut senders = Vec::new();
    for i in 0..50 {
        let token = add_user(&hub.data, &format!("sender{i}"));
        senders.push(Arc::new(HubClient::new(&hub.url, &token).unwrap()) as Arc<dyn Store>);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for s in senders {
        let (clip_file, doc) = (clip_file.clone(), doc.clone());
        tasks.push(tokio::spawn(async move {
            let t0 = Instant::now();
            let clip = upload_file(s.clone(), &clip_file, BlobKind::Clip, "video/mp4", None)
                .await
                .unwrap();
            let att = upload_file(
                s.clone(),
                &doc,
                BlobKind::Attachment,
                "application/pdf",
                None,
            )
            .await
            .unwrap();
            let m = new_message(&clip, "bob", Some(&att), 24);
            let c0 = Instant::now();
            s.commit_message(&m).await.unwrap();
            (m.id, c0.elapsed(), t0.elapsed())
        }));
    }
    let mut ids = Vec::new();
    let mut commits = Vec::new();
    let mut totals = Vec::new();
    for t in tasks {
        let (id, commit, total) = t.await.unwrap();
        ids.push(id);
        commits.push(commit);
        totals.push(total);
    }
    let wall = started.elapsed();
    commits.sort();
    totals.sort();
    let mut received = Vec::new();
    let mut after = None;
    loop {
        let page = bob
            .inbox(&InboxQuery {
                order: InboxOrder::Arrival,
                after,
                limit: 200,
            })
            .await
            .unwrap();
        received.extend(page.entries.iter().map(|e| e.message.id.clone()));
        after = page.next;
        if !page.more {
            break;
        }
    }
    let unique: std::collections::HashSet<_> = received.iter().collect();
    let all_there = ids.iter().all(|id| unique.contains(id));
    println!("\n## 2. 50 clients sending a 20 MB message each, concurrently");
    println!(
        "delivered {} of 50, unique {}, all sent ids present: {all_there}; wall {:.2} s ({:.0} MB/s aggregate)",
        received.len(),
        unique.len(),
        wall.as_secs_f64(),
        50.0 * 20.0 / wall.as_secs_f64()
    );
    println!(
        "commit latency p50 {} p99 {}",
        ms(percentile(&commits, 0.5)),
        ms(percentile(&commits, 0.99))
    );
    println!(
        "whole send (upload+seal+commit) p50 {} p99 {}",
        ms(percentile(&totals, 0.5)),
        ms(percentile(&totals, 0.99))
    );

    // ---- 3. Inbox of 10,000 messages ----
    let carol_token = add_user(&hub.data, "carol");
    let carol: Arc<dyn Store> = Arc::new(HubClient::new(&hub.url, &carol_token).unwrap());
    let clip = upload_file(alice.clone(), &clip_file, BlobKind::Clip, "video/mp4", None)
        .await
        .unwrap();
    let started = Instant::now();
    let mut fill = Vec::new();
    for w in 0..8 {
        let (alice, clip) = (alice.clone(), clip.clone());
        fill.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for i in 0..1250 {
                let m = new_message(&clip, "carol", None, 1 + ((w * 1250 + i) % 500) as i64);
                let t = Instant::now();
                alice.commit_message(&m).await.unwrap();
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut fill_lat = Vec::new();
    for f in fill {
        fill_lat.extend(f.await.unwrap());
    }
    fill_lat.sort();
    let fill_time = started.elapsed();
    println!("\n## 3. Inbox with 10,000 messages");
    println!(
        "filled with 10,000 commits from 8 concurrent tasks in {:.1} s ({:.0} commits/s; commit p50 {} p99 {})",
        fill_time.as_secs_f64(),
        10_000.0 / fill_time.as_secs_f64(),
        ms(percentile(&fill_lat, 0.5)),
        ms(percentile(&fill_lat, 0.99))
    );
    for order in [
        InboxOrder::RespondBy,
        InboxOrder::Newest,
        InboxOrder::Arrival,
    ] {
        let mut lat = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            let page = carol
                .inbox(&InboxQuery {
                    order,
                    after: None,
                    limit: 50,
                })
                .await
                .unwrap();
            lat.push(t.elapsed());
            assert_eq!(page.entries.len(), 50);
        }
        lat.sort();
        println!(
            "first page of 50, order {}: p50 {} p99 {}",
            order.as_str(),
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99))
        );
    }
    let t = Instant::now();
    let mut after = None;
    let mut n = 0;
    let mut pages = 0;
    loop {
        let page = carol
            .inbox(&InboxQuery {
                order: InboxOrder::Arrival,
                after,
                limit: 200,
            })
            .await
            .unwrap();
        n += page.entries.len();
        pages += 1;
        after = page.next;
        if !page.more {
            break;
        }
    }
    println!(
        "full incremental sync: {n} messages in {pages} pages of 200, {}",
        ms(t.elapsed())
    );
    assert_eq!(n, 10_000);
    drop(hub);
}
