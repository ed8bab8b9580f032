//! The global quick-record shortcut.
//!
//! Registration can fail when another program already holds the key
//! combination, or on Wayland where global shortcuts do not exist. That must
//! never stop the app: the failure is kept and shown in the UI instead.

use std::str::FromStr as _;
use std::sync::Mutex;

use serde::Serialize;
use tauri::AppHandle;
use tauri_plugin_global_shortcut::{GlobalShortcutExt as _, Shortcut, ShortcutEvent};

use crate::trigger::{self, TriggerSource};

/// The key combination used until the user picks another one.
pub const DEFAULT_QUICK_RECORD: &str = "Ctrl+Shift+Alt+R";

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

/// Managed state holding the last registration outcome.
#[derive(Default)]
pub struct ShortcutState(Mutex<ShortcutStatus>);

impl ShortcutState {
    pub fn status(&self) -> ShortcutStatus {
        self.0
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    fn set(&self, status: ShortcutStatus) {
        match self.0.lock() {
            Ok(mut guard) => *guard = status,
            Err(poisoned) => *poisoned.into_inner() = status,
        }
    }
}

/// Errors turning a user's text into a shortcut.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShortcutError {
    #[error("\"{text}\" is not a key combination Pigeon understands ({reason}); write it like Ctrl+Shift+Alt+R")]
    Unparsable { text: String, reason: String },
    #[error("\"{0}\" has no modifier key; add Ctrl, Alt, Shift or Super so it does not steal normal typing")]
    NoModifier(String),
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

/// Registers the configured combination and records the outcome.
pub fn register_configured(app: &AppHandle, state: &ShortcutState) {
    let accelerator = DEFAULT_QUICK_RECORD.to_owned();
    let outcome = parse(&accelerator)
        .map_err(|e| e.to_string())
        .and_then(|shortcut| {
            app.global_shortcut().register(shortcut).map_err(|e| {
                format!(
                    "{accelerator} could not be registered ({e}); another program may use it, \
                     or this desktop does not allow global shortcuts"
                )
            })
        });
    let status = match outcome {
        Ok(()) => {
            tracing::info!(%accelerator, "global quick-record shortcut registered");
            ShortcutStatus {
                accelerator,
                registered: true,
                problem: None,
            }
        }
        Err(problem) => {
            tracing::warn!(%problem, "global quick-record shortcut unavailable");
            ShortcutStatus {
                accelerator,
                registered: false,
                problem: Some(problem),
            }
        }
    };
    state.set(status);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tauri_plugin_global_shortcut::{Code, Modifiers};

    #[test]
    fn default_combination_parses_to_ctrl_shift_alt_r() {
        let shortcut = parse(DEFAULT_QUICK_RECORD).unwrap();
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
    fn status_reports_what_was_last_set() {
        let state = ShortcutState::default();
        state.set(ShortcutStatus {
            accelerator: "Ctrl+Alt+P".into(),
            registered: true,
            problem: None,
        });
        assert_eq!(state.status().accelerator, "Ctrl+Alt+P");
    }
}
