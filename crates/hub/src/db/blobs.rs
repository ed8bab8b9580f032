//! Blobs, their parts, their seals, and who may read them.

use chrono::Utc;
use pigeon_protocol::{BlobId, BlobKind, BlobRef, UserName};
use rusqlite::{params, Connection, OptionalExtension};

use crate::HubError;

use super::ms;

/// A blob's metadata row.
#[derive(Debug, Clone)]
pub struct BlobRow {
    pub id: BlobId,
    pub owner: String,
    pub kind: BlobKind,
    pub content_type: String,
    pub acknowledged: u64,
    pub sealed: Option<(u64, String)>,
}

impl BlobRow {
    /// The sealed reference, when sealed.
    pub fn sealed_ref(&self) -> Option<BlobRef> {
        self.sealed.as_ref().map(|(size, sha)| BlobRef {
            id: self.id.clone(),
            kind: self.kind,
            size: *size,
            sha256: sha.clone(),
            content_type: self.content_type.clone(),
        })
    }
}

/// One stored piece of a blob: bytes `start..start+length` live in `object_key`.
#[derive(Debug, Clone)]
pub struct Part {
    pub start: u64,
    pub length: u64,
    pub object_key: String,
}

pub fn create_blob(
    conn: &Connection,
    id: &BlobId,
    owner: &UserName,
    kind: BlobKind,
    content_type: &str,
) -> Result<(), HubError> {
    conn.execute(
        "INSERT INTO blobs (id, owner, kind, content_type, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id.as_str(),
            owner.as_str(),
            kind.as_str(),
            content_type,
            ms(Utc::now())
        ],
    )?;
    Ok(())
}

pub fn blob(conn: &Connection, id: &BlobId) -> Result<Option<BlobRow>, HubError> {
    let row = conn
        .query_row(
            "SELECT owner, kind, content_type, acknowledged, sealed_size, sealed_sha256 FROM blobs WHERE id = ?1",
            [id.as_str()],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((owner, kind, content_type, ack, size, sha)) = row else {
        return Ok(None);
    };
    let kind = BlobKind::parse(&kind)
        .ok_or_else(|| HubError::Internal(format!("blob {id} has unknown kind {kind}")))?;
    Ok(Some(BlobRow {
        id: id.clone(),
        owner,
        kind,
        content_type,
        acknowledged: ack as u64,
        sealed: size.zip(sha).map(|(s, h)| (s as u64, h)),
    }))
}

/// Records a part written at `start`; fails with
/// [`pigeon_protocol::ErrorCode::OffsetMismatch`] when another write got there first.
/// Returns the new acknowledged offset.
pub fn add_part(conn: &mut Connection, id: &BlobId, part: &Part) -> Result<u64, HubError> {
    let tx = conn.transaction()?;
    let (ack, sealed): (i64, Option<i64>) = tx.query_row(
        "SELECT acknowledged, sealed_size FROM blobs WHERE id = ?1",
        [id.as_str()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    // Checked again inside the transaction: another request may have moved on.
    pigeon_protocol::append::check_start(sealed.is_some(), ack as u64, part.start)?;
    tx.execute(
        "INSERT INTO blob_parts (blob_id, start, length, object_key) VALUES (?1, ?2, ?3, ?4)",
        params![
            id.as_str(),
            part.start as i64,
            part.length as i64,
            part.object_key
        ],
    )?;
    let new_ack = part.start + part.length;
    tx.execute(
        "UPDATE blobs SET acknowledged = ?2 WHERE id = ?1",
        params![id.as_str(), new_ack as i64],
    )?;
    tx.commit()?;
    Ok(new_ack)
}

pub fn parts(conn: &Connection, id: &BlobId) -> Result<Vec<Part>, HubError> {
    let mut stmt = conn.prepare(
        "SELECT start, length, object_key FROM blob_parts WHERE blob_id = ?1 ORDER BY start",
    )?;
    let rows = stmt.query_map([id.as_str()], |r| {
        Ok(Part {
            start: r.get::<_, i64>(0)? as u64,
            length: r.get::<_, i64>(1)? as u64,
            object_key: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn seal_blob(conn: &Connection, id: &BlobId, size: u64, sha256: &str) -> Result<(), HubError> {
    conn.execute(
        "UPDATE blobs SET sealed_size = ?2, sealed_sha256 = ?3 WHERE id = ?1 AND sealed_size IS NULL",
        params![id.as_str(), size as i64, sha256],
    )?;
    Ok(())
}

/// The blob if `user` may read it (its uploader, or a participant of a message that
/// references it), with the attachment name to offer for download.
pub fn readable_blob(
    conn: &Connection,
    id: &BlobId,
    user: &UserName,
) -> Result<Option<(BlobRow, Option<String>)>, HubError> {
    let Some(row) = blob(conn, id)? else {
        return Ok(None);
    };
    let via_message: Option<Option<String>> = conn
        .query_row(
            "SELECT mb.attachment_name FROM message_blobs mb JOIN messages m ON m.seq = mb.message_seq
             WHERE mb.blob_id = ?1 AND (m.sender = ?2 OR EXISTS (
                 SELECT 1 FROM receipts r WHERE r.message_seq = m.seq AND r.recipient = ?2))
             LIMIT 1",
            params![id.as_str(), user.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    let owner = UserName::parse(row.owner.as_str()).map_err(|e| HubError::Internal(e.0))?;
    if !pigeon_protocol::access::may_read_blob(&owner, user, via_message.is_some()) {
        return Ok(None);
    }
    Ok(Some((row, via_message.flatten())))
}
