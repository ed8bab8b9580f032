//! `pigeon transcript`, `search` and `transcribe`, and the transcription that `send`
//! and `sync` run after their deliveries: the library queues, makes, stores, shares
//! and searches transcripts; this module names the clip, words the states and moves
//! the progress bar.

use anyhow::{bail, Context as _, Result};
use pigeon_library::search::SearchHit;
use pigeon_library::transcription::ModelStatus;
use pigeon_library::transcripts::{Origin, StoredTranscript, TranscriptOwner, TranscriptState};
use pigeon_library::{Draft, LibraryError, OutboxEntry};
use pigeon_store::protocol::Transcript;
use serde_json::json;

mod making;

use crate::flags::CaptionFormat;
use crate::output::{self, short};
use crate::App;

/// What a transcript belongs to, as the user named it.
pub enum Clip {
    Received(Box<pigeon_library::db::ReceivedMessage>),
    Sent(Box<OutboxEntry>),
    Draft(Box<Draft>),
}

impl Clip {
    /// Where the library keeps its transcript: a clip recorded here is its draft's.
    pub fn owner(&self) -> TranscriptOwner {
        match self {
            Clip::Received(m) => TranscriptOwner::Message(m.message.id.clone()),
            Clip::Sent(e) => match &e.draft_id {
                Some(draft) => TranscriptOwner::Draft(draft.clone()),
                // Never found as a clip (see `find`); a text message has no transcript.
                None => TranscriptOwner::Message(e.message_id.clone()),
            },
            Clip::Draft(d) => TranscriptOwner::Draft(d.id.clone()),
        }
    }

    /// The id the user gave, whole.
    fn id(&self) -> &str {
        match self {
            Clip::Received(m) => m.message.id.as_str(),
            Clip::Sent(e) => e.message_id.as_str(),
            Clip::Draft(d) => &d.id,
        }
    }

    /// "message 0123abcd" or "draft 0123abcd".
    fn name(&self) -> String {
        match self {
            Clip::Received(_) | Clip::Sent(_) => format!("message {}", short(self.id())),
            Clip::Draft(_) => format!("draft {}", short(self.id())),
        }
    }
}

impl App {
    /// The received message, message sent from here, or draft `id` names.
    pub fn find_clip(&self, id: &str) -> Result<Clip> {
        let mut found = Vec::new();
        if let Some(m) = absent_if_unknown(self.library.received(id))? {
            found.push(Clip::Received(Box::new(m)));
        }
        // A text-only message sent from here has no clip to transcribe.
        if let Some(e) =
            absent_if_unknown(self.library.outbox_entry(id))?.filter(|e| e.draft_id.is_some())
        {
            found.push(Clip::Sent(Box::new(e)));
        }
        if let Some(d) = absent_if_unknown(self.library.draft(id))? {
            // A draft sent from here is already found as its message.
            let sent = found.iter().any(
                |c| matches!(c, Clip::Sent(e) if e.draft_id.as_deref() == Some(d.id.as_str())),
            );
            if !sent {
                found.push(Clip::Draft(Box::new(d)));
            }
        }
        match found.len() {
            0 => bail!(
                "no message or draft matches {id:?}: `pigeon inbox`, `pigeon status` and \
                 `pigeon drafts` list them"
            ),
            1 => Ok(found.remove(0)),
            _ => {
                bail!("{id:?} is the start of more than one message or draft: give more of the id")
            }
        }
    }

    /// `pigeon transcript ID [--vtt|--srt|--text]`
    pub fn transcript(&self, id: &str, format: CaptionFormat) -> Result<()> {
        let clip = self.find_clip(id)?;
        let stored = self.library.transcript(&clip.owner())?;
        let done = stored.as_ref().and_then(|s| match s.state {
            TranscriptState::Done => s.transcript.as_ref(),
            _ => None,
        });
        if self.out.json {
            println!("{}", transcript_json(&clip, stored.as_ref()));
            return Ok(());
        }
        let Some(transcript) = done else {
            bail!("{}", self.no_transcript_text(&clip, stored.as_ref()));
        };
        let text = if format.vtt {
            pigeon_transcribe::captions::webvtt(transcript)
        } else if format.srt {
            pigeon_transcribe::captions::srt(transcript)
        } else if format.text {
            pigeon_transcribe::captions::text(transcript)
        } else {
            timed_lines(&clip, stored.as_ref(), transcript)
        };
        print!("{text}");
        if !text.ends_with('\n') {
            println!();
        }
        Ok(())
    }

    /// Why `clip` has no transcript to print, and what to do about it.
    fn no_transcript_text(&self, clip: &Clip, stored: Option<&StoredTranscript>) -> String {
        let name = clip.name();
        let id = short(clip.id());
        let later = match clip {
            Clip::Received(_) => "at `pigeon transcribe`".to_owned(),
            Clip::Sent(_) => "at the next `pigeon sync`".to_owned(),
            Clip::Draft(_) => "when it is sent".to_owned(),
        };
        match stored.map(|s| &s.state) {
            None => match clip {
                Clip::Received(_) => format!(
                    "{name} has no transcript yet: the sender's may still come (`pigeon sync` \
                     pulls it), or make one here with `pigeon transcribe {id}`"
                ),
                _ => format!(
                    "{name} has no transcript (transcription was off when it was recorded): \
                     `pigeon transcribe {id}` makes it"
                ),
            },
            Some(TranscriptState::Queued) => format!(
                "the transcript of {name} is queued: it is made {later}, or now with \
                 `pigeon transcribe {id}`"
            ),
            Some(TranscriptState::Running { progress }) => format!(
                "the transcript of {name} is being made ({:.0} % done); if no pigeon is \
                 running any more, `pigeon transcribe {id}` makes it",
                progress * 100.0
            ),
            Some(TranscriptState::Failed { reason }) => format!(
                "the transcript of {name} could not be made: {reason}; `pigeon transcribe \
                 {id}` tries again"
            ),
            Some(TranscriptState::Done) => format!(
                "the transcript of {name} is missing: `pigeon transcribe {id}` makes it again"
            ),
        }
    }

    /// `pigeon search WORDS`
    pub fn search(&self, words: &[String], limit: usize) -> Result<()> {
        let words = words.join(" ");
        let hits = self.library.search(&words, limit)?;
        if self.out.json {
            let list: Vec<_> = hits.iter().map(hit_json).collect();
            println!("{}", serde_json::Value::Array(list));
            return Ok(());
        }
        if hits.is_empty() {
            println!("nothing here matches {words:?}");
        }
        for hit in &hits {
            let at = hit
                .at_ms
                .map(|ms| format!(" at {}", clock_time(ms)))
                .unwrap_or_default();
            let who = if hit.sent_by_me {
                "sent by me".to_owned()
            } else {
                format!("from {}", hit.sender)
            };
            println!(
                "{}  {:<32} {who:<16} {}{at}: {}",
                short(hit.message.as_str()),
                hit.subject,
                hit.field.as_str(),
                hit.snippet
            );
        }
        Ok(())
    }

    /// `pigeon transcribe ID`: the transcript made here, now (again if there was one).
    pub async fn transcribe(&self, id: &str) -> Result<()> {
        let clip = self.find_clip(id)?;
        // The sound is in the clip: a received one is downloaded first.
        if let Clip::Received(m) = &clip {
            if m.downloaded_at.is_none() || m.clip_path.is_none() {
                let inbox = self.inbox_over_store().await?;
                let bar = self.out.progress_bar("downloading");
                inbox
                    .fetch(
                        &m.message.id,
                        bar.as_ref().map(output::progress),
                        self.now(),
                    )
                    .await
                    .context("the clip must be downloaded before it is transcribed")?;
                output::finish(bar);
            }
        }
        // Asked for by name: made even when automatic transcription is off.
        let mut settings = self.settings.transcription.clone();
        settings.enabled = true;
        match ModelStatus::of(&settings, &self.home.models_dir()) {
            ModelStatus::Ready(_) | ModelStatus::Off => {}
            ModelStatus::NotDownloaded(entry) => bail!(
                "the speech model {} ({}) is not downloaded: `pigeon models download {}` gets \
                 it, or `pigeon config --model-path FILE` uses a model file you have",
                entry.label,
                megabytes(entry.bytes),
                entry.key
            ),
            ModelStatus::Broken(why) => bail!(
                "{why} (`pigeon models download` gets a model again; `pigeon config --model KEY` \
                 or `--model-path FILE` chooses another)"
            ),
        }
        let owner = clip.owner();
        self.library.queue_transcription(&owner, self.now())?;
        let finished = self.run_transcriptions(&settings).await?;
        self.leave_if_interrupted(&format!(
            "stopped: the transcript of {} stays queued; `pigeon transcribe {}` or `pigeon \
             sync` makes it",
            clip.name(),
            short(clip.id())
        ));
        let stored = self.library.transcript(&owner)?;
        if finished == 0
            && matches!(
                stored.as_ref().map(|s| &s.state),
                Some(TranscriptState::Queued)
            )
        {
            // The library's queue is worked by one process at a time.
            bail!(
                "another Pigeon (the desktop app, or another pigeon command) is making this \
                 library's transcripts and makes this one next: `pigeon transcript {}` shows it \
                 when it is done",
                short(clip.id())
            );
        }
        let Some(StoredTranscript {
            state: TranscriptState::Done,
            transcript: Some(transcript),
            ..
        }) = &stored
        else {
            bail!("{}", self.no_transcript_text(&clip, stored.as_ref()));
        };
        if let Clip::Sent(_) = clip {
            self.share_transcripts_quietly().await;
        }
        self.out.say(
            transcript_json(&clip, stored.as_ref()),
            format!(
                "transcript of {} made: {} line(s), {} (`pigeon transcript {}` prints it)",
                clip.name(),
                transcript.segments.len(),
                language_text(&transcript.language),
                short(clip.id())
            ),
        );
        Ok(())
    }
}

/// Not found is an answer here (the id may name another kind of clip); anything else
/// (an ambiguous prefix, the database) is an error.
fn absent_if_unknown<T>(found: pigeon_library::error::Result<T>) -> Result<Option<T>> {
    match found {
        Ok(found) => Ok(Some(found)),
        Err(LibraryError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `pigeon --json transcript`: the state, and the transcript when it is done.
fn transcript_json(clip: &Clip, stored: Option<&StoredTranscript>) -> serde_json::Value {
    let state = stored.map_or("none", |s| s.state.as_str());
    let (progress, error) = match stored.map(|s| &s.state) {
        Some(TranscriptState::Running { progress }) => (Some(*progress), None),
        Some(TranscriptState::Failed { reason }) => (None, Some(reason.as_str())),
        _ => (None, None),
    };
    let kind = match clip {
        Clip::Draft(_) => "draft",
        _ => "message",
    };
    json!({
        "id": clip.id(),
        "kind": kind,
        "state": state,
        "progress": progress,
        "error": error,
        "origin": stored.map(|s| s.origin.as_str()),
        "transcript": stored.and_then(|s| s.transcript.as_ref()),
    })
}

/// The transcript as the terminal shows it: a heading, then one timed line per segment.
fn timed_lines(clip: &Clip, stored: Option<&StoredTranscript>, t: &Transcript) -> String {
    let origin = match stored.map(|s| &s.origin) {
        Some(Origin::Received) => "from the sender",
        _ => "made here",
    };
    let mut text = format!(
        "transcript of {} ({}, model {}, {origin})\n",
        clip.name(),
        language_text(&t.language),
        t.model
    );
    for s in &t.segments {
        text.push_str(&format!(
            "{:>6}  {}\n",
            clock_time(s.start_ms),
            s.text.trim()
        ));
    }
    text
}

/// A time in the clip as m:ss (h:mm:ss past an hour).
pub fn clock_time(ms: u64) -> String {
    let s = ms / 1000;
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A language code with its English name where it is a common one.
pub fn language_text(code: &str) -> String {
    match pigeon_transcribe::language_name(code) {
        Some(name) => format!("{name} ({code})"),
        None => code.to_owned(),
    }
}

/// A size in megabytes, as model sizes are given.
pub fn megabytes(bytes: u64) -> String {
    format!("{} MB", (bytes + 500_000) / 1_000_000)
}

fn hit_json(hit: &SearchHit) -> serde_json::Value {
    json!({
        "message": hit.message,
        "sent_by_me": hit.sent_by_me,
        "subject": hit.subject,
        "sender": hit.sender,
        "sent_at": hit.sent_at,
        "field": hit.field.as_str(),
        "at_ms": hit.at_ms,
        "snippet": hit.snippet,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_times_read_as_minutes_and_seconds() {
        assert_eq!(clock_time(3_200), "0:03");
        assert_eq!(clock_time(83_999), "1:23");
        assert_eq!(clock_time(3_723_000), "1:02:03");
    }

    #[test]
    fn languages_are_named_and_sizes_rounded() {
        assert_eq!(language_text("en"), "English (en)");
        assert_eq!(language_text("xx"), "xx");
        assert_eq!(megabytes(147_951_465), "148 MB");
        assert_eq!(megabytes(77_691_713), "78 MB");
    }
}
