//! Drafts: recorded clips not sent yet, and discarding one.

use chrono::{DateTime, Utc};
use pigeon_library::{Draft, DraftState};
use pigeon_playback::{Media, MP4};
use serde::Serialize;
use tauri::AppHandle;

use super::{offer, poster_url};
use crate::error::CommandResult;
use crate::session;
use crate::windows::library_changed;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DraftView {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub duration_seconds: Option<f64>,
    /// "recording", "ready", "queued" or "sent".
    pub state: &'static str,
    pub recovered: bool,
    /// Bytes of the clip the store has acknowledged, of `clip_bytes`.
    pub uploaded_bytes: u64,
    pub clip_bytes: u64,
    /// The whole clip is on the store (sealed): Send commits at once.
    pub uploaded: bool,
    pub play_url: Option<String>,
    /// The poster (the first picture), once made at the stop or after a trim.
    pub poster_url: Option<String>,
}

/// A draft as the screens show it; looks at the clip on disk, so only on the
/// blocking pool.
pub fn draft_view(app: &AppHandle, draft: &Draft) -> anyhow::Result<DraftView> {
    let clip_bytes = std::fs::metadata(&draft.clip_path)
        .map(|m| m.len())
        .unwrap_or(0);
    let play_url = match &draft.playable_path {
        Some(path) if path.is_file() => Some(offer(app, Media::file(path, MP4))?),
        _ => None,
    };
    Ok(DraftView {
        id: draft.id.clone(),
        created_at: draft.created_at,
        duration_seconds: draft.duration.map(|d| d.as_secs_f64()),
        state: draft.state.as_str(),
        recovered: draft.recovered,
        uploaded_bytes: if draft.clip_sealed.is_some() {
            clip_bytes
        } else {
            draft.clip_acknowledged
        },
        clip_bytes,
        uploaded: draft.clip_sealed.is_some(),
        play_url,
        poster_url: poster_url(app, draft.poster_path.as_deref()),
    })
}

#[tauri::command]
pub async fn drafts(app: AppHandle) -> CommandResult<Vec<DraftView>> {
    Ok(session::blocking(app, |app, session| {
        let mut drafts = session.library.drafts()?;
        drafts.retain(|d| d.state == DraftState::Ready);
        drafts.sort_by_key(|d| std::cmp::Reverse(d.created_at));
        drafts.iter().map(|d| draft_view(app, d)).collect()
    })
    .await?)
}

#[tauri::command]
pub async fn draft(app: AppHandle, id: String) -> CommandResult<DraftView> {
    Ok(session::blocking(app, move |app, session| {
        draft_view(app, &session.library.draft(&id)?)
    })
    .await?)
}

#[tauri::command]
pub async fn discard_draft(app: AppHandle, id: String) -> CommandResult<()> {
    session::blocking(app.clone(), move |_, session| {
        Ok(pigeon_library::recording::discard_draft(
            &session.library,
            &id,
        )?)
    })
    .await?;
    library_changed(&app);
    Ok(())
}
