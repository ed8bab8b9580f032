//! Quiet hours in the desktop: "do not disturb" switched from the tray or Settings, and
//! my working hours kept in the settings (as my profile last gave them) so quiet
//! hours hold offline too. Only wiring: what holds is the library's (`quiet`).

use chrono::Duration;
use pigeon_library::quiet::Quiet;
use pigeon_store::protocol::Profile;
use serde::Serialize;
use tauri::{AppHandle, Manager as _, State};

use crate::error::CommandResult;
use crate::session::Session;

/// Whether notifications wait now, as Settings shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuietView {
    /// Notifications wait now (outside working hours or do not disturb).
    pub holds: bool,
    /// "Do not disturb until Tue 12:00"; null when they reach me.
    pub text: Option<String>,
    pub do_not_disturb: bool,
    /// My working hours are known here: outside them notifications wait.
    pub knows_my_hours: bool,
}

fn view(quiet: Quiet, session: &Session, knows_my_hours: bool) -> QuietView {
    QuietView {
        holds: quiet.holds(),
        text: quiet.text(session.zone),
        do_not_disturb: matches!(quiet, Quiet::DoNotDisturb { .. }),
        knows_my_hours,
    }
}

#[tauri::command]
pub async fn quiet_state(session: State<'_, Session>) -> CommandResult<QuietView> {
    let settings = session.settings().await?;
    let quiet = settings.quiet.at(session.now());
    Ok(view(
        quiet,
        &session,
        settings.quiet.working_hours.is_some(),
    ))
}

/// Turns "do not disturb" on for `minutes`, or off with `None`; what waited is told
/// at once when it ends.
async fn set(
    app: &AppHandle,
    session: &Session,
    minutes: Option<u32>,
) -> anyhow::Result<QuietView> {
    let mut settings = session.settings().await?;
    let now = session.now();
    settings.quiet.do_not_disturb_until = minutes.map(|m| now + Duration::minutes(i64::from(m)));
    let settings = session.save_settings(settings, "do not disturb").await?;
    tracing::info!(until = ?settings.quiet.do_not_disturb_until, "do not disturb set");
    crate::background::tell_now(app.clone());
    let quiet = settings.quiet.at(now);
    Ok(view(quiet, session, settings.quiet.working_hours.is_some()))
}

#[tauri::command]
pub async fn set_do_not_disturb(
    app: AppHandle,
    session: State<'_, Session>,
    minutes: Option<u32>,
) -> CommandResult<QuietView> {
    if minutes == Some(0) {
        return Err(anyhow::anyhow!("pick how long not to be disturbed, or turn it off").into());
    }
    Ok(set(&app, &session, minutes).await?)
}

/// The tray's do-not-disturb items.
pub fn do_not_disturb_from_tray(app: &AppHandle, minutes: Option<u32>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let session = app.state::<Session>();
        if let Err(error) = set(&app, &session, minutes).await {
            tracing::warn!(error = %format!("{error:#}"), "do not disturb was not changed");
        }
    });
}

/// Keeps my working hours from `profile` in the settings, when they changed.
pub async fn remember_my_hours(session: &Session, profile: &Profile) -> anyhow::Result<()> {
    let mut settings = session.settings().await?;
    if settings.quiet.working_hours == profile.working_hours {
        return Ok(());
    }
    settings.quiet.working_hours = profile.working_hours.clone();
    session.save_settings(settings, "working hours").await?;
    tracing::info!("my working hours kept for quiet hours");
    Ok(())
}
