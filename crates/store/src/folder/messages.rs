//! Messages, their commit, and receipts in the folder.

use chrono::{DateTime, Utc};
use pigeon_protocol::commit::{Commit, CommitFacts, StoredBlob};
use pigeon_protocol::{
    access, BlobId, Message, MessageId, MessageStatus, NewMessage, Receipt, UserName,
};
use serde::{Deserialize, Serialize};

use crate::StoreError;

use super::files::*;
use super::inbox::Marker;
use super::{not_found, Folder};

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StoredMessage {
    pub(super) fingerprint: String,
    pub(super) message: Message,
}

impl Folder {
    // ---- messages ----

    pub(super) fn stored(&self, id: &MessageId) -> Result<Option<StoredMessage>, StoreError> {
        read_json(&self.message_path(id))
    }

    pub(super) fn visible(&self, id: &MessageId) -> Result<Message, StoreError> {
        let m = self
            .stored(id)?
            .ok_or_else(|| not_found("message"))?
            .message;
        if access::may_read(&m, &self.me.name) {
            Ok(m)
        } else {
            Err(not_found("message"))
        }
    }

    /// A blob as a commit needs to know it.
    pub(super) fn stored_blob(&self, id: &BlobId) -> Result<Option<StoredBlob>, StoreError> {
        Ok(match self.blob_meta(id)? {
            Some(meta) => Some(StoredBlob {
                owner: meta.owner,
                kind: meta.kind,
                sealed: self.sealed(id)?,
            }),
            None => None,
        })
    }

    /// Creates the inbox markers and reply receipt of a committed message; repeating it
    /// repairs a commit that was interrupted after the message file was written.
    pub(super) fn deliver(&self, m: &Message) -> Result<(), StoreError> {
        for r in &m.recipients {
            write_new(&self.inbox_dir(r).join(Marker::name(m, r)), b"")?;
        }
        // An answer (not a comment at a moment) responds to the message it replies to.
        if let Some(parent) = m.answers() {
            if let Some(p) = self.stored(parent)? {
                if p.message.recipients.contains(&m.sender) {
                    let path = self
                        .receipt_dir(parent, &m.sender)
                        .join(format!("reply-{}", m.id));
                    write_new(&path, m.sent_at.timestamp_millis().to_string().as_bytes())?;
                }
            }
        }
        Ok(())
    }

    /// Drives the protocol's commit over the folder's files.
    pub(super) fn commit(&self, req: &NewMessage) -> Result<Message, StoreError> {
        let commit = Commit::new(req, &self.me.name)?;
        let existing = |stored: StoredMessage| -> Result<Message, StoreError> {
            commit.retry_of(stored.message.sender.as_str(), &stored.fingerprint)?;
            self.deliver(&stored.message)?;
            Ok(stored.message)
        };
        if let Some(stored) = self.stored(&req.id)? {
            return existing(stored);
        }
        let at = now();
        commit.check(&self.limits, at)?;
        let facts = CommitFacts {
            unknown_recipients: commit
                .recipients()
                .iter()
                .filter(|r| !self.user_path(r).exists())
                .cloned()
                .collect(),
            blobs: commit
                .blobs()
                .into_iter()
                .map(|id| self.stored_blob(id))
                .collect::<Result<_, _>>()?,
            parent: match commit.parent() {
                Some(parent) => self.stored(parent)?.map(|p| p.message),
                None => None,
            },
        };
        let message = commit.resolve(facts, at)?;
        // Blob references first, so recipients can download as soon as they see it.
        for blob in message
            .clip
            .iter()
            .map(|c| &c.id)
            .chain(message.attachments.iter().map(|a| &a.blob.id))
            .chain(message.poster.iter().map(|p| &p.id))
        {
            write_new(
                &self.blob_dir(blob).join("refs").join(message.id.as_str()),
                b"",
            )?;
        }
        let stored = StoredMessage {
            fingerprint: commit.fingerprint().to_string(),
            message,
        };
        if !write_json_new(&self.message_path(&req.id), &stored)? {
            // Another machine committed this id between our check and our write.
            let other = self
                .stored(&req.id)?
                .ok_or_else(|| StoreError::Corrupt("message vanished".into()))?;
            return existing(other);
        }
        self.deliver(&stored.message)?;
        Ok(stored.message)
    }

    pub(super) fn receipt(&self, id: &MessageId, user: &UserName) -> Result<Receipt, StoreError> {
        let dir = self.receipt_dir(id, user);
        let read_ms = |name: &str| -> Option<DateTime<Utc>> {
            let text = std::fs::read_to_string(dir.join(name)).ok()?;
            DateTime::from_timestamp_millis(text.trim().parse().ok()?)
        };
        let (mut delivered, mut viewed, mut done) = (None, None, None);
        let mut first_reply: Option<(DateTime<Utc>, MessageId)> = None;
        for name in list_names(&dir)? {
            match name.as_str() {
                "delivered" => delivered = read_ms(&name),
                "viewed" => viewed = read_ms(&name),
                "done" => done = read_ms(&name),
                other => {
                    let reply = other
                        .strip_prefix("reply-")
                        .and_then(|r| MessageId::parse(r).ok());
                    if let (Some(reply), Some(t)) = (reply, read_ms(&name)) {
                        if first_reply
                            .as_ref()
                            .is_none_or(|first| (t, &reply) < (first.0, &first.1))
                        {
                            first_reply = Some((t, reply));
                        }
                    }
                }
            }
        }
        Ok(Receipt::assemble(
            user.clone(),
            delivered,
            viewed,
            done,
            first_reply,
        ))
    }

    pub(super) fn mark_receipt(
        &self,
        id: &MessageId,
        user: &UserName,
        name: &str,
    ) -> Result<(), StoreError> {
        let stamp = now().timestamp_millis().to_string();
        write_new(&self.receipt_dir(id, user).join(name), stamp.as_bytes())?;
        Ok(())
    }

    pub(super) fn message(&self, id: &MessageId) -> Result<Message, StoreError> {
        let m = self.visible(id)?;
        if access::may_mark(&m, &self.me.name) {
            self.mark_receipt(id, &self.me.name, "delivered")?;
        }
        Ok(m)
    }

    pub(super) fn mark(&self, id: &MessageId, what: &str) -> Result<(), StoreError> {
        let m = self.visible(id)?;
        if !access::may_mark(&m, &self.me.name) {
            return Err(not_found("message"));
        }
        self.mark_receipt(id, &self.me.name, "delivered")?;
        self.mark_receipt(id, &self.me.name, what)
    }

    pub(super) fn message_status(&self, id: &MessageId) -> Result<MessageStatus, StoreError> {
        let m = self.visible(id)?;
        if !access::may_see_status(&m, &self.me.name) {
            return Err(not_found("message"));
        }
        let mut receipts = Vec::new();
        for r in &m.recipients {
            receipts.push(self.receipt(id, r)?);
        }
        receipts.sort_by(|a, b| a.recipient.cmp(&b.recipient));
        Ok(MessageStatus {
            message: id.clone(),
            receipts,
        })
    }
}
