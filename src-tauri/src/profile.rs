//! Working hours in the desktop: mine in Settings (shown, and saved through the store's
//! `set_profile` with the library's `profile_update`), and the profiles Compose reads
//! for its recipients' clocks, loaded once per Compose.
//!
//! Only wiring: the rules are the library's (`profile`, `availability`,
//! `recipient_clock`) and the protocol's.

use anyhow::{anyhow, Context as _};
use pigeon_library::availability::{availability, clock_zone, local_now};
use pigeon_library::people;
use pigeon_library::profile::{profile_update, ProfileChange};
use pigeon_store::protocol::Profile;
use pigeon_store::StoreError;
use serde::{Deserialize, Serialize};
use tauri::State;
use tokio::sync::Mutex;

use crate::error::{CommandResult, CHECK_STORE};
use crate::session::Session;

/// The profiles of everyone in the store, as Compose last loaded them. `None` until
/// loaded; a store that was away leaves an empty list, so Compose shows nothing extra
/// and does not wait on the store at each change.
#[derive(Default)]
pub struct ProfileCache(Mutex<Option<Vec<Profile>>>);

impl ProfileCache {
    /// The cached profiles, loaded from the store the first time.
    pub async fn profiles(&self, session: &Session) -> Vec<Profile> {
        let mut slot = self.0.lock().await;
        if let Some(profiles) = slot.as_ref() {
            return profiles.clone();
        }
        let loaded = match session.store().await {
            Ok((store, _)) => store.profiles().await.map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        let profiles = loaded.unwrap_or_else(|error| {
            tracing::info!(error = %format!("{error:#}"), "profiles not available: Compose shows no recipients' clocks");
            Vec::new()
        });
        *slot = Some(profiles.clone());
        profiles
    }

    async fn forget(&self) {
        *self.0.lock().await = None;
    }
}

/// A Compose opens: its recipients' profiles are loaded afresh, once.
#[tauri::command]
pub async fn forget_profiles(cache: State<'_, ProfileCache>) -> CommandResult<()> {
    cache.forget().await;
    Ok(())
}

/// My zone and working hours as Settings shows them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkingHoursView {
    pub time_zone: String,
    /// Whether working hours are given at all.
    pub has_hours: bool,
    /// The days worked, as `mon`, `tue`, ….
    pub days: Vec<String>,
    /// The daily spans as typed: `09:00-12:00,13:00-17:00`.
    pub spans: String,
    /// Dates off as `YYYY-MM-DD`.
    pub days_off: Vec<String>,
    /// Now on my clock: "Wed 2 Dec 14:00".
    pub local_now: String,
    /// "working now, until 17:00"; `None` without working hours.
    pub availability: Option<String>,
}

fn hours_view(profile: &Profile, session: &Session) -> anyhow::Result<WorkingHoursView> {
    let now = session.now();
    let hours = profile.working_hours.as_ref();
    Ok(WorkingHoursView {
        time_zone: clock_zone(profile).to_owned(),
        has_hours: hours.is_some(),
        days: hours
            .map(|h| h.days.iter().map(|d| d.as_str().to_owned()).collect())
            .unwrap_or_default(),
        spans: hours.map(|h| h.spans_text()).unwrap_or_default(),
        days_off: hours
            .map(|h| h.days_off.iter().map(|d| d.to_string()).collect())
            .unwrap_or_default(),
        local_now: local_now(profile, now)?
            .format("%a %-d %b %H:%M")
            .to_string(),
        availability: hours
            .map(|h| availability(h, now))
            .transpose()?
            .map(|a| a.phrase),
    })
}

pub(crate) async fn my_current_profile(session: &Session) -> anyhow::Result<Profile> {
    let (store, _) = session.store().await?;
    let me = people::user_name(&session.settings().await?.user)?;
    unless_refused(
        store.profile(&me).await,
        "your working hours could not be loaded",
    )
}

/// My working hours, from the store.
#[tauri::command]
pub async fn my_working_hours(session: State<'_, Session>) -> CommandResult<WorkingHoursView> {
    let profile = my_current_profile(&session).await?;
    crate::quiet::remember_my_hours(&session, &profile).await?;
    Ok(hours_view(&profile, &session)?)
}

/// Settings' "Working hours" form as sent: every field, as typed or picked.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkingHoursForm {
    pub time_zone: String,
    pub days: Vec<String>,
    pub spans: String,
    pub days_off: Vec<String>,
}

/// What the form asks of the library: no days and no spans mean no working hours.
fn change_of(form: WorkingHoursForm) -> ProfileChange {
    let clear_hours = form.days.is_empty() && form.spans.trim().is_empty();
    ProfileChange {
        time_zone: Some(form.time_zone),
        spans: (!clear_hours).then_some(form.spans),
        days: (!clear_hours).then(|| form.days.join(",")),
        days_off: (!clear_hours).then_some(form.days_off),
        clear_hours,
    }
}

/// Saves my zone and working hours; a refusal (the library's or the store's) is one
/// sentence saying what to type, and nothing is stored.
#[tauri::command]
pub async fn set_my_working_hours(
    session: State<'_, Session>,
    cache: State<'_, ProfileCache>,
    form: WorkingHoursForm,
) -> CommandResult<WorkingHoursView> {
    let current = my_current_profile(&session).await?;
    let update = profile_update(&current, &change_of(form))
        .map_err(|e| anyhow!("{e}; nothing was saved"))?;
    let (store, _) = session.store().await?;
    let stored = unless_refused(
        store.set_profile(&update).await,
        "your working hours were not saved",
    )?;
    tracing::info!(user = %stored.user.name, "working hours saved");
    cache.forget().await;
    crate::quiet::remember_my_hours(&session, &stored).await?;
    Ok(hours_view(&stored, &session)?)
}

/// A store's refusal already says what to do; any other failure gets what failed and
/// where to look.
fn unless_refused<T>(result: Result<T, StoreError>, what: &str) -> anyhow::Result<T> {
    match result {
        Ok(value) => Ok(value),
        Err(e) if e.api().is_some() => Err(e.into()),
        Err(e) => Err(e).with_context(|| format!("{what}; {CHECK_STORE}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape ui/src/api.ts sends.
    #[test]
    fn the_form_reads_what_the_ui_sends() {
        let form: WorkingHoursForm = serde_json::from_str(
            r#"{"timeZone":"Asia/Tokyo","days":["mon","tue"],"spans":"10:00-18:00","daysOff":["2026-12-24"]}"#,
        )
        .unwrap();
        let change = change_of(form);
        assert_eq!(change.days.as_deref(), Some("mon,tue"));
        assert_eq!(change.spans.as_deref(), Some("10:00-18:00"));
        assert_eq!(change.days_off, Some(vec!["2026-12-24".to_owned()]));
        assert!(!change.clear_hours);
    }

    #[test]
    fn an_empty_form_removes_the_hours_and_keeps_the_zone() {
        let change = change_of(WorkingHoursForm {
            time_zone: "Europe/Berlin".into(),
            days: vec![],
            spans: " ".into(),
            days_off: vec!["2026-12-24".into()],
        });
        assert!(change.clear_hours);
        assert_eq!(
            (change.time_zone.as_deref(), change.days, change.spans),
            (Some("Europe/Berlin"), None, None)
        );
    }
}
