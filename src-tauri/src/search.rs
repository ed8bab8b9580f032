//! The sidebar's search over everything the user has (subjects, notes, senders,
//! attachment names, transcripts): the library's full-text search, worded for the
//! results list. A transcript hit carries the moment the words are spoken, so the
//! result opens the Player there.

use pigeon_library::search::{SearchField, SearchHit};
use pigeon_store::protocol::MessageId;
use serde::Serialize;

use crate::error::CommandResult;
use crate::session::Session;
use crate::transcripts::at_text;

/// The most results one search lists.
const MAX_RESULTS: usize = 50;

/// A piece of a snippet; `hit` pieces are the matched words.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SnippetPart {
    pub text: String,
    pub hit: bool,
}

/// One search result.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHitView {
    pub id: MessageId,
    pub mine: bool,
    pub subject: String,
    pub sender: String,
    pub sent_at: chrono::DateTime<chrono::Utc>,
    /// "subject", "note", "sender", "attachment" or "transcript".
    pub field: &'static str,
    pub field_label: &'static str,
    pub at_ms: Option<u64>,
    pub at_text: Option<String>,
    pub snippet: Vec<SnippetPart>,
}

/// How the results list names the field.
fn field_label(field: SearchField) -> &'static str {
    match field {
        SearchField::Subject => "Subject",
        SearchField::Note => "Note",
        SearchField::Sender => "Sender",
        SearchField::Attachment => "Attachment",
        SearchField::Transcript => "Transcript",
    }
}

/// Splits the library's snippet, whose matched words are wrapped in `[` `]`, into
/// pieces the UI shows as text (never as markup).
pub fn snippet_parts(snippet: &str) -> Vec<SnippetPart> {
    let mut parts = Vec::new();
    let mut rest = snippet;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open + 1..].find(']').map(|c| open + 1 + c) else {
            break;
        };
        if open > 0 {
            parts.push(SnippetPart {
                text: rest[..open].to_owned(),
                hit: false,
            });
        }
        if close > open + 1 {
            parts.push(SnippetPart {
                text: rest[open + 1..close].to_owned(),
                hit: true,
            });
        }
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(SnippetPart {
            text: rest.to_owned(),
            hit: false,
        });
    }
    parts
}

fn hit_view(hit: SearchHit) -> SearchHitView {
    SearchHitView {
        id: hit.message,
        mine: hit.sent_by_me,
        subject: hit.subject,
        sender: hit.sender.to_string(),
        sent_at: hit.sent_at,
        field: hit.field.as_str(),
        field_label: field_label(hit.field),
        at_ms: hit.at_ms,
        at_text: hit.at_ms.map(at_text),
        snippet: snippet_parts(&hit.snippet),
    }
}

/// Everything the user has that contains `words`, best first.
#[tauri::command]
pub async fn search(
    session: tauri::State<'_, Session>,
    words: String,
) -> CommandResult<Vec<SearchHitView>> {
    if words.trim().is_empty() {
        return Ok(Vec::new());
    }
    let hits = session
        .library_call(move |library| library.search(&words, MAX_RESULTS))
        .await?;
    Ok(hits.into_iter().map(hit_view).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(text: &str, hit: bool) -> SnippetPart {
        SnippetPart {
            text: text.into(),
            hit,
        }
    }

    #[test]
    fn the_marked_words_become_highlighted_pieces() {
        assert_eq!(
            snippet_parts("…the [budget] is [ready] now"),
            vec![
                part("…the ", false),
                part("budget", true),
                part(" is ", false),
                part("ready", true),
                part(" now", false),
            ]
        );
        assert_eq!(snippet_parts("[budget]"), vec![part("budget", true)]);
    }

    #[test]
    fn text_without_whole_markers_stays_plain() {
        assert_eq!(snippet_parts("no match"), vec![part("no match", false)]);
        assert_eq!(snippet_parts("a [b"), vec![part("a [b", false)]);
        assert_eq!(
            snippet_parts("a []b"),
            vec![part("a ", false), part("b", false)]
        );
        assert!(snippet_parts("").is_empty());
    }
}
