//! [`ScreenWithBubble`]: a screen source and an optional camera source
//! started on one clock, composited on their own thread into one picture per
//! screen frame.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError};

use super::composer::Composer;
use super::BubbleControl;
use crate::error::{MediaError, Result};
use crate::source::{
    join_thread, Sink, SourceContext, SourceEnd, SourceMessage, VideoFrame, VideoSource,
};

/// How long the compositor waits for a picture before it looks at the stop flag again.
const TICK: Duration = Duration::from_millis(50);
/// How long it waits for a camera paced as fast as possible to catch up with the screen.
const CAMERA_PATIENCE: Duration = Duration::from_secs(2);

/// The screen with the camera in a bubble, as one [`VideoSource`]: frames at
/// the screen's pace, `captured_at` of the screen frame, packed YUV 4:2:0 of
/// one size for the whole recording (the first screen frame decides it; see
/// [`super::composite_size`]). Later screen sizes are scaled into it with black
/// bars. The bubble follows its [`BubbleControl`] on every frame. A camera
/// that is lost takes the bubble away and the user is told; the recording
/// goes on. The screen ending ends it.
pub struct ScreenWithBubble {
    screen: Box<dyn VideoSource>,
    camera: Option<Box<dyn VideoSource>>,
    control: BubbleControl,
    max_height: u32,
    /// Stops the inner sources: set when the recorder stops this source, or
    /// when the screen ends.
    inner_stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ScreenWithBubble {
    /// `camera: None` records the screen alone. `max_height` caps the
    /// composite's height (the quality preset's); smaller screens keep theirs.
    pub fn new(
        screen: Box<dyn VideoSource>,
        camera: Option<Box<dyn VideoSource>>,
        control: BubbleControl,
        max_height: u32,
    ) -> Self {
        ScreenWithBubble {
            screen,
            camera,
            control,
            max_height: max_height.max(2),
            inner_stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        }
    }

    /// The handle that moves the bubble (a clone of the one given to [`Self::new`]).
    pub fn control(&self) -> BubbleControl {
        self.control.clone()
    }
}

impl VideoSource for ScreenWithBubble {
    fn name(&self) -> String {
        match &self.camera {
            Some(camera) => format!("{} with {} in a bubble", self.screen.name(), camera.name()),
            None => self.screen.name(),
        }
    }

    fn is_live(&self) -> bool {
        self.screen.is_live()
    }

    fn frame_rate(&self) -> u32 {
        self.screen.frame_rate()
    }

    fn start(&mut self, ctx: SourceContext, sink: Sink<VideoFrame>) -> Result<()> {
        self.inner_stop.store(false, Ordering::Relaxed);
        let inner = SourceContext {
            stop: self.inner_stop.clone(),
            ..ctx.clone()
        };
        let fps = self.screen.frame_rate().max(1);
        let (screen_tx, screen_rx) = bounded((fps as usize / 2).max(4));
        let screen_dropped = Arc::new(AtomicU64::new(0));
        let live = self.screen.is_live();
        self.screen.start(
            inner.clone(),
            Sink::new(screen_tx, live, screen_dropped.clone()),
        )?;
        let camera = match self.camera.as_mut() {
            Some(source) => {
                let live = source.is_live();
                // A live camera only needs its latest picture; one paced as
                // fast as possible waits for the screen to catch up.
                let (tx, rx) = bounded(if live { 2 } else { 4 });
                let name = source.name();
                if let Err(e) = source.start(
                    inner.clone(),
                    Sink::new(tx, live, Arc::new(AtomicU64::new(0))),
                ) {
                    self.inner_stop.store(true, Ordering::Relaxed);
                    self.screen.join();
                    return Err(e);
                }
                Some(CameraFeed {
                    rx,
                    live,
                    name,
                    pending: None,
                })
            }
            None => None,
        };
        let compositor = Compositor {
            screen_rx,
            screen_dropped,
            dropped_seen: 0,
            camera,
            inner_stop: self.inner_stop.clone(),
            composer: Composer::new(self.control.clone(), self.max_height),
        };
        let spawned = std::thread::Builder::new()
            .name("composite".into())
            .spawn(move || compositor.run(&ctx, &sink));
        match spawned {
            Ok(handle) => {
                self.thread = Some(handle);
                Ok(())
            }
            Err(e) => {
                self.inner_stop.store(true, Ordering::Relaxed);
                self.screen.join();
                if let Some(camera) = self.camera.as_mut() {
                    camera.join();
                }
                Err(MediaError::io(
                    "start a thread for",
                    "the screen composite",
                    e,
                ))
            }
        }
    }

    fn join(&mut self) {
        join_thread(&mut self.thread, "screen composite");
        self.inner_stop.store(true, Ordering::Relaxed);
        self.screen.join();
        if let Some(camera) = self.camera.as_mut() {
            camera.join();
        }
    }
}

struct CameraFeed {
    rx: Receiver<SourceMessage<VideoFrame>>,
    live: bool,
    name: String,
    /// A picture of a non-live camera taken ahead of the screen.
    pending: Option<VideoFrame>,
}

/// What the compositor thread does after a message.
enum Next {
    Go,
    Stop,
}

struct Compositor {
    screen_rx: Receiver<SourceMessage<VideoFrame>>,
    screen_dropped: Arc<AtomicU64>,
    dropped_seen: u64,
    camera: Option<CameraFeed>,
    inner_stop: Arc<AtomicBool>,
    composer: Composer,
}

impl Compositor {
    fn run(mut self, ctx: &SourceContext, sink: &Sink<VideoFrame>) {
        while !ctx.should_stop() {
            let next = match self.camera.as_ref().filter(|c| c.live) {
                Some(camera) => {
                    let camera_rx = camera.rx.clone();
                    crossbeam_channel::select! {
                        recv(self.screen_rx) -> msg => self.on_screen(msg.ok(), sink),
                        recv(camera_rx) -> msg => self.on_camera(msg.ok(), sink),
                        default(TICK) => Next::Go,
                    }
                }
                None => match self.screen_rx.recv_timeout(TICK) {
                    Ok(msg) => self.on_screen(Some(msg), sink),
                    Err(RecvTimeoutError::Timeout) => Next::Go,
                    Err(RecvTimeoutError::Disconnected) => self.on_screen(None, sink),
                },
            };
            let dropped = self.screen_dropped.load(Ordering::Relaxed);
            if dropped > self.dropped_seen {
                sink.count_dropped(dropped - self.dropped_seen);
                self.dropped_seen = dropped;
            }
            if matches!(next, Next::Stop) {
                break;
            }
        }
        self.inner_stop.store(true, Ordering::Relaxed);
    }

    fn on_screen(
        &mut self,
        msg: Option<SourceMessage<VideoFrame>>,
        sink: &Sink<VideoFrame>,
    ) -> Next {
        match msg {
            Some(SourceMessage::Item(frame)) => {
                self.catch_up_camera(frame.captured_at, sink);
                match self.composer.compose(&frame) {
                    Ok(picture) => match sink.deliver(picture) {
                        Ok(()) => Next::Go,
                        Err(_) => Next::Stop,
                    },
                    Err(e) => {
                        sink.end(SourceEnd::Lost(format!(
                            "its picture could not be composited ({e})"
                        )));
                        Next::Stop
                    }
                }
            }
            Some(SourceMessage::Notice(text)) => match sink.notice(text) {
                Ok(()) => Next::Go,
                Err(_) => Next::Stop,
            },
            Some(SourceMessage::Ended(why)) => {
                sink.end(why);
                Next::Stop
            }
            None => {
                sink.end(SourceEnd::Lost(
                    "the screen capture stopped without saying why".into(),
                ));
                Next::Stop
            }
        }
    }

    fn on_camera(
        &mut self,
        msg: Option<SourceMessage<VideoFrame>>,
        sink: &Sink<VideoFrame>,
    ) -> Next {
        match msg {
            Some(SourceMessage::Item(frame)) => {
                self.composer.camera_picture(frame);
                Next::Go
            }
            Some(SourceMessage::Notice(text)) => match sink.notice(text) {
                Ok(()) => Next::Go,
                Err(_) => Next::Stop,
            },
            Some(SourceMessage::Ended(SourceEnd::Finished)) => {
                self.drop_camera();
                Next::Go
            }
            Some(SourceMessage::Ended(SourceEnd::Lost(why))) => self.lose_camera(&why, sink),
            None => self.lose_camera("its capture stopped", sink),
        }
    }

    fn drop_camera(&mut self) {
        self.camera = None;
        self.composer.clear_camera();
    }

    fn lose_camera(&mut self, why: &str, sink: &Sink<VideoFrame>) -> Next {
        let name = self
            .camera
            .as_ref()
            .map_or_else(|| "The camera".to_string(), |c| c.name.clone());
        tracing::warn!(camera = %name, reason = why, "the bubble's camera was lost");
        self.drop_camera();
        match sink.notice(format!(
            "{name} stopped delivering ({why}); the recording goes on without the camera bubble."
        )) {
            Ok(()) => Next::Go,
            Err(_) => Next::Stop,
        }
    }

    /// A camera paced as fast as possible delivers the picture of the
    /// screen frame's time: read it up to `at` (the next one waits).
    fn catch_up_camera(&mut self, at: Duration, sink: &Sink<VideoFrame>) {
        loop {
            let Some(camera) = self.camera.as_mut().filter(|c| !c.live) else {
                return;
            };
            if let Some(frame) = camera.pending.take() {
                if frame.captured_at > at {
                    camera.pending = Some(frame);
                    return;
                }
                self.composer.camera_picture(frame);
                continue;
            }
            match camera.rx.recv_timeout(CAMERA_PATIENCE) {
                Ok(SourceMessage::Item(frame)) => camera.pending = Some(frame),
                Ok(other) => {
                    if matches!(self.on_camera(Some(other), sink), Next::Stop) {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => return,
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.on_camera(None, sink);
                    return;
                }
            }
        }
    }
}
