//! Opening the store a user's settings name, and bringing back crashed recordings.

use std::sync::Arc;

use pigeon_store::protocol::{Limits, User, UserName};
use pigeon_store::{FolderStore, HubClient, SharedStore};

use crate::db::{Draft, Library};
use crate::error::{LibraryError, Result};
use crate::settings::{Settings, StoreSettings};

/// A store ready to use, and whether its inbox cursor can be kept between syncs.
pub struct Connected {
    pub store: SharedStore,
    pub incremental: bool,
}

/// Opens the store of `settings`. A folder store is prepared on first use and the user
/// added to it, so a new user needs no setup.
pub async fn connect(settings: &Settings, time_zone: &str) -> Result<Connected> {
    match &settings.store {
        StoreSettings::Hub { url, token } => Ok(Connected {
            store: Arc::new(HubClient::new(url, token)?),
            incremental: true,
        }),
        StoreSettings::Folder { path } => {
            let name = UserName::parse(settings.user.clone()).map_err(|e| {
                LibraryError::UnusableUserName {
                    name: settings.user.clone(),
                    reason: e.to_string(),
                }
            })?;
            let user = User {
                display_name: name.to_string(),
                name,
                time_zone: time_zone.to_owned(),
            };
            let store = FolderStore::open_or_create(path, &user, Limits::default()).await?;
            Ok(Connected {
                store: Arc::new(store),
                incremental: false,
            })
        }
    }
}

/// Turns every recording whose process died into a ready draft with its real length.
///
/// The clip is first cut back to the end of the last fragment the recorder announced:
/// those bytes never change and may already be on the store, so the upload resumes
/// where it stopped and what is sent is exactly what is kept. A recording that never
/// completed a fragment is dropped.
pub fn recover_unfinished(library: &Library) -> Result<Vec<Draft>> {
    let mut recovered = Vec::new();
    for draft in library.unfinished_recordings()? {
        if draft.clip_announced == 0 {
            tracing::warn!(draft = %draft.id, "a recording ended before its first second: dropped");
            let _ = std::fs::remove_file(pigeon_media::recovery::marker_path(&draft.clip_path));
            let _ = std::fs::remove_file(&draft.clip_path);
            library.delete_draft(&draft.id)?;
            continue;
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&draft.clip_path)
            .map_err(|e| LibraryError::io(&draft.clip_path, e))?;
        file.set_len(draft.clip_announced)
            .map_err(|e| LibraryError::io(&draft.clip_path, e))?;
        drop(file);
        let playable = pigeon_media::clip::playable_path_for(&draft.clip_path);
        let clip = pigeon_media::recover(&draft.clip_path, &playable)?;
        library.finish_draft(&draft.id, clip.duration, Some(&clip.playable), true)?;
        recovered.push(library.draft(&draft.id)?);
    }
    Ok(recovered)
}
