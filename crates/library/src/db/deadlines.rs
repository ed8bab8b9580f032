//! Records about deadlines (requests for more time, the sender's answers, nudges,
//! closes): every one seen (received at sync, or committed from here) in
//! `deadline_records`, and mine waiting to be shared in `outgoing_records` with the
//! reactions (the outbox shares both in the order they were given).
//!
//! A received message's `respond_by` column is my deadline: when a grant of my request
//! arrives it moves, in the same transaction, and the reminders given for the old
//! deadline are forgotten so the new one gets its own.

use chrono::{DateTime, Utc};
use pigeon_store::protocol::{
    check_deadline_record, effective_deadline, Message, MessageId, NewRecordBody, Record,
    RecordBody, RecordId, UserName,
};
use rusqlite::{params, Connection, OptionalExtension};

use super::reactions::{ordered_record_id, received_message, OutgoingBody};
use super::{from_json, id_from_sql, json, ts, Library};
use crate::error::{LibraryError, Result};

/// Whether a record is one of the deadline kinds kept here.
fn is_deadline_record(body: &RecordBody) -> bool {
    matches!(
        body,
        RecordBody::ExtensionRequest { .. }
            | RecordBody::ExtensionAnswer { .. }
            | RecordBody::Nudge { .. }
            | RecordBody::Close
    )
}

/// One of my deadline records not shared yet, as it is shown meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDeadlineRecord {
    pub id: RecordId,
    pub body: NewRecordBody,
    pub queued_at: DateTime<Utc>,
    /// Why the last attempt to share it failed, if one did.
    pub last_error: Option<String>,
}

/// What the deadline rules read about one message: the message (received, or sent
/// from here) and its deadline records, the committed ones and my own still queued as
/// if shared, so what I just did shows before it reaches the store.
#[derive(Debug, Clone)]
pub struct DeadlineState {
    pub message: Message,
    pub records: Vec<Record>,
}

impl Library {
    /// [`DeadlineState`] of the message `id_or_prefix` names, received or sent from here.
    pub fn deadline_state(&self, id_or_prefix: &str, me: &UserName) -> Result<DeadlineState> {
        let id = match self.resolve_id(&super::RECEIVED, id_or_prefix) {
            Ok(id) => id,
            Err(LibraryError::NotFound { .. }) => {
                match self.resolve_id(&super::OUTBOX, id_or_prefix) {
                    Err(LibraryError::NotFound { .. }) => {
                        return Err(LibraryError::NotFound {
                            what: "message you received or sent",
                            id: id_or_prefix.to_owned(),
                            list: "inbox",
                        })
                    }
                    found => found?,
                }
            }
            Err(e) => return Err(e),
        };
        let id = id_from_sql(MessageId::parse, id)?;
        let conn = self.read();
        let message = message_in(&conn, &id)?.ok_or_else(|| {
            LibraryError::Invalid(format!(
                "{id} is not delivered yet: its answers and deadlines show once it is sent"
            ))
        })?;
        let mut records = deadline_records_in(&conn, &id)?;
        records.extend(queued_as_records(&conn, &id, me)?);
        Ok(DeadlineState { message, records })
    }

    /// The deadline records of `message` the store committed, oldest first.
    pub fn deadline_records(&self, message: &MessageId) -> Result<Vec<Record>> {
        deadline_records_in(&self.read(), message)
    }

    /// My deadline records about `message` still waiting to be shared, oldest first.
    pub fn pending_deadline_records(
        &self,
        message: &MessageId,
    ) -> Result<Vec<PendingDeadlineRecord>> {
        let conn = self.read();
        let mut stmt = conn.prepare(
            "SELECT record_id, body, created_at, last_error FROM outgoing_records
             WHERE message_id = ?1 AND state = 'queued'
               AND json_extract(body, '$.kind') IN ('extension_request', 'extension_answer', 'nudge', 'close')
             ORDER BY created_at, rowid",
        )?;
        let pending = stmt
            .query_map([message.as_str()], |r| {
                Ok(PendingDeadlineRecord {
                    id: id_from_sql(RecordId::parse, r.get(0)?)?,
                    body: from_json::<OutgoingBody>(&r.get::<_, String>(1)?)?.body,
                    queued_at: super::parse_ts(&r.get::<_, String>(2)?)?,
                    last_error: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(pending)
    }

    /// Queues my deadline record (`body`: a request for more time, an answer, a nudge or
    /// a close) about `message`, a message I received or sent, to be shared by the
    /// outbox. It is checked first by the same rule the store applies, against what
    /// this library knows (the committed records plus my own still queued, as if
    /// shared), so a refusal is told now and nothing is queued.
    pub fn queue_deadline_record(
        &self,
        message: &MessageId,
        body: NewRecordBody,
        me: &UserName,
        now: DateTime<Utc>,
    ) -> Result<RecordId> {
        let mut conn = self.conn();
        let tx = Library::write_transaction(&mut conn)?;
        let m = message_in(&tx, message)?.ok_or_else(|| LibraryError::NotFound {
            what: "message",
            id: message.to_string(),
            list: "inbox",
        })?;
        let mut known = deadline_records_in(&tx, message)?;
        known.extend(queued_as_records(&tx, message, me)?);
        check_deadline_record(&body, me, &m, &known, now).map_err(LibraryError::refused)?;
        let id = ordered_record_id(now)?;
        let outgoing = OutgoingBody {
            author: me.clone(),
            body,
        };
        tx.execute(
            "INSERT INTO outgoing_records (record_id, message_id, body, state, created_at)
             VALUES (?1, ?2, ?3, 'queued', ?4)",
            params![id.as_str(), message.as_str(), json(&outgoing)?, ts(now)],
        )?;
        tx.commit()?;
        Ok(id)
    }
}

/// Committed deadline records of `message`, oldest first.
fn deadline_records_in(conn: &Connection, message: &MessageId) -> Result<Vec<Record>> {
    let mut stmt = conn.prepare_cached(
        "SELECT record FROM deadline_records WHERE message_id = ?1 ORDER BY created_at, record_id",
    )?;
    let records = stmt
        .query_map([message.as_str()], |r| from_json(&r.get::<_, String>(0)?))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(records)
}

/// My queued deadline records about `message` as the store would stamp them (their
/// queue time), so a rule sees a request I asked offline as asked.
fn queued_as_records(conn: &Connection, message: &MessageId, me: &UserName) -> Result<Vec<Record>> {
    let mut stmt = conn.prepare(
        "SELECT record_id, body, created_at FROM outgoing_records
         WHERE message_id = ?1 AND state = 'queued'
         ORDER BY created_at, rowid",
    )?;
    let rows = stmt
        .query_map([message.as_str()], |r| {
            Ok((
                id_from_sql(RecordId::parse, r.get(0)?)?,
                from_json::<OutgoingBody>(&r.get::<_, String>(1)?)?.body,
                super::parse_ts(&r.get::<_, String>(2)?)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, body, at)| {
            let body = as_committed(body)?;
            Some(Record {
                id,
                message: message.clone(),
                author: me.clone(),
                created_at: at,
                body,
            })
        })
        .collect())
}

/// The deadline records not announced yet, oldest first, each with the records of its
/// message (to tell whose request an answer is); marks them all announced. Mine are
/// left out: nobody is told what they did.
pub(crate) fn take_unannounced_deadline_records_in(
    conn: &Connection,
    me: &UserName,
) -> Result<Vec<(Record, Vec<Record>)>> {
    let mut stmt = conn.prepare(
        "SELECT record FROM deadline_records WHERE announced = 0 ORDER BY created_at, record_id",
    )?;
    let fresh = stmt
        .query_map([], |r| from_json::<Record>(&r.get::<_, String>(0)?))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if fresh.is_empty() {
        return Ok(Vec::new());
    }
    conn.execute(
        "UPDATE deadline_records SET announced = 1 WHERE announced = 0",
        [],
    )?;
    fresh
        .into_iter()
        .filter(|r| &r.author != me)
        .map(|r| {
            let all = deadline_records_in(conn, &r.message)?;
            Ok((r, all))
        })
        .collect()
}

/// A deadline record I queued as the store commits it; `None` for other kinds.
pub(crate) fn as_committed(body: NewRecordBody) -> Option<RecordBody> {
    Some(match body {
        NewRecordBody::ExtensionRequest { proposed, note } => {
            RecordBody::ExtensionRequest { proposed, note }
        }
        NewRecordBody::ExtensionAnswer {
            request,
            granted,
            note,
        } => RecordBody::ExtensionAnswer {
            request,
            granted,
            note,
        },
        NewRecordBody::Nudge {
            recipient,
            deadline,
        } => RecordBody::Nudge {
            recipient,
            deadline,
        },
        NewRecordBody::Close => RecordBody::Close,
        _ => return None,
    })
}

/// The message `id` this library received or sent.
fn message_in(conn: &Connection, id: &MessageId) -> Result<Option<Message>> {
    if let Some(m) = received_message(conn, id)? {
        return Ok(Some(m));
    }
    let text: Option<String> = conn
        .query_row(
            "SELECT message FROM sent WHERE message_id = ?1",
            [id.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(text.map(|t| from_json(&t)).transpose()?)
}

/// Stores deadline records from a sync or a commit (other kinds are ignored),
/// idempotent by id, and moves my deadline on a message I received when one of them
/// changes it. Returns how many were new.
pub(crate) fn store_deadline_records_in(conn: &Connection, records: &[Record]) -> Result<usize> {
    let mut new = 0;
    let mut touched: Vec<&MessageId> = Vec::new();
    for record in records.iter().filter(|r| is_deadline_record(&r.body)) {
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO deadline_records (record_id, message_id, record, created_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                record.id.as_str(),
                record.message.as_str(),
                json(record)?,
                ts(record.created_at)
            ],
        )? == 1;
        if inserted {
            new += 1;
            if !touched.contains(&&record.message) {
                touched.push(&record.message);
            }
        }
    }
    for message in touched {
        move_my_deadline(conn, message)?;
    }
    Ok(new)
}

/// Sets a received message's `respond_by` to my effective deadline; when it moved,
/// forgets the reminders given for the old one.
fn move_my_deadline(conn: &Connection, id: &MessageId) -> Result<()> {
    let row: Option<(String, Option<String>, String)> = conn
        .query_row(
            "SELECT message, recipient, respond_by FROM received WHERE message_id = ?1",
            [id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((message, Some(me), before)) = row else {
        return Ok(());
    };
    let message: Message = from_json(&message)?;
    let me = id_from_sql(UserName::parse, me)?;
    let records = deadline_records_in(conn, id)?;
    let Some(deadline) = effective_deadline(&message, &records, &me) else {
        return Ok(());
    };
    if ts(deadline) != before {
        conn.execute(
            "UPDATE received SET respond_by = ?2 WHERE message_id = ?1",
            params![id.as_str(), ts(deadline)],
        )?;
        conn.execute(
            "DELETE FROM reminders_given WHERE message_id = ?1 AND kind IN ('due_soon', 'overdue')",
            [id.as_str()],
        )?;
        tracing::info!(message = %id, deadline = %deadline, "my deadline moved");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use pigeon_store::protocol::{Deadline, Receipt};

    use super::super::tests::library;
    use super::*;

    fn name(n: &str) -> UserName {
        UserName::parse(n).unwrap()
    }

    #[test]
    fn a_grant_of_my_request_moves_my_deadline_and_forgets_its_reminders() {
        let (_dir, lib) = library();
        let now = Utc.with_ymd_and_hms(2029, 1, 1, 9, 0, 0).unwrap();
        let mut m =
            crate::test_messages::message("each000000000001", "alice", &["bob", "yuki"], now);
        m.deadlines = vec![
            Deadline {
                recipient: name("bob"),
                respond_by: now + Duration::hours(8),
            },
            Deadline {
                recipient: name("yuki"),
                respond_by: now + Duration::hours(20),
            },
        ];
        m.respond_by = now + Duration::hours(20);
        lib.store_received(&m, &Receipt::new(name("bob")), now)
            .unwrap();
        let due = |lib: &Library| lib.received(m.id.as_str()).unwrap().respond_by;
        assert_eq!(
            due(&lib),
            now + Duration::hours(8),
            "my own deadline, not the latest"
        );

        let proposed = now + Duration::hours(30);
        let asked = lib
            .queue_deadline_record(
                &m.id,
                NewRecordBody::ExtensionRequest {
                    proposed,
                    note: "travelling".into(),
                },
                &name("bob"),
                now,
            )
            .unwrap();
        // A second request while the first waits is refused here, before any store.
        let again = lib.queue_deadline_record(
            &m.id,
            NewRecordBody::ExtensionRequest {
                proposed,
                note: String::new(),
            },
            &name("bob"),
            now,
        );
        assert!(matches!(again, Err(LibraryError::Invalid(_))), "{again:?}");
        assert_eq!(lib.pending_deadline_records(&m.id).unwrap().len(), 1);
        lib.remember_reminder(&m.id, "due_soon", now).unwrap();

        let record = |id: &str, author: &str, body| Record {
            id: RecordId::parse(id).unwrap(),
            message: m.id.clone(),
            author: name(author),
            created_at: now + Duration::minutes(5),
            body,
        };
        let request = record(
            asked.as_str(),
            "bob",
            RecordBody::ExtensionRequest {
                proposed,
                note: "travelling".into(),
            },
        );
        let grant = record(
            "grant-record-0001",
            "alice",
            RecordBody::ExtensionAnswer {
                request: asked.clone(),
                granted: true,
                note: String::new(),
            },
        );
        lib.record_shared(&request).unwrap();
        assert_eq!(due(&lib), now + Duration::hours(8), "asking moves nothing");
        assert_eq!(
            lib.store_inbox_page(&[], std::slice::from_ref(&grant), None, now)
                .unwrap()
                .new_reactions,
            0
        );
        assert_eq!(due(&lib), proposed);
        assert!(!lib.reminder_given(&m.id, "due_soon").unwrap());
        assert_eq!(lib.deadline_records(&m.id).unwrap(), vec![request, grant]);
        assert!(lib.pending_deadline_records(&m.id).unwrap().is_empty());
    }
}
