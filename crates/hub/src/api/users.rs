//! Who is there: the health probe, the caller, the users, the limits.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use pigeon_protocol::User;

use super::AuthUser;
use crate::db::{self};
use crate::{Hub, HubError};

pub(super) async fn healthz(State(hub): State<Arc<Hub>>) -> Result<&'static str, HubError> {
    hub.db.call(|c| db::latest_seq(c)).await?;
    Ok("ok\n")
}

pub(super) async fn me(AuthUser(user): AuthUser) -> Json<User> {
    Json(user)
}

pub(super) async fn users(
    State(hub): State<Arc<Hub>>,
    _user: AuthUser,
) -> Result<Json<Vec<User>>, HubError> {
    let rows = hub.db.call(|c| db::list_users(c, false)).await?;
    Ok(Json(rows.into_iter().map(|r| r.user).collect()))
}

pub(super) async fn limits(
    State(hub): State<Arc<Hub>>,
    _user: AuthUser,
) -> Json<pigeon_protocol::Limits> {
    Json(hub.config.limits.clone())
}
