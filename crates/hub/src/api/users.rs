//! Who is there: the caller, the users, the limits.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use pigeon_protocol::{check_profile_update, Profile, ProfileUpdate};

use super::{ApiJson, AuthUser};
use crate::db::{self};
use crate::{Hub, HubError};

pub(super) async fn me(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
) -> Result<Json<Profile>, HubError> {
    let profile = db::profile(&mut *hub.db.conn().await?, &user.name).await?;
    // The layer found the user a moment ago; revoked since, they get what it found.
    Ok(Json(profile.unwrap_or_else(|| Profile::of(user))))
}

/// `PATCH /v1/me`: the caller's own zone and working hours, checked before anything
/// is stored. The path names nobody, so no one can change another's profile.
pub(super) async fn set_me(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    ApiJson(update): ApiJson<ProfileUpdate>,
) -> Result<Json<Profile>, HubError> {
    check_profile_update(&update)?;
    let profile = db::set_profile(&mut *hub.db.conn().await?, &user.name, &update).await?;
    Ok(Json(profile))
}

/// Every active user with their profile: the people one writes to see when they work.
pub(super) async fn users(
    State(hub): State<Arc<Hub>>,
    _user: AuthUser,
) -> Result<Json<Vec<Profile>>, HubError> {
    Ok(Json(db::list_profiles(&mut *hub.db.conn().await?).await?))
}

pub(super) async fn limits(
    State(hub): State<Arc<Hub>>,
    _user: AuthUser,
) -> Json<pigeon_protocol::Limits> {
    Json(hub.config.limits.clone())
}
