//! Messages: the idempotent commit, reading, the sender's status, receipts.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use pigeon_protocol::commit::{Commit, CommitFacts, StoredBlob};
use pigeon_protocol::{
    access, BlobId, Message, MessageId, MessageStatus, NewMessage, User, UserName,
};

use super::{parse_message_id, ApiJson, AuthUser};
use crate::db::{self, ReceiptAction};
use crate::{Hub, HubError};

pub(super) async fn commit(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    ApiJson(req): ApiJson<NewMessage>,
) -> Result<(StatusCode, Json<Message>), HubError> {
    let limits = hub.config.limits.clone();
    let outcome = commit_in_db(&hub.db, &user, &req, &limits).await?;
    match outcome {
        Committed::New(seq, message) => {
            hub.notify_new_message(seq);
            hub.metrics.message_committed();
            tracing::info!(message = %message.id, sender = %message.sender, recipients = message.recipients.len(), "message committed");
            Ok((StatusCode::CREATED, Json(message)))
        }
        Committed::Existing(message) => Ok((StatusCode::OK, Json(message))),
    }
}

pub(super) enum Committed {
    New(i64, Message),
    Existing(Message),
}

/// Drives the protocol's commit inside one commit transaction (see
/// [`db::Db::begin_commit`]): a retry that lands on another hub at the same moment waits
/// and finds this one's message.
pub(super) async fn commit_in_db(
    db: &db::Db,
    user: &User,
    req: &NewMessage,
    limits: &pigeon_protocol::Limits,
) -> Result<Committed, HubError> {
    let commit = Commit::new(req, &user.name)?;
    let mut tx = db.begin_commit().await?;
    if let Some(existing) = db::message_by_id(&mut tx, &req.id).await? {
        commit.retry_of(&existing.sender, &existing.fingerprint)?;
        return Ok(Committed::Existing(existing.message));
    }
    let now = Utc::now();
    commit.check(limits, now)?;
    let mut unknown_recipients = Vec::new();
    for r in commit.recipients() {
        if !db::active_user_exists(&mut tx, r).await? {
            unknown_recipients.push(r.clone());
        }
    }
    let mut blobs = Vec::new();
    for id in commit.blobs() {
        blobs.push(stored_blob(&mut tx, id).await?);
    }
    let parent = match commit.parent() {
        Some(parent) => db::message_by_id(&mut tx, parent).await?.map(|p| p.message),
        None => None,
    };
    let message = commit.resolve(
        CommitFacts {
            unknown_recipients,
            blobs,
            parent,
        },
        now,
    )?;
    let seq = db::insert_message(&mut tx, &message, commit.fingerprint()).await?;
    db.announce(&mut tx, db::Change::Message, seq).await?;
    tx.commit().await?;
    Ok(Committed::New(seq, message))
}

/// A blob as the protocol's commit rules need to know it.
pub(super) async fn stored_blob(
    c: &mut db::Conn,
    id: &BlobId,
) -> Result<Option<StoredBlob>, HubError> {
    match db::blob(c, id).await? {
        Some(row) => Ok(Some(StoredBlob {
            owner: UserName::parse(row.owner.as_str()).map_err(|e| HubError::Internal(e.0))?,
            kind: row.kind,
            sealed: row.sealed_ref(),
        })),
        None => Ok(None),
    }
}

/// The message if `user` takes part in it; marks it delivered for a recipient.
pub(super) async fn visible_message(
    hub: &Hub,
    id: MessageId,
    user: UserName,
) -> Result<db::StoredMessage, HubError> {
    let mut c = hub.db.conn().await?;
    let m = db::message_by_id(&mut c, &id)
        .await?
        .ok_or_else(|| HubError::not_found("message"))?;
    if !access::may_read(&m.message, &user) {
        return Err(HubError::not_found("message"));
    }
    if access::may_mark(&m.message, &user) {
        db::mark_delivered(&mut c, &[m.seq], &user).await?;
    }
    Ok(m)
}

pub(super) async fn message(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Message>, HubError> {
    let id = parse_message_id(&id)?;
    Ok(Json(visible_message(&hub, id, user.name).await?.message))
}

pub(super) async fn message_status(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<MessageStatus>, HubError> {
    let id = parse_message_id(&id)?;
    let mut c = hub.db.conn().await?;
    let m = db::message_by_id(&mut c, &id)
        .await?
        .ok_or_else(|| HubError::not_found("message"))?;
    if !access::may_see_status(&m.message, &user.name) {
        return Err(HubError::not_found("message"));
    }
    Ok(Json(MessageStatus {
        message: id,
        receipts: db::receipts(&mut c, m.seq).await?,
    }))
}

pub(super) async fn mark(
    hub: &Hub,
    id: &str,
    user: UserName,
    action: ReceiptAction,
) -> Result<StatusCode, HubError> {
    let id = parse_message_id(id)?;
    let found = db::mark(&mut *hub.db.conn().await?, &id, &user, action).await?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(HubError::not_found("message"))
    }
}

pub(super) async fn mark_viewed(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, HubError> {
    mark(&hub, &id, user.name, ReceiptAction::Viewed).await
}

pub(super) async fn mark_done(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, HubError> {
    mark(&hub, &id, user.name, ReceiptAction::Done).await
}
