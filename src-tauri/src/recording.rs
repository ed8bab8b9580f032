//! Recording from the window: device choice, start (along an agenda), the next
//! chapter, pause, stop, discard, and the live preview and level meter streamed to
//! whichever screen watches.
//!
//! A recording is started by Rust (from the Record screen's command or straight
//! from the global shortcut, without waiting for a window to load) and watched
//! by a screen through two IPC channels. Preview frames are dropped when nobody
//! watches or the screen is slow: the recorder never waits on the UI.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};
use pigeon_library::chapters::{self, default_title};
use pigeon_library::{DesktopSettings, Recording, RecordingOptions, Sources, VideoChoice};
use pigeon_media::composite::BubbleControl;
use pigeon_media::mix::MixLevels;
use pigeon_media::recorder::{PreviewSettings, RecorderEvent};
use pigeon_media::QualityPreset;
use pigeon_store::protocol::{fields, Chapter};
use serde::Serialize;
use tauri::ipc::{Channel, InvokeResponseBody};
use tauri::{AppHandle, Emitter as _, Manager as _, State};

use crate::error::CommandResult;
use crate::messages::drafts::{draft_view, DraftView};
use crate::session::{self, Session};
use crate::supervise::{blocking_task, supervise};
use crate::{blocking, windows};

/// The preview the Record screen shows: small, and fast enough to look live (20 fps
/// leaves room for a busy machine to still show at least 15).
const PREVIEW: PreviewSettings = PreviewSettings {
    width: 320,
    fps: 20,
};

/// Emitted (with the draft id) when a recording starts or ends, for every window.
pub const RECORDING_CHANGED_EVENT: &str = "recording-changed";

/// Emitted (with a [`ChapterMark`]) to every window when "Next item" starts a chapter,
/// so the Record screen and the small recorder window both show it.
pub const RECORDING_CHAPTER_EVENT: &str = "recording-chapter";

/// What a watching screen hears about the recording.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all_fields = "camelCase")]
pub enum RecordingProgress {
    Progress {
        elapsed_ms: u64,
        remaining_ms: u64,
        paused: bool,
        rms_dbfs: f32,
        peak_dbfs: f32,
    },
    /// The recorder ended by itself (maximum length, device lost, disk full); the
    /// screen then calls `stop_recording` to finish the draft.
    Ended { reason: String },
    /// Something the user should know while recording goes on (a window closed).
    Notice { text: String },
}

type Watchers = Arc<Mutex<Option<(Channel<InvokeResponseBody>, Channel<RecordingProgress>)>>>;

struct Active {
    /// Shared only with a "Next item" saving its mark on the blocking pool, which
    /// holds the slot's lock meanwhile: a stop or discard always gets it back whole.
    recording: Arc<Recording>,
    /// How many items the agenda typed before recording has.
    agenda_len: usize,
    watchers: Watchers,
    max_ms: u64,
    /// Moves the camera bubble of a screen recording.
    bubble: Option<BubbleControl>,
    /// The microphone's and the computer sound's gains, when both are mixed.
    mix: Option<MixLevels>,
    /// The screen is recorded: the main window stepped aside.
    screen: bool,
    /// The main window was on screen before it stepped aside (it comes back on discard).
    hid_main: bool,
}

impl Active {
    fn view(&self) -> RecordingView {
        RecordingView {
            draft_id: self.recording.draft_id().to_owned(),
            max_ms: self.max_ms,
            bubble_corner: self.bubble.as_ref().map(|b| b.style().corner.label()),
            screen: self.screen,
            levels: self.mix.as_ref().map(|m| LevelsView {
                microphone: m.microphone(),
                computer: m.computer(),
            }),
            chapter: self.current_chapter(),
        }
    }

    /// The chapter being recorded now (the last one marked).
    fn current_chapter(&self) -> Option<ChapterMark> {
        let chapters = self.recording.chapters();
        let last = chapters.len().checked_sub(1)?;
        Some(ChapterMark::new(last, &chapters[last], self.agenda_len))
    }
}

/// A chapter marked while recording, as the recorder shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChapterMark {
    /// 1-based, as the user counts.
    pub number: usize,
    pub title: String,
    pub start_ms: u64,
    /// `start_ms` as "0:14".
    pub at: String,
    /// "Item 2 of 3: Hiring"; past the agenda "Item 4: …", or just "Item 4".
    pub label: String,
}

impl ChapterMark {
    fn new(index: usize, chapter: &Chapter, agenda_len: usize) -> Self {
        let number = index + 1;
        let label = if number <= agenda_len {
            format!("Item {number} of {agenda_len}: {}", chapter.title)
        } else if chapter.title == default_title(number) {
            chapter.title.clone()
        } else {
            format!("Item {number}: {}", chapter.title)
        };
        ChapterMark {
            number,
            title: chapter.title.clone(),
            start_ms: chapter.start_ms,
            at: fields::moment(chapter.start_ms),
            label,
        }
    }
}

/// The recording back from the slot, whole, to stop or discard it.
fn whole(recording: Arc<Recording>) -> anyhow::Result<Recording> {
    Arc::into_inner(recording).ok_or_else(|| {
        anyhow!("a chapter mark is still being saved; the recording could not be finished")
    })
}

/// The one recording this app may be making.
#[derive(Default)]
pub struct RecorderSlot {
    active: tokio::sync::Mutex<Option<Active>>,
    /// When the global shortcut asked for a quick recording (for the timing log).
    requested_at: Mutex<Option<Instant>>,
}

impl RecorderSlot {
    /// The running recording's bubble, if it has one.
    pub async fn bubble(&self) -> Option<BubbleControl> {
        self.active
            .lock()
            .await
            .as_ref()
            .and_then(|a| a.bubble.clone())
    }

    /// The running recording's mix levels, if it mixes a microphone and computer sound.
    pub async fn mix_levels(&self) -> Option<MixLevels> {
        self.active
            .lock()
            .await
            .as_ref()
            .and_then(|a| a.mix.clone())
    }
}

/// A camera or microphone the user can pick.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    pub id: String,
    pub name: String,
}

/// What the Record screen offers, and what is chosen.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DevicesView {
    pub cameras: Vec<DeviceView>,
    pub microphones: Vec<DeviceView>,
    /// A camera id, "test-pattern" or "none".
    pub camera: String,
    /// A microphone id, "default" or "none".
    pub microphone: String,
    pub quality: String,
    pub qualities: Vec<&'static str>,
    pub max_clip_seconds: u32,
    /// Why no camera is offered, in words for the user.
    pub camera_problem: Option<String>,
    pub microphone_problem: Option<String>,
}

const DEFAULT_MICROPHONE: &str = "default";

/// The devices a listing found, or why there are none in words for the user
/// (`what` names the device, `instead` says what can be recorded without it).
fn offered<E: std::fmt::Display>(
    listed: Result<Vec<DeviceView>, E>,
    what: &str,
    instead: &str,
) -> (Vec<DeviceView>, Option<String>) {
    match listed {
        Ok(list) if !list.is_empty() => (list, None),
        Ok(_) => (
            Vec::new(),
            Some(format!("No {what} was found. Connect one, or {instead}.")),
        ),
        Err(error) => (
            Vec::new(),
            Some(format!(
                "No {what} can be used ({error}). Instead, {instead}."
            )),
        ),
    }
}

fn devices_view(settings: &DesktopSettings) -> DevicesView {
    let (cameras, camera_problem) = offered(
        pigeon_media::camera::list_cameras().map(|list| {
            list.into_iter()
                .map(|c| DeviceView {
                    id: c.id,
                    name: c.name,
                })
                .collect()
        }),
        "camera",
        "record audio only or the test pattern",
    );
    let (microphones, microphone_problem) = offered(
        pigeon_media::microphone::list_microphones().map(|list| {
            list.into_iter()
                .map(|m| DeviceView {
                    id: m.id,
                    name: if m.is_default {
                        format!("{} (default)", m.name)
                    } else {
                        m.name
                    },
                })
                .collect()
        }),
        "microphone",
        "record video without sound",
    );
    // Nothing chosen and no camera: nothing is picked for the user, the screen asks.
    let camera = match settings.camera.as_deref() {
        Some(chosen) => chosen.to_owned(),
        None => cameras
            .first()
            .map(|c: &DeviceView| c.id.clone())
            .unwrap_or_default(),
    };
    let microphone = match settings.microphone.as_deref() {
        Some(chosen) => chosen.to_owned(),
        None if microphones.is_empty() => DesktopSettings::NO_DEVICE.to_owned(),
        None => DEFAULT_MICROPHONE.to_owned(),
    };
    DevicesView {
        cameras,
        microphones,
        camera,
        microphone,
        quality: settings.quality.clone(),
        qualities: QualityPreset::ALL.iter().map(|q| q.label()).collect(),
        max_clip_seconds: settings.max_clip_seconds,
        camera_problem,
        microphone_problem,
    }
}

#[tauri::command]
pub async fn devices(session: State<'_, Session>) -> CommandResult<DevicesView> {
    let settings = session.settings().await?.desktop;
    // Listing devices opens drivers: keep it off the async threads.
    Ok(blocking::run(move || Ok(devices_view(&settings))).await?)
}

/// Remembers the devices, quality and maximum length for the next recordings.
#[tauri::command]
pub async fn choose_devices(
    session: State<'_, Session>,
    camera: String,
    microphone: String,
    quality: String,
    max_clip_seconds: u32,
) -> CommandResult<DevicesView> {
    if QualityPreset::from_label(&quality).is_none() {
        return Err(anyhow!("unknown quality {quality:?}: choose 480p, 720p or 1080p").into());
    }
    if !DesktopSettings::CLIP_SECONDS.contains(&max_clip_seconds) {
        return Err(anyhow!(
            "a maximum clip length of {max_clip_seconds} s is out of range: choose between 10 s and 10 min"
        )
        .into());
    }
    let mut settings = session.settings().await?;
    settings.desktop.camera = Some(camera);
    settings.desktop.microphone = Some(microphone);
    settings.desktop.quality = quality;
    settings.desktop.max_clip_seconds = max_clip_seconds;
    session.save_settings(settings, "device").await?;
    devices(session).await
}

/// What a started recording is.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingView {
    pub draft_id: String,
    pub max_ms: u64,
    /// The bubble's corner while the screen is recorded with the camera.
    pub bubble_corner: Option<&'static str>,
    /// The screen is recorded (the main window stepped aside).
    pub screen: bool,
    /// The mix's levels while a microphone and computer sound are recorded together.
    pub levels: Option<LevelsView>,
    /// The chapter being recorded now; None until the first "Next item" without an agenda.
    pub chapter: Option<ChapterMark>,
}

/// The microphone's and the computer sound's gains (1 is as they come).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LevelsView {
    pub microphone: f32,
    pub computer: f32,
}

/// Starts recording with the remembered layout and devices (the library's one
/// rule, `Sources::last_used`), without an agenda: the global shortcut and the tray.
pub async fn start(app: &AppHandle) -> anyhow::Result<RecordingView> {
    start_along(app, Vec::new()).await
}

/// Starts recording along an agenda (its titles name the chapters "Next item"
/// starts; empty for none). A screen recording moves the main window out of the
/// way and shows the small recorder window.
async fn start_along(app: &AppHandle, agenda: Vec<String>) -> anyhow::Result<RecordingView> {
    let session = app.state::<Session>();
    let slot = app.state::<RecorderSlot>();
    let mut active = slot.active.lock().await;
    if let Some(current) = active.as_ref() {
        return Ok(current.view());
    }
    // Taken first, so a start that fails does not leave it for a later one.
    let requested_at = slot
        .requested_at
        .lock()
        .map(|mut at| at.take())
        .unwrap_or(None);
    let settings = session.settings().await?;
    let transcribe = settings.transcription.enabled;
    let desktop = settings.desktop;
    let quality = QualityPreset::from_label(&desktop.quality).unwrap_or_default();
    let max_length = Duration::from_secs(u64::from(desktop.max_clip_seconds.clamp(
        *DesktopSettings::CLIP_SECONDS.start(),
        *DesktopSettings::CLIP_SECONDS.end(),
    )));
    let sources = Sources::last_used(&desktop).map_err(|e| {
        anyhow!(
            "{}. On the Record screen, choose “Record audio only”, “Use the test pattern” or another layout.",
            sentence(&e.to_string())
        )
    })?;
    let options = RecordingOptions {
        quality: sources.quality(quality),
        max_length,
        preview: Some(PREVIEW),
    };
    // Capture never waits on the network: without a store, the clip goes at send.
    let outbox = match session.outbox().await {
        Ok(outbox) => Some(outbox),
        Err(error) => {
            tracing::info!(error = %format!("{error:#}"), "recording offline");
            None
        }
    };
    let library = session.library.clone();
    // Opening devices, the encoder and the draft's row all block.
    let screen = sources.is_screen();
    let recorded_quality = options.quality;
    let agenda_len = agenda.len();
    let recording =
        blocking::run(move || {
            Recording::start(library, outbox, &sources, &options)
                .map(|recording| recording.transcribe_at_stop(transcribe).with_agenda(agenda))
                .map_err(|e| {
                    let hint = match sources {
                Sources::Devices {
                    video: VideoChoice::Camera { .. },
                    ..
                } => " Pick another camera, audio only or the test pattern on the Record screen.",
                Sources::Devices {
                    video: VideoChoice::Screen { .. },
                    ..
                } => " Pick another screen or window, or the camera, on the Record screen.",
                _ => "",
            };
                    anyhow!("The recording could not start: {e}.{hint}")
                })
        })
        .await?;
    let watchers: Watchers = Arc::default();
    forward(&recording, watchers.clone(), requested_at);
    // The screen is what is recorded: the main window steps aside, the recorder stays.
    let hid_main = screen && windows::step_aside(app);
    let started = Active {
        bubble: recording.bubble(),
        mix: recording.mix_levels(),
        recording: Arc::new(recording),
        agenda_len,
        watchers,
        max_ms: max_length.as_millis() as u64,
        screen,
        hid_main,
    };
    let view = started.view();
    tracing::info!(draft = %view.draft_id, quality = ?recorded_quality, screen, "recording started");
    *active = Some(started);
    let _ = app.emit(RECORDING_CHANGED_EVENT, Some(view.clone()));
    Ok(view)
}

/// The library's text as the start of a sentence.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Sends previews and progress to the watching screen, from the blocking pool
/// under a supervisor (restarted if it panics), until the recorder ends.
fn forward(recording: &Recording, watchers: Watchers, requested_at: Option<Instant>) {
    let previews = recording.recorder().previews().clone();
    let events = recording.recorder().events().clone();
    // The shortcut-to-first-frame timing is logged by the first run only.
    let requested_at = Arc::new(Mutex::new(requested_at));
    supervise("preview forwarder", move || {
        let (previews, events, watchers) = (previews.clone(), events.clone(), watchers.clone());
        let requested_at = requested_at.clone();
        blocking_task(move || forward_until_stopped(&previews, &events, &watchers, &requested_at))
    });
}

fn forward_until_stopped(
    previews: &crossbeam_channel::Receiver<pigeon_media::recorder::PreviewFrame>,
    events: &crossbeam_channel::Receiver<RecorderEvent>,
    watchers: &Watchers,
    requested_at: &Mutex<Option<Instant>>,
) {
    loop {
        match previews.recv_timeout(Duration::from_millis(100)) {
            Ok(frame) => {
                let first = requested_at.lock().ok().and_then(|mut at| at.take());
                if let Some(at) = first {
                    tracing::info!(
                        target: "pigeon_desktop::timing",
                        ms = at.elapsed().as_millis() as u64,
                        "global shortcut to first recorded frame"
                    );
                }
                let watching = watchers.lock().ok().and_then(|w| w.clone());
                if let Some((preview, _)) = watching {
                    let _ = preview.send(InvokeResponseBody::Raw(rgba_frame(&frame)));
                }
            }
            Err(e) if e.is_disconnected() => break,
            Err(_) => {}
        }
        while let Ok(event) = events.try_recv() {
            let progress = match event {
                RecorderEvent::Progress {
                    elapsed,
                    remaining,
                    paused,
                    level,
                    ..
                } => RecordingProgress::Progress {
                    elapsed_ms: elapsed.as_millis() as u64,
                    remaining_ms: remaining.as_millis() as u64,
                    paused,
                    rms_dbfs: level.rms_dbfs,
                    peak_dbfs: level.peak_dbfs,
                },
                RecorderEvent::Notice(text) => RecordingProgress::Notice { text },
                RecorderEvent::Stopped(reason) => RecordingProgress::Ended {
                    reason: reason.to_string(),
                },
            };
            let watching = watchers.lock().ok().and_then(|w| w.clone());
            if let Some((_, channel)) = watching {
                let _ = channel.send(progress);
            }
        }
    }
}

/// Width and height (u32 little-endian) then RGBA pixels: what a canvas takes.
pub fn rgba_frame(frame: &pigeon_media::recorder::PreviewFrame) -> Vec<u8> {
    let rgba = frame.to_rgba();
    let mut out = Vec::with_capacity(8 + rgba.len());
    out.extend_from_slice(&frame.width.to_le_bytes());
    out.extend_from_slice(&frame.height.to_le_bytes());
    out.extend_from_slice(&rgba);
    out
}

/// Remembers when the global shortcut fired, for the shortcut-to-frame timing.
pub fn note_shortcut(app: &AppHandle) {
    if let Ok(mut at) = app.state::<RecorderSlot>().requested_at.lock() {
        *at = Some(Instant::now());
    }
}

/// Starts recording; `agenda` is what the user typed (one item per line, or comma
/// separated), checked before anything starts.
#[tauri::command]
pub async fn start_recording(
    app: AppHandle,
    agenda: Option<String>,
) -> CommandResult<RecordingView> {
    let titles = chapters::parse_agenda(agenda.as_deref().unwrap_or_default());
    chapters::check_agenda(&titles).map_err(|e| {
        anyhow!(
            "{}. Change the agenda, then press Record again.",
            sentence(&e.to_string())
        )
    })?;
    Ok(start_along(&app, titles).await?)
}

/// "Next item": starts the next chapter of the running recording now, saved in
/// its draft, and tells every window.
#[tauri::command]
pub async fn next_chapter(
    app: AppHandle,
    slot: State<'_, RecorderSlot>,
) -> CommandResult<ChapterMark> {
    let active = slot.active.lock().await;
    let active = active.as_ref().ok_or_else(|| {
        anyhow!("nothing is being recorded: start a recording, then mark its items")
    })?;
    let recording = active.recording.clone();
    // The mark is written to the draft's row at once (it survives a crash).
    let (index, chapter) = blocking::run(move || {
        let chapter = recording.next_chapter()?;
        Ok((recording.chapters().len().saturating_sub(1), chapter))
    })
    .await
    .map_err(|e| anyhow!("{}", sentence(&format!("{e:#}"))))?;
    let mark = ChapterMark::new(index, &chapter, active.agenda_len);
    tracing::info!(draft = %active.recording.draft_id(), chapter = mark.number, at = %mark.at, title = %mark.title, "chapter started");
    let _ = app.emit(RECORDING_CHAPTER_EVENT, mark.clone());
    Ok(mark)
}

/// The recording in progress, if any (a quick-record window asks when it opens).
#[tauri::command]
pub async fn current_recording(
    slot: State<'_, RecorderSlot>,
) -> CommandResult<Option<RecordingView>> {
    Ok(slot.active.lock().await.as_ref().map(Active::view))
}

/// Sends the running recording's preview and progress to these channels (the
/// screen that called last wins).
#[tauri::command]
pub async fn watch_recording(
    slot: State<'_, RecorderSlot>,
    preview: Channel<InvokeResponseBody>,
    progress: Channel<RecordingProgress>,
) -> CommandResult<bool> {
    let active = slot.active.lock().await;
    let Some(active) = active.as_ref() else {
        return Ok(false);
    };
    if let Ok(mut w) = active.watchers.lock() {
        *w = Some((preview, progress));
    }
    Ok(true)
}

#[tauri::command]
pub async fn pause_recording(slot: State<'_, RecorderSlot>, paused: bool) -> CommandResult<()> {
    let active = slot.active.lock().await;
    let active = active
        .as_ref()
        .ok_or_else(|| anyhow!("nothing is being recorded"))?;
    if paused {
        active.recording.recorder().pause();
    } else {
        active.recording.recorder().resume();
    }
    Ok(())
}

/// Stops and finishes the draft (the clip's tail is uploaded if the store is there).
#[tauri::command]
pub async fn stop_recording(
    app: AppHandle,
    window: tauri::WebviewWindow,
    session: State<'_, Session>,
    slot: State<'_, RecorderSlot>,
) -> CommandResult<DraftView> {
    let active = slot
        .active
        .lock()
        .await
        .take()
        .ok_or_else(|| anyhow!("nothing is being recorded"))?;
    let recorded = whole(active.recording)?.stop().await.context(
        "the recording could not be finished; it is kept as a draft if anything was recorded",
    )?;
    tracing::info!(draft = %recorded.draft.id, reason = %recorded.reason, "recording stopped");
    let _ = app.emit(RECORDING_CHANGED_EVENT, None::<RecordingView>);
    session.wake.notify_one();
    if windows::hide_if_quick(&window) {
        // A quick recording goes on in the main window's Compose.
        windows::compose_draft(&app, &recorded.draft.id);
    }
    let draft = recorded.draft;
    Ok(session::blocking(app, move |app, _| draft_view(app, &draft)).await?)
}

/// Throws the running recording away.
#[tauri::command]
pub async fn discard_recording(
    app: AppHandle,
    window: tauri::WebviewWindow,
    slot: State<'_, RecorderSlot>,
) -> CommandResult<()> {
    windows::hide_if_quick(&window);
    let Some(active) = slot.active.lock().await.take() else {
        return Ok(());
    };
    if active.hid_main {
        // Nothing goes on to Compose: the window that stepped aside comes back.
        windows::show_main(&app);
    }
    let recording = whole(active.recording)?;
    blocking::run(move || Ok(recording.discard()?)).await?;
    let _ = app.emit(RECORDING_CHANGED_EVENT, None::<RecordingView>);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shapes ui/src/api.ts reads.
    #[test]
    fn progress_is_what_the_ui_expects() {
        let json = serde_json::to_value(RecordingProgress::Progress {
            elapsed_ms: 1500,
            remaining_ms: 298_500,
            paused: false,
            rms_dbfs: -20.0,
            peak_dbfs: -6.0,
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "Progress", "elapsedMs": 1500, "remainingMs": 298500,
                "paused": false, "rmsDbfs": -20.0, "peakDbfs": -6.0})
        );
        let json = serde_json::to_value(RecordingProgress::Ended {
            reason: "stopped".into(),
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "Ended", "reason": "stopped"})
        );
    }

    #[test]
    fn notices_and_recordings_are_what_the_ui_expects() {
        let json = serde_json::to_value(RecordingProgress::Notice {
            text: "The window was closed.".into(),
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "Notice", "text": "The window was closed."})
        );
        let json = serde_json::to_value(RecordingView {
            draft_id: "d1".into(),
            max_ms: 300_000,
            bubble_corner: Some("top-left"),
            screen: true,
            levels: Some(LevelsView {
                microphone: 1.0,
                computer: 0.5,
            }),
            chapter: None,
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"draftId": "d1", "maxMs": 300000, "bubbleCorner": "top-left", "screen": true,
                "levels": {"microphone": 1.0, "computer": 0.5}, "chapter": null})
        );
    }

    fn chapter(start_ms: u64, title: &str) -> Chapter {
        Chapter {
            start_ms,
            title: title.into(),
        }
    }

    #[test]
    fn a_chapter_mark_says_where_the_agenda_is() {
        let mark = ChapterMark::new(1, &chapter(14_200, "Hiring"), 3);
        assert_eq!(mark.label, "Item 2 of 3: Hiring");
        assert_eq!(
            serde_json::to_value(&mark).unwrap(),
            serde_json::json!({"number": 2, "title": "Hiring", "startMs": 14200, "at": "0:14.2",
                "label": "Item 2 of 3: Hiring"})
        );
        // Past the agenda, and without one, the item is counted without a total.
        assert_eq!(
            ChapterMark::new(3, &chapter(30_000, "Item 4"), 3).label,
            "Item 4"
        );
        assert_eq!(
            ChapterMark::new(1, &chapter(5_000, "Item 2"), 0).label,
            "Item 2"
        );
        assert_eq!(
            ChapterMark::new(3, &chapter(30_000, "Wrap-up"), 3).label,
            "Item 4: Wrap-up"
        );
    }

    #[test]
    fn library_text_starts_a_sentence() {
        assert_eq!(sentence("no camera was found"), "No camera was found");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn frames_carry_their_size_then_rgba() {
        let frame = pigeon_media::recorder::PreviewFrame {
            width: 2,
            height: 1,
            rgb: vec![1, 2, 3, 4, 5, 6],
            media_time: Duration::ZERO,
        };
        assert_eq!(
            rgba_frame(&frame),
            [2, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3, 255, 4, 5, 6, 255]
        );
    }
}
