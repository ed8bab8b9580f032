//! Who is there: the health probe, the caller, the users, the limits.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use pigeon_protocol::{check_profile_update, Profile, ProfileUpdate};

use super::{ApiJson, AuthUser};
use crate::db::{self};
use crate::{Hub, HubError};

pub(super) async fn healthz(State(hub): State<Arc<Hub>>) -> Result<&'static str, HubError> {
    hub.db.call(|c| db::latest_seq(c)).await?;
    Ok("ok\n")
}

pub(super) async fn me(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
) -> Result<Json<Profile>, HubError> {
    let name = user.name.clone();
    let profile = hub.db.call(move |c| db::profile(c, &name)).await?;
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
    let profile = hub
        .db
        .call(move |c| db::set_profile(c, &user.name, &update))
        .await?;
    Ok(Json(profile))
}

/// Every active user with their profile: the people one writes to see when they work.
pub(super) async fn users(
    State(hub): State<Arc<Hub>>,
    _user: AuthUser,
) -> Result<Json<Vec<Profile>>, HubError> {
    Ok(Json(hub.db.call(|c| db::list_profiles(c)).await?))
}

pub(super) async fn limits(
    State(hub): State<Arc<Hub>>,
    _user: AuthUser,
) -> Json<pigeon_protocol::Limits> {
    Json(hub.config.limits.clone())
}
