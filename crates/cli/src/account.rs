//! `pigeon login` and `pigeon config`: which store, who the user is there, the
//! download policy and how transcripts are made.

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use pigeon_library::connect::connect;
use pigeon_library::{people, DownloadPolicy, StoreSettings};
use serde_json::json;

use crate::flags::{ConfigSetting, TranscriptionFlags};
use crate::App;

impl App {
    pub async fn login(
        &self,
        hub: Option<String>,
        token: Option<String>,
        folder: Option<PathBuf>,
        name: Option<String>,
    ) -> Result<()> {
        let mut settings = self.settings.clone();
        match (hub, token, folder, name) {
            (Some(url), Some(token), None, _) => {
                settings.store = StoreSettings::Hub { url, token };
                let connected = connect(&settings, self.zone().name()).await?;
                let me = connected.store.me().await.context(
                    "the hub did not accept the token: check the address and ask for a new token (`pigeon-hub user add`)",
                )?;
                settings.user = me.name.to_string();
            }
            (None, _, Some(path), Some(name)) => {
                let path = std::path::absolute(&path)
                    .with_context(|| format!("{} is not a usable folder", path.display()))?;
                settings.store = StoreSettings::Folder { path };
                settings.user = people::user_name(&name)?.to_string();
                let connected = connect(&settings, self.zone().name()).await?;
                connected.store.me().await?;
            }
            _ => bail!(
                "say which store to use: `pigeon login --hub URL --token TOKEN` or `pigeon login --folder PATH --name NAME`"
            ),
        }
        settings.save(&self.home)?;
        let store = store_text(&settings.store);
        self.out.say(
            json!({"user": settings.user, "store": store}),
            format!("logged in as {} at {store}", settings.user),
        );
        Ok(())
    }

    pub fn config(
        &self,
        setting: Option<ConfigSetting>,
        transcription: &TranscriptionFlags,
    ) -> Result<()> {
        let mut settings = self.settings.clone();
        let mut changed =
            self.apply_transcription_flags(&mut settings.transcription, transcription)?;
        if let Some(ConfigSetting::Download { policy }) = setting {
            settings.downloads = DownloadPolicy::parse(&policy)?;
            changed = true;
        }
        if changed {
            settings.save(&self.home)?;
            // Transcripts that failed for want of a model get another chance with this one.
            if transcription.any() {
                self.library.requeue_failed_transcriptions(self.now())?;
            }
        }
        let store = store_text(&settings.store);
        let (transcription_text, transcription_json) =
            self.transcription_config(&settings.transcription);
        self.out.say(
            json!({
                "user": settings.user,
                "store": store,
                "download": settings.downloads.as_str(),
                "transcription": transcription_json,
            }),
            format!(
                "user      {}\nstore     {store}\ndownload  {}\n{transcription_text}",
                settings.user,
                settings.downloads.as_str()
            ),
        );
        Ok(())
    }
}

/// The store as the user named it: a hub's address or a folder's path.
fn store_text(store: &StoreSettings) -> String {
    match store {
        StoreSettings::Hub { url, .. } => url.clone(),
        StoreSettings::Folder { path } => path.display().to_string(),
    }
}
