//! Users and their token hashes.

use chrono::{DateTime, Utc};
use pigeon_protocol::hours::WorkingHours;
use pigeon_protocol::{ApiError, ErrorCode, Profile, ProfileUpdate, User, UserName};
use rusqlite::{params, Connection, OptionalExtension};

use crate::HubError;

use super::{from_ms, ms};

/// A user row as the CLI lists it.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub user: User,
    pub created: DateTime<Utc>,
    pub revoked: Option<DateTime<Utc>>,
}

pub fn add_user(conn: &Connection, user: &User, token_sha256: &str) -> Result<(), HubError> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM users WHERE name = ?1)",
        [user.name.as_str()],
        |r| r.get(0),
    )?;
    if exists {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("user {} already exists: pick another name", user.name),
        )
        .into());
    }
    conn.execute(
        "INSERT INTO users (name, display_name, time_zone, token_sha256, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![user.name.as_str(), user.display_name, user.time_zone, token_sha256, ms(Utc::now())],
    )?;
    Ok(())
}

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<User, String>> {
    let name: String = r.get(0)?;
    Ok(UserName::parse(name).map_err(|e| e.0).map(|name| User {
        name,
        display_name: r.get(1).unwrap_or_default(),
        time_zone: r.get(2).unwrap_or_default(),
    }))
}

pub fn list_users(conn: &Connection, include_revoked: bool) -> Result<Vec<UserRow>, HubError> {
    let mut stmt = conn.prepare(
        "SELECT name, display_name, time_zone, created_ms, revoked_ms FROM users
         WHERE ?1 OR revoked_ms IS NULL ORDER BY name",
    )?;
    let rows = stmt.query_map([include_revoked], |r| {
        Ok((
            user_from_row(r)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<i64>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (user, created, revoked) = row?;
        out.push(UserRow {
            user: user.map_err(HubError::Internal)?,
            created: from_ms(Some(created)).unwrap_or_default(),
            revoked: from_ms(revoked),
        });
    }
    Ok(out)
}

pub fn revoke_user(conn: &Connection, name: &UserName) -> Result<bool, HubError> {
    let n = conn.execute(
        "UPDATE users SET revoked_ms = ?2 WHERE name = ?1 AND revoked_ms IS NULL",
        params![name.as_str(), ms(Utc::now())],
    )?;
    Ok(n == 1)
}

pub fn user_by_token(conn: &Connection, token_sha256: &str) -> Result<Option<User>, HubError> {
    let row = conn
        .query_row(
            "SELECT name, display_name, time_zone FROM users WHERE token_sha256 = ?1 AND revoked_ms IS NULL",
            [token_sha256],
            user_from_row,
        )
        .optional()?;
    row.transpose().map_err(HubError::Internal)
}

pub fn active_user_exists(conn: &Connection, name: &UserName) -> Result<bool, HubError> {
    Ok(conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM users WHERE name = ?1 AND revoked_ms IS NULL)",
        [name.as_str()],
        |r| r.get(0),
    )?)
}

fn profile_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Profile, String>> {
    let user = user_from_row(r)?;
    let hours: Option<String> = r.get(3)?;
    Ok(user.and_then(|user| {
        let working_hours = hours
            .map(|json| serde_json::from_str::<WorkingHours>(&json))
            .transpose()
            .map_err(|e| format!("the working hours of {} are not readable: {e}", user.name))?;
        Ok(Profile {
            user,
            working_hours,
        })
    }))
}

/// Every active user's profile, by name.
pub fn list_profiles(conn: &Connection) -> Result<Vec<Profile>, HubError> {
    let mut stmt = conn.prepare(
        "SELECT name, display_name, time_zone, working_hours FROM users
         WHERE revoked_ms IS NULL ORDER BY name",
    )?;
    let rows = stmt.query_map([], profile_from_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row?.map_err(HubError::Internal)?);
    }
    Ok(out)
}

/// One active user's profile.
pub fn profile(conn: &Connection, name: &UserName) -> Result<Option<Profile>, HubError> {
    let row = conn
        .query_row(
            "SELECT name, display_name, time_zone, working_hours FROM users
             WHERE name = ?1 AND revoked_ms IS NULL",
            [name.as_str()],
            profile_from_row,
        )
        .optional()?;
    row.transpose().map_err(HubError::Internal)
}

/// Replaces `name`'s zone and working hours with an update already checked with
/// [`pigeon_protocol::check_profile_update`]; returns the stored profile.
pub fn set_profile(
    conn: &Connection,
    name: &UserName,
    update: &ProfileUpdate,
) -> Result<Profile, HubError> {
    let hours = update
        .working_hours
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| HubError::Internal(format!("working hours could not be written: {e}")))?;
    let changed = conn.execute(
        "UPDATE users SET time_zone = ?2, working_hours = ?3 WHERE name = ?1 AND revoked_ms IS NULL",
        params![name.as_str(), update.time_zone, hours],
    )?;
    if changed != 1 {
        return Err(ApiError::not_found("user").into());
    }
    profile(conn, name)?.ok_or_else(|| ApiError::not_found("user").into())
}

#[cfg(test)]
mod tests {
    use super::super::{Db, MIGRATIONS};
    use super::*;
    use pigeon_protocol::hours::{DailySpan, Day};

    #[test]
    fn users_from_before_working_hours_keep_their_zone_and_gain_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.sqlite3");
        {
            // The schema as a hub before working hours left it, with a user in it.
            let c = Connection::open(&path).unwrap();
            c.execute_batch(MIGRATIONS[0]).unwrap();
            c.execute_batch(MIGRATIONS[1]).unwrap();
            c.pragma_update(None, "user_version", 2).unwrap();
            c.execute(
                "INSERT INTO users VALUES ('ann', 'Ann', 'Europe/Berlin', 'hash', 0, NULL)",
                [],
            )
            .unwrap();
        }
        let db = Db::open(&path).unwrap();
        db.call_sync(|c| {
            let ann = UserName::parse("ann").unwrap();
            let before = profile(c, &ann)?.unwrap();
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
            let after = set_profile(c, &ann, &update)?;
            assert_eq!(after.working_hours, Some(hours));
            assert_eq!(list_profiles(c)?, vec![after]);
            // The token still finds the user, now in the new zone.
            let by_token = user_by_token(c, "hash")?.unwrap();
            assert_eq!(by_token.time_zone, "Asia/Tokyo");
            // A revoked user's profile cannot be changed.
            assert!(revoke_user(c, &ann)?);
            assert!(set_profile(c, &ann, &update).is_err());
            assert!(list_profiles(c)?.is_empty());
            Ok(())
        })
        .unwrap();
    }
}
