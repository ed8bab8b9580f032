//! Stop-to-sent: how long after "stop" a message is committed, for a live 720p30
//! synthetic recording that the outbox uploads while it is recorded, against
//! record-then-upload (the same clip uploaded whole after the stop) as the reference.
//!
//! `cargo build -p pigeon-hub && cargo bench -p pigeon-scenarios --bench stop_to_sent --profile dev`
//! (`PIGEON_BENCH_SECONDS` shortens the 120 s recording). Numbers: docs/performance.md.

// A benchmark, not a library: a failed setup or run ends it with the error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use pigeon_library::{Delivery, Library, NewOutgoing, Outbox, PigeonHome};
use pigeon_media::synthetic::{SyntheticAudio, SyntheticVideo};
use pigeon_media::{Pacing, Recorder, RecorderConfig};
use pigeon_scenarios::Hub;
use pigeon_store::protocol::UserName;
use pigeon_store::{HubClient, SharedStore};

fn queue(library: &Library, draft: &str) -> pigeon_store::protocol::MessageId {
    library
        .queue(
            &NewOutgoing {
                draft_id: Some(draft.to_owned()),
                recipients: vec![UserName::parse("bob").expect("a valid name")],
                subject: "Benchmark".into(),
                text: None,
                respond_by: Utc::now() + chrono::Duration::hours(24),
                respond_by_tz: "UTC".into(),
                in_reply_to: None,
                attachments: vec![],
                at_ms: None,
                chapter: None,
                acknowledge_only: false,
                deadlines: vec![],
                working_hours_each: None,
            },
            Utc::now(),
        )
        .expect("queue")
        .message_id
}

async fn deliver(outbox: &Outbox, id: &pigeon_store::protocol::MessageId) {
    match outbox.deliver(id).await.expect("deliver") {
        Delivery::Sent(_) => {}
        other => panic!("not sent: {other:?}"),
    }
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::var("PIGEON_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let hub = Hub::start(&dir.path().join("hub"), 0);
    let token = hub.add_user("alice");
    hub.add_user("bob");
    let store: SharedStore = Arc::new(HubClient::new(&hub.url, &token).expect("a hub client"));
    let library =
        Arc::new(Library::open(&PigeonHome::at(dir.path().join("alice"))).expect("a library"));
    let outbox = Outbox::new(library.clone(), store);

    // Upload while recording.
    let draft = library.create_draft(Utc::now()).expect("a draft");
    let mut config = RecorderConfig::new(&draft.clip_path);
    config.preview = None;
    let recorder = Recorder::start(
        config,
        // Camera-like noise, so the clip is as large as a real camera's.
        Box::new(
            SyntheticVideo::new(1280, 720, 30, Pacing::RealTime, None)
                .expect("video")
                .with_sensor_noise(true),
        ),
        Some(Box::new(
            SyntheticAudio::new(48_000, Pacing::RealTime, None).expect("audio"),
        )),
    )
    .expect("recording starts");
    let uploader =
        outbox.upload_while_recording(&draft.id, &draft.clip_path, recorder.fragments().clone());
    println!(
        "recording {seconds} s of 720p30 (synthetic, live) while uploading to {}",
        hub.url
    );
    tokio::time::sleep(Duration::from_secs(seconds)).await;

    let stopped = Instant::now();
    let outcome = tokio::task::spawn_blocking(move || recorder.stop())
        .await
        .expect("the recorder thread")
        .expect("the recording");
    let stop_took = stopped.elapsed();
    library
        .finish_draft(
            &draft.id,
            outcome.duration,
            outcome.playable.as_deref(),
            false,
        )
        .expect("finish");
    let upload = uploader.await.expect("the uploader task");
    outbox
        .finish_clip(&draft.id, upload)
        .await
        .expect("the clip is sealed");
    let id = queue(&library, &draft.id);
    deliver(&outbox, &id).await;
    let live = stopped.elapsed();

    // Reference: the same clip, nothing uploaded before the stop.
    let copy = library.create_draft(Utc::now()).expect("a draft");
    std::fs::copy(&outcome.clip, &copy.clip_path).expect("copy the clip");
    library
        .finish_draft(&copy.id, outcome.duration, None, false)
        .expect("finish");
    let started = Instant::now();
    let id = queue(&library, &copy.id);
    deliver(&outbox, &id).await;
    let reference = stop_took + started.elapsed();

    let mb = outcome.bytes as f64 / 1e6;
    println!(
        "clip: {:.1} s, {mb:.1} MB; the recorder's stop (tail + playable copy) took {:.3} s",
        outcome.duration.as_secs_f64(),
        stop_took.as_secs_f64()
    );
    println!(
        "stop-to-sent, uploaded while recording: {:.3} s",
        live.as_secs_f64()
    );
    println!(
        "stop-to-sent, record then upload (reference): {:.3} s",
        reference.as_secs_f64()
    );
}
