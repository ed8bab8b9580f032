//! Search across everything the user has: the subject, note, sender and attachment
//! names of every sent and received message, and their transcripts, segment by
//! segment, so a result can open the message at the moment the words are spoken.
//!
//! The index (SQLite FTS5, `unicode61` with diacritics removed) is kept up to date by
//! triggers created in migration 5 ([`schema`]): storing a message or a transcript
//! indexes it, whichever comes first. What the user types becomes a query in which
//! every word is quoted ([`words`]), so no typed character is FTS5 syntax; results
//! rank by bm25, then the newest message first. Text replies (issue 13) do not exist
//! yet; they need a row kind here when they do.

mod fold;
pub(crate) mod schema;
mod words;

use chrono::{DateTime, Utc};
use pigeon_store::protocol::{Message, MessageId, Transcript, UserName, Word};
use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::db::{from_json, Library};
use crate::error::{LibraryError, Result};
use words::Words;

/// Where in a message the words were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchField {
    Subject,
    /// The message's text beside the clip.
    Note,
    Sender,
    Attachment,
    /// A segment of the clip's transcript (see [`SearchHit::at_ms`]).
    Transcript,
}

impl SearchField {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchField::Subject => "subject",
            SearchField::Note => "note",
            SearchField::Sender => "sender",
            SearchField::Attachment => "attachment",
            SearchField::Transcript => "transcript",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "subject" => SearchField::Subject,
            "note" => SearchField::Note,
            "sender" => SearchField::Sender,
            "attachment" => SearchField::Attachment,
            "transcript" => SearchField::Transcript,
            other => return Err(LibraryError::Corrupt(format!("search field {other:?}"))),
        })
    }
}

/// One place the words were found: a message, which part of it and, in a
/// transcript, which segment. A message appears once per field (and per segment or
/// attachment) that holds the words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub message: MessageId,
    /// A message the user sent (else one they received).
    pub sent_by_me: bool,
    pub subject: String,
    pub sender: UserName,
    pub sent_at: DateTime<Utc>,
    pub field: SearchField,
    /// Transcript hits: where the words are spoken, in ms from the clip's start (the
    /// first matched word when the transcript has word times, else its segment's start).
    pub at_ms: Option<u64>,
    /// The text around the match, each matched word wrapped in `[` `]`; `…` where text
    /// was left out.
    pub snippet: String,
}

/// How many words of a long text a snippet shows.
const SNIPPET_WORDS: usize = 16;

/// How many matches a search ranks at most: the most recently indexed ones. Every
/// query whose words are in fewer rows is ranked over all of them.
pub const RANKED_MATCHES: usize = 2_000;

/// The most hits one search returns, whatever the caller asks for.
pub const MAX_HITS: usize = 500;

impl Library {
    /// The places that hold every word of `words` (the last one may be the start of a
    /// word), best first: bm25, then the newest message. Words found in more than
    /// [`RANKED_MATCHES`] places are ranked among the most recently indexed of them. Case and diacritics do not
    /// matter, and anything typed is taken as words: nothing is search syntax. Empty
    /// (or punctuation only) finds nothing. Reads on the read connection.
    pub fn search(&self, words: &str, limit: usize) -> Result<Vec<SearchHit>> {
        self.search_ranking(words, limit, RANKED_MATCHES)
    }

    /// [`Library::search`] ranking at most `ranked` matches.
    pub(crate) fn search_ranking(
        &self,
        words: &str,
        limit: usize,
        ranked: usize,
    ) -> Result<Vec<SearchHit>> {
        let words = Words::parse(words);
        let Some(query) = words.fts_query() else {
            return Ok(Vec::new());
        };
        let limit = limit.min(MAX_HITS);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let conn = self.read();
        // Ranking costs a few µs per matching row, so a word that is everywhere ("the",
        // a first letter typed) ranks only its `ranked` most recently indexed matches:
        // FTS5 reads those newest first and stops. Snippets are made here from the rows'
        // text (FTS5's snippet() would evaluate the query again), and only the hits'
        // messages and word times are read.
        let mut stmt = conn.prepare_cached(
            "SELECT r.message_id, r.sent_by_me, r.field, r.start_ms, r.text,
                    CASE WHEN r.sent_by_me
                         THEN (SELECT message FROM sent WHERE message_id = r.message_id)
                         ELSE (SELECT message FROM received WHERE message_id = r.message_id) END,
                    CASE WHEN r.field = 'transcript'
                         THEN (SELECT json_extract(transcript, '$.segments[' || r.position || '].words')
                               FROM transcripts WHERE owner = r.owner) END
             FROM (SELECT rowid AS id, bm25(search_text) AS score FROM search_text
                   WHERE search_text MATCH ?1 ORDER BY rowid DESC LIMIT ?3) m
             JOIN search_rows r ON r.id = m.id
             ORDER BY m.score, r.sent_ms DESC, r.id
             LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![query, limit as i64, ranked.max(1) as i64], |r| {
                Ok(Row {
                    sent_by_me: r.get(1)?,
                    field: r.get(2)?,
                    start_ms: r.get(3)?,
                    text: r.get(4)?,
                    message: from_json(&r.get::<_, String>(5)?)?,
                    words: r
                        .get::<_, Option<String>>(6)?
                        .map(|w| from_json(&w))
                        .transpose()?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(|row| row.hit(&words)).collect()
    }
}

/// A ranked row as read, before it becomes a [`SearchHit`].
struct Row {
    sent_by_me: bool,
    field: String,
    start_ms: Option<i64>,
    text: String,
    message: Message,
    words: Option<Vec<Word>>,
}

impl Row {
    fn hit(self, words: &Words) -> Result<SearchHit> {
        let field = SearchField::parse(&self.field)?;
        let at_ms = (field == SearchField::Transcript).then(|| {
            let spoken = self.words.as_deref().unwrap_or_default();
            words
                .first_match(spoken.iter().map(|w| w.text.as_str()))
                .map(|i| spoken[i].start_ms)
                .unwrap_or(self.start_ms.unwrap_or(0).max(0) as u64)
        });
        Ok(SearchHit {
            message: self.message.id,
            sent_by_me: self.sent_by_me,
            subject: self.message.subject,
            sender: self.message.sender,
            sent_at: self.message.sent_at,
            field,
            at_ms,
            snippet: words.snippet(&self.text, SNIPPET_WORDS),
        })
    }
}

/// The indexes of the segments of `transcript` that hold every word of `words`, by
/// the same rules as [`Library::search`] (case and diacritics ignored, the last word
/// may be the start of a word): the Player's search inside one transcript.
pub fn transcript_lines_matching(transcript: &Transcript, words: &str) -> Vec<usize> {
    let words = Words::parse(words);
    if words.is_empty() {
        return Vec::new();
    }
    transcript
        .segments
        .iter()
        .enumerate()
        .filter(|(_, segment)| words.matches(&segment.text))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests;
