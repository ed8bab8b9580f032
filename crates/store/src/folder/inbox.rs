//! Inbox markers (`inbox/NAME/SENTMS-RESPONDBYMS-ID`) and inbox pages. An arrival
//! cursor is `a` + the last message's key, then `.r` + the last record marker's name
//! once records were handed out (a cursor without it, as older versions made, starts
//! the records from the beginning).

use chrono::{DateTime, Utc};
use pigeon_protocol::{
    bad_cursor, InboxCursor, InboxEntry, InboxOrder, InboxPage, InboxQuery, Message, MessageId,
    Record, UserName,
};

use crate::StoreError;

use super::files::*;
use super::records::RecordMarker;
use super::Folder;

/// One inbox marker's parsed name.
#[derive(Debug, Clone)]
pub(super) struct Marker {
    pub(super) sent_ms: i64,
    pub(super) respond_ms: i64,
    pub(super) id: MessageId,
}

impl Marker {
    pub(super) fn parse(name: &str) -> Option<Self> {
        let mut it = name.splitn(3, '-');
        let sent_ms = it.next()?.parse().ok()?;
        let respond_ms = it.next()?.parse().ok()?;
        let id = MessageId::parse(it.next()?).ok()?;
        Some(Self {
            sent_ms,
            respond_ms,
            id,
        })
    }
    pub(super) fn from_message(m: &Message) -> Self {
        Self {
            sent_ms: m.sent_at.timestamp_millis(),
            respond_ms: m.respond_by.timestamp_millis(),
            id: m.id.clone(),
        }
    }
    /// The marker of `m` in `recipient`'s inbox: placed by the deadline the message gave them.
    pub(super) fn name(m: &Message, recipient: &UserName) -> String {
        Self::name_due(m, m.deadline_of(recipient).unwrap_or(m.respond_by))
    }
    /// The marker of `m` for a recipient whose deadline is `due` (a granted extension
    /// moves it: [`Folder::move_marker`]).
    pub(super) fn name_due(m: &Message, due: DateTime<Utc>) -> String {
        format!(
            "{:016}-{:016}-{}",
            m.sent_at.timestamp_millis(),
            due.timestamp_millis(),
            m.id
        )
    }
    /// The sortable key of this marker in `order`, also the cursor text after its prefix.
    pub(super) fn key(&self, order: InboxOrder) -> String {
        match order {
            InboxOrder::Arrival | InboxOrder::Newest => format!("{:016}-{}", self.sent_ms, self.id),
            InboxOrder::RespondBy => {
                format!("{:016}-{:016}-{}", self.respond_ms, self.sent_ms, self.id)
            }
        }
    }
}

fn cursor_prefix(order: InboxOrder) -> char {
    match order {
        InboxOrder::Arrival => 'a',
        InboxOrder::Newest => 'n',
        InboxOrder::RespondBy => 'r',
    }
}

/// Where an arrival cursor stands: after this message key and this record marker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Position {
    message: Option<String>,
    record: Option<String>,
}

impl Position {
    fn parse(order: InboxOrder, cursor: Option<&InboxCursor>) -> Result<Self, StoreError> {
        let Some(c) = cursor else {
            return Ok(Self::default());
        };
        c.check()?;
        let rest =
            c.0.strip_prefix(cursor_prefix(order))
                .ok_or_else(bad_cursor)?;
        let (message, record) = match rest.split_once(".r") {
            Some((m, r)) if order == InboxOrder::Arrival => {
                RecordMarker::parse(r).ok_or_else(bad_cursor)?;
                (m, Some(r.to_string()))
            }
            _ => (rest, None),
        };
        Ok(Self {
            message: (!message.is_empty()).then(|| message.to_string()),
            record,
        })
    }

    fn cursor(&self, order: InboxOrder) -> InboxCursor {
        let mut text = format!(
            "{}{}",
            cursor_prefix(order),
            self.message.as_deref().unwrap_or("")
        );
        if let Some(r) = &self.record {
            text.push_str(".r");
            text.push_str(r);
        }
        InboxCursor(text)
    }
}

impl Folder {
    /// Moves `m`'s marker in `recipient`'s inbox from deadline `from` to `to`. The new
    /// marker is written first, so an interrupted move leaves the message listed twice
    /// (the inbox keeps the later one) rather than not at all.
    pub(super) fn move_marker(
        &self,
        m: &Message,
        recipient: &UserName,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let dir = self.inbox_dir(recipient);
        write_new(&dir.join(Marker::name_due(m, to)), b"")?;
        let old = dir.join(Marker::name_due(m, from));
        match std::fs::remove_file(&old) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&old)(e)),
            _ => Ok(()),
        }
    }

    pub(super) fn inbox(&self, q: &InboxQuery) -> Result<InboxPage, StoreError> {
        let order = q.order;
        let start = Position::parse(order, q.after.as_ref())?;
        let after = start.message.clone();
        let mut markers: Vec<(String, Marker)> = list_names(&self.inbox_dir(&self.me.name))?
            .iter()
            .filter_map(|n| Marker::parse(n))
            .fold(
                std::collections::HashMap::<MessageId, Marker>::new(),
                |mut latest, m| {
                    match latest.get(&m.id) {
                        Some(seen) if seen.respond_ms >= m.respond_ms => {}
                        _ => {
                            latest.insert(m.id.clone(), m);
                        }
                    }
                    latest
                },
            )
            .into_values()
            .map(|m| (m.key(order), m))
            .filter(|(k, _)| match (&after, order) {
                (None, _) => true,
                (Some(a), InboxOrder::Newest) => k < a,
                (Some(a), _) => k > a,
            })
            .collect();
        markers.sort_by(|a, b| a.0.cmp(&b.0));
        if order == InboxOrder::Newest {
            markers.reverse();
        }
        let limit = self.limits.page_size(Some(u64::from(q.limit))) as usize;
        let mut more = markers.len() > limit;
        markers.truncate(limit);
        let mut entries = Vec::new();
        for (_, marker) in &markers {
            let Some(stored) = self.stored(&marker.id)? else {
                // The message file has not synced to this machine yet.
                continue;
            };
            let mut receipt = self.receipt(&marker.id, &self.me.name)?;
            if receipt.delivered_at.is_none() {
                self.mark_receipt(&marker.id, &self.me.name, "delivered")?;
                receipt.delivered_at = Some(now());
            }
            entries.push(InboxEntry {
                message: stored.message,
                receipt,
            });
        }
        let mut end = Position {
            message: markers.last().map(|(k, _)| k.clone()).or(after),
            record: start.record.clone(),
        };
        let mut records = Vec::new();
        if order == InboxOrder::Arrival {
            let (found, records_more) = self.new_records(&end, limit)?;
            if let Some(last) = found.last() {
                end.record = Some(RecordMarker::name(last));
            }
            records = found;
            more |= records_more;
        }
        let next = if end == start {
            q.after.clone()
        } else {
            Some(end.cursor(order))
        };
        Ok(InboxPage {
            records,
            entries,
            next,
            more,
        })
    }

    /// Up to `limit` records after `at.record` about messages the reader received or
    /// sent, in marker order, stopping before one about a received message this page's
    /// cursor has not passed yet (or whose files have not synced here), so no record
    /// comes before its message and none is skipped. True when more remain.
    fn new_records(&self, at: &Position, limit: usize) -> Result<(Vec<Record>, bool), StoreError> {
        let mut markers: Vec<RecordMarker> = list_names(&self.record_inbox_dir(&self.me.name))?
            .iter()
            .filter_map(|n| RecordMarker::parse(n))
            .filter(|m| at.record.as_ref().is_none_or(|r| &m.key > r))
            .collect();
        markers.sort_by(|a, b| a.key.cmp(&b.key));
        let mut out = Vec::new();
        for marker in &markers {
            if out.len() == limit {
                return Ok((out, true));
            }
            let Some(stored) = self.stored_record(&marker.id)? else {
                return Ok((out, true));
            };
            let Some(message) = self.stored(&stored.record.message)? else {
                return Ok((out, true));
            };
            // A message the reader only sent is theirs already: its records need not wait.
            let received = message.message.recipients.contains(&self.me.name);
            let key = Marker::from_message(&message.message).key(InboxOrder::Arrival);
            if received && at.message.as_ref().is_none_or(|m| &key > m) {
                return Ok((out, true));
            }
            out.push(stored.record);
        }
        Ok((out, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_sort_by_arrival_and_respond_by() {
        let m = Marker::parse("0000001700000000-0000001800000000-0123456789abcdef").unwrap();
        assert_eq!(
            m.key(InboxOrder::Arrival),
            "0000001700000000-0123456789abcdef"
        );
        assert!(m
            .key(InboxOrder::RespondBy)
            .starts_with("0000001800000000-"));
        assert!(Marker::parse("../../x").is_none());
    }
}
