//! Sent messages with each recipient's receipt as last synced.

use std::collections::HashMap;

use pigeon_store::protocol::{Message, MessageId, Receipt};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{from_json, id_from_sql, json, Library};
use crate::error::Result;

/// A message the user sent, with each recipient's receipt as last synced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentMessage {
    pub message: Message,
    pub receipts: Vec<Receipt>,
}

impl Library {
    pub fn sent_message(&self, id: &MessageId) -> Result<Option<SentMessage>> {
        let conn = self.read();
        let message: Option<Message> = conn
            .query_row(
                "SELECT message FROM sent WHERE message_id = ?1",
                params![id.as_str()],
                |r| from_json(&r.get::<_, String>(0)?),
            )
            .optional()?;
        let Some(message) = message else {
            return Ok(None);
        };
        let mut stmt = conn.prepare(
            "SELECT receipt FROM sent_recipients WHERE message_id = ?1 ORDER BY recipient",
        )?;
        let receipts = stmt
            .query_map(params![id.as_str()], |r| from_json(&r.get::<_, String>(0)?))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(SentMessage { message, receipts }))
    }

    /// Every sent message with its receipts, newest first: two queries however many
    /// there are.
    pub fn sent_all(&self) -> Result<Vec<SentMessage>> {
        let conn = self.read();
        let mut stmt =
            conn.prepare("SELECT message FROM sent ORDER BY sent_at DESC, message_id")?;
        let messages = stmt
            .query_map([], |r| from_json::<Message>(&r.get::<_, String>(0)?))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stmt =
            conn.prepare("SELECT message_id, receipt FROM sent_recipients ORDER BY recipient")?;
        let mut receipts: HashMap<String, Vec<Receipt>> = HashMap::new();
        for row in stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, from_json(&r.get::<_, String>(1)?)?))
        })? {
            let (id, receipt) = row?;
            receipts.entry(id).or_default().push(receipt);
        }
        Ok(messages
            .into_iter()
            .map(|message| SentMessage {
                receipts: receipts.remove(message.id.as_str()).unwrap_or_default(),
                message,
            })
            .collect())
    }

    /// Ids of every sent message, newest first.
    pub fn sent_ids(&self) -> Result<Vec<MessageId>> {
        let conn = self.read();
        let mut stmt = conn.prepare("SELECT message_id FROM sent ORDER BY sent_at DESC")?;
        let ids = stmt
            .query_map([], |r| id_from_sql(MessageId::parse, r.get(0)?))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    pub fn update_receipts(&self, id: &MessageId, receipts: &[Receipt]) -> Result<()> {
        let mut conn = self.conn();
        let tx = Library::write_transaction(&mut conn)?;
        for receipt in receipts {
            tx.execute(
                "INSERT INTO sent_recipients (message_id, recipient, receipt) VALUES (?1, ?2, ?3)
                 ON CONFLICT (message_id, recipient) DO UPDATE SET receipt = excluded.receipt",
                params![id.as_str(), receipt.recipient.as_str(), json(receipt)?],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}
