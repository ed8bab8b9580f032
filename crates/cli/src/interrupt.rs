//! Ctrl-C for the whole run. A process can install one handler only, and `pigeon
//! reply` both records (where Ctrl-C stops the recording cleanly) and transcribes
//! (where Ctrl-C puts the job back in the queue), so every command shares this one: the
//! first Ctrl-C raises a flag the running step reads and stops at; a second one ends
//! the process at once (what was kept on disk is picked up by the next run).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

static INSTALL: Once = Once::new();
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The flag Ctrl-C raises (installing the handler on first use).
pub fn flag() -> &'static AtomicBool {
    INSTALL.call_once(|| {
        let installed = ctrlc::set_handler(|| {
            if INTERRUPTED.swap(true, Ordering::SeqCst) {
                // 128 + SIGINT, as a shell reports a process Ctrl-C ended.
                std::process::exit(130);
            }
        });
        if let Err(e) = installed {
            tracing::warn!(error = %e, "Ctrl-C cannot be handled: it ends the process");
        }
    });
    &INTERRUPTED
}

/// The step that stopped at Ctrl-C is over: the next one runs as if none came.
pub fn clear() {
    INTERRUPTED.store(false, Ordering::SeqCst);
}
