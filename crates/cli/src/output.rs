//! How the CLI speaks: human text or one JSON value per command (`--json`), progress
//! bars on stderr's terminal, and the advice it adds to the library's errors.

use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use pigeon_library::LibraryError;
use pigeon_store::ProgressFn;

/// Where a command's result goes.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// Prints `value` under `--json`, else `text`.
    pub fn say(&self, value: serde_json::Value, text: String) {
        if self.json {
            println!("{value}");
        } else {
            println!("{text}");
        }
    }

    /// A side remark on stderr, so `--json` output stays one value.
    pub fn note(&self, text: &str) {
        eprintln!("note: {text}");
    }

    /// A byte progress bar titled `message`, none under `--json`; `progress` feeds it.
    pub fn progress_bar(&self, message: &'static str) -> Option<ProgressBar> {
        if self.json {
            return None;
        }
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(message);
        Some(bar)
    }
}

/// The upload or download progress callback that moves `bar`.
pub fn progress(bar: &ProgressBar) -> ProgressFn {
    let bar = bar.clone();
    Arc::new(move |p| {
        if let Some(total) = p.total {
            bar.set_length(total);
        }
        bar.set_position(p.acknowledged);
    })
}

/// Clears a finished bar, if there was one.
pub fn finish(bar: Option<ProgressBar>) {
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

/// The first eight characters of an id: enough to name it in later commands.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// The whole error as printed, with what to type next where the library left the
/// advice to the face.
pub fn error_text(error: &anyhow::Error) -> String {
    // A library error may be the error itself, the context given to another, or a cause.
    let advice = error
        .downcast_ref::<LibraryError>()
        .or_else(|| {
            error
                .chain()
                .find_map(|cause| cause.downcast_ref::<LibraryError>())
        })
        .and_then(advice);
    match advice {
        Some(advice) => format!("{error:#}: {advice}"),
        None => format!("{error:#}"),
    }
}

/// The `pigeon` commands that help with a library error.
fn advice(error: &LibraryError) -> Option<String> {
    Some(match error {
        LibraryError::NotFound { list, .. } => format!("list them with `pigeon {list}`"),
        LibraryError::Ambiguous { list, .. } => format!("see `pigeon {list}`"),
        LibraryError::AlreadyQueued { .. } => "see `pigeon drafts` and `pigeon status`".into(),
        LibraryError::ReceivedNotSent { id, .. } => format!(
            "see it with `pigeon show {id}`; `pigeon status` (without an id) lists the \
             messages sent from here"
        ),
        LibraryError::UnknownSent { .. } => "`pigeon status` (without an id) lists the \
             messages sent from here; for a message sent from another computer or \
             PIGEON_HOME, give its whole id or ask for its status there"
            .into(),
        LibraryError::UnusableUserName { .. } => {
            "run `pigeon login --folder PATH --name NAME`".into()
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_errors_get_the_command_that_helps() {
        let error = anyhow::Error::new(LibraryError::NotFound {
            what: "draft",
            id: "nosuch".into(),
            list: "drafts",
        })
        .context("the draft cannot be sent");
        assert_eq!(
            error_text(&error),
            "the draft cannot be sent: no draft matches \"nosuch\": list them with `pigeon drafts`"
        );
        let as_context = anyhow::anyhow!("the store refused")
            .context(LibraryError::UnknownSent { id: "0123".into() });
        assert!(
            error_text(&as_context).ends_with("give its whole id or ask for its status there"),
            "{}",
            error_text(&as_context)
        );
        let plain = anyhow::anyhow!("the hub is unreachable");
        assert_eq!(error_text(&plain), "the hub is unreachable");
    }

    #[test]
    fn ids_are_shown_short() {
        assert_eq!(short("0123456789abcdef"), "01234567");
        assert_eq!(short("abc"), "abc");
    }
}
