//! The PipeWire half of a portal screen share: the stream the portal's node
//! feeds, read on its own thread, its pictures copied into packed
//! [`PixelFormat::Bgr0`] frames and paced to the recording's frame rate.
//!
//! It does not talk to the portal: the session half hands it the PipeWire
//! remote and the node, and tells it through `closed` when the portal ended
//! the session.

use std::cell::RefCell;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Sender;
use pipewire as pw;
use pw::spa;
use pw::spa::param::video::{VideoFormat, VideoInfoRaw};
use pw::spa::pod::Pod;

use crate::error::{MediaError, Result};
use crate::source::{PixelFormat, Sink, SourceContext, SourceEnd, VideoFrame};

/// How long the stream may take from connecting to its first picture.
const FIRST_PICTURE_LIMIT: Duration = Duration::from_secs(10);

/// What the session half hands over once the portal started the share.
pub(super) struct StreamTarget {
    /// The PipeWire remote the portal opened for this session (None: the
    /// session's own PipeWire, as the tests read a node there).
    pub fd: Option<OwnedFd>,
    /// The portal's node that carries the screen.
    pub node: u32,
}

/// Byte order of the four bytes of one negotiated pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// B G R x/A: copied as is.
    Bgr,
    /// R G B x/A: red and blue swapped while copying.
    Rgb,
}

#[derive(Debug, Clone, Copy)]
struct Negotiated {
    width: u32,
    height: u32,
    order: Order,
}

/// Everything the stream's callbacks and the pacing timer share, on the
/// PipeWire thread only.
struct Capture {
    ctx: SourceContext,
    sink: Sink<VideoFrame>,
    fps: u32,
    format: Option<Negotiated>,
    /// The newest picture, already packed; repeated when the compositor sends
    /// nothing new (it sends only on damage).
    latest: Option<VideoFrame>,
    /// `latest` has not been delivered yet.
    fresh: bool,
    /// The last frame slot (`floor(media time * fps)`) that got a picture.
    last_slot: Option<i64>,
    connected_at: Duration,
    ready: Option<Sender<Result<()>>>,
    /// Why the stream ends on its own (set once, then the loop quits).
    lost: Option<String>,
    streamed: bool,
    pictures: u64,
    delivered: u64,
    bad_buffers: u64,
}

impl Capture {
    fn slot(&self, at: Duration) -> i64 {
        let media = at.saturating_sub(self.ctx.epoch);
        (media.as_secs_f64() * f64::from(self.fps)).floor() as i64
    }

    /// Hands on at most one picture per frame slot: the newest one when the
    /// compositor sent one since the last slot, else the last one again.
    fn deliver_due(&mut self, now: Duration) {
        let slot = self.slot(now);
        if self.last_slot.is_some_and(|last| last >= slot) {
            return;
        }
        let Some(latest) = &self.latest else {
            return;
        };
        let mut frame = latest.clone();
        if !self.fresh {
            // A repeat: the screen did not change, the picture is still true now.
            frame.captured_at = now;
        }
        self.fresh = false;
        self.last_slot = Some(slot);
        self.delivered += 1;
        if self.sink.deliver(frame).is_err() {
            self.lose(None);
            return;
        }
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Ok(()));
        }
    }

    /// Ends the stream: with a reason the recorder is told, or silently when
    /// nobody listens any more.
    fn lose(&mut self, reason: Option<String>) {
        if self.lost.is_none() {
            self.lost = Some(reason.unwrap_or_default());
        }
    }

    fn on_format(&mut self, param: &Pod) {
        let Ok((media_type, media_subtype)) = spa::param::format_utils::parse_format(param) else {
            return;
        };
        if media_type != spa::param::format::MediaType::Video
            || media_subtype != spa::param::format::MediaSubtype::Raw
        {
            return;
        }
        let mut info = VideoInfoRaw::new();
        if info.parse(param).is_err() {
            self.lose(Some(
                "the screen share sent a picture format Pigeon cannot read".into(),
            ));
            return;
        }
        let order = match info.format() {
            VideoFormat::BGRx | VideoFormat::BGRA => Order::Bgr,
            VideoFormat::RGBx | VideoFormat::RGBA => Order::Rgb,
            other => {
                self.lose(Some(format!(
                    "the screen share sent pictures as {other:?}, which Pigeon does not read"
                )));
                return;
            }
        };
        let size = info.size();
        let next = Negotiated {
            width: size.width,
            height: size.height,
            order,
        };
        tracing::info!(
            width = next.width,
            height = next.height,
            format = ?info.format(),
            framerate = %format!("{}/{}", info.framerate().num, info.framerate().denom),
            "screen share format"
        );
        if let Some(before) = self.format {
            if (before.width, before.height) != (next.width, next.height) {
                let text = format!(
                    "The screen changed size to {}x{}; the recording goes on, scaled into the same frame.",
                    next.width, next.height
                );
                if self.sink.notice(text).is_err() {
                    self.lose(None);
                }
            }
        }
        self.format = Some(next);
    }

    /// Copies one buffer's picture into `latest` (rows packed, red and blue in
    /// BGRX order), then delivers it if its slot is free.
    fn on_buffer(&mut self, data: &mut spa::buffer::Data) {
        let Some(format) = self.format else {
            return;
        };
        let chunk = data.chunk();
        if chunk.flags().contains(spa::buffer::ChunkFlags::CORRUPTED) || chunk.size() == 0 {
            return;
        }
        let offset = chunk.offset() as usize;
        let width = format.width as usize;
        let height = format.height as usize;
        let row = width * 4;
        let stride = match chunk.stride() {
            s if s > 0 => s as usize,
            _ => row,
        };
        let Some(bytes) = data.data() else {
            self.bad_buffer("a buffer without mapped memory (not shared memory)");
            return;
        };
        let needed = offset + stride * height.saturating_sub(1) + row;
        if height == 0 || stride < row || bytes.len() < needed {
            self.bad_buffer("a buffer smaller than its picture");
            return;
        }
        let now = self.ctx.clock.now();
        let mut pixels = match self.latest.take() {
            Some(old) if old.data.len() == row * height => old.data,
            _ => vec![0; row * height],
        };
        for (y, out) in pixels.chunks_exact_mut(row).enumerate() {
            let start = offset + y * stride;
            out.copy_from_slice(&bytes[start..start + row]);
            if format.order == Order::Rgb {
                for px in out.chunks_exact_mut(4) {
                    px.swap(0, 2);
                }
            }
        }
        self.latest = Some(VideoFrame {
            width: format.width,
            height: format.height,
            format: PixelFormat::Bgr0,
            data: pixels,
            captured_at: now,
        });
        self.fresh = true;
        self.pictures += 1;
        self.deliver_due(now);
    }

    fn bad_buffer(&mut self, what: &str) {
        self.bad_buffers += 1;
        if self.bad_buffers == 1 {
            tracing::warn!("the screen share sent {what}; skipping it");
        }
    }

    /// The pacing timer: repeats the picture when nothing new came, and
    /// notices a stop, a closed session and a stream that never starts.
    fn on_tick(&mut self, closed: &AtomicBool) {
        if self.ctx.should_stop() {
            self.lose(None);
            return;
        }
        if closed.load(Ordering::Relaxed) {
            self.lose(Some(
                "screen sharing was stopped outside Pigeon (the portal ended the session)".into(),
            ));
            return;
        }
        let now = self.ctx.clock.now();
        if self.ready.is_some() && now.saturating_sub(self.connected_at) > FIRST_PICTURE_LIMIT {
            self.lose(Some(format!(
                "the screen share started but sent no picture within {} s",
                FIRST_PICTURE_LIMIT.as_secs()
            )));
            return;
        }
        self.deliver_due(now);
    }

    fn on_state(&mut self, state: &pw::stream::StreamState) {
        tracing::debug!(?state, "screen share stream state");
        match state {
            pw::stream::StreamState::Streaming => self.streamed = true,
            pw::stream::StreamState::Error(message) => self.lose(Some(format!(
                "the screen share's PipeWire stream failed ({message})"
            ))),
            pw::stream::StreamState::Unconnected if self.streamed => self.lose(Some(
                "screen sharing was stopped outside Pigeon (the PipeWire stream was disconnected)"
                    .into(),
            )),
            _ => {}
        }
    }
}

/// The formats Pigeon reads: packed 32-bit RGB in either byte order, any size,
/// any rate (pacing to the recording's rate is done here).
fn format_offer(fps: u32) -> Result<Vec<u8>> {
    let object = spa::pod::object!(
        spa::utils::SpaTypes::ObjectParamFormat,
        spa::param::ParamType::EnumFormat,
        spa::pod::property!(
            spa::param::format::FormatProperties::MediaType,
            Id,
            spa::param::format::MediaType::Video
        ),
        spa::pod::property!(
            spa::param::format::FormatProperties::MediaSubtype,
            Id,
            spa::param::format::MediaSubtype::Raw
        ),
        spa::pod::property!(
            spa::param::format::FormatProperties::VideoFormat,
            Choice,
            Enum,
            Id,
            VideoFormat::BGRx,
            VideoFormat::BGRx,
            VideoFormat::BGRA,
            VideoFormat::RGBx,
            VideoFormat::RGBA
        ),
        spa::pod::property!(
            spa::param::format::FormatProperties::VideoSize,
            Choice,
            Range,
            Rectangle,
            spa::utils::Rectangle {
                width: 1920,
                height: 1080
            },
            spa::utils::Rectangle {
                width: 1,
                height: 1
            },
            spa::utils::Rectangle {
                width: 16384,
                height: 16384
            }
        ),
        spa::pod::property!(
            spa::param::format::FormatProperties::VideoFramerate,
            Choice,
            Range,
            Fraction,
            spa::utils::Fraction { num: fps, denom: 1 },
            spa::utils::Fraction { num: 0, denom: 1 },
            spa::utils::Fraction {
                num: 1000,
                denom: 1
            }
        ),
    );
    spa::pod::serialize::PodSerializer::serialize(
        std::io::Cursor::new(Vec::new()),
        &spa::pod::Value::Object(object),
    )
    .map(|(cursor, _)| cursor.into_inner())
    .map_err(|e| {
        MediaError::ScreenUnavailable(format!(
            "The screen share's picture format could not be described to PipeWire ({e:?}); this is a bug, record the camera instead."
        ))
    })
}

fn pipewire_unavailable(e: pw::Error) -> MediaError {
    MediaError::ScreenUnavailable(format!(
        "The screen share could not be read because PipeWire did not answer ({e}); start PipeWire and WirePlumber in your session, or record the camera instead."
    ))
}

/// Reads the portal's node until a stop, a closed session or a failure.
/// Sends `ready` once the first picture was delivered (or why none came);
/// after that, a failure ends the source with [`SourceEnd::Lost`].
pub(super) fn run(
    target: StreamTarget,
    fps: u32,
    ctx: SourceContext,
    sink: Sink<VideoFrame>,
    ready: Sender<Result<()>>,
    closed: Arc<AtomicBool>,
) {
    let capture = Rc::new(RefCell::new(Capture {
        connected_at: ctx.clock.now(),
        ctx,
        sink: sink.clone(),
        fps: fps.max(1),
        format: None,
        latest: None,
        fresh: false,
        last_slot: None,
        ready: Some(ready.clone()),
        lost: None,
        streamed: false,
        pictures: 0,
        delivered: 0,
        bad_buffers: 0,
    }));
    if let Err(e) = stream_until_done(target, &capture, closed) {
        let _ = ready.send(Err(e));
        return;
    }
    let mut capture = capture.borrow_mut();
    tracing::info!(
        pictures = capture.pictures,
        delivered = capture.delivered,
        bad_buffers = capture.bad_buffers,
        "screen share stream ended"
    );
    let reason = capture.lost.take().unwrap_or_default();
    match capture.ready.take() {
        // No picture ever came: the start fails with the reason.
        Some(ready) => {
            let reason = if reason.is_empty() {
                "the recording stopped before the screen share sent a picture".to_string()
            } else {
                reason
            };
            let _ = ready.send(Err(MediaError::ScreenUnavailable(format!(
                "The screen cannot be recorded: {reason}; check that PipeWire and your desktop's portal backend are running, or record the camera instead."
            ))));
        }
        None if !reason.is_empty() => sink.end(SourceEnd::Lost(reason)),
        None => {}
    }
}

fn stream_until_done(
    target: StreamTarget,
    capture: &Rc<RefCell<Capture>>,
    closed: Arc<AtomicBool>,
) -> Result<()> {
    pw::init();
    let main_loop = pw::main_loop::MainLoopRc::new(None).map_err(pipewire_unavailable)?;
    let context = pw::context::ContextRc::new(&main_loop, None).map_err(pipewire_unavailable)?;
    let core = match target.fd {
        Some(fd) => context.connect_fd_rc(fd, None),
        None => context.connect_rc(None),
    }
    .map_err(pipewire_unavailable)?;

    let on_core_error = {
        let capture = Rc::clone(capture);
        let main_loop = main_loop.downgrade();
        move |id: u32, _seq: i32, res: i32, message: &str| {
            // Errors of the core object itself (id 0) mean the remote is gone.
            if id == pw::core::PW_ID_CORE {
                capture.borrow_mut().lose(Some(format!(
                    "the PipeWire connection of the screen share broke ({message}, {res})"
                )));
                if let Some(main_loop) = main_loop.upgrade() {
                    main_loop.quit();
                }
            }
        }
    };
    let _core_listener = core.add_listener_local().error(on_core_error).register();

    let stream = pw::stream::StreamRc::new(
        core.clone(),
        "pigeon-screen",
        pw::properties::properties! {
            *pw::keys::MEDIA_TYPE => "Video",
            *pw::keys::MEDIA_CATEGORY => "Capture",
            *pw::keys::MEDIA_ROLE => "Screen",
        },
    )
    .map_err(pipewire_unavailable)?;

    let quit_if_lost = {
        let main_loop = main_loop.downgrade();
        Rc::new(move |capture: &Capture| {
            if capture.lost.is_some() {
                if let Some(main_loop) = main_loop.upgrade() {
                    main_loop.quit();
                }
            }
        })
    };
    let _listener = stream
        .add_local_listener_with_user_data(())
        .state_changed({
            let capture = Rc::clone(capture);
            let quit_if_lost = quit_if_lost.clone();
            move |_, _, _old, new| {
                let mut capture = capture.borrow_mut();
                capture.on_state(&new);
                quit_if_lost(&capture);
            }
        })
        .param_changed({
            let capture = Rc::clone(capture);
            let quit_if_lost = quit_if_lost.clone();
            move |_, _, id, param| {
                let Some(param) = param else {
                    return;
                };
                if id != spa::param::ParamType::Format.as_raw() {
                    return;
                }
                let mut capture = capture.borrow_mut();
                capture.on_format(param);
                quit_if_lost(&capture);
            }
        })
        .process({
            let capture = Rc::clone(capture);
            let quit_if_lost = quit_if_lost.clone();
            move |stream, _| {
                // Only the newest buffer matters: older ones go back at once.
                let mut newest = None;
                while let Some(buffer) = stream.dequeue_buffer() {
                    newest = Some(buffer);
                }
                let Some(mut buffer) = newest else {
                    return;
                };
                let mut capture = capture.borrow_mut();
                if let Some(data) = buffer.datas_mut().first_mut() {
                    capture.on_buffer(data);
                }
                quit_if_lost(&capture);
            }
        })
        .register()
        .map_err(pipewire_unavailable)?;

    let offer = format_offer(capture.borrow().fps)?;
    let offer = Pod::from_bytes(&offer).ok_or_else(|| {
        MediaError::ScreenUnavailable(
            "The screen share's picture format could not be described to PipeWire; this is a bug, record the camera instead.".into(),
        )
    })?;
    stream
        .connect(
            spa::utils::Direction::Input,
            Some(target.node),
            // Never linked to another node once the shared one goes away.
            pw::stream::StreamFlags::AUTOCONNECT
                | pw::stream::StreamFlags::MAP_BUFFERS
                | pw::stream::StreamFlags::DONT_RECONNECT,
            &mut [offer],
        )
        .map_err(pipewire_unavailable)?;

    let fps = capture.borrow().fps;
    let timer = main_loop.loop_().add_timer({
        let capture = Rc::clone(capture);
        move |_| {
            let mut capture = capture.borrow_mut();
            capture.on_tick(&closed);
            quit_if_lost(&capture);
        }
    });
    // Four looks per frame slot: a repeat lands early in its slot.
    let period = Duration::from_secs_f64(1.0 / f64::from(fps) / 4.0);
    let _ = timer.update_timer(Some(period), Some(period));

    main_loop.run();
    let _ = stream.disconnect();
    Ok(())
}

/// The tests' headless session (scripts/wayland-session), shared with `tests/portal.rs`.
#[cfg(test)]
#[path = "../../../tests/portal_session/mod.rs"]
mod portal_session;

#[cfg(test)]
mod tests;
