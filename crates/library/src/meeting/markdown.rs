//! A meeting as a Markdown summary: the items, who said what with links to the moments,
//! the transcript lines of the clip where it has them, and what is still open.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use pigeon_store::protocol::{fields, MessageId, Transcript};

use super::{CellEntry, CellState, Item, Meeting};
use crate::conversation::EntryKind;

/// What the summary needs besides the grid: the reader's zone for times, and the
/// transcripts this library has (of the message and of the answers), by message.
pub struct MarkdownContext {
    pub zone: Tz,
    pub transcripts: HashMap<MessageId, Transcript>,
}

/// A link that opens `message` in Pigeon, at `at_ms` into its clip when given.
pub fn moment_link(message: &MessageId, at_ms: Option<u64>) -> String {
    match at_ms {
        Some(ms) => format!("pigeon://message/{message}?at_ms={ms}"),
        None => format!("pigeon://message/{message}"),
    }
}

fn when(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%a %-d %b %Y, %H:%M %Z")
        .to_string()
}

/// Markdown escapes enough that a subject or an answer cannot start a heading or a
/// list, nor break a link.
pub(super) fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|'
        ) {
            out.push('\\');
        }
        out.push(if c == '\n' { ' ' } else { c });
    }
    out
}

/// The transcript lines of `t` from `start` to `end` (ms), each with its moment.
fn lines_between(t: &Transcript, start: u64, end: Option<u64>) -> Vec<(u64, &str)> {
    t.segments
        .iter()
        .filter(|s| s.start_ms >= start && end.is_none_or(|e| s.start_ms < e))
        .map(|s| (s.start_ms, s.text.trim()))
        .filter(|(_, text)| !text.is_empty())
        .collect()
}

fn item_heading(item: &Item, number: usize) -> String {
    match item.start_ms {
        Some(start) => format!(
            "## {number}. {} ({})",
            plain(&item.title),
            fields::moment(start)
        ),
        None => format!("## {}", plain(&item.title)),
    }
}

fn entry_line(meeting: &Meeting, who: &str, entry: &CellEntry, ctx: &MarkdownContext) -> String {
    let said = format!("\u{201c}{}\u{201d}", plain(&entry.text));
    let mut line = match (entry.kind, entry.at_ms) {
        (EntryKind::Comment, Some(at)) => format!(
            "- **{who}** commented at [{}]({}): {said}",
            fields::moment(at),
            moment_link(&meeting.message.id, Some(at))
        ),
        _ => format!(
            "- **{who}** answered{}: {said} ([open]({}))",
            if entry.has_clip { " on video" } else { "" },
            moment_link(&entry.id, None)
        ),
    };
    if let Some(t) = ctx.transcripts.get(&entry.id) {
        for (at, text) in lines_between(t, 0, None).into_iter().take(3) {
            let _ = write!(
                line,
                "\n  > [{}]({}) {}",
                fields::moment(at),
                moment_link(&entry.id, Some(at)),
                plain(text)
            );
        }
    }
    line
}

/// The summary of `meeting`.
pub fn markdown(meeting: &Meeting, ctx: &MarkdownContext) -> String {
    let m = &meeting.message;
    let zone = ctx.zone;
    let names: Vec<&str> = meeting
        .participants
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let mut out = format!("# {}\n\n", plain(&m.subject));
    let _ = writeln!(
        out,
        "Sent by {} to {} on {}. Last deadline {}. {}",
        m.sender,
        names.join(", "),
        when(m.sent_at, zone),
        when(meeting.last_deadline, zone),
        match meeting.closed {
            Some(c) => c.text(&m.sender),
            None => "Open.".into(),
        }
    );
    let _ = writeln!(out, "\n[Open the message]({})", moment_link(&m.id, None));
    for (i, item) in meeting.items.iter().enumerate() {
        let _ = write!(out, "\n{}\n\n", item_heading(item, i + 1));
        if let Some(t) = ctx.transcripts.get(&m.id) {
            let lines = lines_between(t, item.start_ms.unwrap_or(0), item.end_ms);
            for (at, text) in &lines {
                let _ = writeln!(
                    out,
                    "> [{}]({}) {}",
                    fields::moment(*at),
                    moment_link(&m.id, Some(*at)),
                    plain(text)
                );
            }
            if !lines.is_empty() {
                out.push('\n');
            }
        }
        for p in &meeting.participants {
            let cell = &p.cells[i];
            if cell.entries.is_empty() {
                let _ = writeln!(out, "- **{}**: {}", p.name, cell.state.label());
            }
            for entry in &cell.entries {
                let _ = writeln!(out, "{}", entry_line(meeting, p.name.as_str(), entry, ctx));
            }
        }
    }
    let open: Vec<String> = meeting
        .participants
        .iter()
        .filter(|p| !p.answered())
        .map(|p| {
            let overdue = p.cells.iter().any(|c| c.state == CellState::Overdue);
            format!(
                "- **{}**: no answer yet, {} {}{}",
                p.name,
                if overdue { "overdue since" } else { "due" },
                when(p.deadline, zone),
                if p.extended { " (given more time)" } else { "" }
            )
        })
        .collect();
    out.push_str("\n## Still open\n\n");
    if open.is_empty() {
        out.push_str("Nothing: everyone answered.\n");
    } else {
        out.push_str(&open.join("\n"));
        out.push('\n');
    }
    out
}
