//! Blob uploads: create, status, streamed chunks with a running sha256, and the seal.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use futures_util::StreamExt;
use pigeon_protocol::seal::{Seal, SealStep};
use pigeon_protocol::{
    append, check_new_blob, ApiError, BlobId, BlobStatus, NewBlob, SealBlob, User,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use super::{parse_blob_id, ApiJson, ApiQuery, AuthUser};
use crate::db::{self, Part};
use crate::{Hub, HubError};

pub(super) async fn create_blob(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    ApiJson(req): ApiJson<NewBlob>,
) -> Result<(StatusCode, Json<BlobStatus>), HubError> {
    check_new_blob(&req)?;
    let id = crate::new_blob_id();
    db::create_blob(
        &mut *hub.db.conn().await?,
        &id,
        &user.name,
        req.kind,
        &req.content_type,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(BlobStatus {
            id,
            kind: req.kind,
            content_type: req.content_type,
            acknowledged: 0,
            sealed: None,
        }),
    ))
}

/// The blob row if `user` uploaded it; 404 otherwise.
pub(super) async fn owned_blob(
    hub: &Hub,
    id: &BlobId,
    user: &User,
) -> Result<db::BlobRow, HubError> {
    let row = db::blob(&mut *hub.db.conn().await?, id).await?;
    match row {
        Some(row) if row.owner == user.name.as_str() => Ok(row),
        _ => Err(HubError::not_found("blob")),
    }
}

pub(super) fn status_of(row: &db::BlobRow) -> BlobStatus {
    BlobStatus {
        id: row.id.clone(),
        kind: row.kind,
        content_type: row.content_type.clone(),
        acknowledged: row.acknowledged,
        sealed: row.sealed_ref(),
    }
}

pub(super) async fn blob_status(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<BlobStatus>, HubError> {
    let id = parse_blob_id(&id)?;
    let row = owned_blob(&hub, &id, &user).await?;
    Ok(Json(status_of(&row)))
}

/// Where a chunk goes.
#[derive(Deserialize, IntoParams)]
pub(super) struct ChunkQuery {
    /// The upload's acknowledged size: where these bytes start.
    offset: u64,
}

pub(super) async fn put_chunk(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ChunkQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<BlobStatus>, HubError> {
    let id = parse_blob_id(&id)?;
    let row = owned_blob(&hub, &id, &user).await?;
    append::check_start(row.sealed.is_some(), row.acknowledged, q.offset)?;
    let limits = &hub.config.limits;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut stream = body.into_data_stream();
    if let Some(len) = declared {
        if let Err(err) = append::check_len(limits, row.kind, q.offset, len) {
            drain(&mut stream).await;
            return Err(err.into());
        }
    }

    // Continue the running hash when this chunk extends the bytes hashed so far; hash on
    // the blocking pool so receiving and writing never wait for it.
    // The state is this hub's when it received the previous chunk, else the one stored
    // with the blob (another hub received it).
    let running = hub.take_hasher(&id, q.offset).or_else(|| {
        (row.acknowledged == q.offset)
            .then(|| {
                row.hash_state
                    .as_deref()
                    .and_then(crate::running_hash::restore)
            })
            .flatten()
    });
    let (hash_tx, hash_task) = match running {
        Some(mut h) => {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(16);
            let task = tokio::task::spawn_blocking(move || {
                while let Some(b) = rx.blocking_recv() {
                    h.update(&b);
                }
                h
            });
            (Some(tx), Some(task))
        }
        None => (None, None),
    };
    let key = crate::storage::BlobStorage::part_key(&id, q.offset);
    let mut writer: Option<crate::storage::PartWriter> = None;
    let mut received: u64 = 0;
    while let Some(next) = stream.next().await {
        let chunk = match next {
            Ok(c) => c,
            Err(e) => {
                if let Some(w) = writer.take() {
                    w.abort().await;
                }
                return Err(ApiError::invalid(format!(
                    "the chunk body broke off after {received} bytes ({e}): ask for the blob status and resume"
                ))
                .into());
            }
        };
        received += chunk.len() as u64;
        if let Err(err) = append::check_len(limits, row.kind, q.offset, received) {
            if let Some(w) = writer.take() {
                w.abort().await;
            }
            drain(&mut stream).await;
            return Err(err.into());
        }
        if let Some(tx) = &hash_tx {
            // A closed channel only means the hash is abandoned; seal re-reads then.
            let _ = tx.send(chunk.clone()).await;
        }
        if writer.is_none() {
            writer = Some(hub.storage.start_part(&key).await?);
        }
        if let Some(w) = writer.as_mut() {
            w.write(chunk).await?;
        }
    }
    let Some(writer) = writer else {
        // Empty chunk: nothing to store, report where the blob stands.
        return Ok(Json(status_of(&row)));
    };
    writer.finish().await?;
    drop(hash_tx);
    let hasher = match hash_task {
        Some(task) => task.await.ok(),
        None => None,
    };
    let part = Part {
        start: q.offset,
        length: received,
        object_key: key.clone(),
    };
    let state = hasher.as_ref().map(crate::running_hash::save);
    let recorded = match hub.db.conn().await {
        Ok(mut c) => db::add_part(&mut c, &id, &part, state.as_deref()).await,
        Err(e) => Err(e),
    };
    match recorded {
        Ok(ack) => {
            if let Some(h) = hasher {
                hub.put_hasher(&id, ack, h);
            }
            hub.metrics.uploaded(received);
            tracing::debug!(blob = %id, offset = q.offset, bytes = received, "chunk stored");
            Ok(Json(BlobStatus {
                acknowledged: ack,
                ..status_of(&row)
            }))
        }
        Err(e) => {
            hub.storage.delete(&key).await;
            Err(e)
        }
    }
}

/// Reads and discards the rest of a refused request body (up to a bound), so the
/// client gets to read the error instead of a broken pipe.
pub(super) async fn drain(stream: &mut axum::body::BodyDataStream) {
    const DRAIN_MAX: u64 = 64 * 1024 * 1024;
    let mut drained = 0u64;
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(chunk)) = stream.next().await {
            drained += chunk.len() as u64;
            if drained > DRAIN_MAX {
                break;
            }
        }
    })
    .await;
}

pub(super) async fn seal(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SealBlob>,
) -> Result<Json<pigeon_protocol::BlobRef>, HubError> {
    let id = parse_blob_id(&id)?;
    let row = owned_blob(&hub, &id, &user).await?;
    let parts = db::parts(&mut *hub.db.conn().await?, &id).await?;
    let mut check = Seal::begin(
        &id,
        row.kind,
        &row.content_type,
        row.acknowledged,
        row.sealed_ref(),
        &req,
    );
    loop {
        match check.next_step() {
            SealStep::Hash { size } => {
                let actual = match hub.take_hasher(&id, size) {
                    Some(h) => hex::encode(h.finalize()),
                    None => {
                        // The running hash is gone (a restart, an abandoned upload):
                        // hash the stored bytes.
                        let mut h = Sha256::new();
                        let mut s = hub.storage.read(parts.clone(), 0, size);
                        while let Some(chunk) = s.next().await {
                            h.update(&chunk?);
                        }
                        hex::encode(h.finalize())
                    }
                };
                check.hashed(&actual);
            }
            SealStep::Read { offset, len } => {
                let end = offset.saturating_add(len).min(row.acknowledged);
                let data = hub
                    .storage
                    .read_to_vec(parts.clone(), offset.min(end), end)
                    .await?;
                check.feed(&data);
            }
            SealStep::AlreadySealed(sealed) => return Ok(Json(sealed)),
            SealStep::Refused(e) => return Err(e.into()),
            SealStep::Seal(_) => break,
        }
    }
    db::seal_blob(&mut *hub.db.conn().await?, &id, req.size, &req.sha256).await?;
    tracing::info!(blob = %id, size = req.size, "blob sealed");
    let row = owned_blob(&hub, &id, &user).await?;
    row.sealed_ref()
        .map(Json)
        .ok_or_else(|| HubError::Internal("the blob did not stay sealed".into()))
}
