//! `pigeon record` and `pigeon drafts`: clips recorded into drafts (uploaded while
//! they are recorded), of the camera or the screen, and what is not delivered yet.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use pigeon_library::{
    chapters, AudioChoice, Bubble, Draft, LibraryError, OutboxState, Recording, RecordingOptions,
    Sources, VideoChoice,
};
use pigeon_media::composite::BubbleStyle;
use pigeon_media::screen::ScreenTarget;
use pigeon_media::{MediaError, QualityPreset, RecorderEvent};
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
        let agenda = args
            .chapters
            .as_deref()
            .map(chapters::parse_agenda)
            .unwrap_or_default();
        chapters::check_agenda(&agenda).context("--chapters")?;
        let sources = self.sources_for(args)?;
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
        let recording = match Recording::start(self.library.clone(), outbox, &sources, &options) {
            // Stop queues the clip's transcript (made at send), unless turned off.
            Ok(recording) => recording.transcribe_at_stop(self.settings.transcription.enabled),
            // The media's sentence says what is missing and what to choose instead.
            Err(LibraryError::Media(MediaError::ScreenUnavailable(why))) => bail!(
                "{why} (`pigeon screens` lists what can be recorded; without --screen, \
                 `pigeon record` records the camera)"
            ),
            Err(e) => return Err(anyhow::Error::new(e).context("the recording could not start")),
        };
        // Saving the agenda in the draft is a database write: off the runtime's threads.
        let recording = if agenda.is_empty() {
            recording
        } else {
            tokio::task::block_in_place(|| recording.with_agenda(agenda))
        };
        // Ctrl-C stops the recording cleanly: raised once, checked below.
        let stop = crate::interrupt::flag();
        let keys = crate::chapter_keys::ChapterKeys::listen();
        if !self.out.json {
            eprintln!(
                "recording draft {} ({}){}{}",
                short(recording.draft_id()),
                describe(&sources),
                if args.seconds.is_some() {
                    ""
                } else {
                    ", Ctrl-C stops"
                },
                if keys.is_some() {
                    ", n starts the next item"
                } else {
                    ""
                }
            );
            for (i, chapter) in recording.chapters().iter().enumerate() {
                eprintln!("{}", chapters::describe(i, chapter));
            }
        }
        let started = Instant::now();
        let limit = args.seconds.map(Duration::from_secs_f64);
        while !stop.load(Ordering::SeqCst)
            && !recording.recorder().is_finished()
            && limit.is_none_or(|l| started.elapsed() < l)
        {
            // A window closed, the screen changed size: the recording goes on, the
            // user is told.
            for event in recording.recorder().events().try_iter() {
                if let RecorderEvent::Notice(text) = event {
                    eprintln!("{text}");
                }
            }
            for _ in 0..keys.as_ref().map_or(0, |k| k.pressed()) {
                // A refused mark (too soon after the last) is said and the recording goes on.
                match tokio::task::block_in_place(|| recording.next_chapter()) {
                    Ok(chapter) if !self.out.json => eprintln!(
                        "{}",
                        chapters::describe(recording.chapters().len() - 1, &chapter)
                    ),
                    Ok(_) => {}
                    Err(e) => eprintln!("{e}"),
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // That Ctrl-C stopped the recording; `pigeon reply` goes on to send it.
        crate::interrupt::clear();
        // The terminal echoes again before anything else is printed.
        drop(keys);
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
                "chapters": draft.chapters,
            }),
            format!(
                "draft {}  {seconds:.1} s  {}{}{}",
                draft.id,
                draft.state.as_str(),
                if draft.recovered { "  (recovered)" } else { "" },
                chapter_lines(&draft.chapters)
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

impl App {
    /// `pigeon trim DRAFT --start T --end T`: keeps only that part of the draft's clip
    /// (to the frame), then uploads the trimmed clip when the store is reachable, so a
    /// send afterwards only commits.
    pub async fn trim(&self, draft: &str, start: Option<&str>, end: Option<&str>) -> Result<()> {
        let time = |flag: &str, text: &str| {
            pigeon_library::trim::parse_clip_time(text).with_context(|| format!("--{flag} {text}"))
        };
        let start = start.map(|t| time("start", t)).transpose()?;
        let end = end.map(|t| time("end", t)).transpose()?;
        let current = self.library.draft(draft)?;
        let end = match end {
            Some(end) => end,
            None => {
                let clip = current.clip_path.clone();
                tokio::task::spawn_blocking(move || pigeon_media::probe(&clip))
                    .await
                    .context("reading the clip's length")??
                    .duration
            }
        };
        let start = start.unwrap_or_default();
        let trimmed = match pigeon_library::trim::trim_draft_with_outcome(
            &self.library,
            None,
            &current.id,
            start,
            end,
        )
        .await
        {
            Ok(trimmed) => trimmed,
            Err(LibraryError::Media(MediaError::Trim(why))) => bail!(
                "{why} (`pigeon drafts` shows each draft's length; times are seconds, m:ss or h:mm:ss)"
            ),
            Err(e) => return Err(anyhow::Error::new(e).context("the draft cannot be trimmed")),
        };
        // The trimmed clip is complete: sent whole now, so `pigeon send` only commits.
        let uploaded = match self.outbox().await {
            Ok(outbox) => {
                let bar = self.out.progress_bar("uploading");
                let outbox = match &bar {
                    Some(bar) => outbox.with_progress(crate::output::progress(bar)),
                    None => outbox,
                };
                let (clip, poster) = tokio::join!(
                    outbox.seal_clip(&trimmed.draft.id),
                    outbox.seal_poster(&trimmed.draft.id)
                );
                crate::output::finish(bar);
                if let Err(e) = &poster {
                    tracing::info!(error = %e, "the poster will be uploaded at send");
                }
                match clip {
                    Ok(_) => true,
                    Err(e) => {
                        tracing::info!(error = %e, "the trimmed clip will be uploaded at send");
                        false
                    }
                }
            }
            Err(e) => {
                tracing::info!(error = %e, "trimmed offline: the clip is uploaded at send");
                false
            }
        };
        let (d, o) = (&trimmed.draft, &trimmed.outcome);
        let length = pigeon_library::trim::format_clip_time(o.duration);
        self.out.say(
            json!({
                "draft": d.id,
                "duration_seconds": o.duration.as_secs_f64(),
                "start_seconds": start.as_secs_f64(),
                "end_seconds": end.as_secs_f64(),
                "frames": o.video_frames,
                "reencoded_frames": o.reencoded_frames,
                "copied_frames": o.copied_frames,
                "full_reencode": o.full_reencode,
                "bytes": o.bytes,
                "uploaded": uploaded,
                "clip": d.clip_path,
                "chapters": d.chapters,
            }),
            format!(
                "draft {} trimmed to {length} ({} frames: {} re-encoded, {} copied){}{}{}",
                short(&d.id),
                o.video_frames,
                o.reencoded_frames,
                o.copied_frames,
                o.full_reencode
                    .as_ref()
                    .map(|why| format!("; every frame was re-encoded because {why}"))
                    .unwrap_or_default(),
                if uploaded {
                    "; uploaded"
                } else {
                    "; it is uploaded when you send it"
                },
                chapter_lines(&d.chapters)
            ),
        );
        Ok(())
    }

    /// The sources the record flags name: `--source` camera (with the default
    /// microphone), synthetic or a file; with `--screen`, `--window` or `--monitor`
    /// the screen, its sound from `--source`, and the camera `--bubble` names.
    fn sources_for(&self, args: &RecordArgs) -> Result<Sources> {
        let target = match (&args.window, args.monitor) {
            (Some(id), _) => Some(window_target(id)?),
            (None, Some(n)) => Some(ScreenTarget::Monitor(n)),
            (None, None) => args.screen.then_some(ScreenTarget::Screen),
        };
        let Some(target) = target else {
            let sources = sources_for(&args.source)?;
            return Ok(match sources {
                Sources::Devices {
                    video,
                    audio,
                    levels,
                    ..
                } => Sources::Devices {
                    video,
                    audio,
                    computer_sound: args.computer_sound,
                    levels,
                },
                Sources::File(_) if args.computer_sound => bail!(
                    "--computer-sound records with a camera or the screen, not with a file: \
                     leave out one of them"
                ),
                file => file,
            });
        };
        let audio = match args.source.as_str() {
            "camera" => AudioChoice::Microphone { id: None },
            "synthetic" => AudioChoice::TestTone,
            other => bail!(
                "--source {other} cannot go with --screen: a screen recording takes its sound \
                 from the microphone (--source camera) or the test tone (--source synthetic)"
            ),
        };
        // The bubble looks as the desktop app last left it.
        let style = match args.bubble {
            Some(_) => self.settings.desktop.bubble_style()?,
            None => BubbleStyle::default(),
        };
        let bubble = match args.bubble.as_deref() {
            None => None,
            Some("synthetic") => Some(VideoChoice::TestPattern),
            Some(_) => match VideoChoice::chosen_camera(&self.settings.desktop) {
                Ok(VideoChoice::Still) => bail!(
                    "--bubble camera: the camera is set to none in the settings; use \
                     --bubble synthetic, or leave out --bubble to record the screen alone"
                ),
                Ok(camera) => Some(camera),
                // The one way it fails: no camera chosen and none found.
                Err(_) => bail!(
                    "--bubble camera: no camera was found; connect one, use --bubble \
                     synthetic, or leave out --bubble to record the screen alone"
                ),
            },
        }
        .map(|camera| Bubble {
            camera: Box::new(camera),
            style,
        });
        Ok(Sources::Devices {
            video: VideoChoice::Screen { target, bubble },
            audio,
            computer_sound: args.computer_sound,
            levels: Default::default(),
        })
    }
}

/// A `--window` id: as `pigeon screens` prints it (`window:0x2a00007`), or just the
/// number, hex (`0x2a00007`) or decimal.
fn window_target(id: &str) -> Result<ScreenTarget> {
    let number = id.strip_prefix("window:").unwrap_or(id);
    match format!("window:{number}").parse() {
        Ok(target) => Ok(target),
        Err(_) => bail!(
            "--window {id}: not a window id; give the id `pigeon screens` prints, such as 0x2a00007"
        ),
    }
}

/// A draft's chapters, one indented line each after its own line.
fn chapter_lines(list: &[pigeon_store::protocol::Chapter]) -> String {
    list.iter()
        .enumerate()
        .map(|(i, c)| format!("\n  {}", chapters::describe(i, c)))
        .collect()
}

/// What is being recorded, in a few words.
fn describe(sources: &Sources) -> String {
    match sources {
        Sources::File(path) => path.display().to_string(),
        Sources::Devices { video, .. } => match video {
            VideoChoice::Camera { id } => format!("camera {id}"),
            VideoChoice::TestPattern => "test pattern".into(),
            VideoChoice::Still => "sound only".into(),
            VideoChoice::Screen { target, bubble } => match bubble.as_ref().map(|b| &*b.camera) {
                None => target.to_string(),
                Some(VideoChoice::Camera { id }) => format!("{target} with camera {id}"),
                Some(_) => format!("{target} with the test pattern"),
            },
        },
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
            levels: Default::default(),
        },
        path => {
            if !Path::new(path).is_file() {
                bail!("--source {path}: no such file; use camera, synthetic or the path of a media file");
            }
            Sources::File(PathBuf::from(path))
        }
    })
}
