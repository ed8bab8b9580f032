//! The error every command returns: one sentence the UI shows, saying what
//! happened and what to do. A leaf module: it depends on nothing else here.
//!
//! The library's errors say what happened and leave the advice to each face:
//! the desktop's advice (what to click, where) is worded here.

use pigeon_library::LibraryError;
use serde::Serialize;

/// An error as the UI shows it: one sentence that says what to do.
#[derive(Debug, Serialize)]
pub struct CommandError {
    message: String,
}

impl<E: Into<anyhow::Error>> From<E> for CommandError {
    fn from(error: E) -> Self {
        let error = error.into();
        // `{:#}` keeps the context chain on one line: "could not …: because …".
        let mut message = format!("{error:#}");
        if let Some(advice) = error
            .chain()
            .find_map(|e| e.downcast_ref().and_then(advice))
        {
            message = format!("{message}; {advice}");
        }
        // The screen shows it; the log keeps it for whoever reads it later.
        tracing::warn!(error = %message, "a command failed");
        Self { message }
    }
}

pub type CommandResult<T> = Result<T, CommandError>;

/// Advice a desktop user can follow when the store cannot be reached or refuses
/// them (the library's own errors name no command to type).
pub const CHECK_STORE: &str = "check Settings › Store";

/// What a desktop user can do about a library error that leaves it to the face.
fn advice(error: &LibraryError) -> Option<&'static str> {
    match error {
        LibraryError::NotFound { list, .. } => Some(match *list {
            "drafts" => "it may have been sent or discarded: look in Drafts and Sent",
            "status" => "it may have been removed: look in Sent",
            _ => "it may have been removed: look in the Inbox",
        }),
        LibraryError::UnknownSent { .. } => Some("look in Sent"),
        LibraryError::Ambiguous { .. } => Some("open it from its list instead"),
        LibraryError::AlreadyQueued { .. } => Some("find it in Sent"),
        LibraryError::ReceivedNotSent { .. } => Some("find it in the Inbox"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_errors_get_desktop_advice() {
        let error = anyhow::Error::from(LibraryError::AlreadyQueued { draft: "d1".into() })
            .context("could not send");
        let shown = serde_json::to_value(CommandError::from(error)).unwrap();
        assert_eq!(
            shown["message"],
            "could not send: draft d1 was already sent or queued; find it in Sent"
        );
    }

    #[test]
    fn keeps_the_whole_chain_on_one_line() {
        let error = anyhow::anyhow!("the hub said no").context("could not send");
        let shown = serde_json::to_value(CommandError::from(error)).unwrap();
        assert_eq!(
            shown,
            serde_json::json!({ "message": "could not send: the hub said no" })
        );
    }
}
