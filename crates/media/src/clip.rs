//! Clip tools: probe, poster image, validation, and the player-ready copy.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ffmpeg::format::Pixel;
use ffmpeg::util::frame;
use ffmpeg::{codec, media, Dictionary, Packet, Rational};
use ffmpeg_next as ffmpeg;

use crate::encode::FrameConverter;
use crate::error::{is_disk_full, MediaError, Result};

/// What one stream of a clip holds.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    pub index: usize,
    pub kind: StreamKind,
    /// FFmpeg's codec name, e.g. "h264", "aac".
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub sample_rate: u32,
    pub channels: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Video,
    Audio,
    Other,
}

/// What [`probe`] finds.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipInfo {
    pub duration: Duration,
    pub size_bytes: u64,
    /// Container names as FFmpeg knows them, e.g. "mov,mp4,m4a,3gp,3g2,mj2".
    pub container: String,
    pub streams: Vec<StreamInfo>,
}

impl ClipInfo {
    pub fn video(&self) -> Option<&StreamInfo> {
        self.streams.iter().find(|s| s.kind == StreamKind::Video)
    }

    pub fn audio(&self) -> Option<&StreamInfo> {
        self.streams.iter().find(|s| s.kind == StreamKind::Audio)
    }
}

pub(crate) fn open_input(path: &Path) -> Result<ffmpeg::format::context::Input> {
    crate::init();
    if let Err(e) = std::fs::metadata(path) {
        return Err(MediaError::io("read", path, e));
    }
    ffmpeg::format::input(path).map_err(|e| MediaError::NotMedia {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Duration, size, container and streams. The duration is measured from the
/// packets themselves (the end of the last one), because a fragmented MP4
/// has no duration in its header.
pub fn probe(path: &Path) -> Result<ClipInfo> {
    let mut input = open_input(path)?;
    let size_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut streams = Vec::new();
    let mut time_bases = Vec::new();
    for stream in input.streams() {
        let params = stream.parameters();
        let kind = match params.medium() {
            media::Type::Video => StreamKind::Video,
            media::Type::Audio => StreamKind::Audio,
            _ => StreamKind::Other,
        };
        // SAFETY: codecpar is valid for as long as the input context lives.
        let (width, height, sample_rate, channels) = unsafe {
            let p = &*params.as_ptr();
            (
                p.width.max(0) as u32,
                p.height.max(0) as u32,
                p.sample_rate.max(0) as u32,
                p.channels.max(0) as u16,
            )
        };
        streams.push(StreamInfo {
            index: stream.index(),
            kind,
            codec: params.id().name().to_string(),
            width,
            height,
            sample_rate,
            channels,
        });
        time_bases.push((stream.time_base(), stream.start_time()));
    }
    let mut end = 0f64;
    let mut packet = Packet::empty();
    loop {
        match packet.read(&mut input) {
            Ok(()) => {
                let Some(&(tb, start)) = time_bases.get(packet.stream()) else {
                    continue;
                };
                if let Some(pts) = packet.pts().or(packet.dts()) {
                    let start = if start == ffmpeg::ffi::AV_NOPTS_VALUE {
                        0
                    } else {
                        start
                    };
                    let e = (pts - start + packet.duration().max(0)) as f64 * f64::from(tb);
                    end = end.max(e);
                }
            }
            Err(ffmpeg::Error::InvalidData) => continue,
            // A clip cut by a crash ends with a broken fragment: count what came before.
            Err(_) => break,
        }
    }
    Ok(ClipInfo {
        duration: Duration::from_secs_f64(end.max(0.0)),
        size_bytes,
        container: input.format().name().to_string(),
        streams,
    })
}

/// Codecs the desktop player (WebKitGTK's GStreamer) can play.
const PLAYABLE_VIDEO: &[&str] = &["h264", "vp8", "vp9", "av1"];
const PLAYABLE_AUDIO: &[&str] = &["aac", "opus", "vorbis", "mp3"];

/// Checks that an incoming file really is a clip the app can play: a
/// container FFmpeg reads, one video stream in a codec the player knows whose
/// first picture decodes, audio (if any) the player knows, and a length.
pub fn validate(path: &Path) -> Result<ClipInfo> {
    let not_a_clip = |reason: String| MediaError::NotAClip {
        path: path.to_path_buf(),
        reason,
    };
    let info = probe(path).map_err(|e| match e {
        MediaError::NotMedia { reason, .. } => {
            not_a_clip(format!("it is not a media file ({reason})"))
        }
        other => other,
    })?;
    let video = info
        .video()
        .ok_or_else(|| not_a_clip("it has no video stream".into()))?;
    if !PLAYABLE_VIDEO.contains(&video.codec.as_str()) {
        return Err(not_a_clip(format!(
            "its video is {} (playable: {})",
            video.codec,
            PLAYABLE_VIDEO.join(", ")
        )));
    }
    if let Some(audio) = info.audio() {
        if !PLAYABLE_AUDIO.contains(&audio.codec.as_str()) {
            return Err(not_a_clip(format!(
                "its audio is {} (playable: {})",
                audio.codec,
                PLAYABLE_AUDIO.join(", ")
            )));
        }
    }
    if info.duration.is_zero() {
        return Err(not_a_clip("it has no length".into()));
    }
    first_picture(path, Duration::ZERO)
        .map_err(|e| not_a_clip(format!("its first picture does not decode ({e})")))?;
    Ok(info)
}

/// Decodes the first picture at or after `at`.
fn first_picture(path: &Path, at: Duration) -> Result<frame::Video> {
    let mut input = open_input(path)?;
    let stream = input
        .streams()
        .best(media::Type::Video)
        .ok_or_else(|| MediaError::NotAClip {
            path: path.to_path_buf(),
            reason: "it has no video stream".into(),
        })?;
    let index = stream.index();
    let tb = stream.time_base();
    let mut decoder = codec::context::Context::from_parameters(stream.parameters())
        .and_then(|c| c.decoder().video())
        .map_err(|e| MediaError::ffmpeg("opening the video decoder", e))?;
    let target = (at.as_secs_f64() / f64::from(tb).max(1e-9)) as i64;
    if !at.is_zero() {
        let ts = (at.as_secs_f64() * f64::from(ffmpeg::ffi::AV_TIME_BASE)) as i64;
        // Seeking may fail on a fragmented file: decoding from the start still works.
        let _ = input.seek(ts, ..ts);
    }
    let mut frame = frame::Video::empty();
    let mut packet = Packet::empty();
    let mut last: Option<frame::Video> = None;
    loop {
        let eof = match packet.read(&mut input) {
            Ok(()) => false,
            Err(ffmpeg::Error::InvalidData) => continue,
            Err(_) => true,
        };
        if eof {
            let _ = decoder.send_eof();
        } else if packet.stream() != index || decoder.send_packet(&packet).is_err() {
            continue;
        }
        while decoder.receive_frame(&mut frame).is_ok() {
            if frame.pts().unwrap_or(0) >= target {
                return Ok(frame);
            }
            last = Some(frame.clone());
        }
        if eof {
            return last.ok_or_else(|| MediaError::NotAClip {
                path: path.to_path_buf(),
                reason: "no picture could be decoded".into(),
            });
        }
    }
}

/// Writes a JPEG of the picture at `at` (or the last one, for a shorter
/// clip), scaled to at most `max_width` pixels wide.
pub fn poster_jpeg(path: &Path, at: Duration, max_width: u32, jpeg: &Path) -> Result<()> {
    let picture = first_picture(path, at)?;
    let (w, h) = (picture.width(), picture.height());
    let width = w.min(max_width.max(16)) & !1;
    let height = ((u64::from(h) * u64::from(width) / u64::from(w.max(1))) as u32 & !1).max(2);
    let mut converter = FrameConverter::new(Pixel::YUVJ420P, width, height);
    let scaled = converter.convert_frame(&picture)?;
    let data = encode_jpeg(scaled, 3, "the poster")?;
    std::fs::write(jpeg, data).map_err(|e| MediaError::io("write", jpeg, e))
}

/// Reads the next packet of `input` into `packet`, skipping undecodable
/// ones; false at the end, or at a damaged part (a clip cut by a crash ends
/// with a broken fragment), after which nothing more can be read.
pub(crate) fn read_packet(input: &mut ffmpeg::format::context::Input, packet: &mut Packet) -> bool {
    loop {
        match packet.read(input) {
            Ok(()) => return true,
            Err(ffmpeg::Error::InvalidData) => continue,
            Err(ffmpeg::Error::Eof) => return false,
            Err(e) => {
                tracing::info!(error = %e, "stopped reading at a damaged part of the clip");
                return false;
            }
        }
    }
}

/// Encodes one full-range 4:2:0 (`YUVJ420P`) picture as a JPEG at `quality`
/// (FFmpeg's qscale: 2 best .. 31 worst); `what` names it in errors.
pub(crate) fn encode_jpeg(mut picture: frame::Video, quality: u8, what: &str) -> Result<Vec<u8>> {
    let (width, height) = (picture.width(), picture.height());
    let codec = ffmpeg::encoder::find(codec::Id::MJPEG)
        .ok_or(MediaError::MissingEncoder { name: "mjpeg" })?;
    let mut enc = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(|e| MediaError::ffmpeg("setting up the JPEG encoder", e))?;
    enc.set_width(width);
    enc.set_height(height);
    enc.set_format(Pixel::YUVJ420P);
    enc.set_time_base(Rational(1, 25));
    enc.set_quality(usize::from(quality));
    enc.set_global_quality(i32::from(quality) * ffmpeg::ffi::FF_QP2LAMBDA);
    enc.set_flags(codec::Flags::QSCALE);
    let mut enc = enc
        .open_as(codec)
        .map_err(|e| MediaError::ffmpeg("opening the JPEG encoder", e))?;
    picture.set_pts(Some(0));
    picture.set_kind(ffmpeg::picture::Type::None);
    let encoding = format!("encoding {what}");
    enc.send_frame(&picture)
        .map_err(|e| MediaError::ffmpeg(encoding.clone(), e))?;
    enc.send_eof()
        .map_err(|e| MediaError::ffmpeg(encoding.clone(), e))?;
    let mut packet = Packet::empty();
    enc.receive_packet(&mut packet)
        .map_err(|e| MediaError::ffmpeg(encoding, e))?;
    Ok(packet.data().unwrap_or(&[]).to_vec())
}

/// Where the player-ready copy of a clip goes: `clip.mp4` -> `clip.playable.mp4`.
pub fn playable_path_for(clip: &Path) -> PathBuf {
    let stem = clip
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "clip".into());
    clip.with_file_name(format!("{stem}.playable.mp4"))
}

/// Remuxes (no re-encoding) a clip into a regular MP4 with its index up front
/// (`faststart`) and returns its duration. Reads up to the last complete
/// fragment, so it also repairs a clip cut short by a crash. Players then see
/// the right duration and seek range; a fragmented MP4 with an empty header
/// shows a wrong one in GStreamer.
pub fn make_playable(clip: &Path, out: &Path) -> Result<Duration> {
    let mut input = open_input(clip)?;
    let tmp = out.with_extension("mp4.tmp");
    let mut output = ffmpeg::format::output_as(&tmp, "mp4")
        .map_err(|e| MediaError::ffmpeg(format!("creating {}", tmp.display()), e))?;
    let mut map = vec![None; input.nb_streams() as usize];
    let mut in_tbs = vec![Rational(1, 1); input.nb_streams() as usize];
    let mut n = 0;
    for stream in input.streams() {
        let medium = stream.parameters().medium();
        if medium != media::Type::Video && medium != media::Type::Audio {
            continue;
        }
        let mut ost = output
            .add_stream(ffmpeg::encoder::find(codec::Id::None))
            .map_err(|e| MediaError::ffmpeg("adding a stream to the playable copy", e))?;
        ost.set_parameters(stream.parameters());
        // SAFETY: the stream's codecpar was just allocated by add_stream.
        unsafe {
            (*ost.parameters().as_mut_ptr()).codec_tag = 0;
        }
        map[stream.index()] = Some(n);
        in_tbs[stream.index()] = stream.time_base();
        n += 1;
    }
    if n == 0 {
        return Err(MediaError::NothingToRecover {
            path: clip.to_path_buf(),
            reason: "it has no audio or video stream".into(),
        });
    }
    let mut opts = Dictionary::new();
    opts.set("movflags", "+faststart");
    output
        .write_header_with(opts)
        .map_err(|e| remux_error(&tmp, e))?;
    let out_tbs: Vec<Rational> = output.streams().map(|s| s.time_base()).collect();
    let mut end = 0f64;
    let mut packets = 0u64;
    let mut packet = Packet::empty();
    while read_packet(&mut input, &mut packet) {
        let Some(Some(o)) = map.get(packet.stream()).copied() else {
            continue;
        };
        let in_tb = in_tbs[packet.stream()];
        if let Some(pts) = packet.pts() {
            end = end.max((pts + packet.duration().max(0)) as f64 * f64::from(in_tb));
        }
        packet.rescale_ts(in_tb, out_tbs[o]);
        packet.set_position(-1);
        packet.set_stream(o);
        packet
            .write_interleaved(&mut output)
            .map_err(|e| remux_error(&tmp, e))?;
        packets += 1;
    }
    if packets == 0 {
        let _ = std::fs::remove_file(&tmp);
        return Err(MediaError::NothingToRecover {
            path: clip.to_path_buf(),
            reason: "not one complete fragment was written".into(),
        });
    }
    output.write_trailer().map_err(|e| remux_error(&tmp, e))?;
    drop(output);
    std::fs::rename(&tmp, out).map_err(|e| MediaError::io("rename into", out, e))?;
    Ok(Duration::from_secs_f64(end.max(0.0)))
}

fn remux_error(path: &Path, e: ffmpeg::Error) -> MediaError {
    if is_disk_full(&e) {
        MediaError::DiskFull {
            path: path.to_path_buf(),
        }
    } else {
        MediaError::ffmpeg(format!("writing {}", path.display()), e)
    }
}
