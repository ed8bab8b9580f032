//! A media file as a virtual camera and microphone: lets a user send a
//! prepared clip through the same recorder, and gives tests real decoded input.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

use ffmpeg::format::{sample, Sample};
use ffmpeg::software::resampling;
use ffmpeg::{codec, media, Packet};
use ffmpeg_next as ffmpeg;

use crate::encode::frame_to_packed;
use crate::error::{MediaError, Result};
use crate::source::{
    join_thread, AudioChunk, AudioSource, Pacing, PixelFormat, Sink, SourceContext, SourceEnd,
    VideoFrame, VideoSource,
};

/// Opens `path` and returns its video source and, when it has sound, its audio
/// source. Each decodes on its own thread; timestamps follow the file's.
pub fn open_file(path: &Path, pacing: Pacing) -> Result<(FileVideo, Option<FileAudio>)> {
    let input = crate::clip::open_input(path)?;
    let video = input
        .streams()
        .best(media::Type::Video)
        .ok_or_else(|| MediaError::NotMedia {
            path: path.to_path_buf(),
            reason: "it has no video stream".into(),
        })?;
    let rate = video.avg_frame_rate();
    let fps = if rate.denominator() > 0 && rate.numerator() > 0 {
        (f64::from(rate.numerator()) / f64::from(rate.denominator()))
            .round()
            .clamp(1.0, 120.0) as u32
    } else {
        30
    };
    let has_audio = input.streams().best(media::Type::Audio).is_some();
    let video = FileVideo {
        path: path.to_path_buf(),
        pacing,
        fps,
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
    fps: u32,
    thread: Option<JoinHandle<()>>,
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
        format!("file {}", self.path.display())
    }

    fn is_live(&self) -> bool {
        self.pacing == Pacing::RealTime
    }

    fn frame_rate(&self) -> u32 {
        self.fps
    }

    fn start(&mut self, ctx: SourceContext, sink: Sink<VideoFrame>) -> Result<()> {
        let (mut input, DecodableStream { index, tb, start }, decoder) =
            open_stream(&self.path, media::Type::Video, "video")?;
        let mut decoder = decoder.video().map_err(|e| MediaError::NotMedia {
            path: self.path.clone(),
            reason: format!("its video cannot be decoded ({e})"),
        })?;
        let pacing = self.pacing;
        let name = self.name();
        let handle = std::thread::Builder::new()
            .name("file-video".into())
            .spawn(move || {
                let mut frame = ffmpeg::util::frame::Video::empty();
                let mut converter: Option<crate::encode::FrameConverter> = None;
                let mut packet = Packet::empty();
                let mut eof = false;
                loop {
                    if ctx.should_stop() {
                        return;
                    }
                    if !eof && !feed(&mut input, &mut packet, index, &mut decoder, &mut eof) {
                        continue;
                    }
                    let mut got = false;
                    while decoder.receive_frame(&mut frame).is_ok() {
                        got = true;
                        let media =
                            (frame.timestamp().or(frame.pts()).unwrap_or(0) - start) as f64 * tb;
                        let conv = converter.get_or_insert_with(|| {
                            crate::encode::FrameConverter::new(
                                ffmpeg::format::Pixel::YUV420P,
                                frame.width() & !1,
                                frame.height() & !1,
                            )
                        });
                        let picture = match conv.convert_frame(&frame) {
                            Ok(p) => p,
                            Err(e) => {
                                sink.end(SourceEnd::Lost(format!("{name}: {e}")));
                                return;
                            }
                        };
                        let captured_at = stamp(&ctx, pacing, media);
                        let out = VideoFrame {
                            width: picture.width(),
                            height: picture.height(),
                            format: PixelFormat::Yuv420p,
                            data: frame_to_packed(&picture),
                            captured_at,
                        };
                        if sink.deliver(out).is_err() {
                            return;
                        }
                    }
                    if eof && !got {
                        sink.end(SourceEnd::Finished);
                        return;
                    }
                }
            })
            .map_err(|e| MediaError::io("start a thread for", &self.path, e))?;
        self.thread = Some(handle);
        Ok(())
    }

    fn join(&mut self) {
        join_thread(&mut self.thread, "file video");
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
        let (mut input, DecodableStream { index, tb, start }, decoder) =
            open_stream(&self.path, media::Type::Audio, "audio")?;
        let mut decoder = decoder.audio().map_err(|e| MediaError::NotMedia {
            path: self.path.clone(),
            reason: format!("its audio cannot be decoded ({e})"),
        })?;
        let pacing = self.pacing;
        let handle = std::thread::Builder::new()
            .name("file-audio".into())
            .spawn(move || {
                let mut frame = ffmpeg::util::frame::Audio::empty();
                let mut packet = Packet::empty();
                let mut resampler: Option<resampling::Context> = None;
                let mut eof = false;
                loop {
                    if ctx.should_stop() {
                        return;
                    }
                    if !eof && !feed(&mut input, &mut packet, index, &mut decoder, &mut eof) {
                        continue;
                    }
                    let mut got = false;
                    while decoder.receive_frame(&mut frame).is_ok() {
                        got = true;
                        let media =
                            (frame.timestamp().or(frame.pts()).unwrap_or(0) - start) as f64 * tb;
                        let channels = frame.channels().max(1);
                        let layout = if frame.channel_layout().is_empty() {
                            ffmpeg::ChannelLayout::default(i32::from(channels))
                        } else {
                            frame.channel_layout()
                        };
                        frame.set_channel_layout(layout);
                        // Interleaved f32 at the file's own rate; the recorder resamples.
                        let ctx_r = match resampler.as_mut() {
                            Some(r) => r,
                            None => match resampling::Context::get(
                                frame.format(),
                                layout,
                                frame.rate(),
                                Sample::F32(sample::Type::Packed),
                                layout,
                                frame.rate(),
                            ) {
                                Ok(r) => resampler.insert(r),
                                Err(e) => {
                                    sink.end(SourceEnd::Lost(format!(
                                        "audio conversion failed: {e}"
                                    )));
                                    return;
                                }
                            },
                        };
                        let mut out = ffmpeg::util::frame::Audio::new(
                            Sample::F32(sample::Type::Packed),
                            frame.samples() + 64,
                            layout,
                        );
                        if ctx_r.run(&frame, &mut out).is_err() {
                            continue;
                        }
                        let count = out.samples() * usize::from(channels);
                        let bytes = &out.data(0)[..count * 4];
                        let samples = bytes
                            .chunks_exact(4)
                            .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                            .collect();
                        let captured_at = stamp(&ctx, pacing, media);
                        let chunk = AudioChunk {
                            sample_rate: frame.rate(),
                            channels,
                            samples,
                            captured_at,
                        };
                        if sink.deliver(chunk).is_err() {
                            return;
                        }
                    }
                    if eof && !got {
                        sink.end(SourceEnd::Finished);
                        return;
                    }
                }
            })
            .map_err(|e| MediaError::io("start a thread for", &self.path, e))?;
        self.thread = Some(handle);
        Ok(())
    }

    fn join(&mut self) {
        join_thread(&mut self.thread, "file audio");
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
