//! A received message fetched in the background (clip, poster, attachments) when
//! Play is pressed, with progress as events; one download per message at a time.

use std::collections::HashSet;
use std::sync::Mutex;

use pigeon_store::protocol::MessageId;
use serde::Serialize;
use tauri::{AppHandle, Emitter as _, Manager as _};

use crate::session::Session;
use crate::windows::library_changed;

/// Emitted while a clip or attachment downloads: `DownloadView`.
pub const DOWNLOAD_EVENT: &str = "download-progress";

/// Downloads in progress, so a second Play does not start a second one.
#[derive(Default)]
pub struct Downloads(Mutex<HashSet<MessageId>>);

/// Progress of a message's download, for the Player and the Inbox.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadView {
    pub message: MessageId,
    pub done: u64,
    pub total: u64,
    /// Set when the download stopped: what went wrong and what to do.
    pub error: Option<String>,
    pub finished: bool,
}

/// Fetches a received message in the background, reporting progress; returns at once.
pub fn start_download(app: &AppHandle, id: &MessageId) {
    let downloads = app.state::<Downloads>();
    let Ok(mut running) = downloads.0.lock() else {
        return;
    };
    if !running.insert(id.clone()) {
        return;
    }
    drop(running);
    let app = app.clone();
    let id = id.clone();
    tauri::async_runtime::spawn(async move {
        let session = app.state::<Session>();
        let lookup = id.clone();
        let total = session
            .library_call(move |library| library.received(lookup.as_str()))
            .await
            .map(|r| {
                r.message.clip.as_ref().map_or(0, |c| c.size)
                    + r.message
                        .attachments
                        .iter()
                        .map(|a| a.blob.size)
                        .sum::<u64>()
            })
            .unwrap_or(0);
        let progress_app = app.clone();
        let progress_id = id.clone();
        // Progress is per blob: (blob in flight, bytes of the blobs before it, its bytes).
        let tally = Mutex::new((None, 0u64, 0u64));
        let progress: pigeon_library::inbox::DownloadProgress = std::sync::Arc::new(move |p| {
            let Ok(mut tally) = tally.lock() else {
                return;
            };
            if tally.0.as_ref() != Some(&p.blob) {
                *tally = (Some(p.blob.clone()), tally.1 + tally.2, 0);
            }
            tally.2 = p.acknowledged;
            let _ = progress_app.emit(
                DOWNLOAD_EVENT,
                DownloadView {
                    message: progress_id.clone(),
                    done: tally.1 + tally.2,
                    total,
                    error: None,
                    finished: false,
                },
            );
        });
        let result = async {
            let inbox = session.inbox().await?;
            inbox.fetch(&id, Some(progress), session.now()).await?;
            anyhow::Ok(())
        }
        .await;
        if let Ok(mut running) = app.state::<Downloads>().0.lock() {
            running.remove(&id);
        }
        let error = result.err().map(|e| {
            tracing::warn!(message = %id, error = %format!("{e:#}"), "download failed");
            format!("The download stopped: {e:#}. Check the connection and press Play again.")
        });
        let _ = app.emit(
            DOWNLOAD_EVENT,
            DownloadView {
                message: id.clone(),
                done: total,
                total,
                finished: error.is_none(),
                error,
            },
        );
        library_changed(&app);
    });
}
