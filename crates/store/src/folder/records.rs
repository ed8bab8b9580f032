//! Records about messages in the folder: `records/ID.json` is created once (the commit
//! and its idempotency), `records-of/MESSAGE/` lists a message's records and
//! `record-inbox/NAME/` each participant's (recipients and sender), both as empty
//! markers named
//! `CREATEDMS-ID` so they sort by when the record was made.

use pigeon_protocol::{
    acknowledges, check_new_record, deadline_moved, effective_deadline, record_fingerprint, Record,
    RecordFacts, RecordId, RecordOutcome, StoredRecord,
};
use pigeon_protocol::{MessageId, NewRecord};

use crate::StoreError;

use super::files::*;
use super::Folder;

/// One record marker's parsed name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RecordMarker {
    /// The name itself: the sortable position of the record.
    pub(super) key: String,
    pub(super) id: RecordId,
}

impl RecordMarker {
    pub(super) fn parse(name: &str) -> Option<Self> {
        let (ms, id) = name.split_once('-')?;
        if ms.len() != 16 || !ms.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Self {
            key: name.to_string(),
            id: RecordId::parse(id).ok()?,
        })
    }
    pub(super) fn name(r: &Record) -> String {
        format!("{:016}-{}", r.created_at.timestamp_millis().max(0), r.id)
    }
}

impl Folder {
    fn record_path(&self, id: &RecordId) -> std::path::PathBuf {
        self.root.join("records").join(format!("{id}.json"))
    }
    fn records_of_dir(&self, message: &MessageId) -> std::path::PathBuf {
        self.root.join("records-of").join(message.as_str())
    }
    pub(super) fn record_inbox_dir(&self, user: &pigeon_protocol::UserName) -> std::path::PathBuf {
        self.root.join("record-inbox").join(user.as_str())
    }

    pub(super) fn stored_record(&self, id: &RecordId) -> Result<Option<StoredRecord>, StoreError> {
        read_json(&self.record_path(id))
    }

    /// Drives the protocol's record rules over the folder's files.
    pub(super) fn commit_record(&self, req: &NewRecord) -> Result<Record, StoreError> {
        let facts = RecordFacts {
            existing: self.stored_record(&req.id)?,
            message: self.stored(&req.message)?.map(|s| s.message),
            blob: match req.body.blob() {
                Some(id) => self.stored_blob(id)?,
                None => None,
            },
            records: if req.body.needs_records() {
                self.records(&req.message)?
            } else {
                vec![]
            },
        };
        let earlier = facts.records.clone();
        let message = facts.message.clone();
        let record = match check_new_record(req, &self.me.name, facts, now())? {
            RecordOutcome::Existing(record) => record,
            RecordOutcome::New(record) => {
                // The blob's reference first, so a recipient who sees the record can
                // download what it names.
                if let Some(blob) = record.body.blob() {
                    write_new(
                        &self
                            .blob_dir(&blob.id)
                            .join("refs")
                            .join(record.message.as_str()),
                        b"",
                    )?;
                }
                let stored = StoredRecord {
                    fingerprint: record_fingerprint(req)?,
                    record,
                };
                if write_json_new(&self.record_path(&req.id), &stored)? {
                    stored.record
                } else {
                    // Another machine committed this id between our read and our write:
                    // decide again against what it stored.
                    let facts = RecordFacts {
                        existing: self.stored_record(&req.id)?,
                        ..RecordFacts::default()
                    };
                    match check_new_record(req, &self.me.name, facts, now())? {
                        RecordOutcome::Existing(r) | RecordOutcome::New(r) => r,
                    }
                }
            }
        };
        self.deliver_record(&record)?;
        // A granted extension moves the asker's place in their respond-by order.
        if let Some(m) = &message {
            if let Some((recipient, to)) = deadline_moved(m, &earlier, &record) {
                let from = effective_deadline(m, &earlier, &recipient).unwrap_or(m.respond_by);
                // Equal when a retry finds the grant among the earlier records already.
                if from != to {
                    self.move_marker(m, &recipient, from, to)?;
                }
            }
        }
        Ok(record)
    }

    /// Creates the markers that list a committed record, for the message's recipients
    /// and its sender, and a recipient's acknowledgement ([`acknowledges`]) as their
    /// "done"; repeating it repairs a commit that was interrupted after the record file
    /// was written.
    fn deliver_record(&self, record: &Record) -> Result<(), StoreError> {
        let marker = RecordMarker::name(record);
        write_new(&self.records_of_dir(&record.message).join(&marker), b"")?;
        if let Some(m) = self.stored(&record.message)? {
            let m = m.message;
            for r in m.recipients.iter().chain(std::iter::once(&m.sender)) {
                write_new(&self.record_inbox_dir(r).join(&marker), b"")?;
            }
            if acknowledges(&m, record) {
                // Created once: an earlier "done" stays, and a reply before it counts first.
                let stamp = record.created_at.timestamp_millis().to_string();
                let dir = self.receipt_dir(&m.id, &record.author);
                write_new(&dir.join("delivered"), stamp.as_bytes())?;
                write_new(&dir.join("done"), stamp.as_bytes())?;
            }
        }
        Ok(())
    }

    /// The records of a message the caller may see, oldest first.
    pub(super) fn records(&self, message: &MessageId) -> Result<Vec<Record>, StoreError> {
        self.visible(message)?;
        let mut markers: Vec<RecordMarker> = list_names(&self.records_of_dir(message))?
            .iter()
            .filter_map(|n| RecordMarker::parse(n))
            .collect();
        markers.sort_by(|a, b| a.key.cmp(&b.key));
        let mut out = Vec::with_capacity(markers.len());
        for marker in markers {
            // A marker whose record file has not synced to this machine yet is skipped.
            if let Some(stored) = self.stored_record(&marker.id)? {
                if &stored.record.message == message {
                    out.push(stored.record);
                }
            }
        }
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_markers_sort_by_time_and_refuse_strangers() {
        let m = RecordMarker::parse("0000001700000000-record-0000000001").unwrap();
        assert_eq!(m.id.as_str(), "record-0000000001");
        assert!(RecordMarker::parse("17-record-0000000001").is_none());
        assert!(RecordMarker::parse("../../x").is_none());
        assert!(RecordMarker::parse(".tmp-abc").is_none());
    }
}
