//! Drafts: recorded (or recording) clips not sent yet, with their upload state.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use pigeon_store::protocol::{BlobId, BlobRef, Chapter};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{from_json, id_from_sql, json, parse_ts, ts, Library, DRAFTS};
use crate::error::{LibraryError, Result};
use crate::trim::ReplacementClip;

pub(super) const DRAFT_COLUMNS: &str =
    "id, created_at, clip_path, playable_path, duration_ms, state, recovered,
    clip_announced, clip_blob, clip_acknowledged, clip_sealed, poster_path, poster_sealed,
    poster_skipped, chapters";

/// Where a draft stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftState {
    /// The recorder is writing the clip.
    Recording,
    /// A finished clip, not sent yet.
    Ready,
    /// Handed to the outbox.
    Queued,
    Sent,
}

impl DraftState {
    pub fn as_str(self) -> &'static str {
        match self {
            DraftState::Recording => "recording",
            DraftState::Ready => "ready",
            DraftState::Queued => "queued",
            DraftState::Sent => "sent",
        }
    }
    fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "recording" => DraftState::Recording,
            "ready" => DraftState::Ready,
            "queued" => DraftState::Queued,
            "sent" => DraftState::Sent,
            other => return Err(LibraryError::Corrupt(format!("draft state {other:?}"))),
        })
    }
}

/// A recorded (or recording) clip that has not been sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub id: String,
    pub created_at: DateTime<Utc>,
    /// The fragmented MP4 the recorder writes: what is uploaded.
    pub clip_path: PathBuf,
    /// The local player-ready copy.
    pub playable_path: Option<PathBuf>,
    pub duration: Option<Duration>,
    pub state: DraftState,
    /// Whether it came back from a crashed recording.
    pub recovered: bool,
    /// End of the last fragment the recorder announced (bytes that never change).
    pub clip_announced: u64,
    pub clip_blob: Option<BlobId>,
    pub clip_acknowledged: u64,
    pub clip_sealed: Option<BlobRef>,
    /// The still made from the clip to travel with the message.
    pub poster_path: Option<PathBuf>,
    pub poster_sealed: Option<BlobRef>,
    /// Why the message goes without a poster (decided once, before the first commit,
    /// so every retry commits the same message).
    pub poster_skipped: Option<String>,
    /// The clip's agenda as marked while recording (and edited before sending).
    pub chapters: Vec<Chapter>,
}

impl Library {
    /// Creates a draft for a recording that starts now; the recorder writes `clip_path`.
    pub fn create_draft(&self, now: DateTime<Utc>) -> Result<Draft> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = self.files_dir.join("drafts");
        std::fs::create_dir_all(&dir).map_err(|e| LibraryError::io(&dir, e))?;
        let clip_path = dir.join(format!("{id}.mp4"));
        self.conn().execute(
            "INSERT INTO drafts (id, created_at, clip_path, state) VALUES (?1, ?2, ?3, 'recording')",
            params![id, ts(now), clip_path.to_string_lossy()],
        )?;
        self.draft(&id)
    }

    /// A draft by id or by a unique prefix of its id.
    pub fn draft(&self, id_or_prefix: &str) -> Result<Draft> {
        let id = self.resolve_id(&DRAFTS, id_or_prefix)?;
        let conn = self.read();
        let draft = conn.query_row(
            &format!("SELECT {DRAFT_COLUMNS} FROM drafts WHERE id = ?1"),
            [&id],
            row_to_draft,
        )?;
        Ok(draft)
    }

    /// Every draft not sent yet, oldest first.
    pub fn drafts(&self) -> Result<Vec<Draft>> {
        let conn = self.read();
        let mut stmt = conn.prepare(&format!(
            "SELECT {DRAFT_COLUMNS} FROM drafts WHERE state != 'sent' ORDER BY created_at"
        ))?;
        let rows = stmt
            .query_map([], row_to_draft)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The recorder announced bytes `..end` of the clip: they will never change.
    pub fn set_clip_announced(&self, draft: &str, end: u64) -> Result<()> {
        self.conn().execute(
            "UPDATE drafts SET clip_announced = MAX(clip_announced, ?2) WHERE id = ?1",
            params![draft, end as i64],
        )?;
        Ok(())
    }

    /// The store has a blob for the clip (persisted so a restart resumes it).
    pub fn set_clip_blob(&self, draft: &str, blob: &BlobId) -> Result<()> {
        self.conn().execute(
            "UPDATE drafts SET clip_blob = ?2, clip_acknowledged = 0 WHERE id = ?1",
            params![draft, blob.as_str()],
        )?;
        Ok(())
    }

    pub fn set_clip_acknowledged(&self, draft: &str, acknowledged: u64) -> Result<()> {
        self.conn().execute(
            "UPDATE drafts SET clip_acknowledged = ?2 WHERE id = ?1",
            params![draft, acknowledged as i64],
        )?;
        Ok(())
    }

    /// The store sealed the clip's blob. Ignored unless it is the draft's current blob:
    /// an upload of a clip that a trim replaced may still finish, and its blob must
    /// never become the message's clip.
    pub fn set_clip_sealed(&self, draft: &str, sealed: &BlobRef) -> Result<()> {
        self.conn().execute(
            "UPDATE drafts SET clip_sealed = ?2, clip_acknowledged = ?3
             WHERE id = ?1 AND clip_blob = ?4",
            params![draft, json(sealed)?, sealed.size as i64, sealed.id.as_str()],
        )?;
        Ok(())
    }

    /// The poster JPEG of the draft's clip was written to `path`.
    pub fn set_draft_poster(&self, draft: &str, path: &Path) -> Result<()> {
        self.conn().execute(
            "UPDATE drafts SET poster_path = ?2 WHERE id = ?1",
            params![draft, path.to_string_lossy()],
        )?;
        Ok(())
    }

    /// The store sealed the draft's poster: every commit of the message references it.
    pub fn set_poster_sealed(&self, draft: &str, sealed: &BlobRef) -> Result<()> {
        self.conn().execute(
            "UPDATE drafts SET poster_sealed = ?2, poster_skipped = NULL WHERE id = ?1",
            params![draft, json(sealed)?],
        )?;
        Ok(())
    }

    /// The message goes without a poster, for `reason`.
    pub fn set_poster_skipped(&self, draft: &str, reason: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE drafts SET poster_skipped = ?2 WHERE id = ?1 AND poster_sealed IS NULL",
            params![draft, reason],
        )?;
        Ok(())
    }

    /// The recording ended (cleanly or recovered): the draft is ready to send. A
    /// chapter marked at the very end, or past where a crashed clip could be brought
    /// back, is dropped: every chapter starts within the clip.
    pub fn finish_draft(
        &self,
        draft: &str,
        duration: Duration,
        playable: Option<&Path>,
        recovered: bool,
    ) -> Result<()> {
        let duration_ms = duration.as_millis() as u64;
        let mut conn = self.conn();
        let tx = Library::write_transaction(&mut conn)?;
        let chapters = chapters_of(&tx, draft)?;
        tx.execute(
            "UPDATE drafts SET state = 'ready', duration_ms = ?2, playable_path = ?3, recovered = ?4,
                chapters = ?5
             WHERE id = ?1",
            params![
                draft,
                duration_ms as i64,
                playable.map(|p| p.to_string_lossy().into_owned()),
                recovered,
                chapters_json(&crate::chapters::after_trim(&chapters, 0, duration_ms))?,
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The draft's clip was replaced (a trim) by a complete file of `size` bytes,
    /// announced whole, with its own playable copy, poster and length. The upload
    /// starts over (blob, acknowledged bytes and seals cleared; a blob the store holds
    /// for the old clip is abandoned), and the chapters move with the part kept. Only a
    /// ready draft is changed: `Ok(false)` when it was recorded, queued or sent meanwhile.
    pub fn replace_draft_clip(&self, draft: &str, replacement: &ReplacementClip) -> Result<bool> {
        let mut conn = self.conn();
        let tx = Library::write_transaction(&mut conn)?;
        let from_ms = replacement.starts_at.as_millis() as u64;
        let chapters = crate::chapters::after_trim(
            &chapters_of(&tx, draft)?,
            from_ms,
            from_ms + replacement.duration.as_millis() as u64,
        );
        let changed = tx.execute(
            "UPDATE drafts SET clip_path = ?2, playable_path = ?3, duration_ms = ?4,
                clip_announced = ?5, clip_blob = NULL, clip_acknowledged = 0,
                clip_sealed = NULL, poster_path = ?6, poster_sealed = NULL,
                poster_skipped = NULL, chapters = ?7
             WHERE id = ?1 AND state = 'ready'",
            params![
                draft,
                replacement.clip_path.to_string_lossy(),
                replacement
                    .playable_path
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
                replacement.duration.as_millis() as i64,
                replacement.size as i64,
                replacement
                    .poster_path
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
                chapters_json(&chapters)?,
            ],
        )?;
        tx.commit()?;
        Ok(changed == 1)
    }

    /// Replaces a draft's chapters (titles edited, items removed, or the marks of a
    /// recording under way), checked against its clip's length. A draft handed to the
    /// outbox keeps what it was sent with.
    pub fn set_draft_chapters(&self, draft_id: &str, chapters: &[Chapter]) -> Result<Draft> {
        let id = self.draft(draft_id)?.id;
        let mut conn = self.conn();
        let tx = Library::write_transaction(&mut conn)?;
        // Read under the write lock: a trim or a send may have changed the draft.
        let (state, duration_ms): (String, Option<i64>) = tx.query_row(
            "SELECT state, duration_ms FROM drafts WHERE id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if !matches!(
            DraftState::parse(&state)?,
            DraftState::Recording | DraftState::Ready
        ) {
            return Err(LibraryError::AlreadyQueued { draft: id });
        }
        crate::chapters::check(chapters, duration_ms.map(|ms| ms.max(0) as u64))?;
        tx.execute(
            "UPDATE drafts SET chapters = ?2 WHERE id = ?1",
            params![id, chapters_json(chapters)?],
        )?;
        tx.commit()?;
        drop(conn);
        self.draft(&id)
    }

    /// Forgets a draft whose recording produced nothing usable.
    pub fn delete_draft(&self, draft: &str) -> Result<()> {
        self.conn()
            .execute("DELETE FROM drafts WHERE id = ?1", params![draft])?;
        Ok(())
    }

    /// Drafts whose recorder process is gone without finishing (a crash, a kill).
    pub fn unfinished_recordings(&self) -> Result<Vec<Draft>> {
        Ok(self
            .drafts()?
            .into_iter()
            .filter(|d| {
                d.state == DraftState::Recording
                    && pigeon_media::recovery::is_unfinished(&d.clip_path)
            })
            .collect())
    }
}

/// A draft's stored chapters (none for a draft that is gone).
fn chapters_of(conn: &rusqlite::Connection, draft: &str) -> Result<Vec<Chapter>> {
    let text: Option<Option<String>> = conn
        .query_row("SELECT chapters FROM drafts WHERE id = ?1", [draft], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(text
        .flatten()
        .map(|t| from_json(&t))
        .transpose()?
        .unwrap_or_default())
}

/// How chapters are stored: NULL for none, as a draft without an agenda always was.
fn chapters_json(chapters: &[Chapter]) -> Result<Option<String>> {
    if chapters.is_empty() {
        Ok(None)
    } else {
        json(&chapters).map(Some)
    }
}

pub(super) fn row_to_draft(r: &rusqlite::Row<'_>) -> rusqlite::Result<Draft> {
    Ok(Draft {
        id: r.get(0)?,
        created_at: parse_ts(&r.get::<_, String>(1)?)?,
        clip_path: PathBuf::from(r.get::<_, String>(2)?),
        playable_path: r.get::<_, Option<String>>(3)?.map(PathBuf::from),
        duration: r
            .get::<_, Option<i64>>(4)?
            .map(|ms| Duration::from_millis(ms.max(0) as u64)),
        state: DraftState::parse(&r.get::<_, String>(5)?)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
        recovered: r.get(6)?,
        clip_announced: r.get::<_, i64>(7)?.max(0) as u64,
        clip_blob: r
            .get::<_, Option<String>>(8)?
            .map(|t| id_from_sql(BlobId::parse, t))
            .transpose()?,
        clip_acknowledged: r.get::<_, i64>(9)?.max(0) as u64,
        clip_sealed: r
            .get::<_, Option<String>>(10)?
            .map(|t| from_json(&t))
            .transpose()?,
        poster_path: r.get::<_, Option<String>>(11)?.map(PathBuf::from),
        poster_sealed: r
            .get::<_, Option<String>>(12)?
            .map(|t| from_json(&t))
            .transpose()?,
        poster_skipped: r.get(13)?,
        chapters: r
            .get::<_, Option<String>>(14)?
            .map(|t| from_json(&t))
            .transpose()?
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::home::PigeonHome;
    use crate::test_support::chapter;

    #[test]
    fn chapters_are_checked_against_the_clip_and_cut_to_what_was_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let library = Library::open(&PigeonHome::at(dir.path())).unwrap();
        let draft = library.create_draft(Utc::now()).unwrap();
        // While recording the length is unknown: any sorted agenda is kept.
        let marked = [
            chapter(0, "Budget"),
            chapter(2_000, "Hiring"),
            chapter(5_000, "Q3"),
        ];
        let saved = library.set_draft_chapters(&draft.id[..8], &marked).unwrap();
        assert_eq!(saved.chapters, marked);
        let unsorted = [chapter(2_000, "Hiring"), chapter(0, "Budget")];
        let refused = library
            .set_draft_chapters(&draft.id, &unsorted)
            .unwrap_err();
        assert!(
            refused.to_string().contains("sort the chapters"),
            "{refused}"
        );
        assert_eq!(library.draft(&draft.id).unwrap().chapters, marked);

        // The clip came out shorter than the last mark (a crash brought back 4 s).
        library
            .finish_draft(&draft.id, Duration::from_secs(4), None, true)
            .unwrap();
        assert_eq!(library.draft(&draft.id).unwrap().chapters, marked[..2]);
        let past = library
            .set_draft_chapters(&draft.id, &[chapter(0, "Budget"), chapter(4_000, "Q3")])
            .unwrap_err();
        assert!(past.to_string().contains("past the clip's end"), "{past}");
        let edited = [chapter(0, "The budget"), chapter(2_000, "Hiring")];
        let saved = library.set_draft_chapters(&draft.id, &edited).unwrap();
        assert_eq!(saved.chapters, edited);
        assert!(library
            .set_draft_chapters(&draft.id, &[])
            .unwrap()
            .chapters
            .is_empty());
        assert!(matches!(
            library.set_draft_chapters("nosuchdraft", &edited),
            Err(LibraryError::NotFound { .. })
        ));
    }
}
