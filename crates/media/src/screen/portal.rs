//! Screen recording on Wayland: the xdg-desktop-portal ScreenCast session
//! (through ashpd), read over PipeWire (`stream`).
//!
//! The portal, not Pigeon, decides what is shared: the desktop asks the user
//! (or, configured so, picks an output itself); Pigeon asks for one monitor
//! with the cursor drawn in. The D-Bus calls run on a small current-thread
//! tokio runtime of the source's own, never on a caller's runtime, and the
//! PipeWire stream on a thread of its own.
//!
//! It is NOT a window picker or a screenshot tool, and it keeps no restore
//! token: every recording asks the portal again.

mod stream;

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ashpd::desktop::screencast::{
    CursorMode, OpenPipeWireRemoteOptions, Screencast, SelectSourcesOptions, SourceType,
};
use ashpd::desktop::{PersistMode, ResponseError, Session};
use ashpd::zbus;
use crossbeam_channel::bounded;

use crate::error::{MediaError, Result};
use crate::source::{join_thread, Sink, SourceContext, VideoFrame, VideoSource};

use stream::StreamTarget;

/// How long a portal call that needs no answer from the user may take.
const PORTAL_CALL_LIMIT: Duration = Duration::from_secs(10);
/// How long the user may take in the desktop's "share your screen" dialog.
const USER_CHOICE_LIMIT: Duration = Duration::from_secs(180);

const CAMERA_INSTEAD: &str = "or record the camera instead";

/// Why the screen cannot be recorded through the portal here, in one sentence
/// (what is missing and what to choose instead); Ok when a Wayland session, a
/// session bus and a portal that shares monitors are all there.
pub(crate) fn available() -> std::result::Result<(), String> {
    on_own_runtime("screen-portal-check", async {
        match tokio::time::timeout(PORTAL_CALL_LIMIT, check()).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "No screen can be recorded: the screen-sharing portal did not answer within {} s; check that xdg-desktop-portal and your desktop's portal backend are running, {CAMERA_INSTEAD}.",
                PORTAL_CALL_LIMIT.as_secs()
            )),
        }
    })
    .unwrap_or_else(Err)
}

/// The portal's screen as a [`VideoSource`] delivering `fps` frames a second.
/// The caller checks [`available`] first (`screen::open_screen` does); the
/// user's choice (the portal's dialog) happens at [`VideoSource::start`],
/// which fails with [`MediaError::ScreenUnavailable`] saying what went wrong.
pub(crate) fn open(fps: u32) -> Result<Box<dyn VideoSource>> {
    Ok(Box::new(PortalScreen {
        fps: fps.max(1),
        thread: None,
    }))
}

/// What the portal shares, read over PipeWire as packed BGRX frames of the
/// shared screen's current size.
pub(crate) struct PortalScreen {
    fps: u32,
    thread: Option<JoinHandle<()>>,
}

impl VideoSource for PortalScreen {
    fn name(&self) -> String {
        "the shared screen".into()
    }

    fn is_live(&self) -> bool {
        true
    }

    fn frame_rate(&self) -> u32 {
        self.fps
    }

    fn start(&mut self, ctx: SourceContext, sink: Sink<VideoFrame>) -> Result<()> {
        let fps = self.fps;
        let (ready_tx, ready_rx) = bounded::<Result<()>>(2);
        let handle = std::thread::Builder::new()
            .name("screen-portal".into())
            .spawn(move || share_and_stream(fps, ctx, sink, ready_tx))
            .map_err(|e| MediaError::io("start a thread for", "the screen share", e))?;
        self.thread = Some(handle);
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                join_thread(&mut self.thread, "screen");
                Err(e)
            }
            Err(_) => {
                join_thread(&mut self.thread, "screen");
                Err(MediaError::ScreenUnavailable(format!(
                    "The screen cannot be recorded: the screen-sharing thread ended while starting; {CAMERA_INSTEAD}."
                )))
            }
        }
    }

    fn join(&mut self) {
        join_thread(&mut self.thread, "screen");
    }
}

/// The source's thread: asks the portal for a screen, streams it on a
/// PipeWire thread, watches for the portal closing the session, and closes
/// the session at the end.
fn share_and_stream(
    fps: u32,
    ctx: SourceContext,
    sink: Sink<VideoFrame>,
    ready: crossbeam_channel::Sender<Result<()>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err(MediaError::io(
                "start the screen share's event loop for",
                "the screen share",
                e,
            )));
            return;
        }
    };
    let (share, target) = match runtime.block_on(ScreenShare::start()) {
        Ok(started) => started,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let closed = Arc::new(AtomicBool::new(false));
    let streaming = Arc::new(AtomicBool::new(true));
    let pipewire = {
        let (ctx, closed, streaming) = (ctx.clone(), Arc::clone(&closed), Arc::clone(&streaming));
        let ready = ready.clone();
        std::thread::Builder::new()
            .name("screen-pipewire".into())
            .spawn(move || {
                stream::run(target, fps, ctx, sink, ready, closed);
                streaming.store(false, Ordering::Relaxed);
            })
    };
    let mut pipewire = match pipewire {
        Ok(handle) => Some(handle),
        Err(e) => {
            let _ = ready.send(Err(MediaError::io(
                "start a thread for",
                "the screen share",
                e,
            )));
            None
        }
    };
    if pipewire.is_some() {
        runtime.block_on(share.watch(&ctx, &streaming, &closed));
    }
    runtime.block_on(share.close());
    join_thread(&mut pipewire, "screen PipeWire");
}

/// A started ScreenCast session.
struct ScreenShare {
    session: Session<Screencast>,
}

impl ScreenShare {
    /// CreateSession, SelectSources (one monitor, cursor drawn in), Start (the
    /// user's choice), OpenPipeWireRemote.
    async fn start() -> Result<(ScreenShare, StreamTarget)> {
        // A connection of this runtime's own: ashpd's shared one would live on
        // in a runtime that is gone once this recording ends.
        let connection = limited(zbus::Connection::session())
            .await
            .map_err(|e| unavailable(no_bus(&e)))?;
        let portal = limited(Screencast::with_connection(connection))
            .await
            .map_err(|e| unavailable(no_portal(&e.to_string())))?;
        let cursor = match limited(portal.available_cursor_modes()).await {
            Ok(modes) if modes.contains(CursorMode::Embedded) => CursorMode::Embedded,
            Ok(modes) => {
                tracing::info!(?modes, "the portal cannot draw the cursor into the picture");
                CursorMode::Hidden
            }
            Err(e) => {
                tracing::info!(error = %e, "the portal did not say how it draws the cursor");
                CursorMode::Embedded
            }
        };
        let session = limited(portal.create_session(Default::default()))
            .await
            .map_err(|e| unavailable(refused(&e)))?;
        let selected = limited(
            portal.select_sources(
                &session,
                SelectSourcesOptions::default()
                    .set_cursor_mode(cursor)
                    .set_sources(ashpd::enumflags2::BitFlags::from_flag(SourceType::Monitor))
                    .set_multiple(false)
                    .set_persist_mode(PersistMode::DoNot),
            ),
        )
        .await
        .and_then(|request| request.response().map_err(|e| e.to_string()));
        if let Err(e) = selected {
            let _ = session.close().await;
            return Err(unavailable(refused(&e)));
        }
        let started = tokio::time::timeout(USER_CHOICE_LIMIT, portal.start(&session, None, Default::default()))
            .await
            .map_err(|_| {
                format!(
                    "The screen cannot be recorded: no screen was chosen in the system's dialog within {} s; start again and choose a screen, {CAMERA_INSTEAD}.",
                    USER_CHOICE_LIMIT.as_secs()
                )
            })
            .and_then(|request| request.and_then(|r| r.response()).map_err(|e| refused(&e)));
        let streams = match started {
            Ok(streams) => streams,
            Err(text) => {
                let _ = session.close().await;
                return Err(unavailable(text));
            }
        };
        let Some(first) = streams.streams().first() else {
            let _ = session.close().await;
            return Err(unavailable(format!(
                "The screen cannot be recorded: the screen-sharing portal shared nothing; start again and choose a screen, {CAMERA_INSTEAD}."
            )));
        };
        let node = first.pipe_wire_node_id();
        tracing::info!(node, size = ?first.size(), streams = streams.streams().len(), "the portal shares a screen");
        let fd = match limited(
            portal.open_pipe_wire_remote(&session, OpenPipeWireRemoteOptions::default()),
        )
        .await
        {
            Ok(fd) => fd,
            Err(e) => {
                let _ = session.close().await;
                return Err(unavailable(format!(
                    "The screen cannot be recorded: the screen-sharing portal could not connect to PipeWire ({e}); start PipeWire and WirePlumber in your session, {CAMERA_INSTEAD}."
                )));
            }
        };
        Ok((ScreenShare { session }, StreamTarget { fd: Some(fd), node }))
    }

    /// Waits until the recording stops, the stream ends, or the portal closes
    /// the session (the user stopped sharing), which sets `closed`.
    async fn watch(&self, ctx: &SourceContext, streaming: &AtomicBool, closed: &AtomicBool) {
        let mut signals = match self.session.receive_closed().await {
            Ok(signals) => Some(Box::pin(signals)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the screen-sharing session for its end");
                None
            }
        };
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tokio::select! {
                signal = next_signal(&mut signals) => {
                    if signal {
                        tracing::info!("the portal closed the screen-sharing session");
                        closed.store(true, Ordering::Relaxed);
                        return;
                    }
                    signals = None;
                }
                _ = tick.tick() => {
                    if ctx.should_stop() || !streaming.load(Ordering::Relaxed) {
                        return;
                    }
                }
            }
        }
    }

    /// Ends the share (the desktop's "sharing" indicator goes away). The
    /// portal may have closed it already; then there is nothing to do.
    async fn close(&self) {
        if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(2), self.session.close()).await
        {
            tracing::debug!(error = %e, "closing the screen-sharing session");
        }
    }
}

/// True when the session's Closed signal came; false when the signal stream
/// ended (or there is none: then it never resolves).
async fn next_signal<S>(signals: &mut Option<Pin<Box<S>>>) -> bool
where
    S: zbus::export::futures_core::Stream + ?Sized,
{
    match signals {
        Some(signals) => std::future::poll_fn(|cx| signals.as_mut().poll_next(cx))
            .await
            .is_some(),
        None => std::future::pending().await,
    }
}

/// A portal call that needs no user, bounded in time.
async fn limited<T, E: std::fmt::Display>(
    call: impl std::future::Future<Output = std::result::Result<T, E>>,
) -> std::result::Result<T, String> {
    match tokio::time::timeout(PORTAL_CALL_LIMIT, call).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!(
            "it did not answer within {} s",
            PORTAL_CALL_LIMIT.as_secs()
        )),
    }
}

fn unavailable(text: impl Into<String>) -> MediaError {
    MediaError::ScreenUnavailable(text.into())
}

fn no_bus(reason: &str) -> String {
    format!(
        "No screen can be recorded: this Wayland session has no D-Bus session bus to reach the screen-sharing portal ({reason}); log in to a desktop session with D-Bus, {CAMERA_INSTEAD}."
    )
}

fn no_portal(reason: &str) -> String {
    format!(
        "No screen can be recorded: no screen-sharing portal answers on the session bus ({reason}); install xdg-desktop-portal and the portal backend for your desktop (xdg-desktop-portal-gnome, -kde or -wlr), {CAMERA_INSTEAD}."
    )
}

/// The sentence for a portal request that failed or was declined.
fn refused(e: &impl std::fmt::Display) -> String {
    let text = e.to_string();
    if text == ashpd::Error::Response(ResponseError::Cancelled).to_string() {
        format!(
            "The screen cannot be recorded: screen sharing was cancelled in the system's dialog; start again and choose a screen to share, {CAMERA_INSTEAD}."
        )
    } else if text == ashpd::Error::Response(ResponseError::Other).to_string() {
        format!(
            "The screen cannot be recorded: the desktop's screen-sharing portal could not start sharing and gave no reason; check that its backend (xdg-desktop-portal-gnome, -kde or -wlr) works on this desktop (its log says why), {CAMERA_INSTEAD}."
        )
    } else {
        format!(
            "The screen cannot be recorded: the screen-sharing portal refused ({text}); check that your desktop's portal backend (xdg-desktop-portal-gnome, -kde or -wlr) is installed and running, {CAMERA_INSTEAD}."
        )
    }
}

/// Where `WAYLAND_DISPLAY` points: a socket name in `XDG_RUNTIME_DIR`, or a path.
fn wayland_socket() -> std::result::Result<PathBuf, String> {
    let display = std::env::var_os("WAYLAND_DISPLAY")
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            "No screen can be recorded: there is no Wayland session (WAYLAND_DISPLAY is not set); record the camera instead.".to_string()
        })?;
    let display = PathBuf::from(display);
    if display.is_absolute() {
        return Ok(display);
    }
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            format!("No screen can be recorded: XDG_RUNTIME_DIR is not set, so the Wayland session cannot be found; log in to a desktop session, {CAMERA_INSTEAD}.")
        })?;
    Ok(PathBuf::from(runtime).join(display))
}

async fn check() -> std::result::Result<(), String> {
    let socket = wayland_socket()?;
    if let Err(e) = std::os::unix::net::UnixStream::connect(&socket) {
        return Err(format!(
            "No screen can be recorded: no Wayland compositor answers at {} ({e}); log in to a desktop session, {CAMERA_INSTEAD}.",
            socket.display()
        ));
    }
    let connection = limited(zbus::Connection::session())
        .await
        .map_err(|e| no_bus(&e))?;
    let portal = limited(Screencast::with_connection(connection))
        .await
        .map_err(|e| no_portal(&e))?;
    let types = limited(portal.available_source_types())
        .await
        .map_err(|e| no_portal(&e))?;
    if !types.contains(SourceType::Monitor) {
        return Err(format!(
            "No screen can be recorded: the screen-sharing portal here shares no whole screens (only {types:?}); install the portal backend for your desktop (xdg-desktop-portal-gnome, -kde or -wlr), {CAMERA_INSTEAD}."
        ));
    }
    Ok(())
}

/// Runs `work` on a fresh thread with its own current-thread runtime, so a
/// caller inside (or outside) any tokio runtime can wait for it.
fn on_own_runtime<T: Send + 'static>(
    name: &str,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> std::result::Result<T, String> {
    let failed = |what: String| format!("No screen can be recorded: {what}; {CAMERA_INSTEAD}.");
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|runtime| runtime.block_on(work))
                .map_err(|e| format!("the portal check could not start its event loop ({e})"))
        })
        .map_err(|e| failed(format!("the portal check could not start a thread ({e})")))?
        .join()
        .map_err(|_| failed("the portal check failed unexpectedly".into()))?
        .map_err(failed)
}
