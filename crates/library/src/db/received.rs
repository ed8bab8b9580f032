//! Received messages: what arrived, what is downloaded, viewed, answered, and which
//! arrivals were announced.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use pigeon_store::protocol::{Message, MessageId, Receipt};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use super::{
    from_json, id_from_sql, json, parse_ts, record_first, ts, Library, Milestone, RECEIVED,
};
use crate::error::Result;

/// A message the user received, with what is known locally about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedMessage {
    pub message: Message,
    /// My deadline: the one the message gave me, moved by a granted extension. Every
    /// reader of "when is it due" (inbox order, reminders, overdue) uses this one.
    pub respond_by: DateTime<Utc>,
    pub arrived_at: DateTime<Utc>,
    pub viewed_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub clip_path: Option<PathBuf>,
    pub playable_path: Option<PathBuf>,
    /// The sender's poster (downloaded at sync) or, for messages that came without one,
    /// a still made from the clip when it was downloaded.
    pub poster_path: Option<PathBuf>,
    /// Downloaded attachments, by position.
    pub attachment_paths: Vec<Option<PathBuf>>,
    /// When the clip and every attachment were all downloaded.
    pub downloaded_at: Option<DateTime<Utc>>,
}

impl Library {
    /// Stores (or refreshes) a page of received messages with the state the store knows
    /// of each, in one transaction; returns the ids seen for the first time.
    pub fn store_received_page(
        &self,
        page: &[(Message, Receipt)],
        now: DateTime<Utc>,
    ) -> Result<Vec<MessageId>> {
        let mut conn = self.conn();
        let tx = Library::write_transaction(&mut conn)?;
        let new = store_received_page_in(&tx, page, now)?;
        tx.commit()?;
        Ok(new)
    }

    /// Stores (or refreshes) a received message and the state the store knows of it.
    pub fn store_received(
        &self,
        message: &Message,
        receipt: &Receipt,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        store_one(&self.conn(), message, receipt, now)
    }

    /// A received message by id or a unique prefix of it.
    pub fn received(&self, id_or_prefix: &str) -> Result<ReceivedMessage> {
        let id = self.resolve_id(&RECEIVED, id_or_prefix)?;
        load_received(&self.read(), Some(&id), false)?
            .pop()
            .ok_or(rusqlite::Error::QueryReturnedNoRows.into())
    }

    /// Every received message (unordered: see [`crate::inbox_order`]), in two queries
    /// however many there are.
    pub fn received_all(&self) -> Result<Vec<ReceivedMessage>> {
        load_received(&self.read(), None, false)
    }

    /// The received messages not announced yet ("new message" notifications), oldest
    /// arrival first, and marks them announced, in one transaction: each message is
    /// returned by exactly one call, even when the sync that stored it was cancelled
    /// before it could tell anyone. Three queries however many there are.
    pub fn take_unannounced(&self) -> Result<Vec<ReceivedMessage>> {
        let mut conn = self.conn();
        let tx = Library::write_transaction(&mut conn)?;
        let messages = take_unannounced_in(&tx)?;
        tx.commit()?;
        Ok(messages)
    }

    /// Ids of received messages whose sender's poster is not downloaded yet.
    pub fn posters_missing(&self) -> Result<Vec<MessageId>> {
        let conn = self.read();
        let mut stmt = conn.prepare(
            "SELECT message_id FROM received
             WHERE poster_path IS NULL AND json_extract(message, '$.poster') IS NOT NULL
             ORDER BY arrived_at",
        )?;
        let ids = stmt
            .query_map([], |r| id_from_sql(MessageId::parse, r.get(0)?))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// Ids of received messages whose clip or attachments are not all downloaded,
    /// oldest arrival first.
    pub fn not_downloaded(&self) -> Result<Vec<MessageId>> {
        let conn = self.read();
        let mut stmt = conn.prepare(
            "SELECT message_id FROM received WHERE downloaded_at IS NULL ORDER BY arrived_at",
        )?;
        let ids = stmt
            .query_map([], |r| id_from_sql(MessageId::parse, r.get(0)?))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    pub fn set_received_poster(&self, id: &MessageId, poster: &Path) -> Result<()> {
        self.conn().execute(
            "UPDATE received SET poster_path = ?2 WHERE message_id = ?1",
            params![id.as_str(), poster.to_string_lossy()],
        )?;
        Ok(())
    }

    /// The clip and every attachment of a received message are on disk.
    pub fn set_received_downloaded(&self, id: &MessageId, now: DateTime<Utc>) -> Result<()> {
        record_first(&self.conn(), id, Milestone::Downloaded, now)
    }

    /// Records the downloaded clip; `poster` (one made locally) only fills a missing
    /// poster, never replaces the sender's.
    pub fn set_received_clip(
        &self,
        id: &MessageId,
        clip: &Path,
        playable: &Path,
        poster: Option<&Path>,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE received SET clip_path = ?2, playable_path = ?3,
                                 poster_path = COALESCE(poster_path, ?4)
             WHERE message_id = ?1",
            params![
                id.as_str(),
                clip.to_string_lossy(),
                playable.to_string_lossy(),
                poster.map(|p| p.to_string_lossy().into_owned())
            ],
        )?;
        Ok(())
    }

    pub fn set_received_attachment(
        &self,
        id: &MessageId,
        position: u32,
        path: &Path,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO received_attachments (message_id, position, path) VALUES (?1, ?2, ?3)
             ON CONFLICT (message_id, position) DO UPDATE SET path = excluded.path",
            params![id.as_str(), position, path.to_string_lossy()],
        )?;
        Ok(())
    }

    pub fn mark_viewed(&self, id: &MessageId, now: DateTime<Utc>) -> Result<()> {
        record_first(&self.conn(), id, Milestone::Viewed, now)
    }

    pub fn mark_responded(&self, id: &MessageId, now: DateTime<Utc>) -> Result<()> {
        record_first(&self.conn(), id, Milestone::Responded, now)
    }
}

/// Stores (or refreshes) one received message; true if it was new.
fn store_one(
    conn: &Connection,
    message: &Message,
    receipt: &Receipt,
    now: DateTime<Utc>,
) -> Result<bool> {
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO received (message_id, message, thread, respond_by, arrived_at,
                                          recipient)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            message.id.as_str(),
            json(message)?,
            message.thread.as_str(),
            // My own deadline when each recipient has one; a granted extension moves
            // it later (`store_deadline_records_in`).
            ts(message
                .deadline_of(&receipt.recipient)
                .unwrap_or(message.respond_by)),
            ts(now),
            receipt.recipient.as_str()
        ],
    )? == 1;
    conn.execute(
        "UPDATE received SET viewed_at = COALESCE(viewed_at, ?2),
                                 responded_at = COALESCE(responded_at, ?3)
             WHERE message_id = ?1",
        params![
            message.id.as_str(),
            receipt.viewed_at.map(ts),
            receipt.responded_at.map(ts)
        ],
    )?;
    Ok(inserted)
}

/// Received messages with their attachment paths: `only` one, or every one (`only`
/// None), or of those only the ones not announced yet. Two queries whatever the count.
/// [`Library::store_received_page`] inside the caller's write transaction (the sync's
/// page).
pub(crate) fn store_received_page_in(
    conn: &Connection,
    page: &[(Message, Receipt)],
    now: DateTime<Utc>,
) -> Result<Vec<MessageId>> {
    let mut new = Vec::new();
    for (message, receipt) in page {
        if store_one(conn, message, receipt, now)? {
            new.push(message.id.clone());
        }
    }
    Ok(new)
}

/// [`Library::take_unannounced`] inside the caller's write transaction, so a caller
/// that takes more (the announcements) marks all of it or none.
pub(crate) fn take_unannounced_in(conn: &Connection) -> Result<Vec<ReceivedMessage>> {
    let messages = load_received(conn, None, true)?;
    if !messages.is_empty() {
        conn.execute("UPDATE received SET announced = 1 WHERE announced = 0", [])?;
    }
    Ok(messages)
}

fn load_received(
    conn: &Connection,
    only: Option<&str>,
    unannounced: bool,
) -> Result<Vec<ReceivedMessage>> {
    let mut stmt = conn.prepare(
        "SELECT message_id, message, arrived_at, viewed_at, responded_at, clip_path,
                playable_path, poster_path, downloaded_at, respond_by
         FROM received
         WHERE (?1 IS NULL OR message_id = ?1) AND (?2 = 0 OR announced = 0)
         ORDER BY arrived_at, message_id",
    )?;
    let mut received = stmt
        .query_map(params![only, unannounced], |r| {
            let opt_ts = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
                r.get::<_, Option<String>>(i)?
                    .map(|t| parse_ts(&t))
                    .transpose()
            };
            let opt_path = |i: usize| -> rusqlite::Result<Option<PathBuf>> {
                Ok(r.get::<_, Option<String>>(i)?.map(PathBuf::from))
            };
            Ok((
                r.get::<_, String>(0)?,
                ReceivedMessage {
                    message: from_json(&r.get::<_, String>(1)?)?,
                    arrived_at: parse_ts(&r.get::<_, String>(2)?)?,
                    viewed_at: opt_ts(3)?,
                    responded_at: opt_ts(4)?,
                    clip_path: opt_path(5)?,
                    playable_path: opt_path(6)?,
                    poster_path: opt_path(7)?,
                    attachment_paths: Vec::new(),
                    downloaded_at: opt_ts(8)?,
                    respond_by: parse_ts(&r.get::<_, String>(9)?)?,
                },
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut stmt = conn.prepare(
        "SELECT a.message_id, a.position, a.path
         FROM received_attachments a JOIN received r ON r.message_id = a.message_id
         WHERE (?1 IS NULL OR r.message_id = ?1) AND (?2 = 0 OR r.announced = 0)",
    )?;
    let mut paths: HashMap<String, Vec<(u32, PathBuf)>> = HashMap::new();
    for row in stmt.query_map(params![only, unannounced], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, u32>(1)?,
            PathBuf::from(r.get::<_, String>(2)?),
        ))
    })? {
        let (id, position, path) = row?;
        paths.entry(id).or_default().push((position, path));
    }
    for (id, message) in &mut received {
        let mut slots = vec![None; message.message.attachments.len()];
        for (position, path) in paths.remove(id.as_str()).unwrap_or_default() {
            if let Some(slot) = slots.get_mut(position as usize) {
                *slot = Some(path);
            }
        }
        message.attachment_paths = slots;
    }
    Ok(received.into_iter().map(|(_, m)| m).collect())
}

#[cfg(test)]
mod tests {
    use pigeon_store::protocol::Attachment;

    use super::super::tests::library;
    use super::*;

    #[test]
    fn every_received_message_comes_with_its_own_attachment_paths() {
        let (_dir, lib) = library();
        let mut ids = Vec::new();
        for (id, attachments) in [
            ("a000000000000000", 2),
            ("b000000000000000", 1),
            ("c000000000000000", 0),
        ] {
            let mut m = crate::test_messages::message(id, "alice", &["bob"], Utc::now());
            m.attachments = (0..attachments)
                .map(|i| Attachment {
                    blob: m.clip.clone().unwrap(),
                    name: format!("{i}.pdf"),
                })
                .collect();
            lib.store_received(&m, &Receipt::new(m.recipients[0].clone()), Utc::now())
                .unwrap();
            ids.push(m.id);
        }
        lib.set_received_attachment(&ids[0], 1, Path::new("/a/1.pdf"))
            .unwrap();
        lib.set_received_attachment(&ids[1], 0, Path::new("/b/0.pdf"))
            .unwrap();
        let mut all = lib.received_all().unwrap();
        all.sort_by(|a, b| a.message.id.cmp(&b.message.id));
        let paths: Vec<_> = all.iter().map(|m| m.attachment_paths.clone()).collect();
        assert_eq!(
            paths,
            vec![
                vec![None, Some(PathBuf::from("/a/1.pdf"))],
                vec![Some(PathBuf::from("/b/0.pdf"))],
                vec![],
            ]
        );
        assert_eq!(lib.received("b").unwrap().attachment_paths, paths[1]);
    }
}
