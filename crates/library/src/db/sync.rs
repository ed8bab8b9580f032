//! What the library remembers between syncs: reminders already given and the inbox
//! sync cursor.

use chrono::{DateTime, Utc};
use pigeon_store::protocol::MessageId;
use rusqlite::{params, OptionalExtension};

use super::{ts, Library};
use crate::error::Result;

impl Library {
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
        self.conn().execute(
            "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
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
}
