//! What garbage collection finds and removes in the metadata: uploads never sealed,
//! sealed blobs no message or record references, and whether an object is a recorded
//! part. Removal runs inside [`super::Db::begin_commit`], so it cannot interleave with a
//! commit that is about to reference the same blob: either the commit comes first and
//! the blob stays, or the blob goes first and the commit is refused as naming an
//! unknown blob.

use sqlx::Row;

use super::{int, Conn, Part};
use crate::HubError;

/// Why a blob is garbage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Garbage {
    /// Never sealed, and no chunk for the configured age.
    Unsealed,
    /// Sealed, never referenced, older than the configured age.
    Unreferenced,
}

/// A blob that is garbage: its id, its stored bytes and its parts.
#[derive(Debug, Clone)]
pub struct GarbageBlob {
    pub id: String,
    pub why: Garbage,
    pub bytes: u64,
}

/// Up to `limit` blobs that are garbage at `now_ms`, oldest first.
pub async fn find_garbage(
    c: &mut Conn,
    why: Garbage,
    older_than_ms: i64,
    limit: i64,
) -> Result<Vec<GarbageBlob>, HubError> {
    let sql = match why {
        Garbage::Unsealed => {
            "SELECT id, acknowledged FROM blobs
             WHERE sealed_size IS NULL AND COALESCE(touched_ms, created_ms) < $1
             ORDER BY created_ms LIMIT $2"
        }
        Garbage::Unreferenced => {
            "SELECT id, acknowledged FROM blobs b
             WHERE sealed_size IS NOT NULL AND COALESCE(touched_ms, created_ms) < $1
               AND NOT EXISTS (SELECT 1 FROM message_blobs mb WHERE mb.blob_id = b.id)
             ORDER BY created_ms LIMIT $2"
        }
    };
    sqlx::query(sql)
        .bind(older_than_ms)
        .bind(limit)
        .fetch_all(&mut *c)
        .await?
        .iter()
        .map(|r| {
            Ok(GarbageBlob {
                id: r.try_get(0)?,
                why,
                bytes: int(r, 1)? as u64,
            })
        })
        .collect()
}

/// Removes the rows of a blob that is still garbage (checked again here, inside the
/// commit transaction `c` is in) and returns the parts whose objects are to be deleted
/// once it commits; `None` when it stopped being garbage (a commit referenced it, a
/// chunk arrived).
pub async fn remove_garbage(
    c: &mut Conn,
    blob: &GarbageBlob,
    older_than_ms: i64,
) -> Result<Option<Vec<Part>>, HubError> {
    let still = match blob.why {
        Garbage::Unsealed => {
            "SELECT COUNT(*) FROM blobs
             WHERE id = $1 AND sealed_size IS NULL AND COALESCE(touched_ms, created_ms) < $2"
        }
        Garbage::Unreferenced => {
            "SELECT COUNT(*) FROM blobs b
             WHERE id = $1 AND sealed_size IS NOT NULL AND COALESCE(touched_ms, created_ms) < $2
               AND NOT EXISTS (SELECT 1 FROM message_blobs mb WHERE mb.blob_id = b.id)"
        }
    };
    let row = sqlx::query(still)
        .bind(blob.id.as_str())
        .bind(older_than_ms)
        .fetch_one(&mut *c)
        .await?;
    if int(&row, 0)? == 0 {
        return Ok(None);
    }
    let id =
        pigeon_protocol::BlobId::parse(blob.id.as_str()).map_err(|e| HubError::Internal(e.0))?;
    let parts = super::parts(c, &id).await?;
    sqlx::query("DELETE FROM blob_parts WHERE blob_id = $1")
        .bind(blob.id.as_str())
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM blobs WHERE id = $1")
        .bind(blob.id.as_str())
        .execute(&mut *c)
        .await?;
    Ok(Some(parts))
}

/// Whether `object_key` is a part some blob records.
pub async fn is_recorded_part(c: &mut Conn, object_key: &str) -> Result<bool, HubError> {
    let row = sqlx::query("SELECT COUNT(*) FROM blob_parts WHERE object_key = $1")
        .bind(object_key)
        .fetch_one(&mut *c)
        .await?;
    Ok(int(&row, 0)? > 0)
}
