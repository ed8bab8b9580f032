//! The error every command returns: one sentence the UI shows, saying what
//! happened and what to do. A leaf module: it depends on nothing else here.

use serde::Serialize;

/// An error as the UI shows it: one sentence that says what to do.
#[derive(Debug, Serialize)]
pub struct CommandError {
    message: String,
}

impl<E: Into<anyhow::Error>> From<E> for CommandError {
    fn from(error: E) -> Self {
        // `{:#}` keeps the context chain on one line: "could not …: because …".
        let message = format!("{:#}", error.into());
        // The screen shows it; the log keeps it for whoever reads it later.
        tracing::warn!(error = %message, "a command failed");
        Self { message }
    }
}

pub type CommandResult<T> = Result<T, CommandError>;

/// Advice a desktop user can follow when the store cannot be reached or refuses
/// them (the library's own errors name no command to type).
pub const CHECK_STORE: &str = "check Settings › Store";

#[cfg(test)]
mod tests {
    use super::*;

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
