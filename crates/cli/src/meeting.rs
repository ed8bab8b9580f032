//! `pigeon meeting`, `more-time`, `grant`, `decline`, `nudge` and `close`: the grid of
//! a message sent to several people (or its Markdown summary), and the records that
//! move its deadlines. Only wiring and wording: the rules are the library's
//! (`meeting`, `more_time`) and the protocol's.

use anyhow::{Context as _, Result};
use pigeon_library::meeting::CellState;
use pigeon_library::more_time::RequestState;
use pigeon_library::people;
use pigeon_library::ResponseBy;
use pigeon_store::protocol::RecordId;
use serde_json::json;

use crate::output::short;
use crate::App;

impl App {
    /// `pigeon meeting MSG [--markdown]`
    pub fn meeting(&self, message: &str, as_markdown: bool) -> Result<()> {
        let me = self.me()?;
        let now = self.now();
        let meeting = self.library.meeting(message, &me, now)?;
        if as_markdown {
            print!("{}", self.library.meeting_markdown(&meeting, self.zone())?);
            return Ok(());
        }
        if self.out.json {
            println!("{}", serde_json::to_value(&meeting)?);
            return Ok(());
        }
        let m = &meeting.message;
        println!("{}  {}  from {}", short(m.id.as_str()), m.subject, m.sender);
        let width = meeting
            .items
            .iter()
            .map(|i| i.title.chars().count().min(16))
            .max()
            .unwrap_or(0)
            .max(9);
        let mut header = format!("  {:<16}", "");
        for item in &meeting.items {
            header.push_str(&format!(" {:<width$}", clip(&item.title, width)));
        }
        println!("{header}  deadline");
        for p in &meeting.participants {
            let mut row = format!("  {:<16}", p.name.as_str());
            for cell in &p.cells {
                row.push_str(&format!(" {:<width$}", cell.state.label()));
            }
            let moved = if p.extended { ", given more time" } else { "" };
            let nudged = if p.nudged { ", nudged" } else { "" };
            println!(
                "{row}  {}{moved}{nudged}",
                ResponseBy::from_instant(p.deadline).display_in(self.zone())
            );
        }
        match meeting.closed {
            Some(closed) => println!("{}", closed.text(&m.sender)),
            None => {
                let to_nudge = meeting.to_nudge();
                let pending = meeting
                    .participants
                    .iter()
                    .flat_map(|p| &p.cells)
                    .filter(|c| matches!(c.state, CellState::Pending | CellState::Overdue))
                    .count();
                println!(
                    "Open until {}; {pending} item(s) still open{}",
                    ResponseBy::from_instant(meeting.last_deadline).display_in(self.zone()),
                    if to_nudge.is_empty() || m.sender != me {
                        String::new()
                    } else {
                        format!(
                            "; `pigeon nudge {}` reaches {}",
                            short(m.id.as_str()),
                            people::joined(&to_nudge)
                        )
                    }
                );
            }
        }
        Ok(())
    }

    /// `pigeon more-time MSG [--until T --note N]`: asks for more time, or shows the
    /// requests and their answers.
    pub async fn more_time(
        &self,
        message: &str,
        until: Option<&str>,
        note: Option<&str>,
    ) -> Result<()> {
        let me = self.me()?;
        let now = self.now();
        if let Some(until) = until {
            let proposed = ResponseBy::parse(until, now, self.zone())
                .context("check --until")?
                .instant();
            let record =
                self.library
                    .ask_more_time(message, &me, proposed, note.unwrap_or(""), now)?;
            let state = self.share_now(&record, "request for more time").await?;
            self.report_record(&record, "asked for more time", state);
        }
        let view = self.library.more_time(message, &me)?;
        if self.out.json {
            println!(
                "{}",
                json!({
                    "message": view.state.message.id,
                    "mine": view.mine,
                    "my_deadline": view.my_deadline,
                    "cannot_ask": view.cannot_ask,
                    "closed": view.closed,
                    "extensions": view.extensions.iter().map(|e| json!({
                        "request": e.request,
                        "recipient": e.recipient,
                        "proposed": e.proposed,
                        "note": e.note,
                        "asked_at": e.asked_at,
                        "state": RequestState::of(e),
                        "answer_note": e.answer.as_ref().map(|a| &a.note),
                    })).collect::<Vec<_>>(),
                })
            );
            return Ok(());
        }
        if let Some(deadline) = view.my_deadline {
            println!(
                "your deadline: {}",
                ResponseBy::from_instant(deadline).display_in(self.zone())
            );
        }
        if view.extensions.is_empty() {
            println!("no requests for more time");
        }
        for e in &view.extensions {
            let state = match RequestState::of(e) {
                RequestState::Asked => "waiting for an answer".to_owned(),
                RequestState::Granted => "granted".to_owned(),
                RequestState::Declined => "declined".to_owned(),
            };
            let answer = e
                .answer
                .as_ref()
                .filter(|a| !a.note.is_empty())
                .map(|a| format!(" ({:?})", a.note))
                .unwrap_or_default();
            let note = if e.note.is_empty() {
                String::new()
            } else {
                format!(": {:?}", e.note)
            };
            println!(
                "  {} asks until {}{note}: {state}{answer}",
                e.recipient,
                ResponseBy::from_instant(e.proposed).display_in(self.zone())
            );
        }
        if let Some(why) = &view.cannot_ask {
            println!("{why}");
        }
        Ok(())
    }

    /// `pigeon grant MSG [--to NAME]` and `pigeon decline MSG [--to NAME]`.
    pub async fn answer_more_time(
        &self,
        message: &str,
        to: Option<&str>,
        granted: bool,
        note: Option<&str>,
    ) -> Result<()> {
        let me = self.me()?;
        let to = to.map(people::user_name).transpose()?;
        let record = self.library.answer_more_time(
            message,
            &me,
            to.as_ref(),
            granted,
            note.unwrap_or(""),
            self.now(),
        )?;
        let state = self.share_now(&record, "answer").await?;
        self.report_record(&record, if granted { "granted" } else { "declined" }, state);
        Ok(())
    }

    /// `pigeon nudge MSG`: the pending recipients, once per deadline.
    pub async fn nudge(&self, message: &str) -> Result<()> {
        let me = self.me()?;
        let nudged = self.library.nudge_pending(message, &me, self.now())?;
        if nudged.is_empty() {
            self.out.say(
                json!({"nudged": []}),
                "nobody to nudge: everyone answered or was nudged about their deadline".into(),
            );
            return Ok(());
        }
        let error = match self.outbox().await {
            Ok(outbox) => outbox.share_records().await.err().map(|e| e.to_string()),
            Err(e) => Some(format!("{e:#}")),
        };
        self.out.say(
            json!({"nudged": nudged, "state": if error.is_none() { "shared" } else { "queued" }, "error": error}),
            format!("nudged {}, {}", people::joined(&nudged), share_state(&error)),
        );
        Ok(())
    }

    /// `pigeon close MSG`
    pub async fn close(&self, message: &str) -> Result<()> {
        let me = self.me()?;
        let record = self.library.close_meeting(message, &me, self.now())?;
        let state = self.share_now(&record, "close").await?;
        self.report_record(&record, "closed the meeting", state);
        Ok(())
    }

    fn report_record(&self, record: &RecordId, done: &str, error: Option<String>) {
        self.out.say(
            json!({"record": record, "state": if error.is_none() { "shared" } else { "queued" }, "error": error}),
            format!("{done}, {}", share_state(&error)),
        );
    }
}

/// "shared", or why it waits and what shares it later.
fn share_state(error: &Option<String>) -> String {
    match error {
        None => "shared".to_owned(),
        Some(e) => format!("queued: not shared yet ({e}); `pigeon sync` tries again"),
    }
}

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}
