//! Reactions: every reaction record seen (received at sync, or committed from here) and
//! the user's own waiting to be shared.
//!
//! A reaction is a record about a message (`pigeon_protocol::RecordBody::Reaction`),
//! never a message: `reactions` keeps the committed records as the store gave them,
//! `outgoing_records` the user's own until the store has them. What a message shows is
//! both together ([`Library::reactions_of`]), so a reaction given offline shows at once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use pigeon_store::protocol::{
    acknowledges, reaction_emoji, reactions, Message, MessageId, NewRecord, NewRecordBody,
    Reactions, Record, RecordBody, RecordId, UserName,
};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{
    from_json, id_from_sql, json, parse_ts, record_first, ts, Library, Milestone, OutboxState,
};
use crate::error::{LibraryError, Result};

/// An own record as `outgoing_records.body` keeps it: the body the store is sent, plus
/// who gives it, so it can be shown before the store has it (the library does not
/// know its user otherwise). Older readers of the column see a plain `NewRecordBody`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct OutgoingBody {
    pub(super) author: UserName,
    #[serde(flatten)]
    pub(super) body: NewRecordBody,
}

/// An own record waiting to be committed, oldest first (see [`Library::queued_records`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRecord {
    pub record: NewRecord,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// One of my records as the outbox knows it (see [`Library::outgoing_record`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRecord {
    pub record: NewRecord,
    /// Queued (waiting, `last_error` says why if it was tried), sent, or failed (the
    /// store refused it for good; `last_error` is its reason).
    pub state: OutboxState,
    pub attempts: u32,
    pub last_error: Option<String>,
}

impl Library {
    /// Queues my reaction (or taking it back, `removed`) to `message`, to be shared by
    /// the outbox ([`crate::Outbox::share_records`]); [`Library::reactions_of`] shows
    /// it at once; `emoji` is one of
    /// [`pigeon_store::protocol::REACTIONS`] (a heart with or without U+FE0F).
    /// A ✅ on a received message its sender sent "acknowledge only" answers it: it is
    /// marked responded here too, in the same transaction.
    pub fn queue_reaction(
        &self,
        message: &MessageId,
        emoji: &str,
        removed: bool,
        me: &UserName,
        now: DateTime<Utc>,
    ) -> Result<RecordId> {
        let emoji = reaction_emoji(emoji).map_err(LibraryError::refused)?;
        let id = ordered_record_id(now)?;
        let body = OutgoingBody {
            author: me.clone(),
            body: NewRecordBody::Reaction {
                emoji: emoji.to_owned(),
                removed,
            },
        };
        let mut conn = self.conn();
        let tx = Library::write_transaction(&mut conn)?;
        let received = received_message(&tx, message)?;
        if received.is_none() && !is_sent(&tx, message)? {
            return Err(LibraryError::NotFound {
                what: "message",
                id: message.to_string(),
                list: "inbox",
            });
        }
        // A change of mind before the first attempt replaces the earlier record, which
        // the store then never sees. One already tried may be committed: it stays, to
        // go first.
        tx.execute(
            "DELETE FROM outgoing_records
             WHERE message_id = ?1 AND state = 'queued' AND attempts = 0
               AND json_extract(body, '$.kind') = 'reaction'
               AND json_extract(body, '$.emoji') = ?2 AND json_extract(body, '$.author') = ?3",
            params![message.as_str(), emoji, me.as_str()],
        )?;
        tx.execute(
            "INSERT INTO outgoing_records (record_id, message_id, body, state, created_at)
             VALUES (?1, ?2, ?3, 'queued', ?4)",
            params![id.as_str(), message.as_str(), json(&body)?, ts(now)],
        )?;
        if let Some(received) = received {
            let mine = Record {
                id: id.clone(),
                message: message.clone(),
                author: me.clone(),
                created_at: now,
                body: RecordBody::Reaction {
                    emoji: emoji.to_owned(),
                    removed,
                },
            };
            if acknowledges(&received, &mine) {
                record_first(&tx, message, Milestone::Responded, now)?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// Stores reaction records from a sync or a commit, idempotent by record id; other
    /// kinds are ignored. A ✅ of mine (given on another machine) on an "acknowledge
    /// only" message I received marks it responded. Returns how many were new.
    pub fn store_reaction_records(&self, records: &[Record]) -> Result<usize> {
        let mut conn = self.conn();
        let tx = Library::write_transaction(&mut conn)?;
        let new = store_reaction_records_in(&tx, records)?;
        tx.commit()?;
        Ok(new)
    }

    /// The reactions on a message as shown now: the stored records plus my queued ones
    /// not shared yet (those count as given now, after every stored one).
    pub fn reactions_of(&self, message: &MessageId) -> Result<Vec<Reactions>> {
        let mut all = self.reactions_of_messages(std::slice::from_ref(message))?;
        Ok(all.remove(message).unwrap_or_default())
    }

    /// [`Library::reactions_of`] for several messages at once, in two queries however
    /// many there are (a thread's screen loads in a fixed number of queries). Messages
    /// nobody reacted to are left out.
    pub fn reactions_of_messages(
        &self,
        messages: &[MessageId],
    ) -> Result<HashMap<MessageId, Vec<Reactions>>> {
        let ids = json(&messages.iter().map(MessageId::as_str).collect::<Vec<_>>())?;
        let conn = self.read();
        let mut stmt = conn.prepare(
            "SELECT record FROM reactions
             WHERE message_id IN (SELECT value FROM json_each(?1))
             ORDER BY created_at, record_id",
        )?;
        let mut records: HashMap<MessageId, Vec<Record>> = HashMap::new();
        for record in stmt.query_map([&ids], |r| from_json::<Record>(&r.get::<_, String>(0)?))? {
            let record = record?;
            records
                .entry(record.message.clone())
                .or_default()
                .push(record);
        }
        let mut stmt = conn.prepare(
            "SELECT message_id, record_id, body, created_at FROM outgoing_records
             WHERE message_id IN (SELECT value FROM json_each(?1)) AND state = 'queued'
               AND record_id NOT IN (SELECT record_id FROM reactions)
             ORDER BY created_at, rowid",
        )?;
        let queued = stmt
            .query_map([&ids], |r| {
                Ok((
                    id_from_sql(MessageId::parse, r.get(0)?)?,
                    id_from_sql(RecordId::parse, r.get(1)?)?,
                    from_json::<OutgoingBody>(&r.get::<_, String>(2)?)?,
                    parse_ts(&r.get::<_, String>(3)?)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        // My queued ones will be stamped by the store later than anything it holds now:
        // ordered after every stored record of their message (and in queue order), they
        // decide as they will.
        let mut floors: HashMap<MessageId, Option<DateTime<Utc>>> = records
            .iter()
            .map(|(m, list)| (m.clone(), list.iter().map(|r| r.created_at).max()))
            .collect();
        for (message, id, outgoing, queued_at) in queued {
            let NewRecordBody::Reaction { emoji, removed } = outgoing.body else {
                continue;
            };
            let floor = floors.entry(message.clone()).or_default();
            let created_at = match *floor {
                Some(f) if f >= queued_at => f + chrono::Duration::microseconds(1),
                _ => queued_at,
            };
            *floor = Some(created_at);
            records.entry(message.clone()).or_default().push(Record {
                id,
                message,
                author: outgoing.author,
                created_at,
                body: RecordBody::Reaction { emoji, removed },
            });
        }
        Ok(records
            .into_iter()
            .map(|(message, list)| {
                let shown = reactions(&message, &list);
                (message, shown)
            })
            .filter(|(_, shown)| !shown.is_empty())
            .collect())
    }

    /// Reaction records by others than `me` not announced yet, oldest first: only ones
    /// that give a reaction still given (taking one back, or one taken back since, is
    /// no news). Marks every stored record announced, in one transaction: each is
    /// returned by at most one call.
    pub fn take_unannounced_reactions(&self, me: &UserName) -> Result<Vec<Record>> {
        let mut conn = self.conn();
        let tx = Library::write_transaction(&mut conn)?;
        let records = take_unannounced_reactions_in(&tx, me)?;
        tx.commit()?;
        Ok(records)
    }

    /// My records still waiting to be committed, oldest first: the order they were
    /// given in, so the store stamps them in that order and the latest decides.
    pub fn queued_records(&self) -> Result<Vec<QueuedRecord>> {
        let conn = self.read();
        let mut stmt = conn.prepare(
            "SELECT record_id, message_id, body, attempts, last_error FROM outgoing_records
             WHERE state = 'queued' ORDER BY created_at, rowid",
        )?;
        let queued = stmt
            .query_map([], |r| {
                Ok(QueuedRecord {
                    record: NewRecord {
                        id: id_from_sql(RecordId::parse, r.get(0)?)?,
                        message: id_from_sql(MessageId::parse, r.get(1)?)?,
                        body: from_json::<OutgoingBody>(&r.get::<_, String>(2)?)?.body,
                    },
                    attempts: r.get(3)?,
                    last_error: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(queued)
    }

    /// One of my records by id: whether it was shared, is waiting, or was refused.
    /// None when it was never queued here, or a later change of mind replaced it
    /// before it was tried.
    pub fn outgoing_record(&self, id: &RecordId) -> Result<Option<OutgoingRecord>> {
        let conn = self.read();
        let row = conn
            .query_row(
                "SELECT record_id, message_id, body, state, attempts, last_error
                 FROM outgoing_records WHERE record_id = ?1",
                [id.as_str()],
                |r| {
                    Ok((
                        NewRecord {
                            id: id_from_sql(RecordId::parse, r.get(0)?)?,
                            message: id_from_sql(MessageId::parse, r.get(1)?)?,
                            body: from_json::<OutgoingBody>(&r.get::<_, String>(2)?)?.body,
                        },
                        r.get::<_, String>(3)?,
                        r.get::<_, u32>(4)?,
                        r.get::<_, Option<String>>(5)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(record, state, attempts, last_error)| {
            Ok(OutgoingRecord {
                record,
                state: OutboxState::parse(&state)?,
                attempts,
                last_error,
            })
        })
        .transpose()
    }

    /// The store committed one of my records: it is shared, and kept as the store has
    /// it (already announced: it is mine), in one transaction.
    pub fn record_shared(&self, record: &Record) -> Result<()> {
        let mut conn = self.conn();
        let tx = Library::write_transaction(&mut conn)?;
        tx.execute(
            "UPDATE outgoing_records SET state = 'sent', attempts = attempts + 1, last_error = NULL
             WHERE record_id = ?1",
            [record.id.as_str()],
        )?;
        store_reaction(&tx, record, true)?;
        super::deadlines::store_deadline_records_in(&tx, std::slice::from_ref(record))?;
        tx.commit()?;
        Ok(())
    }

    /// Sharing a record failed in a way that may pass (offline, hub down): it stays
    /// queued with the error.
    pub fn record_share_error(&self, id: &RecordId, error: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE outgoing_records SET attempts = attempts + 1, last_error = ?2
             WHERE record_id = ?1",
            params![id.as_str(), error],
        )?;
        Ok(())
    }

    /// The store refused a record for good: it is no longer shown or retried.
    pub fn record_share_refused(&self, id: &RecordId, reason: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE outgoing_records SET attempts = attempts + 1, state = 'failed', last_error = ?2
             WHERE record_id = ?1",
            params![id.as_str(), reason],
        )?;
        Ok(())
    }
}

/// [`Library::take_unannounced_reactions`] inside the caller's write transaction, so a
/// caller that takes more (the announcements) marks all of it or none.
pub(crate) fn take_unannounced_reactions_in(
    conn: &Connection,
    me: &UserName,
) -> Result<Vec<Record>> {
    // Only what still holds: a reaction changed or taken back since is no news.
    let mut stmt = conn.prepare(
        "SELECT r.record FROM reactions r
         WHERE r.announced = 0 AND NOT EXISTS (
             SELECT 1 FROM reactions l
             WHERE l.message_id = r.message_id
               AND json_extract(l.record, '$.author') = json_extract(r.record, '$.author')
               AND json_extract(l.record, '$.body.emoji') = json_extract(r.record, '$.body.emoji')
               AND (l.created_at, l.record_id) > (r.created_at, r.record_id))
         ORDER BY r.created_at, r.record_id",
    )?;
    let records = stmt
        .query_map([], |r| from_json::<Record>(&r.get::<_, String>(0)?))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if !records.is_empty() {
        conn.execute("UPDATE reactions SET announced = 1 WHERE announced = 0", [])?;
    }
    Ok(records
        .into_iter()
        .filter(|r| {
            &r.author != me && matches!(r.body, RecordBody::Reaction { removed: false, .. })
        })
        .collect())
}

/// A new record id that sorts after every earlier one of this user: a store stamps
/// records in milliseconds, so two changes of mind within one share the stamp and the
/// id decides which is the latest (see `pigeon_protocol::reactions`).
pub(super) fn ordered_record_id(now: DateTime<Utc>) -> Result<RecordId> {
    let micros = u64::try_from(now.timestamp_micros()).unwrap_or(0);
    RecordId::parse(format!("{micros:016x}{}", uuid::Uuid::new_v4().simple()))
        .map_err(|e| LibraryError::Corrupt(format!("a new record id: {e}")))
}

/// [`Library::store_reaction_records`] inside the caller's write transaction (the
/// sync's page).
pub(crate) fn store_reaction_records_in(conn: &Connection, records: &[Record]) -> Result<usize> {
    let mut new = 0;
    for record in records {
        if store_reaction(conn, record, false)? {
            new += 1;
        }
    }
    Ok(new)
}

/// Stores one reaction record (others are ignored); true if it was new.
fn store_reaction(conn: &Connection, record: &Record, announced: bool) -> Result<bool> {
    if !matches!(record.body, RecordBody::Reaction { .. }) {
        return Ok(false);
    }
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO reactions (record_id, message_id, record, created_at, announced)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            record.id.as_str(),
            record.message.as_str(),
            json(record)?,
            ts(record.created_at),
            announced
        ],
    )? == 1;
    if inserted {
        if let Some(message) = received_message(conn, &record.message)? {
            if acknowledges(&message, record) {
                record_first(conn, &message.id, Milestone::Responded, record.created_at)?;
            }
        }
    }
    Ok(inserted)
}

/// The received message `id`, if it is one.
pub(super) fn received_message(conn: &Connection, id: &MessageId) -> Result<Option<Message>> {
    let text: Option<String> = conn
        .query_row(
            "SELECT message FROM received WHERE message_id = ?1",
            [id.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(text.map(|t| from_json(&t)).transpose()?)
}

/// Whether `id` is a message sent from this library.
fn is_sent(conn: &Connection, id: &MessageId) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sent WHERE message_id = ?1",
            [id.as_str()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use pigeon_store::protocol::{BlobId, BlobKind, BlobRef, Receipt};

    use super::super::tests::library;
    use super::*;

    fn record(id: &str, author: &str, message: &MessageId, body: RecordBody) -> Record {
        Record {
            id: RecordId::parse(id).unwrap(),
            message: message.clone(),
            author: UserName::parse(author).unwrap(),
            created_at: Utc.with_ymd_and_hms(2029, 1, 1, 0, 0, 0).unwrap(),
            body,
        }
    }

    fn check(removed: bool) -> RecordBody {
        RecordBody::Reaction {
            emoji: "✅".into(),
            removed,
        }
    }

    #[test]
    fn my_check_from_another_machine_answers_an_acknowledge_only_message_once_stored() {
        let (_dir, lib) = library();
        let mut m =
            crate::test_messages::message("ack0000000000001", "alice", &["bob"], Utc::now());
        m.acknowledge_only = true;
        lib.store_received(&m, &Receipt::new(m.recipients[0].clone()), Utc::now())
            .unwrap();
        let transcript = RecordBody::Transcript {
            blob: BlobRef {
                id: BlobId::parse("transcriptblob0001").unwrap(),
                kind: BlobKind::Transcript,
                size: 1,
                sha256: "00".into(),
                content_type: "application/json".into(),
            },
            language: "en".into(),
        };
        let records = [
            record("transcript-000001", "alice", &m.id, transcript),
            record("check-by-alice-01", "alice", &m.id, check(false)),
            record("check-taken-back1", "bob", &m.id, check(true)),
        ];
        assert_eq!(
            lib.store_reaction_records(&records).unwrap(),
            2,
            "reactions only"
        );
        let responded = || lib.received(m.id.as_str()).unwrap().responded_at;
        assert_eq!(responded(), None, "neither is bob's ✅");

        let bobs = record("check-by-bob-0001", "bob", &m.id, check(false));
        assert_eq!(
            lib.store_reaction_records(std::slice::from_ref(&bobs))
                .unwrap(),
            1
        );
        assert_eq!(responded(), Some(bobs.created_at));
        assert_eq!(
            lib.store_reaction_records(&[bobs]).unwrap(),
            0,
            "stored once"
        );
    }
}
