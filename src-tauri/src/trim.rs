//! Trimming a draft in Compose: the clip's pictures for the scrubber, and the cut.
//!
//! The cut itself (frame-accurate, re-encoding only the pictures at the two cut
//! points, replacing the draft's upload) is `pigeon_library::trim::trim_draft`;
//! this module only hands the UI the filmstrip and passes the chosen range on.

use std::time::Duration;

use anyhow::anyhow;
use tauri::ipc::Response;
use tauri::{AppHandle, State};

use crate::error::CommandResult;
use crate::messages::drafts::{draft_view, DraftView};
use crate::session::{self, Session};
use crate::windows::library_changed;

/// The scrubber shows at most this many pictures.
const MAX_PICTURES: u32 = 24;

/// `count` JPEG pictures spread over the draft's clip, framed for the UI: a u32
/// count, then per picture a u64 time in ms, a u32 length and the JPEG bytes
/// (little-endian). Raw bytes, not JSON: the UI makes image URLs of them.
#[tauri::command]
pub async fn draft_filmstrip(
    app: AppHandle,
    draft_id: String,
    count: u32,
    max_width: u32,
) -> CommandResult<Response> {
    let pictures = session::blocking(app, move |_, session| {
        let draft = session.library.draft(&draft_id)?;
        // The playable copy has its index up front; the recorded clip is fragmented.
        let clip = draft
            .playable_path
            .filter(|p| p.is_file())
            .unwrap_or(draft.clip_path);
        Ok(pigeon_media::trim::filmstrip(
            &clip,
            count.clamp(1, MAX_PICTURES),
            max_width.clamp(32, 320),
        )?)
    })
    .await?;
    Ok(Response::new(filmstrip_bytes(&pictures)))
}

fn filmstrip_bytes(pictures: &[(Duration, Vec<u8>)]) -> Vec<u8> {
    let size = 4 + pictures.iter().map(|(_, j)| 12 + j.len()).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&(pictures.len() as u32).to_le_bytes());
    for (at, jpeg) in pictures {
        out.extend_from_slice(&(at.as_millis() as u64).to_le_bytes());
        out.extend_from_slice(&(jpeg.len() as u32).to_le_bytes());
        out.extend_from_slice(jpeg);
    }
    out
}

/// Cuts the draft's clip to [start, end] (milliseconds); the trimmed clip replaces
/// the draft's upload and, with a store, starts uploading at once.
#[tauri::command]
pub async fn trim_draft(
    app: AppHandle,
    session: State<'_, Session>,
    draft_id: String,
    start_ms: u64,
    end_ms: u64,
) -> CommandResult<DraftView> {
    if end_ms <= start_ms {
        return Err(anyhow!(
            "the end of the trim must come after its start: move the handles apart"
        )
        .into());
    }
    // Trimming needs no network: without a store the clip uploads at send.
    let outbox = session.outbox().await.ok();
    let trimmed = pigeon_library::trim::trim_draft(
        &session.library,
        outbox.as_ref(),
        &draft_id,
        Duration::from_millis(start_ms),
        Duration::from_millis(end_ms),
    )
    .await?;
    tracing::info!(draft = %trimmed.id, start_ms, end_ms, "draft trimmed");
    library_changed(&app);
    session.wake.notify_one();
    Ok(session::blocking(app, move |app, _| draft_view(app, &trimmed)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout `decodeFilmstrip` in ui/src/api.ts reads.
    #[test]
    fn filmstrip_is_count_then_time_length_and_bytes() {
        let bytes = filmstrip_bytes(&[
            (Duration::from_millis(0), vec![0xff, 0xd8]),
            (Duration::from_millis(1500), vec![7]),
        ]);
        assert_eq!(
            bytes,
            [
                2, 0, 0, 0, // count
                0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xd8, // 0 ms, 2 bytes
                0xdc, 0x05, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 7, // 1500 ms, 1 byte
            ]
        );
    }
}
