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
    let outcome = hub
        .db
        .call(move |c| commit_blocking(c, &user, &req, &limits))
        .await?;
    match outcome {
        Committed::New(seq, message) => {
            hub.notify_new_message(seq);
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

/// Drives the protocol's commit inside one SQLite transaction.
pub(super) fn commit_blocking(
    c: &mut rusqlite::Connection,
    user: &User,
    req: &NewMessage,
    limits: &pigeon_protocol::Limits,
) -> Result<Committed, HubError> {
    let commit = Commit::new(req, &user.name)?;
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if let Some(existing) = db::message_by_id(&tx, &req.id)? {
        commit.retry_of(&existing.sender, &existing.fingerprint)?;
        return Ok(Committed::Existing(existing.message));
    }
    let now = Utc::now();
    commit.check(limits, now)?;
    let mut unknown_recipients = Vec::new();
    for r in commit.recipients() {
        if !db::active_user_exists(&tx, r)? {
            unknown_recipients.push(r.clone());
        }
    }
    let mut blobs = Vec::new();
    for id in commit.blobs() {
        blobs.push(stored_blob(&tx, id)?);
    }
    let parent = match commit.parent() {
        Some(parent) => db::message_by_id(&tx, parent)?.map(|p| p.message),
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
    let seq = db::insert_message(&tx, &message, commit.fingerprint())?;
    tx.commit()?;
    Ok(Committed::New(seq, message))
}

/// A blob as the protocol's commit rules need to know it.
pub(super) fn stored_blob(
    conn: &rusqlite::Connection,
    id: &BlobId,
) -> Result<Option<StoredBlob>, HubError> {
    match db::blob(conn, id)? {
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
    hub.db
        .call(move |c| {
            let m = db::message_by_id(c, &id)?.ok_or_else(|| HubError::not_found("message"))?;
            if !access::may_read(&m.message, &user) {
                return Err(HubError::not_found("message"));
            }
            if access::may_mark(&m.message, &user) {
                db::mark_delivered(c, &[m.seq], &user)?;
            }
            Ok(m)
        })
        .await
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
    let status = hub
        .db
        .call(move |c| {
            let m = db::message_by_id(c, &id)?.ok_or_else(|| HubError::not_found("message"))?;
            if !access::may_see_status(&m.message, &user.name) {
                return Err(HubError::not_found("message"));
            }
            Ok(MessageStatus {
                message: id,
                receipts: db::receipts(c, m.seq)?,
            })
        })
        .await?;
    Ok(Json(status))
}

pub(super) async fn mark(
    hub: &Hub,
    id: &str,
    user: UserName,
    action: ReceiptAction,
) -> Result<StatusCode, HubError> {
    let id = parse_message_id(id)?;
    let found = hub
        .db
        .call(move |c| db::mark(c, &id, &user, action))
        .await?;
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
