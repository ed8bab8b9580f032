//! Bearer authentication, as one layer over every `/v1` route: the layer resolves the
//! token to a user before any handler runs, and handlers take the [`AuthUser`] it left.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use pigeon_protocol::{ApiError, ErrorCode, User};

use crate::{db, Hub, HubError};

/// The authenticated caller, put in place by [`authenticate`].
#[derive(Clone)]
pub struct AuthUser(pub User);

fn unauthorized() -> HubError {
    HubError::Api(ApiError::new(
        ErrorCode::Unauthorized,
        "send `Authorization: Bearer TOKEN` with a token from `pigeon-hub user add`",
    ))
}

/// The layer before it: refuses a client older than this hub serves, in one sentence
/// naming the release to update to (426), before anything else is checked.
pub(super) async fn speaks_our_protocol(req: Request, next: Next) -> Result<Response, HubError> {
    let header = req
        .headers()
        .get(pigeon_protocol::PROTOCOL_HEADER)
        .map(|v| v.to_str().unwrap_or("?"));
    pigeon_protocol::check_client(header, pigeon_protocol::OLDEST_CLIENT_PROTOCOL)?;
    Ok(next.run(req).await)
}

/// The layer: answers 401 unless the request carries the token of an active user.
pub(super) async fn authenticate(
    State(hub): State<Arc<Hub>>,
    mut req: Request,
    next: Next,
) -> Result<Response, HubError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(unauthorized)?;
    let hash = crate::token_hash(token);
    let user = db::user_by_token(&mut *hub.db.conn().await?, &hash)
        .await?
        .ok_or_else(unauthorized)?;
    req.extensions_mut().insert(AuthUser(user));
    Ok(next.run(req).await)
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = HubError;

    /// The user the layer authenticated; a route outside the layer has none (401).
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, HubError> {
        parts
            .extensions
            .get::<AuthUser>()
            .cloned()
            .ok_or_else(unauthorized)
    }
}
