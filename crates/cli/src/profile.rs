//! `pigeon profile`: my time zone and working hours, shown or changed, and another
//! user's (`--of NAME`) with their local time now and whether they are working.
//! Only wiring and wording: the rules are the library's (`profile`, `availability`).

use anyhow::{Context as _, Result};
use chrono::{DateTime, FixedOffset, Utc};
use pigeon_library::availability::{availability, local_now, Availability};
use pigeon_library::people;
use pigeon_library::profile::{profile_update, ProfileChange};
use pigeon_store::protocol::Profile;
use pigeon_store::StoreError;
use serde_json::json;

use crate::flags::ProfileArgs;
use crate::App;

const CHECK_STORE: &str = "check the connection and `pigeon config`, then try again";

impl App {
    pub async fn profile(&self, args: ProfileArgs) -> Result<()> {
        let store = self.connect().await?.store;
        let now = self.now();
        if let Some(of) = &args.of {
            let name = people::user_name(of)?;
            let profile = unless_refused(
                store.profile(&name).await,
                &format!("the profile of {name} could not be loaded"),
            )?;
            return self.show_profile(&profile, now, None);
        }
        let me = store
            .me()
            .await
            .with_context(|| format!("your profile could not be loaded; {CHECK_STORE}"))?;
        let current = store
            .profile(&me.name)
            .await
            .with_context(|| format!("your profile could not be loaded; {CHECK_STORE}"))?;
        let change = ProfileChange {
            time_zone: args.tz,
            spans: args.hours,
            days: args.days,
            days_off: args.off,
            clear_hours: args.no_hours,
        };
        if change.is_empty() {
            return self.show_profile(&current, now, None);
        }
        let update = profile_update(&current, &change)?;
        let stored = unless_refused(
            store.set_profile(&update).await,
            "your profile was not saved",
        )?;
        self.show_profile(&stored, now, Some("saved"))
    }

    fn show_profile(
        &self,
        profile: &Profile,
        now: DateTime<Utc>,
        note: Option<&str>,
    ) -> Result<()> {
        let local = local_now(profile, now)?;
        let state = profile
            .working_hours
            .as_ref()
            .map(|hours| availability(hours, now))
            .transpose()?;
        let value = json!({
            "profile": profile,
            "local_now": local,
            "availability": state,
            "saved": note.is_some(),
        });
        self.out
            .say(value, profile_text(profile, local, state.as_ref(), note));
        Ok(())
    }
}

/// A store's refusal already says what to do; any other failure gets what failed and
/// the advice to check the connection.
fn unless_refused<T>(result: Result<T, StoreError>, what: &str) -> Result<T> {
    match result {
        Ok(value) => Ok(value),
        Err(e) if e.api().is_some() => Err(e.into()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("{what}; {CHECK_STORE}"))),
    }
}

fn profile_text(
    profile: &Profile,
    local: DateTime<FixedOffset>,
    state: Option<&Availability>,
    note: Option<&str>,
) -> String {
    let user = &profile.user;
    let mut lines = Vec::new();
    if let Some(note) = note {
        lines.push(format!("{note}:"));
    }
    lines.push(format!("{} ({})", user.name, user.display_name));
    lines.push(format!(
        "  local time: {} ({})",
        local.format("%a %-d %b %H:%M"),
        user.time_zone
    ));
    match (&profile.working_hours, state) {
        (Some(hours), Some(state)) => {
            lines.push(format!(
                "  working hours: {} {}",
                hours.days_text(),
                hours.spans_text()
            ));
            if !hours.days_off.is_empty() {
                let off: Vec<String> = hours.days_off.iter().map(|d| d.to_string()).collect();
                lines.push(format!("  days off: {}", off.join(", ")));
            }
            lines.push(format!("  {}", state.phrase));
        }
        _ => lines.push(
            "  working hours: not given (set yours with `pigeon profile --hours 09:00-17:00 --days mon-fri`)"
                .into(),
        ),
    }
    lines.join("\n")
}
