//! Users of a store.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::hours::{check_working_hours, WorkingHours};
use crate::{fields, ApiError, UserName};

/// A member of the team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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

/// A user as the people they work with see them: the [`User`] and, when they gave
/// them, their working hours. The JSON is the user's own fields plus `working_hours`
/// (left out when absent), so a client that reads a `User` from it still can.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Profile {
    #[serde(flatten)]
    pub user: User,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_hours: Option<WorkingHours>,
}

impl Profile {
    /// A profile without working hours.
    pub fn of(user: User) -> Self {
        Profile {
            user,
            working_hours: None,
        }
    }

    /// The profile after `update` (checked with [`check_profile_update`] first).
    pub fn updated(mut self, update: &ProfileUpdate) -> Self {
        self.user.time_zone = update.time_zone.clone();
        self.working_hours = update.working_hours.clone();
        self
    }
}

/// What a user may change of their own profile (`PATCH /v1/me`): the time zone and
/// the working hours, both replaced; absent working hours clear them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "time_zone": "Asia/Tokyo",
    "working_hours": {"time_zone": "Asia/Tokyo", "days": ["mon", "tue", "wed", "thu", "fri"], "spans": [{"start": "09:00", "end": "17:30"}]}
}))]
pub struct ProfileUpdate {
    pub time_zone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_hours: Option<WorkingHours>,
}

/// Checks a profile change a store is asked to keep: a real zone, working hours that
/// pass [`check_working_hours`] and are in that same zone.
pub fn check_profile_update(update: &ProfileUpdate) -> Result<(), ApiError> {
    fields::time_zone(&update.time_zone)
        .map_err(|e| ApiError::invalid(format!("time_zone: {}", e.0)))?;
    if let Some(hours) = &update.working_hours {
        check_working_hours(hours)?;
        if hours.time_zone != update.time_zone {
            return Err(ApiError::invalid(format!(
                "working_hours.time_zone is {} but time_zone is {}: give the one zone you work in for both",
                hours.time_zone, update.time_zone
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hours::{DailySpan, Day};

    fn update(tz: &str, hours_tz: Option<&str>) -> ProfileUpdate {
        ProfileUpdate {
            time_zone: tz.into(),
            working_hours: hours_tz.map(|z| {
                WorkingHours::new(
                    z,
                    Day::parse_set("mon-fri").unwrap(),
                    DailySpan::parse_list("10:00-18:00").unwrap(),
                    vec![],
                )
            }),
        }
    }

    #[test]
    fn profile_json_is_a_user_plus_optional_hours() {
        let user = User {
            name: UserName::parse("yuki").unwrap(),
            display_name: "Yuki".into(),
            time_zone: "UTC".into(),
        };
        let plain = Profile::of(user.clone());
        let json = serde_json::to_string(&plain).unwrap();
        assert_eq!(json, serde_json::to_string(&user).unwrap());
        let tokyo = update("Asia/Tokyo", Some("Asia/Tokyo"));
        let set = plain.updated(&tokyo);
        assert_eq!(set.user.time_zone, "Asia/Tokyo");
        let json = serde_json::to_string(&set).unwrap();
        assert!(json.contains("\"working_hours\""));
        // An older client reads the user from it; a newer one the whole profile.
        let older: User = serde_json::from_str(&json).unwrap();
        assert_eq!(older.time_zone, "Asia/Tokyo");
        assert_eq!(serde_json::from_str::<Profile>(&json).unwrap(), set);
    }

    #[test]
    fn profile_updates_are_checked() {
        check_profile_update(&update("Asia/Tokyo", Some("Asia/Tokyo"))).unwrap();
        check_profile_update(&update("Asia/Tokyo", None)).unwrap();
        let bad_zone = check_profile_update(&update("Asia/Edo", None)).unwrap_err();
        assert!(
            bad_zone.message.starts_with("time_zone:"),
            "{}",
            bad_zone.message
        );
        let mismatch =
            check_profile_update(&update("Asia/Tokyo", Some("Europe/Berlin"))).unwrap_err();
        assert!(
            mismatch.message.contains("one zone"),
            "{}",
            mismatch.message
        );
    }
}
