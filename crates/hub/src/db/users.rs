//! Users and their token hashes.

use chrono::{DateTime, Utc};
use pigeon_protocol::hours::WorkingHours;
use pigeon_protocol::{ApiError, ErrorCode, Profile, ProfileUpdate, User, UserName};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::HubError;

use super::{from_ms, int, ms, Conn};

/// A user row as the CLI lists it.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub user: User,
    pub created: DateTime<Utc>,
    pub revoked: Option<DateTime<Utc>>,
}

pub async fn add_user(c: &mut Conn, user: &User, token_sha256: &str) -> Result<(), HubError> {
    let exists = sqlx::query("SELECT COUNT(*) FROM users WHERE name = $1")
        .bind(user.name.as_str())
        .fetch_one(&mut *c)
        .await?;
    if int(&exists, 0)? > 0 {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("user {} already exists: pick another name", user.name),
        )
        .into());
    }
    sqlx::query(
        "INSERT INTO users (name, display_name, time_zone, token_sha256, created_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user.name.as_str())
    .bind(user.display_name.as_str())
    .bind(user.time_zone.as_str())
    .bind(token_sha256)
    .bind(ms(Utc::now()))
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// A user from the columns `name, display_name, time_zone` at the start of `r`.
fn user_from_row(r: &AnyRow) -> Result<User, HubError> {
    let name: String = r.try_get(0)?;
    Ok(User {
        name: UserName::parse(name).map_err(|e| HubError::Internal(e.0))?,
        display_name: r.try_get(1)?,
        time_zone: r.try_get(2)?,
    })
}

pub async fn list_users(c: &mut Conn, include_revoked: bool) -> Result<Vec<UserRow>, HubError> {
    let rows = sqlx::query(
        "SELECT name, display_name, time_zone, created_ms, revoked_ms FROM users
         WHERE $1 = 1 OR revoked_ms IS NULL ORDER BY name",
    )
    .bind(i64::from(include_revoked))
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(UserRow {
                user: user_from_row(r)?,
                created: from_ms(Some(int(r, 3)?)).unwrap_or_default(),
                revoked: from_ms(r.try_get(4)?),
            })
        })
        .collect()
}

pub async fn revoke_user(c: &mut Conn, name: &UserName) -> Result<bool, HubError> {
    let done =
        sqlx::query("UPDATE users SET revoked_ms = $2 WHERE name = $1 AND revoked_ms IS NULL")
            .bind(name.as_str())
            .bind(ms(Utc::now()))
            .execute(&mut *c)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn user_by_token(c: &mut Conn, token_sha256: &str) -> Result<Option<User>, HubError> {
    sqlx::query(
        "SELECT name, display_name, time_zone FROM users WHERE token_sha256 = $1 AND revoked_ms IS NULL",
    )
    .bind(token_sha256)
    .fetch_optional(&mut *c)
    .await?
    .map(|r| user_from_row(&r))
    .transpose()
}

pub async fn active_user_exists(c: &mut Conn, name: &UserName) -> Result<bool, HubError> {
    let row = sqlx::query("SELECT COUNT(*) FROM users WHERE name = $1 AND revoked_ms IS NULL")
        .bind(name.as_str())
        .fetch_one(&mut *c)
        .await?;
    Ok(int(&row, 0)? > 0)
}

fn profile_from_row(r: &AnyRow) -> Result<Profile, HubError> {
    let user = user_from_row(r)?;
    let hours: Option<String> = r.try_get(3)?;
    let working_hours = hours
        .map(|json| serde_json::from_str::<WorkingHours>(&json))
        .transpose()
        .map_err(|e| {
            HubError::Internal(format!(
                "the working hours of {} are not readable: {e}",
                user.name
            ))
        })?;
    Ok(Profile {
        user,
        working_hours,
    })
}

/// Every active user's profile, by name.
pub async fn list_profiles(c: &mut Conn) -> Result<Vec<Profile>, HubError> {
    sqlx::query(
        "SELECT name, display_name, time_zone, working_hours FROM users
         WHERE revoked_ms IS NULL ORDER BY name",
    )
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(profile_from_row)
    .collect()
}

/// One active user's profile.
pub async fn profile(c: &mut Conn, name: &UserName) -> Result<Option<Profile>, HubError> {
    sqlx::query(
        "SELECT name, display_name, time_zone, working_hours FROM users
         WHERE name = $1 AND revoked_ms IS NULL",
    )
    .bind(name.as_str())
    .fetch_optional(&mut *c)
    .await?
    .map(|r| profile_from_row(&r))
    .transpose()
}

/// Replaces `name`'s zone and working hours with an update already checked with
/// [`pigeon_protocol::check_profile_update`]; returns the stored profile.
pub async fn set_profile(
    c: &mut Conn,
    name: &UserName,
    update: &ProfileUpdate,
) -> Result<Profile, HubError> {
    let hours = update
        .working_hours
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| HubError::Internal(format!("working hours could not be written: {e}")))?;
    let changed = sqlx::query(
        "UPDATE users SET time_zone = $2, working_hours = $3 WHERE name = $1 AND revoked_ms IS NULL",
    )
    .bind(name.as_str())
    .bind(update.time_zone.as_str())
    .bind(hours)
    .execute(&mut *c)
    .await?;
    if changed.rows_affected() != 1 {
        return Err(ApiError::not_found("user").into());
    }
    profile(c, name)
        .await?
        .ok_or_else(|| ApiError::not_found("user").into())
}

#[cfg(test)]
mod tests {
    use super::super::tests::old_sqlite;
    use super::super::Db;
    use super::*;
    use pigeon_protocol::hours::{DailySpan, Day};

    #[tokio::test]
    async fn users_from_before_working_hours_keep_their_zone_and_gain_none() {
        let (_dir, url) = old_sqlite(
            2,
            "INSERT INTO users VALUES ('ann', 'Ann', 'Europe/Berlin', 'hash', 0, NULL)",
        );
        let db = Db::open(&url, 1).await.unwrap();
        let mut c = db.conn().await.unwrap();
        let ann = UserName::parse("ann").unwrap();
        let before = profile(&mut c, &ann).await.unwrap().unwrap();
        assert_eq!(before.user.time_zone, "Europe/Berlin");
        assert_eq!(before.working_hours, None);
        let hours = WorkingHours::new(
            "Asia/Tokyo",
            Day::parse_set("mon-fri").unwrap(),
            DailySpan::parse_list("10:00-18:00").unwrap(),
            vec![],
        );
        let update = ProfileUpdate {
            time_zone: "Asia/Tokyo".into(),
            working_hours: Some(hours.clone()),
        };
        let after = set_profile(&mut c, &ann, &update).await.unwrap();
        assert_eq!(after.working_hours, Some(hours));
        assert_eq!(list_profiles(&mut c).await.unwrap(), vec![after]);
        // The token still finds the user, now in the new zone.
        let by_token = user_by_token(&mut c, "hash").await.unwrap().unwrap();
        assert_eq!(by_token.time_zone, "Asia/Tokyo");
        // A revoked user's profile cannot be changed.
        assert!(revoke_user(&mut c, &ann).await.unwrap());
        assert!(set_profile(&mut c, &ann, &update).await.is_err());
        assert!(list_profiles(&mut c).await.unwrap().is_empty());
    }
}
