//! `pigeon inbox`, `show`, `fetch`, `done` and `sync`: what was received, in the
//! library's order, its downloads, and the sync that delivers and pulls (and says what
//! arrived: "bob commented at 1:23 on Budget review").

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use pigeon_library::reminders::{give_reminders, ReminderEvent};
use pigeon_library::transcripts::{StoredTranscript, TranscriptState};
use pigeon_library::{inbox_order, Delivery, DownloadPolicy, ResponseBy};
use serde_json::json;

use crate::conversation::chapter_line;
use crate::output::{self, short};
use crate::transcripts::language_text;
use crate::App;

impl App {
    pub fn inbox(&self) -> Result<()> {
        let now = self.now();
        let messages = inbox_order::inbox(&self.library, now)?;
        if self.out.json {
            let list: Vec<_> = messages
                .iter()
                .map(|m| {
                    json!({
                        "id": m.message.id,
                        "sender": m.message.sender,
                        "subject": m.message.subject,
                        "respond_by": m.respond_by,
                        "due": ResponseBy::from_instant(m.respond_by).due(now).to_string(),
                        "viewed": m.viewed_at.is_some(),
                        "responded": m.responded_at.is_some(),
                        "in_reply_to": m.message.in_reply_to,
                        "at_ms": m.message.at_ms,
                        "chapter": m.message.chapter,
                        "has_clip": m.message.clip.is_some(),
                        "acknowledge_only": m.message.acknowledge_only,
                        "poster": m.poster_path,
                        "downloaded": m.downloaded_at.is_some(),
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(list));
            return Ok(());
        }
        if messages.is_empty() {
            println!("the inbox is empty (`pigeon sync` pulls new messages)");
        }
        for m in &messages {
            // A comment is told apart from an answer: it asks about one moment.
            let subject = match m.message.at_ms {
                Some(at) => format!(
                    "{} (at {})",
                    m.message.subject,
                    pigeon_store::protocol::fields::moment(at)
                ),
                None => m.message.subject.clone(),
            };
            let state = if m.responded_at.is_some() {
                "answered".to_owned()
            } else {
                ResponseBy::from_instant(m.respond_by).due(now).to_string()
            };
            println!(
                "{}  {:<12} {:<40} {}",
                short(m.message.id.as_str()),
                m.message.sender.as_str(),
                subject,
                state
            );
        }
        Ok(())
    }

    pub fn show(&self, id: &str) -> Result<()> {
        let m = self.library.received(id)?;
        let respond_by = ResponseBy::from_instant(m.respond_by);
        let transcript = self.library.transcript_of_message(&m.message.id)?;
        if self.out.json {
            let mut shown = serde_json::to_value(&m)?;
            if let Some(fields) = shown.as_object_mut() {
                fields.insert("transcript".into(), transcript_summary(transcript.as_ref()));
            }
            println!("{shown}");
            return Ok(());
        }
        println!("{}", m.message.subject);
        println!("from       {}", m.message.sender);
        println!(
            "respond by {} ({})",
            respond_by.display_in(self.zone()),
            respond_by.due(self.now())
        );
        if let Some(original) = &m.message.in_reply_to {
            let mut about = format!("answers   {}", short(original.as_str()));
            if let Some(at) = m.message.at_ms {
                about = format!(
                    "comments  at {} of {}",
                    pigeon_store::protocol::fields::moment(at),
                    short(original.as_str())
                );
            }
            if let Some(chapter) = m.message.chapter {
                about.push_str(&format!(", chapter {}", chapter + 1));
            }
            println!("{about}");
        }
        if m.message.acknowledge_only {
            println!(
                "asks for  a ✅ only (`pigeon react {} check` answers)",
                short(m.message.id.as_str())
            );
        }
        if let Some(text) = &m.message.text {
            println!("\n{text}\n");
        }
        if let Some(poster) = &m.poster_path {
            println!("poster     {}", poster.display());
        }
        match (&m.playable_path, &m.message.clip) {
            (Some(p), _) => println!("clip       {}", p.display()),
            (None, Some(clip)) => println!(
                "clip       {} bytes, not downloaded (`pigeon fetch {}`)",
                clip.size,
                short(m.message.id.as_str())
            ),
            (None, None) => {}
        }
        if let Some(line) = transcript_line(transcript.as_ref(), short(m.message.id.as_str())) {
            println!("transcript {line}");
        }
        for (n, chapter) in m.message.chapters.iter().enumerate() {
            let heading = if n == 0 { "chapters" } else { "" };
            println!("{heading:<10} {}", chapter_line(n, chapter));
        }
        for (a, path) in m.message.attachments.iter().zip(&m.attachment_paths) {
            match path {
                Some(p) => println!("attached   {}  {}", a.name, p.display()),
                None => println!("attached   {}  ({} bytes)", a.name, a.blob.size),
            }
        }
        Ok(())
    }

    pub async fn fetch(&self, id: &str) -> Result<()> {
        let m = self.library.received(id)?;
        let inbox = self.inbox_over_store().await?;
        let bar = self.out.progress_bar("downloading");
        let fetched = inbox
            .fetch(
                &m.message.id,
                bar.as_ref().map(output::progress),
                self.now(),
            )
            .await?;
        output::finish(bar);
        let attachments: Vec<_> = fetched.attachment_paths.iter().flatten().collect();
        self.out.say(
            json!({
                "message": fetched.message.id,
                "clip": fetched.clip_path,
                "playable": fetched.playable_path,
                "poster": fetched.poster_path,
                "attachments": attachments,
            }),
            format!(
                "clip: {}\n{}",
                fetched
                    .playable_path
                    .as_deref()
                    .map(Path::display)
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                attachments
                    .iter()
                    .map(|p| format!("attachment: {}", p.display()))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        );
        Ok(())
    }

    pub async fn done(&self, id: &str) -> Result<()> {
        let received = self.library.received(id)?;
        let inbox = self.inbox_over_store().await?;
        inbox.done(&received.message.id, self.now()).await?;
        self.out.say(
            json!({"message": received.message.id, "done": true}),
            format!("marked {} done", short(received.message.id.as_str())),
        );
        Ok(())
    }

    pub async fn sync(&self, wait: Option<u64>) -> Result<()> {
        let outbox = self.outbox().await?;
        let deliveries = outbox.deliver_queued().await?;
        let bar = match self.settings.downloads {
            DownloadPolicy::Background => self.out.progress_bar("downloading"),
            DownloadPolicy::OnDemand => None,
        };
        let mut inbox = self
            .inbox_over_store()
            .await?
            .with_downloads(self.settings.downloads);
        if let Some(bar) = &bar {
            inbox = inbox.with_progress(output::progress(bar));
        }
        let report = match wait {
            Some(s) => {
                inbox
                    .wait_and_sync(Duration::from_secs(s), self.now())
                    .await?
            }
            None => inbox.sync(self.now()).await?,
        };
        output::finish(bar);
        // After the messages: transcripts never hold up what a sync delivers or pulls.
        let (transcribed, shared) = self.transcribe_and_share_pending(&outbox).await;
        let reminders = give_reminders(&self.library, self.now(), self.settings.reminders)?;
        // Each arrival told once, as the desktop's notifications word it.
        let announcements = self.library.take_announcements(&self.me()?)?;
        if !self.out.json {
            for a in &announcements {
                match a.respond_by {
                    Some(by) => println!(
                        "{}: {} (respond by {})",
                        a.title,
                        a.body,
                        ResponseBy::from_instant(by).display_in(self.zone())
                    ),
                    None => println!("{}: {}", a.title, a.body),
                }
            }
            for r in &reminders {
                println!("{}", reminder_text(r, self.zone()));
            }
        }
        let announced: Vec<_> = announcements
            .iter()
            .map(|a| {
                json!({
                    "message": a.message,
                    "thread": a.thread,
                    "title": a.title,
                    "body": a.body,
                    "respond_by": a.respond_by,
                })
            })
            .collect();
        let delivered: Vec<_> = deliveries
            .iter()
            .map(|(id, d)| {
                let state = match d {
                    Delivery::Sent(_) => "sent".to_owned(),
                    Delivery::Queued { error } => format!("queued ({error})"),
                    Delivery::Failed { reason } => format!("failed: {reason}"),
                };
                json!({"message": id, "state": state})
            })
            .collect();
        self.out.say(
            json!({
                "outbox": delivered,
                "new_messages": report.new_messages,
                "posters": report.posters,
                "downloaded": report.downloaded,
                "deferred": report.deferred,
                "reminders": reminders,
                "announcements": announced,
                "new_transcripts": report.new_transcripts,
                "transcribed": transcribed,
                "transcripts_shared": shared,
            }),
            format!(
                "{} new message(s), {} downloaded{}; outbox: {}{}",
                report.new_messages.len(),
                report.downloaded.len(),
                report
                    .deferred
                    .as_deref()
                    .map(|d| format!(" (left for the next sync: {d})"))
                    .unwrap_or_default(),
                if delivered.is_empty() {
                    "empty".to_owned()
                } else {
                    delivered
                        .iter()
                        .map(|d| format!("{} {}", d["message"], d["state"]))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                match (report.new_transcripts.len(), transcribed, shared) {
                    (0, 0, 0) => String::new(),
                    (received, made, shared) => format!(
                        "; transcripts: {received} received, {made} made here, {shared} shared"
                    ),
                }
            ),
        );
        Ok(())
    }
}

fn reminder_text(r: &ReminderEvent, zone: chrono_tz::Tz) -> String {
    match r {
        ReminderEvent::Halfway {
            message,
            subject,
            respond_by,
        } => format!(
            "reminder: half the time for {subject:?} ({}) has passed; respond by {}",
            short(message.as_str()),
            ResponseBy::from_instant(*respond_by).display_in(zone)
        ),
        ReminderEvent::DueSoon {
            message,
            subject,
            respond_by,
        } => format!(
            "reminder: {subject:?} ({}) is due soon, by {}",
            short(message.as_str()),
            ResponseBy::from_instant(*respond_by).display_in(zone)
        ),
        ReminderEvent::Overdue {
            message, subject, ..
        } => format!(
            "reminder: {subject:?} ({}) is overdue: answer with `pigeon reply` or `pigeon done`",
            short(message.as_str())
        ),
        ReminderEvent::DeadlinePassed {
            message,
            subject,
            answered,
            unanswered,
        } => format!(
            "deadline passed for {subject:?} ({}): {answered} answered, waiting for {}",
            short(message.as_str()),
            unanswered
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The `transcript` line of `pigeon show`: its language, or how far it is.
fn transcript_line(stored: Option<&StoredTranscript>, id: &str) -> Option<String> {
    let stored = stored?;
    Some(match (&stored.state, &stored.transcript) {
        (TranscriptState::Done, Some(t)) => format!(
            "{}, {} line(s) (`pigeon transcript {id}`)",
            language_text(&t.language),
            t.segments.len()
        ),
        (TranscriptState::Running { progress }, _) => {
            format!("being made ({:.0} % done)", progress * 100.0)
        }
        (TranscriptState::Failed { reason }, _) => {
            format!("could not be made: {reason} (`pigeon transcribe {id}` tries again)")
        }
        _ => format!("queued (`pigeon transcribe {id}` makes it now)"),
    })
}

/// The `transcript` field of `pigeon --json show`.
fn transcript_summary(stored: Option<&StoredTranscript>) -> serde_json::Value {
    match stored {
        None => serde_json::Value::Null,
        Some(s) => json!({
            "state": match s.state {
                TranscriptState::Queued => "queued",
                TranscriptState::Running { .. } => "running",
                TranscriptState::Done => "done",
                TranscriptState::Failed { .. } => "failed",
            },
            "language": s.transcript.as_ref().map(|t| t.language.as_str()),
            "model": s.transcript.as_ref().map(|t| t.model.as_str()),
        }),
    }
}
