//! Cameras through nokhwa (V4L2 on Linux, AVFoundation, Media Foundation).
//!
//! The device delivers whatever it can (MJPEG, YUYV, NV12...): frames are
//! handed on in that format with the real size, and the recorder converts
//! them with swscale (or FFmpeg's MJPEG decoder).

use std::thread::JoinHandle;

use crossbeam_channel::bounded;
use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
    Resolution,
};

use crate::error::{MediaError, Result};
use crate::source::{
    join_thread, PixelFormat, Sink, SourceContext, SourceEnd, VideoFrame, VideoSource,
};

/// A camera the system offers.
#[derive(Debug, Clone)]
pub struct CameraDescription {
    /// Pass to [`CameraSource::new`].
    pub id: String,
    pub name: String,
    /// (width, height, fps) the camera says it supports; empty when it could not be asked.
    pub formats: Vec<(u32, u32, u32)>,
}

/// Lists cameras. An empty list (not an error) when there is none.
pub fn list_cameras() -> Result<Vec<CameraDescription>> {
    let infos = nokhwa::query(ApiBackend::Auto).map_err(|e| MediaError::CameraUnavailable {
        device: "(any)".into(),
        reason: format!("the camera list could not be read: {e}"),
    })?;
    Ok(infos
        .into_iter()
        .map(|info| {
            let id = info.index().to_string();
            let formats = nokhwa::Camera::new(
                info.index().clone(),
                RequestedFormat::new::<RgbFormat>(RequestedFormatType::None),
            )
            .and_then(|mut c| c.compatible_camera_formats())
            .map(|fs| {
                fs.into_iter()
                    .map(|f| (f.width(), f.height(), f.frame_rate()))
                    .collect()
            })
            .unwrap_or_default();
            CameraDescription {
                id,
                name: info.human_name(),
                formats,
            }
        })
        .collect())
}

/// A camera opened by id (an index such as "0", or a device path).
pub struct CameraSource {
    id: String,
    width: u32,
    height: u32,
    fps: u32,
    thread: Option<JoinHandle<()>>,
}

impl CameraSource {
    /// Asks for `width`x`height` at `fps`; the camera's closest format is used.
    pub fn new(id: &str, width: u32, height: u32, fps: u32) -> Self {
        CameraSource {
            id: id.to_string(),
            width,
            height,
            fps: fps.max(1),
            thread: None,
        }
    }

    fn index(&self) -> CameraIndex {
        match self.id.parse::<u32>() {
            Ok(n) => CameraIndex::Index(n),
            Err(_) => CameraIndex::String(self.id.clone()),
        }
    }
}

fn pixel_format(format: FrameFormat) -> PixelFormat {
    match format {
        FrameFormat::MJPEG => PixelFormat::Mjpeg,
        FrameFormat::YUYV => PixelFormat::Yuyv422,
        FrameFormat::NV12 => PixelFormat::Nv12,
        FrameFormat::GRAY => PixelFormat::Gray8,
        FrameFormat::RAWRGB => PixelFormat::Rgb24,
        FrameFormat::RAWBGR => PixelFormat::Bgr24,
    }
}

impl VideoSource for CameraSource {
    fn name(&self) -> String {
        format!("camera {}", self.id)
    }

    fn is_live(&self) -> bool {
        true
    }

    fn frame_rate(&self) -> u32 {
        self.fps
    }

    fn start(&mut self, ctx: SourceContext, sink: Sink<VideoFrame>) -> Result<()> {
        let index = self.index();
        let device = self.id.clone();
        let wanted = CameraFormat::new(
            Resolution::new(self.width, self.height),
            FrameFormat::MJPEG,
            self.fps,
        );
        let (ready_tx, ready_rx) = bounded::<Result<()>>(1);
        // The camera handle stays on its thread: not every backend's is Send.
        let handle = std::thread::Builder::new()
            .name("camera".into())
            .spawn(move || {
                let opened = nokhwa::Camera::new(index, RequestedFormat::new::<RgbFormat>(RequestedFormatType::Closest(wanted)))
                    .and_then(|mut camera| camera.open_stream().map(|()| camera));
                let mut camera = match opened {
                    Ok(camera) => {
                        let _ = ready_tx.send(Ok(()));
                        camera
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(MediaError::CameraUnavailable { device, reason: e.to_string() }));
                        return;
                    }
                };
                tracing::info!(camera = %device, format = %camera.camera_format(), "camera streaming");
                while !ctx.should_stop() {
                    match camera.frame() {
                        Ok(buffer) => {
                            let res = buffer.resolution();
                            let frame = VideoFrame {
                                width: res.width(),
                                height: res.height(),
                                format: pixel_format(buffer.source_frame_format()),
                                data: buffer.buffer().to_vec(),
                                captured_at: ctx.clock.now(),
                            };
                            if sink.deliver(frame).is_err() {
                                break;
                            }
                        }
                        Err(e) => {
                            sink.end(SourceEnd::Lost(format!("camera {device} stopped delivering pictures: {e}")));
                            break;
                        }
                    }
                }
                let _ = camera.stop_stream();
            })
            .map_err(|e| MediaError::io("start a thread for", "the camera", e))?;
        self.thread = Some(handle);
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                join_thread(&mut self.thread, "camera");
                Err(e)
            }
            Err(_) => {
                join_thread(&mut self.thread, "camera");
                Err(MediaError::CameraUnavailable {
                    device: self.id.clone(),
                    reason: "the camera thread ended while opening it".into(),
                })
            }
        }
    }

    fn join(&mut self) {
        join_thread(&mut self.thread, "camera");
    }
}
