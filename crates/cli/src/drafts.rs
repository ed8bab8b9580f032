//! `pigeon record` and `pigeon drafts`: clips recorded into drafts (uploaded while
//! they are recorded) and what is not delivered yet.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use pigeon_library::{
    AudioChoice, Draft, OutboxState, Recording, RecordingOptions, Sources, VideoChoice,
};
use pigeon_media::QualityPreset;
use serde_json::json;

use crate::flags::RecordArgs;
use crate::output::short;
use crate::App;

impl App {
    /// Records a clip into a new draft, uploading it while it is recorded.
    pub async fn record(&self, args: &RecordArgs) -> Result<Draft> {
        let Some(quality) = QualityPreset::from_label(&args.quality) else {
            bail!(
                "unknown quality {:?}: use 480p, 720p or 1080p",
                args.quality
            );
        };
        if let Some(s) = args.seconds {
            if !(s > 0.0 && s <= 300.0) {
                bail!("--seconds {s} is out of range: give a length between 0 and 300 seconds");
            }
        }
        let sources = sources_for(&args.source)?;
        // Uploading needs the store; offline, the clip is simply sent later.
        let outbox = match self.outbox().await {
            Ok(outbox) => Some(outbox),
            Err(e) => {
                tracing::info!(error = %e, "recording offline");
                None
            }
        };
        let options = RecordingOptions {
            quality,
            ..RecordingOptions::default()
        };
        let recording = Recording::start(self.library.clone(), outbox, &sources, &options)
            .context("the recording could not start")?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        // A second Ctrl-C cannot be handled again: set once, checked below.
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
        if !self.out.json {
            eprintln!(
                "recording draft {} ({}){}",
                short(recording.draft_id()),
                args.source,
                if args.seconds.is_some() {
                    ""
                } else {
                    ", Ctrl-C stops"
                }
            );
        }
        let started = Instant::now();
        let limit = args.seconds.map(Duration::from_secs_f64);
        while !stop.load(Ordering::SeqCst)
            && !recording.recorder().is_finished()
            && limit.is_none_or(|l| started.elapsed() < l)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let recorded = recording.stop().await.context("the recording failed")?;
        Ok(recorded.draft)
    }

    pub fn print_draft(&self, draft: &Draft) {
        let seconds = draft.duration.unwrap_or_default().as_secs_f64();
        self.out.say(
            json!({
                "draft": draft.id,
                "duration_seconds": seconds,
                "state": draft.state.as_str(),
                "recovered": draft.recovered,
                "uploaded": draft.clip_sealed.is_some(),
                "clip": draft.clip_path,
            }),
            format!(
                "draft {}  {seconds:.1} s  {}{}",
                draft.id,
                draft.state.as_str(),
                if draft.recovered { "  (recovered)" } else { "" }
            ),
        );
    }

    /// Drafts not sent yet, and outbox entries not delivered yet.
    pub fn drafts(&self) -> Result<()> {
        let drafts = self.library.drafts()?;
        let pending: Vec<_> = self
            .library
            .outbox()?
            .into_iter()
            .filter(|e| e.state != OutboxState::Sent)
            .collect();
        if self.out.json {
            println!("{}", json!({"drafts": drafts, "outbox": pending}));
            return Ok(());
        }
        for d in &drafts {
            self.print_draft(d);
        }
        for e in &pending {
            println!(
                "message {}  {:?} to {}  {}{}",
                e.message_id,
                e.subject,
                e.recipients
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                e.state.as_str(),
                e.problem().map(|r| format!(": {r}")).unwrap_or_default()
            );
        }
        if drafts.is_empty() && pending.is_empty() {
            println!("no drafts (`pigeon record` makes one)");
        }
        Ok(())
    }
}

/// The sources `--source` names: camera (with the default microphone), synthetic, or a file.
fn sources_for(source: &str) -> Result<Sources> {
    Ok(match source {
        "synthetic" => Sources::synthetic(),
        "camera" => Sources::Devices {
            video: VideoChoice::Camera { id: "0".into() },
            audio: AudioChoice::Microphone { id: None },
            computer_sound: false,
        },
        path => {
            if !Path::new(path).is_file() {
                bail!("--source {path}: no such file; use camera, synthetic or the path of a media file");
            }
            Sources::File(PathBuf::from(path))
        }
    })
}
