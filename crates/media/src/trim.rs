//! Frame-accurate trim of a recorded clip, and the filmstrip the trim
//! scrubber shows.
//!
//! A clip of ours is H.264 with a keyframe every second and no B-frames, plus
//! AAC in a fragmented MP4 ([`crate::ClipWriter`]). [`trim`] keeps the frames
//! `[round(start * fps), round(end * fps))` and re-encodes as little as it can:
//! - the pictures from the first kept frame up to the next keyframe are
//!   decoded (from the keyframe before the start) and re-encoded by an
//!   encoder set up like the recorder's, whose SPS/PPS are checked to equal
//!   the clip's, so both kinds of pictures decode with one header;
//! - everything from that keyframe to the last kept frame is copied packet
//!   for packet. The end needs no re-encoding: without B-frames a picture
//!   only refers to earlier ones, so a group of pictures cut short still
//!   decodes;
//! - AAC packets are copied: the first one starts at the first kept frame or
//!   at most one AAC frame (21 ms) after it, never before, so sound never
//!   leads the picture.
//!
//! When the header cannot be matched (a clip from elsewhere, other encoder
//! settings) or the stream reorders pictures, every kept frame is
//! re-encoded, and [`TrimOutcome::full_reencode`] says why: correct first,
//! fast where it can be.
//!
//! Timestamps start at 0 and the output is the recorder's wire format (a
//! fragmented MP4, a fragment per keyframe), so the outbox uploads it like a
//! recorded clip; the caller makes the player's copy with
//! [`crate::clip::make_playable`]. It is NOT an editor: one range is kept,
//! nothing is joined, and the input is never changed.

mod avc;
mod cut;
mod encoder;
mod filmstrip;

use std::path::Path;
use std::time::Duration;

use ffmpeg::{codec, media, Packet, Rational};
use ffmpeg_next as ffmpeg;

pub use filmstrip::filmstrip;

use crate::clip::{open_input, read_packet};
use crate::encode::{FrameConverter, QualityPreset};
use crate::error::{MediaError, Result};
use crate::mux::write_error;
use avc::ParameterSets;
use cut::{Cut, Phase};

/// The part of a clip to keep: from `start` up to (not including) `end`,
/// both measured from the clip's beginning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrimRange {
    pub start: Duration,
    pub end: Duration,
}

/// What [`trim`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrimOutcome {
    /// Length of the kept video: up to the end of its last frame slot.
    pub duration: Duration,
    /// Size of the written clip.
    pub bytes: u64,
    /// Kept video frames: `reencoded_frames + copied_frames`.
    pub video_frames: u64,
    pub reencoded_frames: u64,
    pub copied_frames: u64,
    /// Why every kept frame had to be re-encoded; `None` when only the
    /// pictures at the start cut were.
    pub full_reencode: Option<String>,
}

/// The shortest clip a trim may leave.
pub const MIN_TRIMMED_LENGTH: Duration = Duration::from_millis(500);

/// How far `end` may lie past the last picture and still mean "to the end"
/// (a clip's sound may run a little longer than its picture).
const END_SLACK: Duration = Duration::from_millis(250);

/// Writes the frames of `range` from `input` to `output` (replaced if it
/// exists; written under a temporary name first, so a failed trim leaves
/// nothing half-written behind).
pub fn trim(input: &Path, output: &Path, range: TrimRange) -> Result<TrimOutcome> {
    if range.start >= range.end {
        return Err(MediaError::Trim(format!(
            "The trim starts at {} and ends at {}: the start must come before the end.",
            seconds(range.start),
            seconds(range.end)
        )));
    }
    if range.end - range.start < MIN_TRIMMED_LENGTH {
        return Err(MediaError::Trim(format!(
            "The trimmed clip would be {} long: keep at least {}.",
            seconds(range.end - range.start),
            seconds(MIN_TRIMMED_LENGTH)
        )));
    }
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "trimmed.mp4".into());
    let tmp = output.with_file_name(format!("{name}.part"));
    let result = trim_into(input, &tmp, range);
    match result {
        Ok(mut outcome) => {
            std::fs::rename(&tmp, output).map_err(|e| MediaError::io("rename into", output, e))?;
            outcome.bytes = std::fs::metadata(output)
                .map_err(|e| MediaError::io("look at", output, e))?
                .len();
            tracing::info!(
                input = %input.display(),
                output = %output.display(),
                frames = outcome.video_frames,
                reencoded = outcome.reencoded_frames,
                copied = outcome.copied_frames,
                full_reencode = outcome.full_reencode.as_deref().unwrap_or(""),
                "trimmed a clip"
            );
            Ok(outcome)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// "3.200 s".
fn seconds(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

struct VideoIn {
    index: usize,
    time_base: Rational,
    /// The first picture's timestamp: slot 0 (0 in the recorder's clips; a clip
    /// muxed elsewhere may start later, e.g. shifted by the AAC priming).
    origin: i64,
    params: codec::Parameters,
    fps: u32,
    width: u32,
    height: u32,
}

struct AudioIn {
    index: usize,
    time_base: Rational,
    params: codec::Parameters,
}

fn trim_into(input_path: &Path, tmp: &Path, range: TrimRange) -> Result<TrimOutcome> {
    let mut input = open_input(input_path)?;
    let video = video_stream(&input, input_path)?;
    let audio = input.streams().best(media::Type::Audio).map(|s| AudioIn {
        index: s.index(),
        time_base: s.time_base(),
        params: s.parameters().clone(),
    });
    let fps = video.fps;
    let first = frame_at(range.start, fps);
    let last = frame_at(range.end, fps) - 1;

    let (encoder, full_reencode) = choose_encoder(&video)?;
    let mut output = ffmpeg::format::output_as(tmp, "mp4").map_err(|e| match e {
        ffmpeg::Error::Other { errno } => {
            MediaError::io("create", tmp, std::io::Error::from_raw_os_error(errno))
        }
        other => MediaError::ffmpeg(format!("creating {}", tmp.display()), other),
    })?;
    {
        let mut ost = output
            .add_stream(ffmpeg::encoder::find(codec::Id::None))
            .map_err(|e| MediaError::ffmpeg("adding the video stream", e))?;
        if full_reencode.is_some() {
            ost.set_parameters(&encoder.encoder);
        } else {
            ost.set_parameters(video.params.clone());
        }
        ost.set_time_base(Rational(1, fps as i32));
        // SAFETY: the stream's codecpar was just allocated by add_stream.
        unsafe {
            (*ost.parameters().as_mut_ptr()).codec_tag = 0;
        }
    }
    if let Some(a) = &audio {
        let mut ost = output
            .add_stream(ffmpeg::encoder::find(codec::Id::None))
            .map_err(|e| MediaError::ffmpeg("adding the audio stream", e))?;
        ost.set_parameters(a.params.clone());
        ost.set_time_base(a.time_base);
        // SAFETY: as above.
        unsafe {
            (*ost.parameters().as_mut_ptr()).codec_tag = 0;
        }
    }
    crate::mux::write_wire_header(&mut output, tmp)?;
    let out_tbs: Vec<Rational> = output.streams().map(|s| s.time_base()).collect();

    let mut cut = Cut {
        path: tmp.to_path_buf(),
        output,
        video_tb: out_tbs.first().copied().unwrap_or(Rational(1, fps as i32)),
        audio_tb: out_tbs.get(1).copied().unwrap_or(Rational(1, 48_000)),
        fps,
        input_tb: video.time_base,
        origin: video.origin,
        first,
        last,
        smart: full_reencode.is_none(),
        length_size: if full_reencode.is_none() {
            avc::length_size(&extradata(&video.params))
        } else {
            None
        },
        encoder: encoder.encoder,
        encoder_open: true,
        decoder: None,
        converter: FrameConverter::new(ffmpeg::format::Pixel::YUV420P, video.width, video.height),
        held: Vec::new(),
        phase: Phase::Before,
        reencoded: 0,
        copied: 0,
        last_seen: -1,
        last_slot: -1,
    };
    let audio_window = audio.as_ref().map(|a| {
        let fps_tb = Rational(1, fps as i32);
        (
            rescale(first, fps_tb, a.time_base)
                + rescale(video.origin, video.time_base, a.time_base),
            rescale(last + 1, fps_tb, a.time_base)
                + rescale(video.origin, video.time_base, a.time_base),
        )
    });
    let mut audio_done = audio.is_none();

    let mut packet = Packet::empty();
    while read_packet(&mut input, &mut packet) {
        if packet.stream() == video.index {
            let Some(pts) = packet.pts().or(packet.dts()) else {
                continue;
            };
            let index = frame_index(pts - video.origin, video.time_base, fps);
            cut.video_packet(&packet, index, &video.params)?;
        } else if let (Some(a), Some((from, to))) = (&audio, audio_window) {
            if packet.stream() != a.index {
                continue;
            }
            let Some(pts) = packet.pts().or(packet.dts()) else {
                continue;
            };
            let length = if packet.duration() > 0 {
                packet.duration()
            } else {
                rescale(1024, Rational(1, 48_000), a.time_base)
            };
            if pts >= to {
                audio_done = true;
            } else if pts >= from && pts + length / 2 <= to {
                cut.audio_packet(&mut packet, pts - from, a.time_base)?;
            }
        }
        if cut.phase == Phase::Done && audio_done {
            break;
        }
    }
    cut.finish_reencode()?;

    let clip_length = Duration::from_secs_f64((cut.last_seen + 1).max(0) as f64 / f64::from(fps));
    if cut.phase == Phase::Before || cut.reencoded + cut.copied == 0 {
        return Err(MediaError::Trim(format!(
            "The trim starts at {}, but the clip is only {} long.",
            seconds(range.start),
            seconds(clip_length)
        )));
    }
    if cut.phase != Phase::Done && range.end > clip_length + END_SLACK {
        return Err(MediaError::Trim(format!(
            "The trim ends at {}, but the clip is only {} long: end it at {} or earlier.",
            seconds(range.end),
            seconds(clip_length),
            seconds(clip_length)
        )));
    }
    let frames = cut.reencoded + cut.copied;
    let duration = Duration::from_secs_f64((cut.last_slot + 1).max(0) as f64 / f64::from(fps));
    if duration < MIN_TRIMMED_LENGTH {
        return Err(MediaError::Trim(format!(
            "The trimmed clip would be {} long (the clip is {} long): keep at least {}.",
            seconds(duration),
            seconds(clip_length),
            seconds(MIN_TRIMMED_LENGTH)
        )));
    }
    cut.output
        .write_trailer()
        .map_err(|e| write_error(tmp, "finishing the trimmed clip", e))?;
    Ok(TrimOutcome {
        duration,
        bytes: 0,
        video_frames: frames,
        reencoded_frames: cut.reencoded,
        copied_frames: cut.copied,
        full_reencode,
    })
}

fn video_stream(input: &ffmpeg::format::context::Input, path: &Path) -> Result<VideoIn> {
    let stream = input.streams().best(media::Type::Video).ok_or_else(|| {
        MediaError::Trim(format!(
            "{} has no video to trim; record the clip again.",
            path.display()
        ))
    })?;
    // The nominal rate: the recorder's frame slots. The average rate is lower
    // when frames were dropped live, and would miscount every slot.
    let rate = [stream.rate(), stream.avg_frame_rate()]
        .into_iter()
        .find(|r| r.numerator() > 0 && r.denominator() > 0)
        .unwrap_or(Rational(0, 1));
    let fps = if rate.denominator() > 0 {
        (f64::from(rate.numerator()) / f64::from(rate.denominator())).round()
    } else {
        0.0
    };
    if !(1.0..=240.0).contains(&fps) {
        return Err(MediaError::Trim(format!(
            "{} has no usable frame rate ({}/{}), so its frames cannot be counted.",
            path.display(),
            rate.numerator(),
            rate.denominator()
        )));
    }
    let params = stream.parameters().clone();
    // SAFETY: codecpar is valid for as long as the input context lives.
    let (width, height) = unsafe {
        let p = &*params.as_ptr();
        (p.width.max(0) as u32, p.height.max(0) as u32)
    };
    Ok(VideoIn {
        index: stream.index(),
        time_base: stream.time_base(),
        origin: if stream.start_time() == ffmpeg::ffi::AV_NOPTS_VALUE {
            0
        } else {
            stream.start_time()
        },
        params,
        fps: fps as u32,
        width,
        height,
    })
}

/// The encoder for the cut points, and why the whole range must be
/// re-encoded (`Some`) when its pictures could not be spliced with the clip's.
fn choose_encoder(video: &VideoIn) -> Result<(encoder::SpliceEncoder, Option<String>)> {
    let (w, h, fps) = (video.width, video.height, video.fps);
    let fallback_quality = match h {
        0..=480 => QualityPreset::Low,
        481..=720 => QualityPreset::Standard,
        _ => QualityPreset::High,
    };
    // SAFETY: codecpar is owned by `video.params` and outlives this block.
    let delay = unsafe { (*video.params.as_ptr()).video_delay };
    let (id, extradata) = (video.params.id(), extradata(&video.params));
    let reason = if id != codec::Id::H264 {
        format!("its video is {}, not H.264", id.name())
    } else if delay > 0 {
        "its pictures are reordered (B-frames)".to_string()
    } else if let Some(wanted) = ParameterSets::parse(&extradata) {
        match encoder::matching(w, h, fps, &wanted)? {
            Some(found) => {
                tracing::debug!(
                    settings = ?found.settings,
                    "the recorder's H.264 header matches"
                );
                return Ok((found, None));
            }
            None => "the recorder's encoder settings do not reproduce its H.264 header (SPS/PPS)"
                .to_string(),
        }
    } else {
        "its H.264 header (SPS/PPS) cannot be read".to_string()
    };
    tracing::warn!(%reason, "re-encoding every kept frame of the trim");
    let settings =
        crate::encode::X264Settings::new(fallback_quality, crate::encode::ContentKind::Camera);
    Ok((encoder::open(w, h, fps, settings)?, Some(reason)))
}

/// A copy of a stream's codec header (`avcC` for H.264 in MP4).
fn extradata(params: &codec::Parameters) -> Vec<u8> {
    // SAFETY: extradata/extradata_size describe one buffer owned by `params`.
    unsafe {
        let p = &*params.as_ptr();
        if p.extradata.is_null() || p.extradata_size <= 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts(p.extradata, p.extradata_size as usize).to_vec()
        }
    }
}

/// The frame slot of `d` at `fps`: `round(d * fps)`.
fn frame_at(d: Duration, fps: u32) -> i64 {
    (d.as_secs_f64() * f64::from(fps)).round() as i64
}

/// The frame slot of a timestamp in `tb`.
fn frame_index(pts: i64, tb: Rational, fps: u32) -> i64 {
    let num = i128::from(pts) * i128::from(tb.numerator()) * i128::from(fps);
    let den = i128::from(tb.denominator().max(1));
    (num * 2 + den).div_euclid(den * 2) as i64
}

fn rescale(value: i64, from: Rational, to: Rational) -> i64 {
    let num = i128::from(value) * i128::from(from.numerator()) * i128::from(to.denominator());
    let den = i128::from(from.denominator()) * i128::from(to.numerator());
    if den == 0 {
        return value;
    }
    (num * 2 + den).div_euclid(den * 2) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_slots_round_to_the_nearest_frame() {
        assert_eq!(frame_at(Duration::from_millis(3200), 30), 96);
        assert_eq!(frame_at(Duration::from_millis(7500), 30), 225);
        assert_eq!(frame_index(15360 * 3, Rational(1, 15360), 30), 90);
        assert_eq!(frame_index(511, Rational(1, 15360), 30), 1);
        assert_eq!(rescale(96, Rational(1, 30), Rational(1, 48_000)), 153_600);
    }

    #[test]
    fn a_backwards_or_tiny_range_is_refused_before_reading() {
        let nowhere = Path::new("/nonexistent/clip.mp4");
        let out = Path::new("/nonexistent/out.mp4");
        let backwards = TrimRange {
            start: Duration::from_secs(5),
            end: Duration::from_secs(2),
        };
        let err = trim(nowhere, out, backwards).expect_err("refused");
        assert!(
            matches!(&err, MediaError::Trim(t) if t.contains("before the end")),
            "{err}"
        );
        let tiny = TrimRange {
            start: Duration::from_secs(1),
            end: Duration::from_millis(1100),
        };
        let err = trim(nowhere, out, tiny).expect_err("refused");
        assert!(
            matches!(&err, MediaError::Trim(t) if t.contains("at least")),
            "{err}"
        );
    }
}
