//! A media file as a virtual camera and microphone: lets a user send a
//! prepared clip through the same recorder, and gives tests real decoded input.
//! A file with sound but no picture (a voice memo, a podcast cut) records with
//! the still card of a microphone-only recording, as long as its sound lasts.

use std::ops::DerefMut;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::bounded;
use ffmpeg::format::{sample, Sample};
use ffmpeg::software::resampling;
use ffmpeg::util::frame;
use ffmpeg::{codec, media, Packet};
use ffmpeg_next as ffmpeg;

use crate::encode::{frame_to_packed, FrameConverter};
use crate::error::{MediaError, Result};
use crate::source::{
    join_thread, AudioChunk, AudioSource, Clock, Pacing, PixelFormat, Sink, SourceContext,
    SourceEnd, SourceMessage, VideoFrame, VideoSource,
};
use crate::synthetic::SyntheticVideo;

/// Size and rate of the still card an audio-only file is recorded with: the
/// default preset's frame (the recorder scales it, never up).
const STILL_CARD: (u32, u32, u32) = (1280, 720, 30);

/// Opens `path` and returns its video source and, when it has sound, its audio
/// source. Each decodes on its own thread; timestamps follow the file's. A file
/// with sound but no picture gets the still card of a microphone-only
/// recording as its video, for as long as the sound lasts.
pub fn open_file(path: &Path, pacing: Pacing) -> Result<(FileVideo, Option<FileAudio>)> {
    let input = crate::clip::open_input(path)?;
    let has_audio = input.streams().best(media::Type::Audio).is_some();
    let picture = match input.streams().best(media::Type::Video) {
        Some(video) => {
            let rate = video.avg_frame_rate();
            let fps = if rate.denominator() > 0 && rate.numerator() > 0 {
                (f64::from(rate.numerator()) / f64::from(rate.denominator()))
                    .round()
                    .clamp(1.0, 120.0) as u32
            } else {
                30
            };
            FilePicture::Decoded { fps }
        }
        None if has_audio => {
            drop(input);
            let length = crate::clip::probe(path)?.duration;
            if length.is_zero() {
                return Err(MediaError::NotMedia {
                    path: path.to_path_buf(),
                    reason: "its sound has no length".into(),
                });
            }
            FilePicture::StillCard { length }
        }
        None => {
            return Err(MediaError::NotMedia {
                path: path.to_path_buf(),
                reason: "it has no video stream".into(),
            })
        }
    };
    let video = FileVideo {
        path: path.to_path_buf(),
        pacing,
        picture,
        thread: None,
    };
    let audio = has_audio.then(|| FileAudio {
        path: path.to_path_buf(),
        pacing,
        thread: None,
    });
    Ok((video, audio))
}

pub struct FileVideo {
    path: PathBuf,
    pacing: Pacing,
    picture: FilePicture,
    thread: Option<JoinHandle<()>>,
}

/// Where a file's pictures come from.
#[derive(Debug, Clone, Copy)]
enum FilePicture {
    /// Its own video stream at its frame rate.
    Decoded { fps: u32 },
    /// It has only sound: the still card for the sound's length.
    StillCard { length: Duration },
}

impl FileVideo {
    /// True when the file has no picture and the still card stands in.
    pub fn is_still_card(&self) -> bool {
        matches!(self.picture, FilePicture::StillCard { .. })
    }
}

pub struct FileAudio {
    path: PathBuf,
    pacing: Pacing,
    thread: Option<JoinHandle<()>>,
}

fn stamp(ctx: &SourceContext, pacing: Pacing, media: f64) -> Duration {
    let at = ctx.epoch + Duration::from_secs_f64(media.max(0.0));
    if pacing == Pacing::RealTime {
        ctx.clock.sleep_until(at);
    }
    at
}

impl VideoSource for FileVideo {
    fn name(&self) -> String {
        match self.picture {
            FilePicture::Decoded { .. } => format!("file {}", self.path.display()),
            FilePicture::StillCard { .. } => {
                format!("file {} (sound only, still card)", self.path.display())
            }
        }
    }

    fn is_live(&self) -> bool {
        self.pacing == Pacing::RealTime
    }

    fn frame_rate(&self) -> u32 {
        match self.picture {
            FilePicture::Decoded { fps } => fps,
            FilePicture::StillCard { .. } => STILL_CARD.2,
        }
    }

    fn start(&mut self, ctx: SourceContext, sink: Sink<VideoFrame>) -> Result<()> {
        if let FilePicture::StillCard { length } = self.picture {
            return self.start_still_card(ctx, sink, length);
        }
        let (input, stream, decoder) = open_stream(&self.path, media::Type::Video, "video")?;
        let mut decoder = decoder.video().map_err(|e| MediaError::NotMedia {
            path: self.path.clone(),
            reason: format!("its video cannot be decoded ({e})"),
        })?;
        let decoding = Decoding {
            input,
            stream,
            pacing: self.pacing,
        };
        let name = self.name();
        let handle = std::thread::Builder::new()
            .name("file-video".into())
            .spawn(move || {
                let mut converter: Option<FrameConverter> = None;
                decoding.run(&mut decoder, frame::Video::empty(), &ctx, &sink, |frame| {
                    let conv = converter.get_or_insert_with(|| {
                        FrameConverter::new(
                            ffmpeg::format::Pixel::YUV420P,
                            frame.width() & !1,
                            frame.height() & !1,
                        )
                    });
                    let picture = conv
                        .convert_frame(frame)
                        .map_err(|e| format!("{name}: {e}"))?;
                    Ok(Some(VideoFrame {
                        width: picture.width(),
                        height: picture.height(),
                        format: PixelFormat::Yuv420p,
                        data: frame_to_packed(&picture),
                        captured_at: Duration::ZERO,
                    }))
                });
            })
            .map_err(|e| MediaError::io("start a thread for", &self.path, e))?;
        self.thread = Some(handle);
        Ok(())
    }

    fn join(&mut self) {
        join_thread(&mut self.thread, "file video");
    }
}

impl FileVideo {
    /// Delivers the still card on the frame grid until the sound's `length`.
    fn start_still_card(
        &mut self,
        ctx: SourceContext,
        sink: Sink<VideoFrame>,
        length: Duration,
    ) -> Result<()> {
        let (width, height, fps) = STILL_CARD;
        let card = still_card_picture(width, height, fps)?;
        let pacing = self.pacing;
        let total = (length.as_secs_f64() * f64::from(fps)).round().max(1.0) as u64;
        let handle = std::thread::Builder::new()
            .name("file-still-card".into())
            .spawn(move || {
                for index in 0..total {
                    if ctx.should_stop() {
                        return;
                    }
                    let captured_at = stamp(&ctx, pacing, index as f64 / f64::from(fps));
                    let frame = VideoFrame {
                        width,
                        height,
                        format: PixelFormat::Yuv420p,
                        data: card.clone(),
                        captured_at,
                    };
                    if sink.deliver(frame).is_err() {
                        return;
                    }
                }
                sink.end(SourceEnd::Finished);
            })
            .map_err(|e| MediaError::io("start a thread for", &self.path, e))?;
        self.thread = Some(handle);
        Ok(())
    }
}

/// The still card's picture, taken from [`SyntheticVideo::still`] itself so
/// an audio-only file and a microphone-only recording show the very same card.
fn still_card_picture(width: u32, height: u32, fps: u32) -> Result<Vec<u8>> {
    let mut still = SyntheticVideo::still(width, height, fps)?;
    let clock = Clock::new();
    let stop = Arc::new(AtomicBool::new(false));
    let ctx = SourceContext {
        clock,
        epoch: clock.now(),
        stop: stop.clone(),
    };
    let (tx, rx) = bounded(1);
    still.start(ctx, Sink::new(tx, true, Arc::new(AtomicU64::new(0))))?;
    // Its first picture is due at once.
    let first = rx.recv_timeout(Duration::from_secs(5));
    stop.store(true, Ordering::Relaxed);
    drop(rx);
    still.join();
    match first {
        Ok(SourceMessage::Item(frame)) => Ok(frame.data),
        _ => Err(MediaError::InvalidSettings(
            "the still card for a file with sound only was not painted; try again".into(),
        )),
    }
}

impl AudioSource for FileAudio {
    fn name(&self) -> String {
        format!("file {} (audio)", self.path.display())
    }

    fn is_live(&self) -> bool {
        self.pacing == Pacing::RealTime
    }

    fn start(&mut self, ctx: SourceContext, sink: Sink<AudioChunk>) -> Result<()> {
        let (input, stream, decoder) = open_stream(&self.path, media::Type::Audio, "audio")?;
        let mut decoder = decoder.audio().map_err(|e| MediaError::NotMedia {
            path: self.path.clone(),
            reason: format!("its audio cannot be decoded ({e})"),
        })?;
        let decoding = Decoding {
            input,
            stream,
            pacing: self.pacing,
        };
        let handle = std::thread::Builder::new()
            .name("file-audio".into())
            .spawn(move || {
                let mut resampler: Option<resampling::Context> = None;
                decoding.run(&mut decoder, frame::Audio::empty(), &ctx, &sink, |frame| {
                    let channels = frame.channels().max(1);
                    let layout = if frame.channel_layout().is_empty() {
                        ffmpeg::ChannelLayout::default(i32::from(channels))
                    } else {
                        frame.channel_layout()
                    };
                    frame.set_channel_layout(layout);
                    // Interleaved f32 at the file's own rate; the recorder resamples.
                    let converter = match resampler.as_mut() {
                        Some(r) => r,
                        None => resampler.insert(
                            resampling::Context::get(
                                frame.format(),
                                layout,
                                frame.rate(),
                                Sample::F32(sample::Type::Packed),
                                layout,
                                frame.rate(),
                            )
                            .map_err(|e| format!("audio conversion failed: {e}"))?,
                        ),
                    };
                    let mut out = frame::Audio::new(
                        Sample::F32(sample::Type::Packed),
                        frame.samples() + 64,
                        layout,
                    );
                    if converter.run(frame, &mut out).is_err() {
                        // One frame that does not convert is skipped.
                        return Ok(None);
                    }
                    let count = out.samples() * usize::from(channels);
                    let samples = out
                        .data(0)
                        .chunks_exact(4)
                        .take(count)
                        .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                        .collect();
                    Ok(Some(AudioChunk {
                        sample_rate: frame.rate(),
                        channels,
                        samples,
                        captured_at: Duration::ZERO,
                    }))
                });
            })
            .map_err(|e| MediaError::io("start a thread for", &self.path, e))?;
        self.thread = Some(handle);
        Ok(())
    }

    fn join(&mut self) {
        join_thread(&mut self.thread, "file audio");
    }
}

/// What a file source delivers, stamped once it is due.
trait Stamped {
    fn stamped(self, captured_at: Duration) -> Self;
}

impl Stamped for VideoFrame {
    fn stamped(self, captured_at: Duration) -> Self {
        VideoFrame {
            captured_at,
            ..self
        }
    }
}

impl Stamped for AudioChunk {
    fn stamped(self, captured_at: Duration) -> Self {
        AudioChunk {
            captured_at,
            ..self
        }
    }
}

/// One stream of a file being decoded on its source's thread.
struct Decoding {
    input: ffmpeg::format::context::Input,
    stream: DecodableStream,
    pacing: Pacing,
}

impl Decoding {
    /// Decodes until the end of the stream, the stop, or a failure. `make`
    /// turns each decoded frame into an item (None skips the frame; an error
    /// loses the source, saying why); each item is stamped with its media
    /// time, paced by `pacing`, and delivered.
    fn run<F, T>(
        mut self,
        decoder: &mut codec::decoder::Opened,
        mut frame: F,
        ctx: &SourceContext,
        sink: &Sink<T>,
        mut make: impl FnMut(&mut F) -> std::result::Result<Option<T>, String>,
    ) where
        F: DerefMut<Target = ffmpeg::Frame>,
        T: Stamped,
    {
        let mut packet = Packet::empty();
        let mut eof = false;
        loop {
            if ctx.should_stop() {
                return;
            }
            let index = self.stream.index;
            if !eof && !feed(&mut self.input, &mut packet, index, decoder, &mut eof) {
                continue;
            }
            let mut got = false;
            while decoder.receive_frame(&mut frame).is_ok() {
                got = true;
                let pts = frame.timestamp().or(frame.pts()).unwrap_or(0);
                let media = (pts - self.stream.start) as f64 * self.stream.tb;
                let item = match make(&mut frame) {
                    Ok(Some(item)) => item,
                    Ok(None) => continue,
                    Err(why) => {
                        sink.end(SourceEnd::Lost(why));
                        return;
                    }
                };
                let captured_at = stamp(ctx, self.pacing, media);
                if sink.deliver(item.stamped(captured_at)).is_err() {
                    return;
                }
            }
            if eof && !got {
                sink.end(SourceEnd::Finished);
                return;
            }
        }
    }
}

/// Reads the next packet and gives it to `decoder` if it is of stream `index`; at the
/// end of the file sends end-of-stream once and sets `eof`. False when the packet was
/// another stream's or unreadable, so the caller reads on before decoding.
fn feed(
    input: &mut ffmpeg::format::context::Input,
    packet: &mut Packet,
    index: usize,
    decoder: &mut codec::decoder::Opened,
    eof: &mut bool,
) -> bool {
    match packet.read(input) {
        Ok(()) if packet.stream() == index => {
            // A packet the decoder refuses is skipped; the next keyframe recovers.
            let _ = decoder.send_packet(packet);
            true
        }
        Ok(()) | Err(ffmpeg::Error::InvalidData) => false,
        Err(_) => {
            *eof = true;
            let _ = decoder.send_eof();
            true
        }
    }
}

/// Where a file's best stream of one kind is, and when it starts.
struct DecodableStream {
    index: usize,
    /// Seconds per time-base tick.
    tb: f64,
    start: i64,
}

/// Opens `path` and a decoder for its best stream of `kind` (`what` names it in errors).
fn open_stream(
    path: &Path,
    kind: media::Type,
    what: &str,
) -> Result<(
    ffmpeg::format::context::Input,
    DecodableStream,
    codec::decoder::Decoder,
)> {
    let input = crate::clip::open_input(path)?;
    let stream = input
        .streams()
        .best(kind)
        .ok_or_else(|| MediaError::NotMedia {
            path: path.to_path_buf(),
            reason: format!("it has no {what} stream"),
        })?;
    let found = DecodableStream {
        index: stream.index(),
        tb: f64::from(stream.time_base()),
        start: if stream.start_time() == ffmpeg::ffi::AV_NOPTS_VALUE {
            0
        } else {
            stream.start_time()
        },
    };
    let decoder = codec::context::Context::from_parameters(stream.parameters())
        .map(|c| c.decoder())
        .map_err(|e| MediaError::NotMedia {
            path: path.to_path_buf(),
            reason: format!("its {what} cannot be decoded ({e})"),
        })?;
    Ok((input, found, decoder))
}
