//! A user's settings: who they are and which shared store they use.
//!
//! Kept as TOML in [`PigeonHome::settings_file`]. A new user needs no setup:
//! their identity defaults to the login name and their store to a folder store
//! inside their data folder, so Pigeon works with no server at all. Received clips and
//! attachments are downloaded on demand unless [`DownloadPolicy::Background`] is set.

use std::fmt;
use std::path::{Path, PathBuf};

use pigeon_media::composite::{BubbleShape, BubbleSize, BubbleStyle, Corner};
use pigeon_media::mix::MAX_GAIN;
use pigeon_media::screen::ScreenTarget;
use serde::{Deserialize, Serialize};

use crate::home::PigeonHome;
use crate::reminders::ReminderPolicy;

mod transcription;
pub use transcription::TranscriptionSettings;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The user's name in the store (what others send to).
    pub user: String,
    pub store: StoreSettings,
    #[serde(default)]
    pub reminders: ReminderPolicy,
    /// When received clips and attachments are downloaded (posters always come at once).
    #[serde(default)]
    pub downloads: DownloadPolicy,
    #[serde(default)]
    pub desktop: DesktopSettings,
    /// Transcripts made on this machine: on by default, with the default model.
    #[serde(default)]
    pub transcription: TranscriptionSettings,
    /// Quiet hours: my working hours and "do not disturb until".
    #[serde(default)]
    pub quiet: crate::quiet::QuietSettings,
}

/// When the clips and attachments of received messages are downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DownloadPolicy {
    /// Only when the user opens (fetches) a message: nothing large is downloaded
    /// unasked, which suits metered connections and small disks.
    #[default]
    OnDemand,
    /// Every sync also downloads what it received, so messages open at once, offline too.
    Background,
}

impl DownloadPolicy {
    /// The text form used in the settings file and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            DownloadPolicy::OnDemand => "on-demand",
            DownloadPolicy::Background => "background",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(text: &str) -> Result<Self, SettingsError> {
        match text {
            "on-demand" => Ok(DownloadPolicy::OnDemand),
            "background" => Ok(DownloadPolicy::Background),
            other => Err(SettingsError::UnknownValue(format!(
                "{other:?} is not a download policy: use on-demand or background"
            ))),
        }
    }
}

/// Settings only the desktop app uses; kept here so the file has one owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DesktopSettings {
    /// The global key combination that starts a quick recording.
    pub quick_record_shortcut: String,
    /// The camera last chosen: a camera id, [`DesktopSettings::TEST_PATTERN`] or
    /// [`DesktopSettings::NO_DEVICE`]; None for the first camera found.
    pub camera: Option<String>,
    /// The microphone last chosen (an id or name) or [`DesktopSettings::NO_DEVICE`];
    /// None for the system's default input.
    pub microphone: Option<String>,
    /// "480p", "720p" or "1080p".
    pub quality: String,
    /// The longest clip, in seconds.
    pub max_clip_seconds: u32,
    /// What the last recording showed: a [`Layout`] label.
    pub layout: String,
    /// The screen last chosen: a [`ScreenTarget`] id (`screen`, `monitor:N`, `window:0xID`).
    pub screen: String,
    /// The bubble's shape, size and corner: [`BubbleShape`], [`BubbleSize`] and
    /// [`Corner`] labels.
    pub bubble_shape: String,
    pub bubble_size: String,
    pub bubble_corner: String,
    /// Whether what the computer plays is recorded with the microphone.
    pub computer_sound: bool,
    /// The microphone's and the computer sound's gains when both are mixed: linear
    /// factors, 0 (muted) to [`MAX_GAIN`], 1 as they come. See [`Self::mix_levels`].
    pub microphone_level: f32,
    pub computer_level: f32,
    /// Whether the Player shows captions on the video (remembered; on until turned off).
    pub captions_on: bool,
}

/// What a recording shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// The camera (or the test pattern, or the still card of an audio-only message).
    #[default]
    Camera,
    /// The screen alone.
    Screen,
    /// The screen with the camera in a bubble.
    ScreenCamera,
}

impl Layout {
    /// Every layout, in the order a picker shows them.
    pub const ALL: &'static [Layout] = &[Layout::Camera, Layout::Screen, Layout::ScreenCamera];

    /// The name the settings file and the UI use.
    pub fn label(self) -> &'static str {
        match self {
            Layout::Camera => "camera",
            Layout::Screen => "screen",
            Layout::ScreenCamera => "screen-camera",
        }
    }

    /// Parses [`Self::label`].
    pub fn parse(text: &str) -> Result<Self, SettingsError> {
        Self::ALL
            .iter()
            .copied()
            .find(|l| l.label() == text)
            .ok_or_else(|| {
                SettingsError::UnknownValue(format!(
                    "{text:?} is not a layout: use camera, screen or screen-camera"
                ))
            })
    }
}

impl DesktopSettings {
    pub const DEFAULT_QUICK_RECORD_SHORTCUT: &str = "Ctrl+Shift+Alt+R";
    /// The camera choice that records the moving test pattern.
    pub const TEST_PATTERN: &str = "test-pattern";
    /// The device choice "none": audio-only (camera) or video-only (microphone).
    pub const NO_DEVICE: &str = "none";
    /// The microphone choice that records the system's default input.
    pub const DEFAULT_MICROPHONE: &str = "default";
    /// Clips can be 10 seconds to 10 minutes long.
    pub const CLIP_SECONDS: std::ops::RangeInclusive<u32> = 10..=600;

    /// The remembered [`Layout`].
    pub fn layout(&self) -> Result<Layout, SettingsError> {
        Layout::parse(&self.layout)
    }

    /// The remembered screen.
    pub fn screen_target(&self) -> Result<ScreenTarget, SettingsError> {
        self.screen.parse().map_err(|_| {
            SettingsError::UnknownValue(format!(
                "{:?} is not a screen: choose the screen again on the Record screen",
                self.screen
            ))
        })
    }

    /// The remembered bubble.
    pub fn bubble_style(&self) -> Result<BubbleStyle, SettingsError> {
        fn read<T>(
            label: &str,
            what: &str,
            from_label: fn(&str) -> Option<T>,
            all: &[T],
            label_of: fn(&T) -> &'static str,
        ) -> Result<T, SettingsError> {
            from_label(label).ok_or_else(|| {
                let known: Vec<_> = all.iter().map(label_of).collect();
                SettingsError::UnknownValue(format!(
                    "{label:?} is not a bubble {what}: use {}",
                    known.join(", ")
                ))
            })
        }
        Ok(BubbleStyle {
            shape: read(
                &self.bubble_shape,
                "shape",
                BubbleShape::from_label,
                BubbleShape::ALL,
                |s| s.label(),
            )?,
            size: read(
                &self.bubble_size,
                "size",
                BubbleSize::from_label,
                BubbleSize::ALL,
                |s| s.label(),
            )?,
            corner: read(
                &self.bubble_corner,
                "corner",
                Corner::from_label,
                Corner::ALL,
                |c| c.label(),
            )?,
        })
    }

    /// The remembered microphone and computer sound levels, checked with [`mix_level`].
    pub fn mix_levels(&self) -> Result<(f32, f32), SettingsError> {
        Ok((
            mix_level("microphone", self.microphone_level)?,
            mix_level("computer sound", self.computer_level)?,
        ))
    }

    /// Remembers the two levels for the next recordings; nothing is changed when
    /// either is not a level.
    pub fn set_mix_levels(&mut self, microphone: f32, computer: f32) -> Result<(), SettingsError> {
        let microphone = mix_level("microphone", microphone)?;
        self.computer_level = mix_level("computer sound", computer)?;
        self.microphone_level = microphone;
        Ok(())
    }

    /// Remembers `style` for the next recordings.
    pub fn set_bubble_style(&mut self, style: BubbleStyle) {
        self.bubble_shape = style.shape.label().to_owned();
        self.bubble_size = style.size.label().to_owned();
        self.bubble_corner = style.corner.label().to_owned();
    }
}

impl Default for DesktopSettings {
    fn default() -> Self {
        Self {
            quick_record_shortcut: Self::DEFAULT_QUICK_RECORD_SHORTCUT.to_owned(),
            camera: None,
            microphone: None,
            quality: "720p".to_owned(),
            max_clip_seconds: 300,
            layout: Layout::default().label().to_owned(),
            screen: ScreenTarget::Screen.to_string(),
            bubble_shape: BubbleShape::default().label().to_owned(),
            bubble_size: BubbleSize::default().label().to_owned(),
            bubble_corner: Corner::default().label().to_owned(),
            computer_sound: false,
            microphone_level: 1.0,
            computer_level: 1.0,
            captions_on: true,
        }
    }
}

/// The one rule for a mix level: a number from 0 (muted) to [`MAX_GAIN`]
/// (1 is the input as it comes). `what` names the input in the error.
pub fn mix_level(what: &str, level: f32) -> Result<f32, SettingsError> {
    if level.is_finite() && (0.0..=MAX_GAIN).contains(&level) {
        Ok(level)
    } else {
        Err(SettingsError::UnknownValue(format!(
            "{level} is not a {what} level: use 0 (muted) to {MAX_GAIN} ({} %), 1 being as it comes",
            MAX_GAIN * 100.0
        )))
    }
}

/// Which shared store messages travel through.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StoreSettings {
    /// A hub server, reached with the user's access token.
    Hub { url: String, token: String },
    /// A shared folder (a network or synced drive); no server.
    Folder { path: PathBuf },
}

// The token is a password: it never reaches a log.
impl fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hub { url, .. } => f
                .debug_struct("Hub")
                .field("url", url)
                .field("token", &"<hidden>")
                .finish(),
            Self::Folder { path } => f.debug_struct("Folder").field("path", path).finish(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("could not read the settings file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the settings file {path} is not valid ({reason}); fix it, or delete it to start over with the defaults")]
    Invalid { path: PathBuf, reason: String },
    #[error("{0}")]
    UnknownValue(String),
    #[error("could not save the settings to {path}: {source}; check that the folder is writable")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Settings {
    /// What a new user starts with.
    pub fn default_for(home: &PigeonHome, login_name: Option<String>) -> Self {
        Self {
            user: login_name
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "me".to_owned()),
            store: StoreSettings::Folder {
                path: home.data_dir().join("store"),
            },
            reminders: ReminderPolicy::default(),
            downloads: DownloadPolicy::default(),
            desktop: DesktopSettings::default(),
            transcription: TranscriptionSettings::default(),
            quiet: crate::quiet::QuietSettings::default(),
        }
    }

    /// The saved settings, or the defaults when none were saved yet.
    pub fn load_or_default(home: &PigeonHome) -> Result<Self, SettingsError> {
        let path = home.settings_file();
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| SettingsError::Invalid {
                path,
                reason: e.message().to_owned(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default_for(
                home,
                std::env::var("USER")
                    .or_else(|_| std::env::var("LOGNAME"))
                    .ok(),
            )),
            Err(source) => Err(SettingsError::Read { path, source }),
        }
    }

    /// Saves atomically: a crash mid-save leaves the old file, never half a file.
    pub fn save(&self, home: &PigeonHome) -> Result<(), SettingsError> {
        let path = home.settings_file();
        let text = toml::to_string_pretty(self).map_err(|e| SettingsError::Invalid {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_atomically(&path, text.as_bytes())
            .map_err(|source| SettingsError::Write { path, source })
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_user_gets_a_folder_store_in_their_data_folder() {
        let dir = tempfile::tempdir().unwrap();
        let home = PigeonHome::at(dir.path());
        let settings = Settings::default_for(&home, Some("alice".into()));
        assert_eq!(settings.user, "alice");
        assert_eq!(
            settings.store,
            StoreSettings::Folder {
                path: dir.path().join("data/store")
            }
        );
    }

    #[test]
    fn settings_survive_a_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let home = PigeonHome::at(dir.path());
        let settings = Settings {
            user: "bob".into(),
            store: StoreSettings::Hub {
                url: "http://127.0.0.1:7700".into(),
                token: "s3cret".into(),
            },
            reminders: ReminderPolicy::default(),
            downloads: DownloadPolicy::Background,
            desktop: DesktopSettings {
                quick_record_shortcut: "Ctrl+Alt+P".into(),
                camera: Some(DesktopSettings::TEST_PATTERN.into()),
                microphone: None,
                quality: "1080p".into(),
                max_clip_seconds: 120,
                layout: Layout::ScreenCamera.label().into(),
                screen: "monitor:1".into(),
                bubble_shape: "rounded-square".into(),
                bubble_size: "small".into(),
                bubble_corner: "top-right".into(),
                computer_sound: true,
                microphone_level: 1.5,
                computer_level: 0.25,
                captions_on: false,
            },
            transcription: TranscriptionSettings {
                enabled: false,
                model: "small".into(),
                model_path: Some("/opt/models/ggml-small.bin".into()),
                language: Some("de".into()),
            },
            quiet: crate::quiet::QuietSettings {
                working_hours: Some(pigeon_store::protocol::hours::WorkingHours::new(
                    "Asia/Tokyo",
                    pigeon_store::protocol::hours::Day::parse_set("mon,tue,thu").unwrap(),
                    pigeon_store::protocol::hours::DailySpan::parse_list("10:00-12:00,13:00-18:00")
                        .unwrap(),
                    vec![chrono::NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()],
                )),
                do_not_disturb_until: Some(
                    chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(20_000),
                ),
            },
        };
        settings.save(&home).unwrap();
        assert_eq!(Settings::load_or_default(&home).unwrap(), settings);
        let text = std::fs::read_to_string(home.settings_file()).unwrap();
        assert!(text.contains("kind = \"hub\""), "{text}");
    }

    #[test]
    fn missing_sections_take_their_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let home = PigeonHome::at(dir.path());
        std::fs::create_dir_all(home.config_dir()).unwrap();
        std::fs::write(
            home.settings_file(),
            "user = \"carol\"\n[store]\nkind = \"folder\"\npath = \"/srv/pigeon\"\n",
        )
        .unwrap();
        let settings = Settings::load_or_default(&home).unwrap();
        assert_eq!(settings.desktop.quick_record_shortcut, "Ctrl+Shift+Alt+R");
        assert_eq!(settings.reminders, ReminderPolicy::default());
        assert_eq!(settings.downloads, DownloadPolicy::OnDemand);
        // A file from before transcripts transcribes with the default model.
        assert_eq!(settings.transcription, TranscriptionSettings::default());
        assert!(settings.transcription.enabled);
        assert_eq!(settings.transcription.model, "base.en");
        assert!(settings.desktop.captions_on);
    }

    #[test]
    fn a_transcription_section_reads_its_model_path_and_keeps_defaults_for_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let home = PigeonHome::at(dir.path());
        std::fs::create_dir_all(home.config_dir()).unwrap();
        std::fs::write(
            home.settings_file(),
            "user = \"carol\"\n[store]\nkind = \"folder\"\npath = \"/srv/pigeon\"\n\
             [transcription]\nmodel_path = \"/models/ggml-tiny.en.bin\"\n",
        )
        .unwrap();
        let t = Settings::load_or_default(&home).unwrap().transcription;
        assert_eq!(
            t.model_path.as_deref(),
            Some(Path::new("/models/ggml-tiny.en.bin"))
        );
        assert!(t.enabled);
        assert_eq!(t.model, "base.en");
        assert_eq!(t.language, None);
    }

    #[test]
    fn a_settings_file_from_before_screen_recording_records_the_camera() {
        let dir = tempfile::tempdir().unwrap();
        let home = PigeonHome::at(dir.path());
        std::fs::create_dir_all(home.config_dir()).unwrap();
        std::fs::write(
            home.settings_file(),
            "user = \"carol\"\n[store]\nkind = \"folder\"\npath = \"/srv/pigeon\"\n\
             [desktop]\ncamera = \"test-pattern\"\nquality = \"480p\"\n",
        )
        .unwrap();
        let desktop = Settings::load_or_default(&home).unwrap().desktop;
        assert_eq!(desktop.camera.as_deref(), Some("test-pattern"));
        assert_eq!(desktop.layout().unwrap(), Layout::Camera);
        assert_eq!(desktop.screen_target().unwrap(), ScreenTarget::Screen);
        assert_eq!(desktop.bubble_style().unwrap(), BubbleStyle::default());
        assert!(!desktop.computer_sound);
        assert_eq!(desktop.mix_levels().unwrap(), (1.0, 1.0));
    }

    #[test]
    fn mix_levels_outside_muted_to_the_mixs_most_are_refused() {
        let mut desktop = DesktopSettings::default();
        desktop.set_mix_levels(0.0, MAX_GAIN).unwrap();
        assert_eq!(desktop.mix_levels().unwrap(), (0.0, MAX_GAIN));
        for bad in [-0.1, MAX_GAIN + 0.1, f32::NAN, f32::INFINITY] {
            let error = desktop.set_mix_levels(1.0, bad).unwrap_err().to_string();
            assert!(
                error.contains("is not a computer sound level: use 0"),
                "{error}"
            );
            let error = desktop.set_mix_levels(bad, 1.0).unwrap_err().to_string();
            assert!(error.contains("is not a microphone level"), "{error}");
        }
        // A refused change leaves what was remembered.
        assert_eq!(desktop.mix_levels().unwrap(), (0.0, MAX_GAIN));
        desktop.computer_level = -1.0;
        assert!(desktop.mix_levels().is_err());
    }

    #[test]
    fn a_bubble_style_is_remembered_by_its_labels() {
        let mut desktop = DesktopSettings::default();
        let style = BubbleStyle {
            shape: BubbleShape::RoundedSquare,
            size: BubbleSize::Large,
            corner: Corner::BottomLeft,
        };
        desktop.set_bubble_style(style);
        assert_eq!(desktop.bubble_corner, "bottom-left");
        assert_eq!(desktop.bubble_style().unwrap(), style);
        desktop.bubble_size = "huge".into();
        let error = desktop.bubble_style().unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"huge\" is not a bubble size: use small, medium, large"
        );
    }

    #[test]
    fn layouts_read_as_they_are_written() {
        for layout in Layout::ALL {
            assert_eq!(Layout::parse(layout.label()).unwrap(), *layout);
        }
        assert!(Layout::parse("pip").is_err());
    }

    #[test]
    fn download_policies_read_as_they_are_written() {
        for policy in [DownloadPolicy::OnDemand, DownloadPolicy::Background] {
            assert_eq!(DownloadPolicy::parse(policy.as_str()).unwrap(), policy);
        }
        let error = DownloadPolicy::parse("always").unwrap_err();
        assert!(
            error.to_string().contains("use on-demand or background"),
            "{error}"
        );
    }

    #[test]
    fn the_token_stays_out_of_debug_output() {
        let store = StoreSettings::Hub {
            url: "http://hub".into(),
            token: "s3cret".into(),
        };
        assert!(!format!("{store:?}").contains("s3cret"));
    }

    #[test]
    fn a_broken_file_says_how_to_recover() {
        let dir = tempfile::tempdir().unwrap();
        let home = PigeonHome::at(dir.path());
        std::fs::create_dir_all(home.config_dir()).unwrap();
        std::fs::write(home.settings_file(), "user = [").unwrap();
        let error = Settings::load_or_default(&home).unwrap_err();
        assert!(
            error.to_string().contains("delete it to start over"),
            "{error}"
        );
    }
}
