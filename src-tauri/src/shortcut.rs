//! The global quick-record shortcut.
//!
//! Registration can fail when another program already holds the key
//! combination, or on Wayland where global shortcuts do not exist. That must
//! never stop the app: the failure is kept and shown in the UI instead, and a
//! rebinding that fails leaves the previous combination working.

use std::str::FromStr as _;
use std::sync::Mutex;

use serde::Serialize;
use tauri::AppHandle;
use tauri_plugin_global_shortcut::{GlobalShortcutExt as _, Shortcut, ShortcutEvent};

use crate::trigger::{self, TriggerSource};

/// Whether the quick-record shortcut is active, for the UI to show.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ShortcutStatus {
    /// The combination as the user would type it, e.g. `Ctrl+Shift+Alt+R`.
    pub accelerator: String,
    pub registered: bool,
    /// Why registration failed, in words for the user.
    pub problem: Option<String>,
}

#[derive(Default)]
struct Current {
    status: ShortcutStatus,
    /// The shortcut Pigeon holds right now, if any.
    held: Option<Shortcut>,
}

/// Managed state: the last registration outcome and what is held.
#[derive(Default)]
pub struct ShortcutState(Mutex<Current>);

impl ShortcutState {
    pub fn status(&self) -> ShortcutStatus {
        self.lock().status.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        // Every write replaces the whole value, so a poisoned lock holds a consistent one.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Errors turning a user's text into a shortcut, or taking hold of it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShortcutError {
    #[error("\"{text}\" is not a key combination Pigeon understands ({reason}); write it like Ctrl+Shift+Alt+R")]
    Unparsable { text: String, reason: String },
    #[error("\"{0}\" has no modifier key; add Ctrl, Alt, Shift or Super so it does not steal normal typing")]
    NoModifier(String),
    #[error("{0} is already used by another program; pick another combination")]
    Taken(String),
    #[error("{accelerator} could not be registered ({reason}); this desktop may not allow global shortcuts (Wayland does not): use the tray menu instead")]
    Unavailable { accelerator: String, reason: String },
}

/// Parses a combination such as `Ctrl+Shift+Alt+R`.
pub fn parse(text: &str) -> Result<Shortcut, ShortcutError> {
    let shortcut = Shortcut::from_str(text).map_err(|e| ShortcutError::Unparsable {
        text: text.to_owned(),
        reason: e.to_string(),
    })?;
    if shortcut.mods.is_empty() {
        return Err(ShortcutError::NoModifier(text.to_owned()));
    }
    Ok(shortcut)
}

/// The plugin, with a handler that turns a press into a quick-record request.
pub fn plugin() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    tauri_plugin_global_shortcut::Builder::new()
        .with_handler(|app, _shortcut, event: ShortcutEvent| {
            // Only Pigeon's own shortcut is registered, so any press is ours.
            if event.state() == tauri_plugin_global_shortcut::ShortcutState::Pressed {
                trigger::request_quick_record(app, TriggerSource::GlobalShortcut);
            }
        })
        .build()
}

fn take_hold(app: &AppHandle, accelerator: &str) -> Result<Shortcut, ShortcutError> {
    let shortcut = parse(accelerator)?;
    app.global_shortcut()
        .register(shortcut)
        .map_err(|error| match error {
            tauri_plugin_global_shortcut::Error::GlobalHotkey(ref reason)
                if reason.contains("already registered") =>
            {
                ShortcutError::Taken(accelerator.to_owned())
            }
            other => ShortcutError::Unavailable {
                accelerator: accelerator.to_owned(),
                reason: other.to_string(),
            },
        })?;
    Ok(shortcut)
}

/// Registers the combination from the settings at start, recording the outcome.
pub fn register_at_start(app: &AppHandle, state: &ShortcutState, accelerator: &str) {
    let mut current = state.lock();
    current.status = match take_hold(app, accelerator) {
        Ok(shortcut) => {
            tracing::info!(%accelerator, "global quick-record shortcut registered");
            current.held = Some(shortcut);
            ShortcutStatus {
                accelerator: accelerator.to_owned(),
                registered: true,
                problem: None,
            }
        }
        Err(problem) => {
            tracing::warn!(%problem, "global quick-record shortcut unavailable");
            ShortcutStatus {
                accelerator: accelerator.to_owned(),
                registered: false,
                problem: Some(problem.to_string()),
            }
        }
    };
}

/// Moves the quick-record shortcut to `accelerator`. On failure the previous
/// combination is registered again and the error says why.
pub fn rebind(
    app: &AppHandle,
    state: &ShortcutState,
    accelerator: &str,
) -> Result<ShortcutStatus, ShortcutError> {
    let wanted = parse(accelerator)?;
    let mut current = state.lock();
    if current.held == Some(wanted) {
        return Ok(current.status.clone());
    }
    // Release first: on X11 an ungrab is only sent with the next grab, so
    // releasing after taking the new one would keep the old key grabbed.
    let previous = current.held.take();
    if let Some(old) = previous {
        if let Err(error) = app.global_shortcut().unregister(old) {
            tracing::warn!(%error, "could not release the previous quick-record shortcut");
        }
    }
    match take_hold(app, accelerator) {
        Ok(shortcut) => {
            current.held = Some(shortcut);
            current.status = ShortcutStatus {
                accelerator: accelerator.to_owned(),
                registered: true,
                problem: None,
            };
            tracing::info!(%accelerator, "global quick-record shortcut moved");
            Ok(current.status.clone())
        }
        Err(error) => {
            if let Some(old) = previous {
                match app.global_shortcut().register(old) {
                    Ok(()) => current.held = Some(old),
                    Err(again) => {
                        tracing::warn!(%again, "could not take the previous shortcut back");
                        current.status.registered = false;
                        current.status.problem = Some(format!(
                            "{} was released and could not be taken back ({again}); pick another combination",
                            current.status.accelerator
                        ));
                    }
                }
            }
            Err(error)
        }
    }
}

/// Releases `accelerator` again (used to undo a rebind that could not be saved).
pub fn restore(app: &AppHandle, state: &ShortcutState, previous: &ShortcutStatus) {
    {
        let mut current = state.lock();
        if let Some(held) = current.held.take() {
            if let Err(error) = app.global_shortcut().unregister(held) {
                tracing::warn!(%error, "could not release the quick-record shortcut");
            }
        }
    }
    register_at_start(app, state, &previous.accelerator);
}

#[cfg(test)]
mod tests {
    use super::*;
    use pigeon_library::DesktopSettings;
    use tauri_plugin_global_shortcut::{Code, Modifiers};

    #[test]
    fn default_combination_parses_to_ctrl_shift_alt_r() {
        let shortcut = parse(DesktopSettings::DEFAULT_QUICK_RECORD_SHORTCUT).unwrap();
        assert_eq!(shortcut.key, Code::KeyR);
        assert_eq!(
            shortcut.mods,
            Modifiers::CONTROL | Modifiers::SHIFT | Modifiers::ALT
        );
    }

    #[test]
    fn a_bare_key_is_refused_with_advice() {
        let error = parse("R").unwrap_err();
        assert_eq!(error, ShortcutError::NoModifier("R".into()));
        assert!(error.to_string().contains("add Ctrl"));
    }

    #[test]
    fn nonsense_is_refused_with_an_example() {
        let error = parse("Ctrl+Banana").unwrap_err();
        assert!(matches!(error, ShortcutError::Unparsable { .. }));
        assert!(error.to_string().contains("Ctrl+Shift+Alt+R"));
    }

    #[test]
    fn what_the_ui_sends_parses() {
        for text in [
            "Ctrl+Alt+P",
            "Super+Shift+F9",
            "Ctrl+Shift+Digit1",
            "Alt+Space",
        ] {
            parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
    }
}
