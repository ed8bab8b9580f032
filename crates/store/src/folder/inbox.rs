//! Inbox markers (`inbox/NAME/SENTMS-RESPONDBYMS-ID`) and inbox pages.

use pigeon_protocol::{
    bad_cursor, InboxCursor, InboxEntry, InboxOrder, InboxPage, InboxQuery, Message, MessageId,
};

use crate::StoreError;

use super::files::*;
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
    pub(super) fn name(m: &Message) -> String {
        format!(
            "{:016}-{:016}-{}",
            m.sent_at.timestamp_millis(),
            m.respond_by.timestamp_millis(),
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

impl Folder {
    pub(super) fn inbox(&self, q: &InboxQuery) -> Result<InboxPage, StoreError> {
        let order = q.order;
        let prefix = cursor_prefix(order);
        let after = match &q.after {
            None => None,
            Some(c) => {
                c.check()?;
                Some(c.0.strip_prefix(prefix).ok_or_else(bad_cursor)?.to_string())
            }
        };
        let mut markers: Vec<(String, Marker)> = list_names(&self.inbox_dir(&self.me.name))?
            .iter()
            .filter_map(|n| Marker::parse(n))
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
        let more = markers.len() > limit;
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
        let next = markers
            .last()
            .map(|(k, _)| InboxCursor(format!("{prefix}{k}")))
            .or_else(|| q.after.clone());
        Ok(InboxPage {
            records: Vec::new(),
            entries,
            next,
            more,
        })
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
