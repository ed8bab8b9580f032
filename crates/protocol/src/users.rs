//! Users of a store.

use serde::{Deserialize, Serialize};

use crate::{fields, ApiError, UserName};

/// A member of the team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: UserName,
    pub display_name: String,
    /// IANA zone the user lives in, for showing times.
    pub time_zone: String,
}

/// Checks every field of a user a store is asked to add.
pub fn check_user(user: &User) -> Result<(), ApiError> {
    fields::display_name(&user.display_name)?;
    fields::time_zone(&user.time_zone).map_err(|e| ApiError::invalid(e.0))
}
