//! Opening an attachment with the system's application, or saving a copy.

use std::path::PathBuf;

use anyhow::{anyhow, Context as _};
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt as _;
use tauri_plugin_opener::OpenerExt as _;

use super::{find, Found};
use crate::blocking;
use crate::error::CommandResult;
use crate::session::{self, Session};

/// The local file of an attachment and the name its sender gave it, downloading
/// the message first if needed.
async fn attachment_file(
    app: &AppHandle,
    session: &Session,
    id: String,
    position: usize,
) -> anyhow::Result<(PathBuf, String)> {
    let (found, local) = session::blocking(app.clone(), move |_, session| {
        let found = find(session, &id)?;
        // Whether the copy on disk is still there, looked at here off the async threads.
        let local = match &found {
            Found::Sent(entry) => Some(
                entry
                    .attachments
                    .get(position)
                    .map(|a| a.path.clone())
                    .ok_or_else(|| anyhow!("that attachment is not part of the message"))?,
            ),
            Found::Received(r) => r
                .attachment_paths
                .get(position)
                .cloned()
                .flatten()
                .filter(|p| p.is_file()),
        };
        Ok((found, local))
    })
    .await?;
    let name = match &found {
        Found::Sent(entry) => entry.attachments.get(position).map(|a| a.name.clone()),
        Found::Received(r) => r.message.attachments.get(position).map(|a| a.name.clone()),
    }
    .ok_or_else(|| anyhow!("that attachment is not part of the message"))?;
    let path = match (found, local) {
        (_, Some(path)) => path,
        (Found::Sent(_), None) => {
            return Err(anyhow!("that attachment is not part of the message"))
        }
        (Found::Received(r), None) => {
            let inbox = session.inbox().await?;
            let fetched = inbox
                .fetch(&r.message.id, None, session.now())
                .await
                .context(
                    "the attachment could not be downloaded; check the connection and try again",
                )?;
            fetched
                .attachment_paths
                .get(position)
                .cloned()
                .flatten()
                .ok_or_else(|| anyhow!("that attachment is not part of the message"))?
        }
    };
    Ok((path, name))
}

/// Opens an attachment with the system's default application.
#[tauri::command]
pub async fn open_attachment(
    app: AppHandle,
    session: State<'_, Session>,
    id: String,
    position: usize,
) -> CommandResult<()> {
    let (path, _) = attachment_file(&app, &session, id, position).await?;
    app.opener()
        .open_path(path.to_string_lossy(), None::<&str>)
        .map_err(|e| {
            anyhow!(
                "no application could open {} ({e}); use Save as… instead",
                path.display()
            )
        })?;
    Ok(())
}

/// Saves a copy of an attachment where the user picks; None when they cancel.
#[tauri::command]
pub async fn save_attachment(
    app: AppHandle,
    session: State<'_, Session>,
    id: String,
    position: usize,
) -> CommandResult<Option<String>> {
    let (path, name) = attachment_file(&app, &session, id, position).await?;
    let suggested = pigeon_library::attachment::save_as_name(&name);
    let dialog = app.dialog().file().set_file_name(&suggested);
    let chosen = blocking::run(move || Ok(dialog.blocking_save_file())).await?;
    let Some(target) = chosen.and_then(|c| c.into_path().ok()) else {
        return Ok(None);
    };
    let saved = target.clone();
    blocking::run(move || {
        std::fs::copy(&path, &saved).with_context(|| {
            format!(
                "could not save to {}: choose a folder you can write to",
                saved.display()
            )
        })
    })
    .await?;
    Ok(Some(target.display().to_string()))
}
