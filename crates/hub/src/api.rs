//! The HTTP API: routes, bearer authentication, JSON and query extraction that answers
//! with Pigeon's error body, and the handlers.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::Utc;
use futures_util::StreamExt;
use pigeon_protocol::commit::{Commit, CommitFacts, StoredBlob};
use pigeon_protocol::range::{self, Wanted};
use pigeon_protocol::seal::{Seal, SealStep};
use pigeon_protocol::{
    access, append, check_new_blob, not_sealed_yet, routes, ApiError, BlobId, BlobStatus,
    ErrorCode, InboxCursor, InboxOrder, InboxPage, Message, MessageId, MessageStatus, NewBlob,
    NewMessage, SealBlob, User, UserName,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tower_http::trace::TraceLayer;

use crate::db::{self, InboxPosition, Part, ReceiptAction};
use crate::{Hub, HubError};

/// Builds the router.
pub fn router(hub: Arc<Hub>) -> Router {
    let json_limit = hub.config.limits.max_json_bytes as usize;
    Router::new()
        .route(routes::HEALTHZ, get(healthz))
        .route(routes::ME, get(me))
        .route(routes::USERS, get(users))
        .route(routes::LIMITS, get(limits))
        .route(routes::BLOBS, post(create_blob))
        .route("/v1/blobs/{id}", get(download))
        .route("/v1/blobs/{id}/status", get(blob_status))
        .route("/v1/blobs/{id}/chunks", put(put_chunk))
        .route("/v1/blobs/{id}/seal", post(seal))
        .route(routes::MESSAGES, post(commit))
        .route("/v1/messages/{id}", get(message))
        .route("/v1/messages/{id}/status", get(message_status))
        .route("/v1/messages/{id}/viewed", post(mark_viewed))
        .route("/v1/messages/{id}/done", post(mark_done))
        .route(routes::INBOX, get(inbox))
        .route(routes::INBOX_WAIT, get(wait_inbox))
        .fallback(|| async { HubError::not_found("route") })
        .layer(DefaultBodyLimit::max(json_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(hub)
}

// ---- extraction ----

/// The authenticated caller.
pub struct AuthUser(pub User);

impl FromRequestParts<Arc<Hub>> for AuthUser {
    type Rejection = HubError;

    async fn from_request_parts(parts: &mut Parts, hub: &Arc<Hub>) -> Result<Self, HubError> {
        let unauthorized = || {
            HubError::Api(ApiError::new(
                ErrorCode::Unauthorized,
                "send `Authorization: Bearer TOKEN` with a token from `pigeon-hub user add`",
            ))
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(unauthorized)?;
        let hash = crate::token_hash(token);
        let user = hub.db.call(move |c| db::user_by_token(c, &hash)).await?;
        user.map(AuthUser).ok_or_else(unauthorized)
    }
}

/// JSON body whose rejections use Pigeon's error body.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<Hub>> for ApiJson<T> {
    type Rejection = HubError;

    async fn from_request(req: Request, state: &Arc<Hub>) -> Result<Self, HubError> {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(
                rejection,
                declared,
                state.config.limits.max_json_bytes,
            )),
        }
    }
}

fn json_rejection(rejection: JsonRejection, declared: Option<u64>, max: u64) -> HubError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::limit("max_json_bytes", max, declared.unwrap_or(max + 1)).into();
    }
    ApiError::invalid(format!(
        "the request body is not the JSON this call expects ({}): fix the request",
        rejection.body_text()
    ))
    .into()
}

/// Query string whose rejections use Pigeon's error body.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = HubError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HubError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e: QueryRejection| {
                ApiError::invalid(format!(
                    "bad query string ({}): fix the request",
                    e.body_text()
                ))
                .into()
            })
    }
}

fn parse_blob_id(text: &str) -> Result<BlobId, HubError> {
    BlobId::parse(text).map_err(|_| HubError::not_found("blob"))
}

fn parse_message_id(text: &str) -> Result<MessageId, HubError> {
    MessageId::parse(text).map_err(|_| HubError::not_found("message"))
}

// ---- simple routes ----

async fn healthz(State(hub): State<Arc<Hub>>) -> Result<&'static str, HubError> {
    hub.db.call(|c| db::latest_seq(c)).await?;
    Ok("ok\n")
}

async fn me(AuthUser(user): AuthUser) -> Json<User> {
    Json(user)
}

async fn users(State(hub): State<Arc<Hub>>, _user: AuthUser) -> Result<Json<Vec<User>>, HubError> {
    let rows = hub.db.call(|c| db::list_users(c, false)).await?;
    Ok(Json(rows.into_iter().map(|r| r.user).collect()))
}

async fn limits(State(hub): State<Arc<Hub>>, _user: AuthUser) -> Json<pigeon_protocol::Limits> {
    Json(hub.config.limits.clone())
}

// ---- blobs ----

async fn create_blob(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    ApiJson(req): ApiJson<NewBlob>,
) -> Result<(StatusCode, Json<BlobStatus>), HubError> {
    check_new_blob(&req)?;
    let id = crate::new_blob_id();
    let (id2, ct) = (id.clone(), req.content_type.clone());
    hub.db
        .call(move |c| db::create_blob(c, &id2, &user.name, req.kind, &ct))
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
async fn owned_blob(hub: &Hub, id: &BlobId, user: &User) -> Result<db::BlobRow, HubError> {
    let id = id.clone();
    let row = hub.db.call(move |c| db::blob(c, &id)).await?;
    match row {
        Some(row) if row.owner == user.name.as_str() => Ok(row),
        _ => Err(HubError::not_found("blob")),
    }
}

fn status_of(row: &db::BlobRow) -> BlobStatus {
    BlobStatus {
        id: row.id.clone(),
        kind: row.kind,
        content_type: row.content_type.clone(),
        acknowledged: row.acknowledged,
        sealed: row.sealed_ref(),
    }
}

async fn blob_status(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<BlobStatus>, HubError> {
    let id = parse_blob_id(&id)?;
    let row = owned_blob(&hub, &id, &user).await?;
    Ok(Json(status_of(&row)))
}

#[derive(Deserialize)]
struct ChunkQuery {
    offset: u64,
}

async fn put_chunk(
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
    let (hash_tx, hash_task) = match hub.take_hasher(&id, q.offset) {
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
    let id2 = id.clone();
    let recorded = hub.db.call(move |c| db::add_part(c, &id2, &part)).await;
    match recorded {
        Ok(ack) => {
            if let Some(h) = hasher {
                hub.put_hasher(&id, ack, h);
            }
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
async fn drain(stream: &mut axum::body::BodyDataStream) {
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

async fn seal(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SealBlob>,
) -> Result<Json<pigeon_protocol::BlobRef>, HubError> {
    let id = parse_blob_id(&id)?;
    let row = owned_blob(&hub, &id, &user).await?;
    let id2 = id.clone();
    let parts = hub.db.call(move |c| db::parts(c, &id2)).await?;
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
    let (id2, sha) = (id.clone(), req.sha256.clone());
    hub.db
        .call(move |c| db::seal_blob(c, &id2, req.size, &sha))
        .await?;
    tracing::info!(blob = %id, size = req.size, "blob sealed");
    let row = owned_blob(&hub, &id, &user).await?;
    row.sealed_ref()
        .map(Json)
        .ok_or_else(|| HubError::Internal("the blob did not stay sealed".into()))
}

/// `filename` for Content-Disposition: ASCII fallback plus RFC 5987 UTF-8 form.
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

async fn download(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, HubError> {
    let id = parse_blob_id(&id)?;
    let (id2, name) = (id.clone(), user.name.clone());
    let found = hub
        .db
        .call(move |c| db::readable_blob(c, &id2, &name))
        .await?;
    let Some((row, attachment_name)) = found else {
        return Err(HubError::not_found("blob"));
    };
    let Some(sealed) = row.sealed_ref() else {
        return Err(not_sealed_yet().into());
    };
    let etag = format!("\"{}\"", sealed.sha256);
    let mut builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable",
        )
        .header(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&sealed.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        );
    if let Some(name) = access::download_name(sealed.kind, attachment_name) {
        if let Ok(v) = HeaderValue::from_str(&content_disposition(&name)) {
            builder = builder.header(header::CONTENT_DISPOSITION, v);
        }
    }
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if inm.is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*")) {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .map_err(|e| HubError::Internal(e.to_string()));
    }
    let size = sealed.size;
    // If-Range with a different validator means "send the whole thing".
    let if_range_ok = headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim() == etag);
    let wanted = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(v) if if_range_ok => range::parse(Some(v), size),
        _ => Wanted::Whole,
    };
    let (status, start, end) = match (wanted, wanted.bounds(size)) {
        (Wanted::Whole, _) => (StatusCode::OK, 0, size),
        (_, Some((a, b))) => {
            builder = builder.header(
                header::CONTENT_RANGE,
                format!("bytes {a}-{}/{size}", b.saturating_sub(1)),
            );
            (StatusCode::PARTIAL_CONTENT, a, b)
        }
        (_, None) => {
            let body = range::unsatisfiable(size);
            return builder
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(&body).unwrap_or_default()))
                .map_err(|e| HubError::Internal(e.to_string()));
        }
    };
    let id2 = id.clone();
    let parts = hub.db.call(move |c| db::parts(c, &id2)).await?;
    let stream = hub.storage.read(parts, start, end);
    builder
        .status(status)
        .header(header::CONTENT_LENGTH, end - start)
        .body(Body::from_stream(stream))
        .map_err(|e| HubError::Internal(e.to_string()))
}

// ---- messages ----

async fn commit(
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

enum Committed {
    New(i64, Message),
    Existing(Message),
}

/// Drives the protocol's commit inside one SQLite transaction.
fn commit_blocking(
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
        blobs.push(match db::blob(&tx, id)? {
            Some(row) => Some(StoredBlob {
                owner: UserName::parse(row.owner.as_str()).map_err(|e| HubError::Internal(e.0))?,
                kind: row.kind,
                sealed: row.sealed_ref(),
            }),
            None => None,
        });
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

/// The message if `user` takes part in it; marks it delivered for a recipient.
async fn visible_message(
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

async fn message(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Message>, HubError> {
    let id = parse_message_id(&id)?;
    Ok(Json(visible_message(&hub, id, user.name).await?.message))
}

async fn message_status(
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

async fn mark(
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

async fn mark_viewed(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, HubError> {
    mark(&hub, &id, user.name, ReceiptAction::Viewed).await
}

async fn mark_done(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, HubError> {
    mark(&hub, &id, user.name, ReceiptAction::Done).await
}

// ---- inbox ----

#[derive(Deserialize)]
struct InboxParams {
    #[serde(default)]
    order: InboxOrder,
    after: Option<String>,
    limit: Option<u64>,
    timeout_ms: Option<u64>,
}

fn bad_cursor() -> HubError {
    pigeon_protocol::bad_cursor().into()
}

fn position(order: InboxOrder, after: Option<&str>) -> Result<InboxPosition, HubError> {
    let num = |s: &str| s.parse::<i64>().map_err(|_| bad_cursor());
    Ok(match (order, after) {
        (InboxOrder::Arrival, None) => InboxPosition::ArrivalAfter(0),
        (InboxOrder::Newest, None) => InboxPosition::NewestBefore(i64::MAX),
        (InboxOrder::RespondBy, None) => InboxPosition::RespondByAfter(i64::MIN, 0),
        (InboxOrder::Arrival, Some(c)) => {
            InboxPosition::ArrivalAfter(num(c.strip_prefix('a').ok_or_else(bad_cursor)?)?)
        }
        (InboxOrder::Newest, Some(c)) => {
            InboxPosition::NewestBefore(num(c.strip_prefix('n').ok_or_else(bad_cursor)?)?)
        }
        (InboxOrder::RespondBy, Some(c)) => {
            let rest = c.strip_prefix('r').ok_or_else(bad_cursor)?;
            let (t, s) = rest.split_once('_').ok_or_else(bad_cursor)?;
            InboxPosition::RespondByAfter(num(t)?, num(s)?)
        }
    })
}

fn cursor_for(order: InboxOrder, row: &db::InboxRow) -> InboxCursor {
    InboxCursor(match order {
        InboxOrder::Arrival => format!("a{}", row.seq),
        InboxOrder::Newest => format!("n{}", row.seq),
        InboxOrder::RespondBy => format!("r{}_{}", row.respond_by_ms, row.seq),
    })
}

async fn inbox_page(
    hub: &Hub,
    user: &UserName,
    order: InboxOrder,
    after: Option<String>,
    limit: Option<u64>,
) -> Result<InboxPage, HubError> {
    if let Some(after) = &after {
        InboxCursor(after.clone()).check()?;
    }
    let pos = position(order, after.as_deref())?;
    let limit = hub.config.limits.page_size(limit);
    let user = user.clone();
    hub.db
        .call(move |c| {
            let mut rows = db::inbox(c, &user, pos, limit + 1)?;
            let more = rows.len() as u64 > limit;
            rows.truncate(limit as usize);
            let undelivered: Vec<i64> = rows
                .iter()
                .filter(|r| r.entry.receipt.delivered_at.is_none())
                .map(|r| r.seq)
                .collect();
            if !undelivered.is_empty() {
                db::mark_delivered(c, &undelivered, &user)?;
                let now = Some(Utc::now());
                for r in rows
                    .iter_mut()
                    .filter(|r| r.entry.receipt.delivered_at.is_none())
                {
                    r.entry.receipt.delivered_at = now;
                }
            }
            let next = rows
                .last()
                .map(|r| cursor_for(order, r))
                .or(after.map(InboxCursor));
            Ok(InboxPage {
                entries: rows.into_iter().map(|r| r.entry).collect(),
                next,
                more,
            })
        })
        .await
}

async fn inbox(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    ApiQuery(p): ApiQuery<InboxParams>,
) -> Result<Json<InboxPage>, HubError> {
    Ok(Json(
        inbox_page(&hub, &user.name, p.order, p.after, p.limit).await?,
    ))
}

async fn wait_inbox(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    ApiQuery(p): ApiQuery<InboxParams>,
) -> Result<Json<InboxPage>, HubError> {
    let max = Duration::from_secs(hub.config.long_poll_max_secs);
    let timeout = Duration::from_millis(p.timeout_ms.unwrap_or(25_000)).min(max);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut new_messages = hub.new_messages.subscribe();
    loop {
        // Subscribed before querying, so a commit between the two is not missed.
        new_messages.borrow_and_update();
        let page = inbox_page(
            &hub,
            &user.name,
            InboxOrder::Arrival,
            p.after.clone(),
            p.limit,
        )
        .await?;
        if !page.entries.is_empty() {
            return Ok(Json(page));
        }
        tokio::select! {
            changed = new_messages.changed() => {
                if changed.is_err() {
                    return Ok(Json(page));
                }
            }
            _ = tokio::time::sleep_until(deadline) => return Ok(Json(page)),
            _ = hub.shutdown.cancelled() => return Ok(Json(page)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_escapes_quotes_and_paths() {
        let v = content_disposition("../\"evil\".pdf");
        assert!(v.starts_with("attachment; filename=\"../_evil_.pdf\""));
        assert!(v.contains("filename*=UTF-8''..%2F%22evil%22.pdf"));
    }
}
