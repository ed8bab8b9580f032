//! The test clock hook: an app started with `PIGEON_TEST_CLOCK=<RFC 3339>` runs on a
//! manual clock (see `Session::open`), and end-to-end tests move it with
//! `test_set_clock`; every decision that reads the Session's clock follows.

use anyhow::anyhow;
use tauri::{AppHandle, State};

use crate::error::CommandResult;
use crate::session::Session;

/// Moves the app's clock to `instant` (RFC 3339), then wakes the sync and the
/// notifications so what the new "now" decides happens at once.
#[tauri::command]
pub fn test_set_clock(
    app: AppHandle,
    session: State<'_, Session>,
    instant: String,
) -> CommandResult<()> {
    let Some(clock) = session.test_clock.as_ref() else {
        return Err(anyhow!(
            "the clock can only be moved when Pigeon was started with PIGEON_TEST_CLOCK set to an instant"
        )
        .into());
    };
    let at = pigeon_library::clock::parse_instant(&instant)?;
    clock.set(at);
    tracing::info!(now = %at.to_rfc3339(), "test clock moved");
    session.wake.notify_one();
    crate::background::tell_now(app);
    Ok(())
}
