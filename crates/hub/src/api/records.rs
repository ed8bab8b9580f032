//! Records about messages: the idempotent `PUT` of one (a transcript, a reaction, a
//! request for more time and its answer, a nudge, a close) and the list of a message's
//! records. A recipient's ✅ on an "acknowledge only" message is their response, and a
//! granted extension moves the asker's respond-by, each stored with the record. The rules are the protocol's
//! ([`pigeon_protocol::check_new_record`]), driven over the hub's tables.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use pigeon_protocol::{
    access, acknowledges, check_new_record, deadline_moved, record_fingerprint, ApiError,
    NewRecord, Record, RecordFacts, RecordOutcome, StoredRecord, UserName,
};

use super::messages::stored_blob;
use super::{parse_message_id, ApiJson, AuthUser};
use crate::db;
use crate::{Hub, HubError};

pub(super) async fn put_record(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<NewRecord>,
) -> Result<(StatusCode, Json<Record>), HubError> {
    if req.id.as_str() != id {
        return Err(ApiError::invalid(format!(
            "the record id in the address ({id:?}) is not the id in the body ({}): put the record at its own id",
            req.id
        ))
        .into());
    }
    let outcome = commit_record_in_db(&hub.db, &user.name, &req).await?;
    match outcome {
        CommittedRecord::New(seq, record) => {
            hub.notify_new_record(seq);
            hub.metrics.record_committed();
            tracing::info!(record = %record.id, message = %record.message, author = %record.author, "record committed");
            Ok((StatusCode::CREATED, Json(record)))
        }
        CommittedRecord::Existing(record) => Ok((StatusCode::OK, Json(record))),
    }
}

enum CommittedRecord {
    New(i64, Record),
    Existing(Record),
}

/// Drives the protocol's record rules inside one commit transaction (see
/// [`db::Db::begin_commit`]).
async fn commit_record_in_db(
    db: &db::Db,
    author: &UserName,
    req: &NewRecord,
) -> Result<CommittedRecord, HubError> {
    let mut tx = db.begin_commit().await?;
    let message = db::message_by_id(&mut tx, &req.message).await?;
    let message_seq = message.as_ref().map(|m| m.seq);
    let message = message.map(|m| m.message);
    let facts = RecordFacts {
        existing: db::record_by_id(&mut tx, &req.id).await?,
        message: message.clone(),
        blob: match req.body.blob() {
            Some(id) => stored_blob(&mut tx, id).await?,
            None => None,
        },
        records: match message_seq {
            Some(seq) if req.body.needs_records() => db::records_of(&mut tx, seq).await?,
            _ => vec![],
        },
    };
    let earlier = facts.records.clone();
    match check_new_record(req, author, facts, Utc::now())? {
        RecordOutcome::Existing(record) => Ok(CommittedRecord::Existing(record)),
        RecordOutcome::New(record) => {
            let message_seq = message_seq
                .ok_or_else(|| HubError::Internal("a record without its message".into()))?;
            let stored = StoredRecord {
                fingerprint: record_fingerprint(req)?,
                record,
            };
            let seq = db::insert_record(&mut tx, message_seq, &stored).await?;
            // In the same transaction, so the ✅ and the response are stored together.
            if message
                .as_ref()
                .is_some_and(|m| acknowledges(m, &stored.record))
            {
                db::mark_acknowledged(
                    &mut tx,
                    message_seq,
                    &stored.record.author,
                    stored.record.created_at,
                )
                .await?;
            }
            // A granted extension moves the asker's place in their respond-by order.
            if let Some((recipient, respond_by)) = message
                .as_ref()
                .and_then(|m| deadline_moved(m, &earlier, &stored.record))
            {
                db::move_deadline(&mut tx, message_seq, &recipient, respond_by).await?;
            }
            db.announce(&mut tx, db::Change::Record, seq).await?;
            tx.commit().await?;
            Ok(CommittedRecord::New(seq, stored.record))
        }
    }
}

pub(super) async fn message_records(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<Record>>, HubError> {
    let id = parse_message_id(&id)?;
    let mut c = hub.db.conn().await?;
    let m = db::message_by_id(&mut c, &id)
        .await?
        .ok_or_else(|| HubError::not_found("message"))?;
    if !access::may_read(&m.message, &user.name) {
        return Err(HubError::not_found("message"));
    }
    Ok(Json(db::records_of(&mut c, m.seq).await?))
}
