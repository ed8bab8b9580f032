//! What a recording captures: the user's choices ([`VideoChoice`], [`AudioChoice`],
//! [`Sources`]), the one rule that turns the remembered desktop settings into them
//! ([`Sources::last_used`]), and opening them into the recorder's sources.
//!
//! A screen recording is the screen source inside the compositor (with or without
//! the camera in a bubble), recorded at [`SCREEN_QUALITY`] with the encoder's
//! settings for screen content. Computer sound is mixed with the microphone.
//! Nothing here draws or mixes: `pigeon-media` does.

use std::path::PathBuf;

use pigeon_media::camera::{list_cameras, CameraSource};
use pigeon_media::composite::{BubbleControl, BubbleStyle, ScreenWithBubble};
use pigeon_media::computer_sound::ComputerSound;
use pigeon_media::file::open_file;
use pigeon_media::microphone::MicrophoneSource;
use pigeon_media::mix::{AudioMix, MixLevels};
use pigeon_media::screen::{open_screen, ScreenTarget};
use pigeon_media::synthetic::{SyntheticAudio, SyntheticVideo};
use pigeon_media::{AudioSource, ContentKind, Pacing, QualityPreset, VideoSource};

use crate::error::{LibraryError, Result};
use crate::settings::{DesktopSettings, Layout};

/// Screen recordings are 1080p at the screen's aspect (downscaled from larger
/// screens, never up), whatever quality camera recordings use: text must stay legible.
pub const SCREEN_QUALITY: QualityPreset = QualityPreset::High;
/// Frames per second of a screen recording.
pub const SCREEN_FPS: u32 = 30;
/// The camera picture asked for a bubble. The largest bubble is 0.38 of 1080 lines
/// (about 410 pixels), so 640x480 loses nothing and costs less to capture than 720p.
const BUBBLE_CAMERA_SIZE: (u32, u32) = (640, 480);

/// Where the picture comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoChoice {
    /// A camera by id (an index such as "0", or a device path).
    Camera { id: String },
    /// The moving test pattern: checks the microphone without a camera.
    TestPattern,
    /// No camera: an unchanging card, so the message is audio only.
    Still,
    /// The screen, a monitor or a window; with the camera in a bubble, or alone.
    Screen {
        target: ScreenTarget,
        bubble: Option<Bubble>,
    },
}

/// The camera shown in a bubble over the screen, and how the bubble looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bubble {
    /// [`VideoChoice::Camera`] or [`VideoChoice::TestPattern`]; boxed because a
    /// bubble sits inside a [`VideoChoice`].
    pub camera: Box<VideoChoice>,
    pub style: BubbleStyle,
}

/// Where the sound comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioChoice {
    /// The default input (`None`) or the one with this id or name.
    Microphone { id: Option<String> },
    /// The test tone (a beep every second).
    TestTone,
    /// No microphone: a video-only message.
    Silent,
}

/// What a recording captures.
#[derive(Debug, Clone, PartialEq)]
pub enum Sources {
    Devices {
        video: VideoChoice,
        audio: AudioChoice,
        /// Also what the computer plays (the default output's monitor), mixed with
        /// the microphone.
        computer_sound: bool,
        /// The gains the mix starts with (when a microphone and computer sound are mixed).
        levels: MixGains,
    },
    /// A media file played in real time, as if it were a camera and microphone.
    File(PathBuf),
}

/// The microphone's and the computer sound's gains a mix starts with: linear
/// factors, 0 (muted) to [`pigeon_media::mix::MAX_GAIN`]; they become the
/// recording's [`MixLevels`], which change while it runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MixGains {
    pub microphone: f32,
    pub computer: f32,
}

impl Default for MixGains {
    /// Both inputs as they come.
    fn default() -> Self {
        MixGains {
            microphone: 1.0,
            computer: 1.0,
        }
    }
}

/// Sources opened for the recorder, and the handles that change them while it runs.
pub struct OpenedSources {
    pub video: Box<dyn VideoSource>,
    pub audio: Option<Box<dyn AudioSource>>,
    /// Moves the bubble (a screen recording with the camera).
    pub bubble: Option<BubbleControl>,
    /// The microphone's and the computer sound's gains (both mixed).
    pub mix: Option<MixLevels>,
}

impl Sources {
    /// The test pattern and tone: works on every machine.
    pub fn synthetic() -> Self {
        Sources::Devices {
            video: VideoChoice::TestPattern,
            audio: AudioChoice::TestTone,
            computer_sound: false,
            levels: MixGains::default(),
        }
    }

    /// Whether the picture is a screen.
    pub fn is_screen(&self) -> bool {
        matches!(
            self,
            Sources::Devices {
                video: VideoChoice::Screen { .. },
                ..
            }
        )
    }

    /// The quality the recording uses when `chosen` was asked: a screen is
    /// recorded at [`SCREEN_QUALITY`], everything else as chosen.
    pub fn quality(&self, chosen: QualityPreset) -> QualityPreset {
        if self.is_screen() {
            SCREEN_QUALITY
        } else {
            chosen
        }
    }

    /// What the encoder is tuned for: a screen keeps its text legible.
    pub fn content(&self) -> ContentKind {
        if self.is_screen() {
            ContentKind::Screen
        } else {
            ContentKind::Camera
        }
    }

    /// The sources the desktop's next recording uses, from what was chosen last
    /// (layout, screen, bubble, camera, microphone, computer sound): the Record
    /// screen, the global shortcut and the tray all start recordings through this.
    /// With no camera chosen, the first one found; with none at all, an error
    /// rather than a recording without the picture the user expects.
    pub fn last_used(desktop: &DesktopSettings) -> Result<Sources> {
        sources_from(desktop, first_camera)
    }

    /// Opens the sources for a recording of `quality` (see [`Sources::quality`]). A
    /// camera opens when the recording starts, so its error (naming the device) comes
    /// from the start.
    pub fn open(&self, quality: QualityPreset) -> Result<OpenedSources> {
        let height = quality.max_height();
        // Even, as 4:2:0 pictures must be: 480 lines make 853.3 columns.
        let width = (height * 16 / 9) & !1;
        match self {
            Sources::Devices {
                video,
                audio,
                computer_sound,
                levels,
            } => {
                let (video, bubble) = match video {
                    VideoChoice::Screen { target, bubble } => {
                        open_screen_with_bubble(target, bubble, height)?
                    }
                    camera => (open_camera(camera, width, height, 30)?, None),
                };
                let (audio, mix) = open_audio(audio, *computer_sound, *levels)?;
                Ok(OpenedSources {
                    video,
                    audio,
                    bubble,
                    mix,
                })
            }
            Sources::File(path) => {
                if !path.is_file() {
                    return Err(LibraryError::Invalid(format!(
                        "{} is not a media file: check the path",
                        path.display()
                    )));
                }
                let (video, audio) = open_file(path, Pacing::RealTime)?;
                Ok(OpenedSources {
                    video: Box::new(video),
                    audio: audio.map(|a| Box::new(a) as Box<dyn AudioSource>),
                    bubble: None,
                    mix: None,
                })
            }
        }
    }
}

/// A camera-like picture: a camera, the test pattern or the still card.
fn open_camera(
    choice: &VideoChoice,
    width: u32,
    height: u32,
    fps: u32,
) -> Result<Box<dyn VideoSource>> {
    Ok(match choice {
        VideoChoice::Camera { id } => Box::new(CameraSource::new(id, width, height, fps)),
        VideoChoice::TestPattern => Box::new(SyntheticVideo::new(
            width,
            height,
            fps,
            Pacing::RealTime,
            None,
        )?),
        VideoChoice::Still => Box::new(SyntheticVideo::still(width, height, fps)?),
        VideoChoice::Screen { .. } => return Err(LibraryError::Invalid(
            "a screen cannot be shown in a bubble: the bubble shows a camera or the test pattern"
                .into(),
        )),
    })
}

/// The screen inside the compositor, `max_height` lines at most, and the handle on
/// its bubble when there is one.
fn open_screen_with_bubble(
    target: &ScreenTarget,
    bubble: &Option<Bubble>,
    max_height: u32,
) -> Result<(Box<dyn VideoSource>, Option<BubbleControl>)> {
    let (camera, control) = match bubble {
        Some(Bubble { camera, style }) => {
            if matches!(**camera, VideoChoice::Still) {
                return Err(LibraryError::Invalid(
                    "the bubble needs a camera or the test pattern, and no camera was chosen: \
                     choose one, or record the screen alone"
                        .into(),
                ));
            }
            let (w, h) = BUBBLE_CAMERA_SIZE;
            (
                Some(open_camera(camera, w, h, SCREEN_FPS)?),
                Some(BubbleControl::new(*style)),
            )
        }
        None => (None, None),
    };
    // Opened after the camera choice is checked: it connects to the display server.
    let screen = open_screen(target, SCREEN_FPS)?;
    let video = ScreenWithBubble::new(
        screen,
        camera,
        control.clone().unwrap_or_default(),
        max_height,
    );
    Ok((Box::new(video), control))
}

/// The sound for the recorder, and the mix's gains when two inputs are mixed.
type OpenedAudio = (Option<Box<dyn AudioSource>>, Option<MixLevels>);

/// The microphone (or tone, or nothing), mixed with the computer sound when asked.
fn open_audio(choice: &AudioChoice, computer_sound: bool, gains: MixGains) -> Result<OpenedAudio> {
    let microphone: Option<Box<dyn AudioSource>> = match choice {
        AudioChoice::Microphone { id } => {
            let mic = MicrophoneSource::open(id.as_deref()).map_err(|e| {
                LibraryError::Invalid(format!(
                    "{e}; pick another microphone, or record without sound"
                ))
            })?;
            Some(Box::new(mic))
        }
        AudioChoice::TestTone => Some(Box::new(SyntheticAudio::new(
            48_000,
            Pacing::RealTime,
            None,
        )?)),
        AudioChoice::Silent => None,
    };
    if !computer_sound {
        return Ok((microphone, None));
    }
    let computer = Box::new(ComputerSound::open(None)?);
    Ok(match microphone {
        // Without a microphone the computer sound is the sound: nothing to mix.
        None => (Some(computer), None),
        Some(microphone) => {
            let levels = MixLevels::new(gains.microphone, gains.computer);
            let mix = AudioMix::new(microphone, computer, levels.clone());
            (Some(Box::new(mix)), Some(levels))
        }
    })
}

impl VideoChoice {
    /// The camera the user chose last ([`DesktopSettings::camera`]): a camera, the
    /// test pattern or [`VideoChoice::Still`] for none; with nothing chosen, the
    /// first camera found, and an error saying what to do when there is none.
    pub fn chosen_camera(desktop: &DesktopSettings) -> Result<VideoChoice> {
        chosen_camera(desktop, first_camera)
    }
}

/// The first camera the system lists.
fn first_camera() -> Option<String> {
    list_cameras()
        .ok()
        .and_then(|cameras| cameras.into_iter().next())
        .map(|camera| camera.id)
}

/// [`VideoChoice::chosen_camera`], with the first camera found given by `first_camera`.
fn chosen_camera(
    desktop: &DesktopSettings,
    first_camera: impl FnOnce() -> Option<String>,
) -> Result<VideoChoice> {
    Ok(match desktop.camera.as_deref() {
        Some(DesktopSettings::TEST_PATTERN) => VideoChoice::TestPattern,
        Some(DesktopSettings::NO_DEVICE) => VideoChoice::Still,
        Some(id) => VideoChoice::Camera { id: id.to_owned() },
        None => match first_camera() {
            Some(id) => VideoChoice::Camera { id },
            None => {
                return Err(LibraryError::Invalid(
                    "no camera was found: record audio only, the test pattern or the \
                     screen alone, or connect a camera"
                        .into(),
                ))
            }
        },
    })
}

/// [`Sources::last_used`], with the first camera found given by `first_camera`
/// (asked only when no camera was chosen and the layout shows one).
fn sources_from(
    desktop: &DesktopSettings,
    first_camera: impl FnOnce() -> Option<String>,
) -> Result<Sources> {
    let invalid = |e: crate::settings::SettingsError| LibraryError::Invalid(e.to_string());
    let layout = desktop.layout().map_err(invalid)?;
    let camera = || chosen_camera(desktop, first_camera);
    let video = match layout {
        Layout::Camera => camera()?,
        Layout::Screen | Layout::ScreenCamera => {
            let target = desktop.screen_target().map_err(invalid)?;
            let bubble = match layout {
                Layout::ScreenCamera => match camera()? {
                    VideoChoice::Still => {
                        return Err(LibraryError::Invalid(
                            "the screen + camera layout needs a camera, and the camera is set \
                             to none: choose a camera or the test pattern, or the screen alone"
                                .into(),
                        ))
                    }
                    camera => Some(Bubble {
                        camera: Box::new(camera),
                        style: desktop.bubble_style().map_err(invalid)?,
                    }),
                },
                _ => None,
            };
            VideoChoice::Screen { target, bubble }
        }
    };
    let audio = match desktop.microphone.as_deref() {
        Some(DesktopSettings::NO_DEVICE) => AudioChoice::Silent,
        Some(DesktopSettings::DEFAULT_MICROPHONE) | None => AudioChoice::Microphone { id: None },
        Some(id) => AudioChoice::Microphone {
            id: Some(id.to_owned()),
        },
    };
    let (microphone, computer) = desktop.mix_levels().map_err(invalid)?;
    Ok(Sources::Devices {
        video,
        audio,
        computer_sound: desktop.computer_sound,
        levels: MixGains {
            microphone,
            computer,
        },
    })
}

#[cfg(test)]
mod tests {
    use pigeon_media::composite::{BubbleShape, BubbleSize, Corner};

    use super::*;

    fn no_camera() -> Option<String> {
        None
    }

    #[test]
    fn the_default_settings_record_the_first_camera_and_the_default_microphone() {
        let sources = sources_from(&DesktopSettings::default(), || Some("2".into())).unwrap();
        assert_eq!(
            sources,
            Sources::Devices {
                video: VideoChoice::Camera { id: "2".into() },
                audio: AudioChoice::Microphone { id: None },
                computer_sound: false,
                levels: MixGains::default(),
            }
        );
        let error = sources_from(&DesktopSettings::default(), no_camera).unwrap_err();
        assert!(error.to_string().contains("no camera was found"), "{error}");
    }

    #[test]
    fn the_screen_camera_layout_puts_the_chosen_camera_in_the_remembered_bubble() {
        let mut desktop = DesktopSettings {
            layout: Layout::ScreenCamera.label().into(),
            screen: "window:0x2a00007".into(),
            camera: Some(DesktopSettings::TEST_PATTERN.into()),
            microphone: Some(DesktopSettings::NO_DEVICE.into()),
            computer_sound: true,
            microphone_level: 0.5,
            computer_level: 2.0,
            ..DesktopSettings::default()
        };
        desktop.set_bubble_style(BubbleStyle {
            shape: BubbleShape::RoundedSquare,
            size: BubbleSize::Large,
            corner: Corner::TopLeft,
        });
        let sources = sources_from(&desktop, || panic!("a camera was chosen")).unwrap();
        assert_eq!(
            sources,
            Sources::Devices {
                video: VideoChoice::Screen {
                    target: ScreenTarget::Window(0x2a0_0007),
                    bubble: Some(Bubble {
                        camera: Box::new(VideoChoice::TestPattern),
                        style: BubbleStyle {
                            shape: BubbleShape::RoundedSquare,
                            size: BubbleSize::Large,
                            corner: Corner::TopLeft,
                        },
                    }),
                },
                audio: AudioChoice::Silent,
                computer_sound: true,
                levels: MixGains {
                    microphone: 0.5,
                    computer: 2.0,
                },
            }
        );
        assert!(sources.is_screen());
        assert_eq!(sources.quality(QualityPreset::Low), SCREEN_QUALITY);
        assert_eq!(sources.content(), ContentKind::Screen);
    }

    #[test]
    fn the_screen_layout_needs_no_camera() {
        let desktop = DesktopSettings {
            layout: Layout::Screen.label().into(),
            ..DesktopSettings::default()
        };
        let sources = sources_from(&desktop, || panic!("no camera is shown")).unwrap();
        let Sources::Devices { video, .. } = &sources else {
            panic!("{sources:?}");
        };
        assert_eq!(
            video,
            &VideoChoice::Screen {
                target: ScreenTarget::Screen,
                bubble: None
            }
        );
    }

    #[test]
    fn a_bubble_without_a_camera_is_refused_with_what_to_choose() {
        let desktop = DesktopSettings {
            layout: Layout::ScreenCamera.label().into(),
            camera: Some(DesktopSettings::NO_DEVICE.into()),
            ..DesktopSettings::default()
        };
        let error = sources_from(&desktop, no_camera).unwrap_err();
        assert!(error.to_string().contains("or the screen alone"), "{error}");
        let desktop = DesktopSettings {
            layout: Layout::ScreenCamera.label().into(),
            ..DesktopSettings::default()
        };
        let error = sources_from(&desktop, no_camera).unwrap_err();
        assert!(error.to_string().contains("no camera was found"), "{error}");
    }

    #[test]
    fn unreadable_settings_say_which_value_is_wrong() {
        let desktop = DesktopSettings {
            layout: "side-by-side".into(),
            ..DesktopSettings::default()
        };
        let error = sources_from(&desktop, no_camera).unwrap_err();
        assert!(error.to_string().contains("\"side-by-side\""), "{error}");
        let desktop = DesktopSettings {
            layout: Layout::Screen.label().into(),
            screen: "desk".into(),
            ..DesktopSettings::default()
        };
        let error = sources_from(&desktop, no_camera).unwrap_err();
        assert!(error.to_string().contains("\"desk\""), "{error}");
        let desktop = DesktopSettings {
            layout: Layout::Screen.label().into(),
            computer_level: 9.0,
            ..DesktopSettings::default()
        };
        let error = sources_from(&desktop, no_camera).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("9 is not a computer sound level"),
            "{error}"
        );
    }

    #[test]
    fn camera_recordings_keep_the_chosen_quality() {
        assert_eq!(
            Sources::synthetic().quality(QualityPreset::Low),
            QualityPreset::Low
        );
        assert_eq!(Sources::synthetic().content(), ContentKind::Camera);
    }
}
