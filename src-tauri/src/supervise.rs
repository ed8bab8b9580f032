//! Long-lived background tasks (the sync loop, the preview forwarders) run under
//! a supervisor: a task that panics is logged at ERROR and started again after
//! a backoff, so it is never silently gone. A task that returns is done.

use std::any::Any;
use std::future::Future;
use std::time::{Duration, Instant};

use tauri::async_runtime::JoinHandle;

/// How long to wait before restarting a task that panicked.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
    /// A task that ran this long before panicking starts again from `first`.
    pub reset_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(1),
            max: Duration::from_secs(60),
            reset_after: Duration::from_secs(300),
        }
    }
}

/// Runs `task()` on the async runtime and starts it again whenever it panics.
pub fn supervise<F, Fut>(name: &'static str, task: F) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    supervise_with(name, Backoff::default(), task)
}

pub fn supervise_with<F, Fut>(name: &'static str, backoff: Backoff, task: F) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tauri::async_runtime::spawn(async move {
        let mut wait = backoff.first;
        loop {
            let started = Instant::now();
            match tauri::async_runtime::spawn(task()).await {
                Ok(()) => {
                    tracing::debug!(task = name, "background task ended");
                    return;
                }
                Err(tauri::Error::JoinError(error)) if error.is_panic() => {
                    if started.elapsed() >= backoff.reset_after {
                        wait = backoff.first;
                    }
                    tracing::error!(
                        task = name,
                        panic = %panic_text(error.into_panic().as_ref()),
                        restart_in_ms = wait.as_millis() as u64,
                        "background task panicked; restarting it"
                    );
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(backoff.max);
                }
                Err(error) => {
                    // Cancelled: the runtime is shutting down.
                    tracing::debug!(task = name, %error, "background task stopped");
                    return;
                }
            }
        }
    })
}

/// Runs blocking `work` on the blocking pool as a task a supervisor can watch:
/// its panic becomes this task's panic.
pub async fn blocking_task(work: impl FnOnce() + Send + 'static) {
    if let Err(tauri::Error::JoinError(error)) = tauri::async_runtime::spawn_blocking(work).await {
        if error.is_panic() {
            std::panic::resume_unwind(error.into_panic());
        }
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    const QUICK: Backoff = Backoff {
        first: Duration::from_millis(10),
        max: Duration::from_millis(40),
        reset_after: Duration::from_secs(60),
    };

    #[test]
    fn a_task_that_panics_once_is_started_again() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let supervisor = supervise_with("panics once", QUICK, move || {
            let runs = counted.clone();
            async move {
                if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("the first run fails");
                }
            }
        });
        tauri::async_runtime::block_on(supervisor).unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_blocking_task_that_panics_once_is_started_again() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let supervisor = supervise_with("blocking panics once", QUICK, move || {
            let runs = counted.clone();
            blocking_task(move || {
                if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("the first run fails");
                }
            })
        });
        tauri::async_runtime::block_on(supervisor).unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_task_that_returns_is_not_started_again() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let supervisor = supervise_with("returns", QUICK, move || {
            let runs = counted.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
            }
        });
        tauri::async_runtime::block_on(supervisor).unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
