//! A message's transcript as the Player shows it: its state, its timed lines, the
//! captions track (a WebVTT file offered on the loopback player), the pauses that
//! skip silence jumps over, lines matching the Player's search, "Make transcript",
//! and the remembered captions switch.
//!
//! The transcripts are made by the library's `Transcriber` (run by `background`),
//! kept and shared by the library; this module only shows them and asks for them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use pigeon_library::received_files::ReceivedFiles;
use pigeon_library::transcripts::{Origin, StoredTranscript, TranscriptOwner, TranscriptState};
use pigeon_playback::Media;
use pigeon_store::protocol::{MessageId, Transcript};
use serde::Serialize;
use tauri::{AppHandle, Emitter as _, Manager as _};

use crate::error::CommandResult;
use crate::messages::{find, offer, Found};
use crate::models::as_sentence;
use crate::session::{self, Session};

/// Emitted with a [`TranscriptChanged`] whenever a transcript is queued, moves on,
/// is done or fails.
pub const TRANSCRIPT_CHANGED_EVENT: &str = "transcript-changed";

/// The captions' content type on the loopback player.
const WEBVTT: &str = "text/vtt";

/// One timed line of the transcript (a segment).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptLine {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

/// Everything the Player shows about a message's transcript.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptView {
    pub id: MessageId,
    /// "none", "queued", "running", "done" or "failed".
    pub state: &'static str,
    /// 0..1 while running.
    pub progress: Option<f32>,
    /// Why it failed: one sentence.
    pub problem: Option<String>,
    pub language: Option<String>,
    pub language_name: Option<String>,
    pub model: Option<String>,
    /// "here" or "received".
    pub origin: Option<&'static str>,
    pub lines: Vec<TranscriptLine>,
    /// The WebVTT captions on the loopback player.
    pub captions_url: Option<String>,
}

/// The payload of [`TRANSCRIPT_CHANGED_EVENT`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptChanged {
    /// The message's id, or the draft's before it is sent.
    pub id: String,
    pub state: &'static str,
    pub progress: Option<f32>,
}

/// A stretch skip silence jumps over.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SkipRange {
    pub start_ms: u64,
    pub end_ms: u64,
}

pub fn state_name(state: &TranscriptState) -> &'static str {
    match state {
        TranscriptState::Queued => "queued",
        TranscriptState::Running { .. } => "running",
        TranscriptState::Done => "done",
        TranscriptState::Failed { .. } => "failed",
    }
}

fn progress_of(state: &TranscriptState) -> Option<f32> {
    match state {
        TranscriptState::Running { progress } => Some(progress.clamp(0.0, 1.0)),
        _ => None,
    }
}

/// Tells every window that `id`'s transcript changed.
pub fn transcript_changed(app: &AppHandle, id: String, state: &TranscriptState) {
    let _ = app.emit(
        TRANSCRIPT_CHANGED_EVENT,
        TranscriptChanged {
            id,
            state: state_name(state),
            progress: progress_of(state),
        },
    );
}

pub fn lines_of(transcript: &Transcript) -> Vec<TranscriptLine> {
    transcript
        .segments
        .iter()
        .map(|s| TranscriptLine {
            start_ms: s.start_ms,
            end_ms: s.end_ms,
            text: s.text.trim().to_owned(),
        })
        .collect()
}

/// A message found by id, with what its transcript is kept under and where its files are.
struct Clip {
    id: MessageId,
    owner: TranscriptOwner,
    /// The clip to decode, when it is on this computer.
    sound: Option<PathBuf>,
    /// Where its captions file goes.
    captions: PathBuf,
}

fn clip_of(session: &Session, id: &str) -> anyhow::Result<Clip> {
    Ok(match find(session, id)? {
        Found::Received(r) => {
            let files = ReceivedFiles::of(&session.library, &r.message.id);
            let sound = r
                .playable_path
                .clone()
                .filter(|p| p.is_file())
                .or_else(|| Some(files.clip()).filter(|p| p.is_file()));
            Clip {
                id: r.message.id.clone(),
                owner: TranscriptOwner::Message(r.message.id.clone()),
                sound,
                captions: files.dir().join("captions.vtt"),
            }
        }
        Found::Sent(entry) => {
            let Some(draft_id) = entry.draft_id.clone() else {
                anyhow::bail!("this message is a text answer: it has no clip to transcribe");
            };
            let draft = session.library.draft(&draft_id)?;
            let captions = draft.clip_path.with_extension("vtt");
            let sound = draft
                .playable_path
                .filter(|p| p.is_file())
                .or_else(|| Some(draft.clip_path).filter(|p| p.is_file()));
            Clip {
                id: entry.message_id.clone(),
                owner: TranscriptOwner::Draft(draft_id),
                sound,
                captions,
            }
        }
    })
}

/// Writes the captions whole under a temporary name, then renames them into place,
/// so the player never reads half a file.
fn write_captions(path: &Path, transcript: &Transcript) -> anyhow::Result<()> {
    let text = pigeon_transcribe::captions::webvtt(transcript);
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "could not create {}: check the disk has room",
                dir.display()
            )
        })?;
    }
    let part = path.with_extension("vtt.part");
    std::fs::write(&part, text)
        .and_then(|()| std::fs::rename(&part, path))
        .with_context(|| {
            format!(
                "the captions could not be written to {}: check the disk has room",
                path.display()
            )
        })
}

fn view(
    app: &AppHandle,
    clip: &Clip,
    stored: Option<StoredTranscript>,
) -> anyhow::Result<TranscriptView> {
    let Some(stored) = stored else {
        return Ok(TranscriptView {
            id: clip.id.clone(),
            state: "none",
            progress: None,
            problem: None,
            language: None,
            language_name: None,
            model: None,
            origin: None,
            lines: Vec::new(),
            captions_url: None,
        });
    };
    let captions_url = match (&stored.state, &stored.transcript) {
        (TranscriptState::Done, Some(t)) if !t.segments.is_empty() => {
            write_captions(&clip.captions, t)?;
            Some(offer(app, Media::file(&clip.captions, WEBVTT))?)
        }
        _ => None,
    };
    let transcript = stored.transcript.as_ref();
    Ok(TranscriptView {
        id: clip.id.clone(),
        state: state_name(&stored.state),
        progress: progress_of(&stored.state),
        problem: match &stored.state {
            TranscriptState::Failed { reason } => Some(as_sentence(reason)),
            _ => None,
        },
        language_name: stored
            .language
            .as_deref()
            .and_then(pigeon_transcribe::language_name)
            .map(str::to_owned),
        language: stored.language.clone(),
        model: stored.model.clone(),
        origin: Some(match stored.origin {
            Origin::MadeHere => "here",
            Origin::Received => "received",
        }),
        lines: transcript.map(lines_of).unwrap_or_default(),
        captions_url,
    })
}

/// The message's transcript, as far as it is.
#[tauri::command]
pub async fn message_transcript(app: AppHandle, id: String) -> CommandResult<TranscriptView> {
    Ok(session::blocking(app, move |app, session| {
        let clip = clip_of(session, &id)?;
        let stored = session.library.transcript(&clip.owner)?;
        view(app, &clip, stored)
    })
    .await?)
}

/// "Make transcript" (or make it again) on this machine: queues it and wakes the
/// transcriber; the view says it is queued.
#[tauri::command]
pub async fn transcribe_message(app: AppHandle, id: String) -> CommandResult<TranscriptView> {
    let view = session::blocking(app.clone(), move |app, session| {
        let clip = clip_of(session, &id)?;
        session
            .library
            .queue_transcription(&clip.owner, session.now())?;
        let stored = session.library.transcript(&clip.owner)?;
        view(app, &clip, stored)
    })
    .await?;
    transcript_changed(&app, view.id.to_string(), &TranscriptState::Queued);
    app.state::<Session>().transcribe.notify_one();
    Ok(view)
}

/// The long pauses in the message's clip, from its transcript's gaps and its sound
/// levels; none while the clip is not on this computer.
#[tauri::command]
pub async fn skip_ranges(app: AppHandle, id: String) -> CommandResult<Vec<SkipRange>> {
    Ok(session::blocking(app, move |_, session| {
        let clip = clip_of(session, &id)?;
        let Some(path) = clip.sound else {
            return Ok(Vec::new());
        };
        let transcript = session
            .library
            .transcript(&clip.owner)?
            .filter(|t| matches!(t.state, TranscriptState::Done))
            .and_then(|t| t.transcript);
        let sound = pigeon_transcribe::decode_sound(&path)
            .context("the pauses in the clip could not be found")?;
        Ok(
            pigeon_transcribe::pauses::pauses(transcript.as_ref(), &sound.levels)
                .into_iter()
                .map(|p| SkipRange {
                    start_ms: p.start_ms,
                    end_ms: p.end_ms,
                })
                .collect(),
        )
    })
    .await?)
}

/// Which lines of the message's transcript contain `words` (the Player's search),
/// by the same matching rules as the sidebar's search.
#[tauri::command]
pub async fn transcript_lines_matching(
    app: AppHandle,
    id: String,
    words: String,
) -> CommandResult<Vec<usize>> {
    Ok(session::blocking(app, move |_, session| {
        let clip = clip_of(session, &id)?;
        Ok(session
            .library
            .transcript(&clip.owner)?
            .and_then(|t| t.transcript)
            .map(|t| pigeon_library::search::transcript_lines_matching(&t, &words))
            .unwrap_or_default())
    })
    .await?)
}

/// Whether the Player shows captions.
#[tauri::command]
pub async fn captions_on(session: tauri::State<'_, Session>) -> CommandResult<bool> {
    Ok(session.settings().await?.desktop.captions_on)
}

#[tauri::command]
pub async fn set_captions_on(session: tauri::State<'_, Session>, on: bool) -> CommandResult<bool> {
    let mut settings = session.settings().await?;
    settings.desktop.captions_on = on;
    Ok(session
        .save_settings(settings, "captions")
        .await?
        .desktop
        .captions_on)
}

/// "0:03": where in the clip, to the whole second, as the search results say it.
pub fn at_text(ms: u64) -> String {
    pigeon_library::trim::format_clip_time(Duration::from_secs(ms / 1000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pigeon_store::protocol::Segment;

    #[test]
    fn lines_keep_the_segments_times_and_trim_their_text() {
        let transcript = Transcript {
            language: "en".into(),
            model: "tiny.en".into(),
            duration_ms: 4000,
            segments: vec![
                Segment {
                    start_ms: 0,
                    end_ms: 1500,
                    text: " Hello there.".into(),
                    words: Vec::new(),
                },
                Segment {
                    start_ms: 1500,
                    end_ms: 3900,
                    text: " The budget is ready. ".into(),
                    words: Vec::new(),
                },
            ],
        };
        assert_eq!(
            lines_of(&transcript),
            vec![
                TranscriptLine {
                    start_ms: 0,
                    end_ms: 1500,
                    text: "Hello there.".into()
                },
                TranscriptLine {
                    start_ms: 1500,
                    end_ms: 3900,
                    text: "The budget is ready.".into()
                },
            ]
        );
    }

    #[test]
    fn search_moments_are_said_to_the_second() {
        assert_eq!(at_text(3200), "0:03");
        assert_eq!(at_text(0), "0:00");
        assert_eq!(at_text(83_999), "1:23");
    }

    #[test]
    fn captions_are_rewritten_only_when_they_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m").join("captions.vtt");
        let transcript = Transcript {
            language: "en".into(),
            model: "tiny.en".into(),
            duration_ms: 2000,
            segments: vec![Segment {
                start_ms: 200,
                end_ms: 1800,
                text: " Hello.".into(),
                words: Vec::new(),
            }],
        };
        write_captions(&path, &transcript).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(written.starts_with("WEBVTT"), "{written}");
        assert!(written.contains("Hello."), "{written}");
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        write_captions(&path, &transcript).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            modified
        );
        assert!(!path.with_extension("vtt.part").exists());
    }
}
