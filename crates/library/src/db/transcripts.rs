//! Transcripts: queued, running, done or failed jobs, one per clip (see
//! [`crate::transcripts`]), with what sharing and receiving them needs.

use chrono::{DateTime, Utc};
use pigeon_store::protocol::{BlobId, BlobRef, MessageId, Record, RecordId, Transcript};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{from_json, json, parse_ts, ts, Library};
use crate::error::{LibraryError, Result};
use crate::transcripts::{Origin, StoredTranscript, TranscriptOwner, TranscriptState};

const COLUMNS: &str = "t.owner, t.state, t.origin, t.transcript, t.language, t.model,
    t.progress, t.error, t.queued_at, t.done_at, t.shared_at,
    (t.state = 'queued' AND t.origin = 'made_here' AND substr(t.owner, 1, 8) = 'message:'
     AND r.clip_path IS NULL)";

/// One job the Transcriber took: its owner, and the queuing it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Job {
    pub owner: TranscriptOwner,
    pub queued_at: String,
}

/// An own transcript of a sent message, waiting to be shared.
#[derive(Debug, Clone)]
pub(crate) struct Unshared {
    pub draft: String,
    pub message: MessageId,
    /// The transcript's JSON exactly as stored: what is uploaded, on every retry.
    pub json: String,
    pub language: String,
    pub blob: Option<BlobId>,
    pub sealed: Option<BlobRef>,
    pub record: Option<RecordId>,
}

fn row_to_transcript(r: &Row<'_>) -> rusqlite::Result<StoredTranscript> {
    let owner: String = r.get(0)?;
    let owner = TranscriptOwner::from_key(&owner)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let state = match r.get::<_, String>(1)?.as_str() {
        "queued" => TranscriptState::Queued,
        "running" => TranscriptState::Running {
            progress: r.get::<_, f64>(6)? as f32,
        },
        "done" => TranscriptState::Done,
        "failed" => TranscriptState::Failed {
            reason: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
        },
        other => {
            return Err(rusqlite::Error::ToSqlConversionFailure(Box::new(
                LibraryError::Corrupt(format!("transcript state {other:?}")),
            )))
        }
    };
    let origin = Origin::parse(&r.get::<_, String>(2)?)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let transcript = match r.get::<_, Option<String>>(3)? {
        Some(text) => Some(from_json::<Transcript>(&text)?),
        None => None,
    };
    let optional_ts = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
        r.get::<_, Option<String>>(i)?
            .map(|t| parse_ts(&t))
            .transpose()
    };
    Ok(StoredTranscript {
        owner,
        state,
        transcript,
        origin,
        language: r.get(4)?,
        model: r.get(5)?,
        queued_at: parse_ts(&r.get::<_, String>(8)?)?,
        done_at: optional_ts(9)?,
        shared_at: optional_ts(10)?,
        waits_for_download: r.get::<_, Option<bool>>(11)?.unwrap_or(false),
    })
}

/// A `queued_at` later than the job's last one, so a result of the job queued before
/// can never be stored as this one's (the clock may repeat or go back).
fn next_queued_at(conn: &Connection, owner: &str, now: DateTime<Utc>) -> Result<String> {
    let last: Option<String> = conn
        .query_row(
            "SELECT queued_at FROM transcripts WHERE owner = ?1",
            [owner],
            |r| r.get(0),
        )
        .optional()?;
    let at = match last.map(|t| parse_ts(&t)).transpose()? {
        Some(last) if last >= now => last + chrono::Duration::microseconds(1),
        _ => now,
    };
    Ok(ts(at))
}

impl Library {
    /// The transcript of `owner`, if one was queued, made or received.
    pub fn transcript(&self, owner: &TranscriptOwner) -> Result<Option<StoredTranscript>> {
        let conn = self.read();
        Ok(conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM transcripts t
                     LEFT JOIN received r
                       ON substr(t.owner, 1, 8) = 'message:' AND r.message_id = substr(t.owner, 9)
                     WHERE t.owner = ?1"
                ),
                [owner.key()],
                row_to_transcript,
            )
            .optional()?)
    }

    /// The transcript of a message: one sent from here (its draft's) or one received.
    pub fn transcript_of_message(&self, id: &MessageId) -> Result<Option<StoredTranscript>> {
        self.transcript(&self.transcript_owner_of(id)?)
    }

    /// Whose transcript a message's is: its draft's when it was sent from here.
    pub fn transcript_owner_of(&self, id: &MessageId) -> Result<TranscriptOwner> {
        Ok(match self.draft_of_message(id)? {
            Some(draft) => TranscriptOwner::Draft(draft),
            None => TranscriptOwner::Message(id.clone()),
        })
    }

    /// The draft a message sent (or queued) from here was made from.
    pub fn draft_of_message(&self, id: &MessageId) -> Result<Option<String>> {
        Ok(self
            .read()
            .query_row(
                "SELECT draft_id FROM outbox WHERE message_id = ?1",
                [id.as_str()],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }

    /// The message a draft was queued or sent as, if it was.
    pub fn draft_message_id(&self, draft: &str) -> Result<Option<MessageId>> {
        let id: Option<String> = self
            .read()
            .query_row(
                "SELECT message_id FROM outbox WHERE draft_id = ?1",
                [draft],
                |r| r.get(0),
            )
            .optional()?;
        id.map(|id| {
            MessageId::parse(id).map_err(|e| LibraryError::Corrupt(format!("message id: {e}")))
        })
        .transpose()
    }

    /// Queues `owner`'s clip to be transcribed here, also to make it again (a
    /// transcript done or failed is replaced once the new one is made). A message sent
    /// from here is queued as its draft's. Fails when there is no such draft or
    /// received message.
    pub fn queue_transcription(&self, owner: &TranscriptOwner, now: DateTime<Utc>) -> Result<()> {
        let owner = match owner {
            TranscriptOwner::Draft(id) => TranscriptOwner::Draft(self.draft(id)?.id),
            TranscriptOwner::Message(id) => match self.draft_of_message(id)? {
                Some(draft) => TranscriptOwner::Draft(draft),
                None => TranscriptOwner::Message(self.received(id.as_str())?.message.id),
            },
        };
        let key = owner.key();
        let conn = self.conn();
        let queued_at = next_queued_at(&conn, &key, now)?;
        // A made-again own transcript is shared again as a new record (the latest one
        // counts); a received message keeps the record it took, so a sync does not
        // bring the same one back over the one asked for here.
        let own = matches!(owner, TranscriptOwner::Draft(_));
        conn.execute(
            "INSERT INTO transcripts (owner, state, origin, queued_at) VALUES (?1, 'queued', 'made_here', ?2)
             ON CONFLICT(owner) DO UPDATE SET state = 'queued', origin = 'made_here',
                transcript = NULL, language = NULL, model = NULL, progress = 0, error = NULL,
                queued_at = ?2, done_at = NULL,
                blob = CASE WHEN ?3 THEN NULL ELSE blob END,
                sealed = CASE WHEN ?3 THEN NULL ELSE sealed END,
                record_id = CASE WHEN ?3 THEN NULL ELSE record_id END,
                shared_at = CASE WHEN ?3 THEN NULL ELSE shared_at END",
            params![key, queued_at, own],
        )?;
        Ok(())
    }

    /// Queues the draft's transcript again if it has one (its clip changed: a trim).
    /// Returns whether it had one.
    pub fn requeue_transcription_of_draft(&self, draft: &str, now: DateTime<Utc>) -> Result<bool> {
        let owner = TranscriptOwner::Draft(draft.to_owned());
        if self.transcript(&owner)?.is_none() {
            return Ok(false);
        }
        self.queue_transcription(&owner, now)?;
        Ok(true)
    }

    /// Queues every failed transcript again (after a model was downloaded or chosen).
    pub fn requeue_failed_transcriptions(&self, now: DateTime<Utc>) -> Result<usize> {
        let failed: Vec<String> = {
            let conn = self.read();
            let mut stmt = conn.prepare("SELECT owner FROM transcripts WHERE state = 'failed'")?;
            let owners = stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            owners
        };
        for owner in &failed {
            self.queue_transcription(&TranscriptOwner::from_key(owner)?, now)?;
        }
        Ok(failed.len())
    }

    /// Jobs a process left `running` (it crashed or was killed) are queued again, with
    /// their `queued_at` kept. Only the Transcriber that holds the library's
    /// transcription lock calls it, so no live job is taken away.
    pub(crate) fn requeue_interrupted_transcriptions(&self) -> Result<usize> {
        Ok(self.conn().execute(
            "UPDATE transcripts SET state = 'queued', progress = 0 WHERE state = 'running'",
            [],
        )?)
    }

    /// Queued jobs, oldest first (received ones whose clip is not here are included:
    /// the Transcriber skips them). A row queued with origin `received` is a sender's
    /// transcript on its way (its record came, its blob not yet): not a job.
    pub(crate) fn queued_transcriptions(&self) -> Result<Vec<Job>> {
        let conn = self.read();
        let mut stmt = conn.prepare(
            "SELECT owner, queued_at FROM transcripts WHERE state = 'queued' AND origin = 'made_here'
             ORDER BY queued_at, owner",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(owner, queued_at)| {
                Ok(Job {
                    owner: TranscriptOwner::from_key(&owner)?,
                    queued_at,
                })
            })
            .collect()
    }

    /// Takes a queued job: false when it was queued again or taken meanwhile.
    pub(crate) fn start_transcription(&self, job: &Job) -> Result<bool> {
        Ok(self.conn().execute(
            "UPDATE transcripts SET state = 'running', progress = 0
             WHERE owner = ?1 AND state = 'queued' AND queued_at = ?2",
            params![job.owner.key(), job.queued_at],
        )? == 1)
    }

    /// The running job's progress; false when the job is no longer this one (queued
    /// again, or a received transcript replaced it): the caller stops.
    pub(crate) fn set_transcription_progress(&self, job: &Job, progress: f32) -> Result<bool> {
        Ok(self.conn().execute(
            "UPDATE transcripts SET progress = ?3
             WHERE owner = ?1 AND state = 'running' AND queued_at = ?2",
            params![job.owner.key(), job.queued_at, progress as f64],
        )? == 1)
    }

    /// Stores the job's transcript; false (and nothing stored) when the job is no
    /// longer this one.
    pub(crate) fn finish_transcription(
        &self,
        job: &Job,
        transcript: &Transcript,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        Ok(self.conn().execute(
            "UPDATE transcripts SET state = 'done', transcript = ?3, language = ?4, model = ?5,
                progress = 1, error = NULL, done_at = ?6
             WHERE owner = ?1 AND state = 'running' AND queued_at = ?2",
            params![
                job.owner.key(),
                job.queued_at,
                json(transcript)?,
                transcript.language,
                transcript.model,
                ts(now)
            ],
        )? == 1)
    }

    /// The job could not be made, for `reason` (one sentence).
    pub(crate) fn fail_transcription(
        &self,
        job: &Job,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        Ok(self.conn().execute(
            "UPDATE transcripts SET state = 'failed', error = ?3, progress = 0, done_at = ?4
             WHERE owner = ?1 AND state = 'running' AND queued_at = ?2",
            params![job.owner.key(), job.queued_at, reason, ts(now)],
        )? == 1)
    }

    /// The job goes back to the queue as it was (cancelled: it is made later).
    pub(crate) fn return_transcription(&self, job: &Job) -> Result<()> {
        self.conn().execute(
            "UPDATE transcripts SET state = 'queued', progress = 0
             WHERE owner = ?1 AND state = 'running' AND queued_at = ?2",
            params![job.owner.key(), job.queued_at],
        )?;
        Ok(())
    }

    /// Own transcripts done for messages that were sent, not shared yet (nor refused
    /// by the store), oldest first.
    pub(crate) fn unshared_transcripts(&self) -> Result<Vec<Unshared>> {
        let conn = self.read();
        let mut stmt = conn.prepare(
            "SELECT o.draft_id, o.message_id, t.transcript, t.language, t.blob, t.sealed, t.record_id
             FROM transcripts t JOIN outbox o ON t.owner = 'draft:' || o.draft_id
             WHERE o.state = 'sent' AND t.state = 'done' AND t.origin = 'made_here'
               AND t.transcript IS NOT NULL AND t.shared_at IS NULL AND t.error IS NULL
             ORDER BY t.done_at, t.owner",
        )?;
        let rows = stmt
            .query_map([], |r| {
                let transcript: String = r.get(2)?;
                let language: Option<String> = r.get(3)?;
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    transcript,
                    language,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            LibraryError::Corrupt(format!("a transcript's {what}: {e}"))
        };
        rows.into_iter()
            .map(
                |(draft, message, json_text, language, blob, sealed, record)| {
                    let language = match language {
                        Some(l) => l,
                        None => {
                            from_json::<Transcript>(&json_text)
                                .map_err(|e| corrupt("text", &e))?
                                .language
                        }
                    };
                    Ok(Unshared {
                        draft,
                        message: MessageId::parse(message).map_err(|e| corrupt("message", &e))?,
                        json: json_text,
                        language,
                        blob: blob
                            .map(BlobId::parse)
                            .transpose()
                            .map_err(|e| corrupt("blob", &e))?,
                        sealed: sealed
                            .map(|s| from_json::<BlobRef>(&s))
                            .transpose()
                            .map_err(|e| corrupt("sealed blob", &e))?,
                        record: record
                            .map(RecordId::parse)
                            .transpose()
                            .map_err(|e| corrupt("record id", &e))?,
                    })
                },
            )
            .collect()
    }

    /// Sharing `draft`'s transcript: its blob was created (kept so a retry resumes it).
    pub(crate) fn set_transcript_blob(&self, draft: &str, blob: &BlobId) -> Result<()> {
        self.update_own(draft, "blob", blob.as_str())
    }

    /// Sharing: its blob was sealed.
    pub(crate) fn set_transcript_sealed(&self, draft: &str, sealed: &BlobRef) -> Result<()> {
        self.update_own(draft, "sealed", &json(sealed)?)
    }

    /// Sharing: the record id every commit attempt uses, chosen before the first.
    pub(crate) fn set_transcript_record_id(&self, draft: &str, record: &RecordId) -> Result<()> {
        self.update_own(draft, "record_id", record.as_str())
    }

    /// Sharing: the record was committed.
    pub(crate) fn set_transcript_shared(&self, draft: &str, now: DateTime<Utc>) -> Result<()> {
        self.update_own(draft, "shared_at", &ts(now))
    }

    /// Sharing: the store refused it for `reason`; it is not offered again until the
    /// transcript is made again.
    pub(crate) fn set_transcript_not_shared(&self, draft: &str, reason: &str) -> Result<()> {
        self.update_own(draft, "error", reason)
    }

    fn update_own(&self, draft: &str, column: &'static str, value: &str) -> Result<()> {
        // One fixed statement per column: no name from outside is spliced into SQL.
        let sql = match column {
            "blob" => "UPDATE transcripts SET blob = ?2 WHERE owner = ?1",
            "sealed" => "UPDATE transcripts SET sealed = ?2 WHERE owner = ?1",
            "record_id" => "UPDATE transcripts SET record_id = ?2 WHERE owner = ?1",
            "shared_at" => "UPDATE transcripts SET shared_at = ?2 WHERE owner = ?1",
            "error" => "UPDATE transcripts SET error = ?2 WHERE owner = ?1",
            other => return Err(LibraryError::Corrupt(format!("transcript column {other}"))),
        };
        let owner = TranscriptOwner::Draft(draft.to_owned()).key();
        self.conn().execute(sql, params![owner, value])?;
        Ok(())
    }

    /// Keeps the transcript records of a sync for messages this library received: each
    /// message's latest record is kept in `remote` until its blob is downloaded.
    /// Records already taken, older than the one kept, or about messages not received
    /// here change nothing (a folder store lists them again on every sync).
    /// A sync stores them with its page ([`Library::store_inbox_page`]); this is for
    /// the transcripts' tests.
    #[cfg(test)]
    pub(crate) fn store_transcript_records(
        &self,
        records: &[Record],
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let mut conn = self.conn();
        let tx = Library::write_transaction(&mut conn)?;
        let kept = store_transcript_records_in(&tx, records, now)?;
        tx.commit()?;
        Ok(kept)
    }

    /// Received records whose transcript is not here yet.
    pub(crate) fn transcript_records_to_download(&self) -> Result<Vec<Record>> {
        let conn = self.read();
        let mut stmt = conn.prepare(
            "SELECT remote FROM transcripts
             WHERE remote IS NOT NULL
               AND (record_id IS NULL OR record_id != json_extract(remote, '$.id'))
             ORDER BY queued_at, owner",
        )?;
        let rows = stmt
            .query_map([], |r| from_json::<Record>(&r.get::<_, String>(0)?))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The sender's transcript arrived: it replaces whatever was queued, running or
    /// made here for the message.
    pub(crate) fn store_received_transcript(
        &self,
        record: &Record,
        transcript: &Transcript,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let key = TranscriptOwner::Message(record.message.clone()).key();
        let conn = self.conn();
        // A new queued_at: a job of this message still running here stores nothing.
        let queued_at = next_queued_at(&conn, &key, now)?;
        conn.execute(
            "UPDATE transcripts SET state = 'done', origin = 'received', transcript = ?2,
                language = ?3, model = ?4, progress = 1, error = NULL, done_at = ?5,
                queued_at = ?6, record_id = ?7, blob = ?8, sealed = ?9
             WHERE owner = ?1",
            params![
                key,
                json(transcript)?,
                transcript.language,
                transcript.model,
                ts(now),
                queued_at,
                record.id.as_str(),
                record.body.blob().map(|b| b.id.as_str().to_owned()),
                record.body.blob().map(json).transpose()?,
            ],
        )?;
        Ok(())
    }

    /// A received record's transcript cannot be used (`reason`): it is not tried again.
    /// A transcript already here (received earlier, or made or being made here) stays;
    /// otherwise the message shows why it has none.
    pub(crate) fn reject_received_transcript(&self, record: &Record, reason: &str) -> Result<()> {
        let key = TranscriptOwner::Message(record.message.clone()).key();
        self.conn().execute(
            "UPDATE transcripts SET record_id = ?2,
                state = CASE WHEN origin = 'received' AND state != 'done' THEN 'failed' ELSE state END,
                error = CASE WHEN origin = 'received' AND state != 'done' THEN ?3 ELSE error END
             WHERE owner = ?1",
            params![key, record.id.as_str(), reason],
        )?;
        Ok(())
    }
}

/// [`Library::store_transcript_records`] inside the caller's write transaction (the
/// sync's page).
pub(crate) fn store_transcript_records_in(
    tx: &Connection,
    records: &[Record],
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut kept = 0;
    for record in records {
        if record.body.blob().is_none() {
            continue;
        }
        let received: bool = tx
            .query_row(
                "SELECT 1 FROM received WHERE message_id = ?1",
                [record.message.as_str()],
                |_| Ok(true),
            )
            .optional()?
            .unwrap_or(false);
        if !received {
            continue;
        }
        let key = TranscriptOwner::Message(record.message.clone()).key();
        let kept_remote: Option<Option<String>> = tx
            .query_row(
                "SELECT remote FROM transcripts WHERE owner = ?1",
                [&key],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(Some(text)) = &kept_remote {
            let kept_record: Record = from_json(text)?;
            let newer = (record.created_at, record.id.as_str())
                > (kept_record.created_at, kept_record.id.as_str());
            if !newer {
                continue;
            }
        }
        let remote = json(record)?;
        match kept_remote {
            Some(_) => tx.execute(
                "UPDATE transcripts SET remote = ?2 WHERE owner = ?1",
                params![key, remote],
            )?,
            None => tx.execute(
                "INSERT INTO transcripts (owner, state, origin, queued_at, remote)
                 VALUES (?1, 'queued', 'received', ?2, ?3)",
                params![key, ts(now), remote],
            )?,
        };
        kept += 1;
    }
    Ok(kept)
}
