//! The PipeWire half against real PipeWire video nodes in a headless session
//! without a portal (this machine's portal backend cannot cast: see
//! `tests/portal.rs`): GStreamer's `pipewiresink` (pacing, byte orders, the
//! node going away) and a node of our own that renegotiates its size.

use super::*;
use std::process::{Child, Stdio};
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver};

use crate::source::{Clock, SourceMessage};

use super::portal_session::WaylandSession;

const PATIENCE: Duration = Duration::from_secs(30);

/// A GStreamer test picture offered as a PipeWire Video/Source node,
/// stopped by pid when dropped.
struct Producer(Child);

impl Producer {
    fn start(session: &WaylandSession, name: &str, format: &str, colour: u32) -> Producer {
        let inspect = session
            .command("gst-inspect-1.0")
            .arg("pipewiresink")
            .output()
            .expect("gst-inspect-1.0 (Debian: gstreamer1.0-tools)");
        assert!(
            inspect.status.success(),
            "GStreamer has no pipewiresink: install gstreamer1.0-pipewire (scripts/setup)"
        );
        let child = session
            .command("gst-launch-1.0")
            .args([
                "-q",
                "videotestsrc",
                "pattern=solid-color",
                &format!("foreground-color={colour:#010x}"),
                "!",
                &format!("video/x-raw,format={format},width=640,height=360,framerate=60/1"),
                "!",
                "pipewiresink",
                "mode=provide",
                &format!("stream-properties=props,media.class=Video/Source,node.name={name}"),
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("gst-launch-1.0 (Debian: gstreamer1.0-tools gstreamer1.0-pipewire)");
        Producer(child)
    }

    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The id of the node called `name`, once PipeWire lists it.
fn node_id(session: &WaylandSession, name: &str) -> u32 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let out = session
            .command("pw-cli")
            .args(["ls", "Node"])
            .output()
            .expect("pw-cli");
        let text = String::from_utf8_lossy(&out.stdout);
        // "\tid 36, type PipeWire:Interface:Node/3" ... "\t\tnode.name = \"pigeon-test-bgrx\""
        let mut id = None;
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("id ") {
                id = rest.split(',').next().and_then(|n| n.trim().parse().ok());
            }
            if line.contains(&format!("node.name = \"{name}\"")) {
                if let Some(id) = id {
                    return id;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no PipeWire node {name}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn pod_bytes(value: spa::pod::Value) -> Vec<u8> {
    spa::pod::serialize::PodSerializer::serialize(std::io::Cursor::new(Vec::new()), &value)
        .expect("serialize a pod")
        .0
        .into_inner()
}

/// One fixed BGRx format of `width`x`height` at 30 fps.
fn fixed_format(width: u32, height: u32) -> Vec<u8> {
    pod_bytes(spa::pod::Value::Object(spa::pod::object!(
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
            Id,
            VideoFormat::BGRx
        ),
        spa::pod::property!(
            spa::param::format::FormatProperties::VideoSize,
            Rectangle,
            spa::utils::Rectangle { width, height }
        ),
        spa::pod::property!(
            spa::param::format::FormatProperties::VideoFramerate,
            Fraction,
            spa::utils::Fraction { num: 30, denom: 1 }
        ),
    )))
}

fn buffers_for(width: u32, height: u32) -> Vec<u8> {
    let int = |key: u32, v: i32| spa::pod::Property::new(key, spa::pod::Value::Int(v));
    pod_bytes(spa::pod::Value::Object(spa::pod::Object {
        type_: spa::utils::SpaTypes::ObjectParamBuffers.as_raw(),
        id: spa::param::ParamType::Buffers.as_raw(),
        properties: vec![
            int(spa::sys::SPA_PARAM_BUFFERS_buffers, 4),
            int(spa::sys::SPA_PARAM_BUFFERS_blocks, 1),
            int(
                spa::sys::SPA_PARAM_BUFFERS_size,
                (width * height * 4) as i32,
            ),
            int(spa::sys::SPA_PARAM_BUFFERS_stride, (width * 4) as i32),
        ],
    }))
}

/// A PipeWire Video/Source node of our own, 30 pictures a second of one
/// BGRx colour, that changes size when told (a renegotiation, as a
/// compositor does when its output is resized).
struct ResizingProducer {
    resize: Sender<(u32, u32)>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ResizingProducer {
    fn start(name: &'static str, bgrx: [u8; 4], width: u32, height: u32) -> ResizingProducer {
        let (resize, sizes) = bounded::<(u32, u32)>(4);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = Arc::clone(&stop);
            move || {
                pw::init();
                let main_loop = pw::main_loop::MainLoopRc::new(None).expect("main loop");
                let context = pw::context::ContextRc::new(&main_loop, None).expect("context");
                let core = context.connect_rc(None).expect("connect to PipeWire");
                let stream = pw::stream::StreamRc::new(
                    core,
                    name,
                    pw::properties::properties! {
                        *pw::keys::MEDIA_CLASS => "Video/Source",
                        *pw::keys::NODE_NAME => name,
                        *pw::keys::MEDIA_TYPE => "Video",
                    },
                )
                .expect("stream");
                let size = Rc::new(std::cell::Cell::new((0u32, 0u32)));
                let _listener = stream
                    .add_local_listener_with_user_data(())
                    .param_changed({
                        let size = Rc::clone(&size);
                        move |stream, _, id, param| {
                            let Some(param) = param else { return };
                            if id != spa::param::ParamType::Format.as_raw() {
                                return;
                            }
                            let mut info = VideoInfoRaw::new();
                            info.parse(param).expect("format");
                            let (w, h) = (info.size().width, info.size().height);
                            size.set((w, h));
                            let buffers = buffers_for(w, h);
                            let _ = stream
                                .update_params(&mut [Pod::from_bytes(&buffers).expect("pod")]);
                        }
                    })
                    .register()
                    .expect("listener");
                let format = fixed_format(width, height);
                stream
                    .connect(
                        spa::utils::Direction::Output,
                        None,
                        pw::stream::StreamFlags::DRIVER | pw::stream::StreamFlags::MAP_BUFFERS,
                        &mut [Pod::from_bytes(&format).expect("pod")],
                    )
                    .expect("connect the producer");
                let timer = main_loop.loop_().add_timer({
                    let main_loop = main_loop.downgrade();
                    let stream = stream.clone();
                    move |_| {
                        if stop.load(Ordering::Relaxed) {
                            if let Some(main_loop) = main_loop.upgrade() {
                                main_loop.quit();
                            }
                            return;
                        }
                        if let Ok((w, h)) = sizes.try_recv() {
                            let format = fixed_format(w, h);
                            let _ =
                                stream.update_params(&mut [Pod::from_bytes(&format).expect("pod")]);
                            return;
                        }
                        let (w, h) = size.get();
                        let Some(mut buffer) = stream.dequeue_buffer() else {
                            return;
                        };
                        let Some(data) = buffer.datas_mut().first_mut() else {
                            return;
                        };
                        let row = (w * 4) as usize;
                        let len = row * h as usize;
                        let Some(bytes) = data.data() else { return };
                        if bytes.len() < len {
                            return;
                        }
                        for px in bytes[..len].chunks_exact_mut(4) {
                            px.copy_from_slice(&bgrx);
                        }
                        let chunk = data.chunk_mut();
                        *chunk.offset_mut() = 0;
                        *chunk.stride_mut() = row as i32;
                        *chunk.size_mut() = len as u32;
                    }
                });
                let period = Duration::from_millis(33);
                let _ = timer.update_timer(Some(period), Some(period));
                main_loop.run();
                let _ = stream.disconnect();
            }
        });
        ResizingProducer {
            resize,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for ResizingProducer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn portal_stream_follows_a_size_change_with_a_notice() {
    let Some(session) = WaylandSession::start(&["--no-portal"]) else {
        return;
    };
    let producer =
        ResizingProducer::start("pigeon-test-resizing", [0x20, 0x80, 0xe0, 0xff], 640, 360);
    let reading = Reading::start(node_id(&session, "pigeon-test-resizing"), 30);
    let first = match reading.next() {
        SourceMessage::Item(frame) => frame,
        other => panic!("expected a picture, got {other:?}"),
    };
    assert_eq!((first.width, first.height), (640, 360));
    assert_eq!(&first.data[..3], &[0x20, 0x80, 0xe0]);
    producer.resize.send((800, 600)).expect("resize");
    let mut notices = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    let resized = loop {
        assert!(
            Instant::now() < deadline,
            "no 800x600 picture; notices {notices:?}"
        );
        match reading.next() {
            SourceMessage::Item(frame) if (frame.width, frame.height) == (800, 600) => break frame,
            SourceMessage::Item(_) => {}
            SourceMessage::Notice(text) => notices.push(text),
            SourceMessage::Ended(end) => panic!("ended: {end:?}"),
        }
    };
    assert_eq!(resized.data.len(), 800 * 600 * 4);
    assert_eq!(&resized.data[..3], &[0x20, 0x80, 0xe0]);
    println!("after the resize: {notices:?}");
    assert_eq!(
        notices,
        ["The screen changed size to 800x600; the recording goes on, scaled into the same frame."]
    );
}

struct Reading {
    rx: Receiver<SourceMessage<VideoFrame>>,
    ctx: SourceContext,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reading {
    fn start(node: u32, fps: u32) -> Reading {
        let (tx, rx) = bounded(8);
        let clock = Clock::new();
        let ctx = SourceContext {
            clock,
            epoch: clock.now(),
            stop: Arc::default(),
        };
        let sink = Sink::new(tx, true, Arc::new(AtomicU64::new(0)));
        let (ready_tx, ready_rx) = bounded(2);
        let closed = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let ctx = ctx.clone();
            move || {
                run(
                    StreamTarget { fd: None, node },
                    fps,
                    ctx,
                    sink,
                    ready_tx,
                    closed,
                )
            }
        });
        ready_rx
            .recv_timeout(PATIENCE)
            .expect("the stream says whether it started")
            .expect("the stream delivers pictures");
        Reading {
            rx,
            ctx,
            thread: Some(thread),
        }
    }

    fn next(&self) -> SourceMessage<VideoFrame> {
        self.rx
            .recv_timeout(PATIENCE)
            .expect("the stream says something")
    }
}

impl Drop for Reading {
    fn drop(&mut self) {
        self.ctx.stop.store(true, Ordering::Relaxed);
        while self.rx.try_recv().is_ok() {}
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn portal_stream_paces_converts_and_ends_when_the_node_goes() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("pigeon_media=debug")
        .with_test_writer()
        .try_init();
    let Some(session) = WaylandSession::start(&["--no-portal"]) else {
        return;
    };
    // 0xAARRGGBB 0x336699 offered as BGRx at 60 fps, read at 15 fps.
    let mut producer = Producer::start(&session, "pigeon-test-bgrx", "BGRx", 0xff33_6699);
    let reading = Reading::start(node_id(&session, "pigeon-test-bgrx"), 15);
    let from = reading.ctx.clock.now();
    let mut frames = 0u32;
    while reading.ctx.clock.now() - from < Duration::from_secs(2) {
        if let SourceMessage::Item(frame) = reading.next() {
            assert_eq!(
                (frame.width, frame.height, frame.format),
                (640, 360, PixelFormat::Bgr0)
            );
            assert_eq!(frame.data.len(), 640 * 360 * 4);
            assert_eq!(
                &frame.data[..3],
                &[0x99, 0x66, 0x33],
                "BGRX bytes of #336699"
            );
            frames += 1;
        }
    }
    let rate = f64::from(frames) / (reading.ctx.clock.now() - from).as_secs_f64();
    println!("a 60 fps node read at 15 fps: {frames} frames in 2 s ({rate:.2} fps)");
    assert!((rate - 15.0).abs() <= 1.5, "{rate:.2} fps");

    // The node goes away (the producer stops, as a portal does when the
    // user stops sharing): the source ends as lost.
    producer.stop();
    let deadline = Instant::now() + PATIENCE;
    let end = loop {
        assert!(Instant::now() < deadline, "no end after the node went away");
        if let SourceMessage::Ended(end) = reading.next() {
            break end;
        }
    };
    println!("after the node went away: {end:?}");
    assert!(
        matches!(&end, SourceEnd::Lost(reason) if reason.contains("stopped") || reason.contains("failed")),
        "{end:?}"
    );
    drop(reading);

    // RGBx pictures arrive with red and blue swapped into BGRX.
    let _producer = Producer::start(&session, "pigeon-test-rgbx", "RGBx", 0xff33_6699);
    let reading = Reading::start(node_id(&session, "pigeon-test-rgbx"), 30);
    match reading.next() {
        SourceMessage::Item(frame) => {
            assert_eq!(
                &frame.data[..3],
                &[0x99, 0x66, 0x33],
                "BGRX bytes of #336699 from RGBx"
            )
        }
        other => panic!("expected a picture, got {other:?}"),
    }
}
