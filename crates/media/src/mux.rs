//! [`ClipWriter`]: H.264 + AAC into a fragmented MP4 that only ever grows.
//!
//! The file is written with `frag_keyframe+empty_moov+default_base_moof` and
//! packets are flushed as they are muxed, so whatever is on disk is playable up
//! to its last complete fragment (one per keyframe, every second). Bytes once
//! written are never rewritten: the writer reports each new byte range, which
//! an uploader can send while recording goes on.

use std::path::{Path, PathBuf};

use ffmpeg::format::{sample, Pixel, Sample};
use ffmpeg::util::frame;
use ffmpeg::{codec, encoder, ChannelLayout, Dictionary, Packet, Rational};
use ffmpeg_next as ffmpeg;

use crate::encode::{ContentKind, QualityPreset, X264Settings, AUDIO_BITRATE, AUDIO_RATE};
use crate::error::{is_disk_full, MediaError, Result};

/// A byte range of the clip file that is complete and will never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// Counts from 0 (the init segment: `ftyp` + `moov`).
    pub index: u64,
    pub offset: u64,
    pub length: u64,
}

/// What the video stream of a clip looks like.
#[derive(Debug, Clone, Copy)]
pub struct VideoSettings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub quality: QualityPreset,
    /// Camera or screen: picks the x264 settings ([`X264Settings::new`]).
    pub content: ContentKind,
}

struct VideoStream {
    encoder: encoder::Video,
    index: usize,
    time_base: Rational,
    frames: u64,
}

struct AudioStream {
    encoder: encoder::Audio,
    index: usize,
    time_base: Rational,
    frame_size: usize,
    pending: Vec<f32>,
    next_pts: i64,
    /// Input samples still to discard so the encoder's priming is cancelled out.
    skip: usize,
}

/// Encodes and muxes one clip. Video arrives as YUV 4:2:0 frames at the
/// clip's size with a frame-slot number; audio as mono 48 kHz samples.
pub struct ClipWriter {
    path: PathBuf,
    output: ffmpeg::format::context::Output,
    video: VideoStream,
    audio: Option<AudioStream>,
    written: u64,
    fragments: u64,
    new_fragments: Vec<Fragment>,
    finished: bool,
}

impl ClipWriter {
    pub fn create(path: &Path, video: VideoSettings, with_audio: bool) -> Result<Self> {
        crate::init();
        let mut output = ffmpeg::format::output_as(path, "mp4").map_err(|e| match e {
            ffmpeg::Error::Other { errno } => {
                MediaError::io("create", path, std::io::Error::from_raw_os_error(errno))
            }
            other => MediaError::ffmpeg(format!("creating {}", path.display()), other),
        })?;
        let global_header = output
            .format()
            .flags()
            .contains(ffmpeg::format::Flags::GLOBAL_HEADER);

        let h264 = encoder::find_by_name("libx264")
            .ok_or(MediaError::MissingEncoder { name: "libx264" })?;
        let video_index = output
            .add_stream(h264)
            .map_err(|e| MediaError::ffmpeg("adding the video stream", e))?
            .index();
        let mut venc = codec::context::Context::new_with_codec(h264)
            .encoder()
            .video()
            .map_err(|e| MediaError::ffmpeg("setting up the H.264 encoder", e))?;
        venc.set_width(video.width);
        venc.set_height(video.height);
        venc.set_format(Pixel::YUV420P);
        venc.set_time_base(Rational(1, video.fps as i32));
        venc.set_frame_rate(Some(Rational(video.fps as i32, 1)));
        // One keyframe a second: one fragment a second, so a crash loses at most ~1 s.
        venc.set_gop(video.fps);
        venc.set_max_b_frames(0);
        let x264 = X264Settings::new(video.quality, video.content);
        venc.set_max_bit_rate(x264.max_bitrate as usize);
        if global_header {
            venc.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let mut opts = Dictionary::new();
        opts.set("preset", x264.preset);
        opts.set("tune", x264.tune);
        opts.set("crf", x264.crf);
        opts.set("bufsize", &x264.buffer_size().to_string());
        opts.set("keyint_min", &video.fps.to_string());
        // libavcodec defaults to one thread and ffmpeg-next keeps that.
        opts.set("threads", "auto");
        let venc = venc
            .open_as_with(h264, opts)
            .map_err(|e| MediaError::ffmpeg("opening the H.264 encoder (libx264)", e))?;
        if let Some(mut stream) = output.stream_mut(video_index) {
            stream.set_parameters(&venc);
            stream.set_time_base(Rational(1, video.fps as i32));
        }

        let audio = if with_audio {
            let aac =
                encoder::find(codec::Id::AAC).ok_or(MediaError::MissingEncoder { name: "aac" })?;
            let audio_index = output
                .add_stream(aac)
                .map_err(|e| MediaError::ffmpeg("adding the audio stream", e))?
                .index();
            let mut aenc = codec::context::Context::new_with_codec(aac)
                .encoder()
                .audio()
                .map_err(|e| MediaError::ffmpeg("setting up the AAC encoder", e))?;
            aenc.set_rate(AUDIO_RATE as i32);
            aenc.set_channel_layout(ChannelLayout::MONO);
            aenc.set_format(Sample::F32(sample::Type::Planar));
            aenc.set_bit_rate(AUDIO_BITRATE);
            aenc.set_time_base(Rational(1, AUDIO_RATE as i32));
            if global_header {
                aenc.set_flags(codec::Flags::GLOBAL_HEADER);
            }
            let aenc = aenc
                .open_as(aac)
                .map_err(|e| MediaError::ffmpeg("opening the AAC encoder", e))?;
            if let Some(mut stream) = output.stream_mut(audio_index) {
                stream.set_parameters(&aenc);
                stream.set_time_base(Rational(1, AUDIO_RATE as i32));
            }
            let frame_size = (aenc.frame_size() as usize).max(1);
            // SAFETY: reading a plain field of the opened encoder's context.
            let priming = unsafe { (*aenc.as_ptr()).initial_padding.max(0) as usize };
            Some(AudioStream {
                encoder: aenc,
                index: audio_index,
                time_base: Rational(1, AUDIO_RATE as i32),
                frame_size,
                pending: Vec::with_capacity(frame_size * 4),
                // The encoder subtracts its priming from the pts: starting there keeps
                // every timestamp non-negative, so the muxer never shifts a stream.
                next_pts: priming as i64,
                skip: priming,
            })
        } else {
            None
        };

        write_wire_header(&mut output, path)?;
        // The muxer may change time bases in write_header: read them only now.
        let video_tb = output
            .stream(video_index)
            .map(|s| s.time_base())
            .unwrap_or(Rational(1, video.fps as i32));
        let mut audio = audio;
        if let Some(a) = audio.as_mut() {
            a.time_base = output
                .stream(a.index)
                .map(|s| s.time_base())
                .unwrap_or(a.time_base);
        }
        let mut writer = ClipWriter {
            path: path.to_path_buf(),
            output,
            video: VideoStream {
                encoder: venc,
                index: video_index,
                time_base: video_tb,
                frames: 0,
            },
            audio,
            written: 0,
            fragments: 0,
            new_fragments: Vec::new(),
            finished: false,
        };
        writer.note_growth()?;
        Ok(writer)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Encoded video frames so far.
    pub fn video_frames(&self) -> u64 {
        self.video.frames
    }

    /// Bytes on disk so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Encodes one picture shown from frame slot `slot` (in 1/fps units).
    pub fn write_video(&mut self, picture: &mut frame::Video, slot: i64) -> Result<()> {
        picture.set_pts(Some(slot));
        // Decoded frames carry a picture type that libx264 would obey (all keyframes).
        picture.set_kind(ffmpeg::picture::Type::None);
        self.video
            .encoder
            .send_frame(picture)
            .map_err(|e| MediaError::ffmpeg("encoding a video frame", e))?;
        self.video.frames += 1;
        self.drain_video()?;
        self.note_growth()
    }

    /// Queues mono 48 kHz samples; full AAC frames are encoded at once.
    pub fn write_audio(&mut self, samples: &[f32]) -> Result<()> {
        let Some(audio) = self.audio.as_mut() else {
            return Ok(());
        };
        // AAC starts with `initial_padding` priming samples, and a fragmented MP4
        // with an empty moov has no edit list to hide them: players would hear
        // everything that late (21 ms at 48 kHz). Dropping as many samples from
        // the (silent) start keeps sound and picture in sync.
        let skipped = audio.skip.min(samples.len());
        audio.skip -= skipped;
        audio.pending.extend_from_slice(&samples[skipped..]);
        let mut consumed = 0;
        while audio.pending.len() - consumed >= audio.frame_size {
            // AAC needs frames of exactly frame_size samples; shorter ones corrupt timing.
            let mut f = frame::Audio::new(
                Sample::F32(sample::Type::Planar),
                audio.frame_size,
                ChannelLayout::MONO,
            );
            f.set_rate(AUDIO_RATE);
            f.plane_mut::<f32>(0)
                .copy_from_slice(&audio.pending[consumed..consumed + audio.frame_size]);
            f.set_pts(Some(audio.next_pts));
            audio.next_pts += audio.frame_size as i64;
            consumed += audio.frame_size;
            audio
                .encoder
                .send_frame(&f)
                .map_err(|e| MediaError::ffmpeg("encoding audio", e))?;
            Self::drain_audio(&mut self.output, &self.path, audio)?;
        }
        audio.pending.drain(..consumed);
        self.note_growth()
    }

    /// Samples of audio handed to the writer so far (encoded or queued).
    pub fn audio_samples(&self) -> i64 {
        self.audio
            .as_ref()
            .map_or(0, |a| a.next_pts + a.pending.len() as i64)
    }

    /// Byte ranges completed since the last call.
    pub fn take_fragments(&mut self) -> Vec<Fragment> {
        std::mem::take(&mut self.new_fragments)
    }

    /// Flushes both encoders and writes the trailer. The file stays a
    /// fragmented MP4; see [`crate::clip::make_playable`] for the player copy.
    pub fn finish(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        if let Some(audio) = self.audio.as_mut() {
            if !audio.pending.is_empty() {
                // Pad the last partial frame with silence rather than dropping it.
                let missing = audio.frame_size - audio.pending.len() % audio.frame_size;
                if missing != audio.frame_size {
                    audio.pending.extend(std::iter::repeat_n(0.0, missing));
                }
            }
        }
        self.write_audio(&[])?;
        self.video
            .encoder
            .send_eof()
            .map_err(|e| MediaError::ffmpeg("finishing the video", e))?;
        self.drain_video()?;
        if let Some(audio) = self.audio.as_mut() {
            audio
                .encoder
                .send_eof()
                .map_err(|e| MediaError::ffmpeg("finishing the audio", e))?;
            Self::drain_audio(&mut self.output, &self.path, audio)?;
        }
        self.output
            .write_trailer()
            .map_err(|e| write_error(&self.path, "finishing the clip", e))?;
        self.note_growth()
    }

    fn drain_video(&mut self) -> Result<()> {
        let mut packet = Packet::empty();
        while self.video.encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(self.video.index);
            // libx264 leaves the duration 0; the fragment muxer would have to guess.
            packet.set_duration(1);
            packet.rescale_ts(
                Rational(1, self.video.encoder.frame_rate().numerator().max(1)),
                self.video.time_base,
            );
            packet
                .write_interleaved(&mut self.output)
                .map_err(|e| write_error(&self.path, "writing video", e))?;
        }
        Ok(())
    }

    fn drain_audio(
        output: &mut ffmpeg::format::context::Output,
        path: &Path,
        audio: &mut AudioStream,
    ) -> Result<()> {
        let mut packet = Packet::empty();
        while audio.encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(audio.index);
            packet.rescale_ts(Rational(1, AUDIO_RATE as i32), audio.time_base);
            packet
                .write_interleaved(output)
                .map_err(|e| write_error(path, "writing audio", e))?;
        }
        Ok(())
    }

    /// Records bytes that reached the file since the last look as one fragment.
    fn note_growth(&mut self) -> Result<()> {
        let size = std::fs::metadata(&self.path)
            .map_err(|e| MediaError::io("look at", &self.path, e))?
            .len();
        if size > self.written {
            self.new_fragments.push(Fragment {
                index: self.fragments,
                offset: self.written,
                length: size - self.written,
            });
            self.fragments += 1;
            self.written = size;
        }
        Ok(())
    }
}

/// Writes the header of a clip in Pigeon's wire format: a fragmented MP4
/// with an empty `moov`, a fragment per keyframe, packets flushed as written.
/// The recorder and trim both write clips through it, so what the outbox
/// uploads has one shape.
pub(crate) fn write_wire_header(
    output: &mut ffmpeg::format::context::Output,
    path: &Path,
) -> Result<()> {
    // SAFETY: a plain field of the output context, set before the header.
    // The interleaver then holds packets of one stream at most 1 s while
    // waiting for the other (default 10 s), so a crash never costs more.
    unsafe {
        (*output.as_mut_ptr()).max_interleave_delta = 1_000_000;
    }
    let mut opts = Dictionary::new();
    opts.set("movflags", "frag_keyframe+empty_moov+default_base_moof");
    opts.set("flush_packets", "1");
    output
        .write_header_with(opts)
        .map(|_| ())
        .map_err(|e| write_error(path, "writing the clip header", e))
}

/// A write failure: a full disk says so, anything else names what failed.
pub(crate) fn write_error(path: &Path, action: &str, e: ffmpeg::Error) -> MediaError {
    if is_disk_full(&e) {
        MediaError::DiskFull {
            path: path.to_path_buf(),
        }
    } else {
        MediaError::ffmpeg(format!("{action} ({})", path.display()), e)
    }
}
