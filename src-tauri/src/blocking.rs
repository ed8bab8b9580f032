//! Work that blocks (SQLite, files, FFmpeg, device drivers) runs on the blocking
//! pool, never on the main thread (where Tauri runs synchronous commands and
//! the window's events) nor on a tokio worker (where the async tasks run).

use anyhow::anyhow;

/// Runs `work` on the blocking pool and waits for it without blocking anyone.
pub async fn run<T, F>(work: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> anyhow::Result<T> + Send + 'static,
{
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|error| {
            tracing::error!(%error, "blocking work stopped unexpectedly");
            anyhow!("Pigeon hit an internal error ({error}); try again, and restart Pigeon if it persists")
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_off_the_calling_thread_and_returns_its_answer() {
        let caller = std::thread::current().id();
        let (thread, answer) =
            tauri::async_runtime::block_on(run(move || Ok((std::thread::current().id(), 42))))
                .unwrap();
        assert_ne!(thread, caller);
        assert_eq!(answer, 42);
    }

    #[test]
    fn a_panic_becomes_an_error_that_says_what_to_do() {
        let error =
            tauri::async_runtime::block_on(run(|| -> anyhow::Result<()> { panic!("boom") }))
                .unwrap_err();
        assert!(error.to_string().contains("try again"), "{error}");
    }
}
