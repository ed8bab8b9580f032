//! Blobs, their parts, their seals, and who may read them.

use chrono::Utc;
use pigeon_protocol::{BlobId, BlobKind, BlobRef, UserName};
use sqlx::Row;

use crate::HubError;

use super::{int, ms, Conn};

/// A blob's metadata row.
#[derive(Debug, Clone)]
pub struct BlobRow {
    pub id: BlobId,
    pub owner: String,
    pub kind: BlobKind,
    pub content_type: String,
    pub acknowledged: u64,
    pub sealed: Option<(u64, String)>,
    /// The running sha256 of bytes `0..acknowledged`, as `running_hash::save` wrote it.
    pub hash_state: Option<String>,
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

pub async fn create_blob(
    c: &mut Conn,
    id: &BlobId,
    owner: &UserName,
    kind: BlobKind,
    content_type: &str,
) -> Result<(), HubError> {
    sqlx::query(
        "INSERT INTO blobs (id, owner, kind, content_type, created_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.as_str())
    .bind(owner.as_str())
    .bind(kind.as_str())
    .bind(content_type)
    .bind(ms(Utc::now()))
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn blob(c: &mut Conn, id: &BlobId) -> Result<Option<BlobRow>, HubError> {
    let Some(r) = sqlx::query(
        "SELECT owner, kind, content_type, acknowledged, sealed_size, sealed_sha256, hash_state FROM blobs WHERE id = $1",
    )
    .bind(id.as_str())
    .fetch_optional(&mut *c)
    .await?
    else {
        return Ok(None);
    };
    let kind: String = r.try_get(1)?;
    let kind = BlobKind::parse(&kind)
        .ok_or_else(|| HubError::Internal(format!("blob {id} has unknown kind {kind}")))?;
    let size: Option<i64> = r.try_get(4)?;
    let sha: Option<String> = r.try_get(5)?;
    Ok(Some(BlobRow {
        id: id.clone(),
        owner: r.try_get(0)?,
        kind,
        content_type: r.try_get(2)?,
        acknowledged: int(&r, 3)? as u64,
        sealed: size.zip(sha).map(|(s, h)| (s as u64, h)),
        hash_state: r.try_get(6)?,
    }))
}

/// Records a part written at `start`; fails with
/// [`pigeon_protocol::ErrorCode::OffsetMismatch`] when another write got there first
/// (on this hub or another: the offset moves only if it still is `start`).
/// `hash_state` is the running hash of the blob's bytes up to the new offset, when the
/// hub has it. Returns the new acknowledged offset.
pub async fn add_part(
    c: &mut Conn,
    id: &BlobId,
    part: &Part,
    hash_state: Option<&str>,
) -> Result<u64, HubError> {
    let new_ack = part.start + part.length;
    let mut tx = sqlx::Connection::begin(&mut *c).await?;
    let moved = sqlx::query(
        "UPDATE blobs SET acknowledged = $2, hash_state = $4, touched_ms = $5
         WHERE id = $1 AND acknowledged = $3 AND sealed_size IS NULL",
    )
    .bind(id.as_str())
    .bind(new_ack as i64)
    .bind(part.start as i64)
    .bind(hash_state)
    .bind(ms(Utc::now()))
    .execute(&mut *tx)
    .await?;
    if moved.rows_affected() != 1 {
        drop(tx);
        let row = blob(c, id)
            .await?
            .ok_or_else(|| HubError::not_found("blob"))?;
        pigeon_protocol::append::check_start(row.sealed.is_some(), row.acknowledged, part.start)?;
        // It moved on and back between the two reads: the client asks again.
        return Err(pigeon_protocol::append::offset_mismatch(row.acknowledged, part.start).into());
    }
    sqlx::query(
        "INSERT INTO blob_parts (blob_id, start, length, object_key) VALUES ($1, $2, $3, $4)",
    )
    .bind(id.as_str())
    .bind(part.start as i64)
    .bind(part.length as i64)
    .bind(part.object_key.as_str())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(new_ack)
}

pub async fn parts(c: &mut Conn, id: &BlobId) -> Result<Vec<Part>, HubError> {
    sqlx::query(
        "SELECT start, length, object_key FROM blob_parts WHERE blob_id = $1 ORDER BY start",
    )
    .bind(id.as_str())
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(|r| part_from_row(r, 0))
    .collect()
}

/// The part whose `start, length, object_key` begin at column `first` of `r`.
pub(super) fn part_from_row(r: &sqlx::any::AnyRow, first: usize) -> Result<Part, HubError> {
    Ok(Part {
        start: int(r, first)? as u64,
        length: int(r, first + 1)? as u64,
        object_key: r.try_get(first + 2)?,
    })
}

pub async fn seal_blob(c: &mut Conn, id: &BlobId, size: u64, sha256: &str) -> Result<(), HubError> {
    sqlx::query(
        "UPDATE blobs SET sealed_size = $2, sealed_sha256 = $3 WHERE id = $1 AND sealed_size IS NULL",
    )
    .bind(id.as_str())
    .bind(size as i64)
    .bind(sha256)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The blob if `user` may read it (its uploader, or a participant of a message that
/// references it), with the attachment name to offer for download.
pub async fn readable_blob(
    c: &mut Conn,
    id: &BlobId,
    user: &UserName,
) -> Result<Option<(BlobRow, Option<String>)>, HubError> {
    let Some(row) = blob(c, id).await? else {
        return Ok(None);
    };
    let via_message: Option<Option<String>> = sqlx::query(
        "SELECT mb.attachment_name FROM message_blobs mb JOIN messages m ON m.seq = mb.message_seq
         WHERE mb.blob_id = $1 AND (m.sender = $2 OR EXISTS (
             SELECT 1 FROM receipts r WHERE r.message_seq = m.seq AND r.recipient = $2))
         LIMIT 1",
    )
    .bind(id.as_str())
    .bind(user.as_str())
    .fetch_optional(&mut *c)
    .await?
    .map(|r| r.try_get(0))
    .transpose()?;
    let owner = UserName::parse(row.owner.as_str()).map_err(|e| HubError::Internal(e.0))?;
    if !pigeon_protocol::access::may_read_blob(&owner, user, via_message.is_some()) {
        return Ok(None);
    }
    Ok(Some((row, via_message.flatten())))
}
