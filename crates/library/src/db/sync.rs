//! What the library remembers between syncs: reminders already given and the inbox
//! sync cursor, and a sync's page stored with the cursor that follows it.

use chrono::{DateTime, Utc};
use pigeon_store::protocol::{Message, MessageId, Receipt, Record};
use rusqlite::{params, Connection, OptionalExtension};

use super::reactions::store_reaction_records_in;
use super::received::store_received_page_in;
use super::transcripts::store_transcript_records_in;
use super::{ts, Library};
use crate::error::Result;

/// What one stored page of a sync brought.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StoredPage {
    /// The messages seen for the first time.
    pub(crate) new_messages: Vec<MessageId>,
    /// How many reaction records were new.
    pub(crate) new_reactions: usize,
}

impl Library {
    /// Stores one page of an inbox sync in one write transaction: its messages, then its
    /// records (transcripts and reactions: a record comes with or after its message),
    /// then `cursor` (key, value), the position after it. A sync stopped anywhere keeps
    /// every page it stored whole and resumes after the last; a failure stores nothing
    /// of the page.
    pub(crate) fn store_inbox_page(
        &self,
        page: &[(Message, Receipt)],
        records: &[Record],
        cursor: Option<(&str, &str)>,
        now: DateTime<Utc>,
    ) -> Result<StoredPage> {
        let mut conn = self.conn();
        let tx = Library::write_transaction(&mut conn)?;
        let new_messages = store_received_page_in(&tx, page, now)?;
        store_transcript_records_in(&tx, records, now)?;
        let new_reactions = store_reaction_records_in(&tx, records)?;
        super::deadlines::store_deadline_records_in(&tx, records)?;
        if let Some((key, value)) = cursor {
            set_sync_value_in(&tx, key, value)?;
        }
        tx.commit()?;
        Ok(StoredPage {
            new_messages,
            new_reactions,
        })
    }

    /// Records that a reminder was given; false if it had been given already.
    pub fn remember_reminder(
        &self,
        message: &MessageId,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        Ok(self.conn().execute(
            "INSERT OR IGNORE INTO reminders_given (message_id, kind, given_at) VALUES (?1, ?2, ?3)",
            params![message.as_str(), kind, ts(now)],
        )? == 1)
    }

    pub fn reminder_given(&self, message: &MessageId, kind: &str) -> Result<bool> {
        Ok(self
            .read()
            .query_row(
                "SELECT 1 FROM reminders_given WHERE message_id = ?1 AND kind = ?2",
                params![message.as_str(), kind],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    pub fn sync_value(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .read()
            .query_row(
                "SELECT value FROM sync_state WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn set_sync_value(&self, key: &str, value: &str) -> Result<()> {
        set_sync_value_in(&self.conn(), key, value)
    }
}

fn set_sync_value_in(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::library;
    use super::*;

    #[test]
    fn reminders_are_remembered_once() {
        let (_dir, lib) = library();
        let id = MessageId::parse("0123456789abcdef").unwrap();
        assert!(lib.remember_reminder(&id, "due_soon", Utc::now()).unwrap());
        assert!(!lib.remember_reminder(&id, "due_soon", Utc::now()).unwrap());
        assert!(lib.reminder_given(&id, "due_soon").unwrap());
        assert!(!lib.reminder_given(&id, "overdue").unwrap());
    }

    #[test]
    fn a_page_is_stored_whole_with_its_cursor_or_not_at_all() {
        let (_dir, lib) = library();
        let m = crate::test_messages::message("pagemessage00001", "alice", &["bob"], Utc::now());
        let reaction = Record {
            id: pigeon_store::protocol::RecordId::parse("reaction-00000001").unwrap(),
            message: m.id.clone(),
            author: m.sender.clone(),
            created_at: Utc::now(),
            body: pigeon_store::protocol::RecordBody::Reaction {
                emoji: "👀".into(),
                removed: false,
            },
        };
        let page = [(m.clone(), Receipt::new(m.recipients[0].clone()))];
        let store = || {
            lib.store_inbox_page(
                &page,
                std::slice::from_ref(&reaction),
                Some(("cursor", "after-1")),
                Utc::now(),
            )
        };
        // The page's last write (its reactions) fails: nothing of the page is kept.
        lib.conn()
            .execute_batch(
                "CREATE TEMP TRIGGER refuse_reactions BEFORE INSERT ON reactions
                 BEGIN SELECT RAISE(ABORT, 'the disk is full'); END;",
            )
            .unwrap();
        assert!(store().is_err());
        assert!(lib.received_all().unwrap().is_empty());
        assert_eq!(lib.sync_value("cursor").unwrap(), None);

        lib.conn()
            .execute_batch("DROP TRIGGER refuse_reactions")
            .unwrap();
        assert_eq!(
            store().unwrap(),
            StoredPage {
                new_messages: vec![m.id.clone()],
                new_reactions: 1
            }
        );
        assert_eq!(lib.received_all().unwrap().len(), 1);
        assert_eq!(lib.reactions_of(&m.id).unwrap().len(), 1);
        assert_eq!(
            lib.sync_value("cursor").unwrap().as_deref(),
            Some("after-1")
        );
    }
}
