//! A clip's sound as whisper.cpp wants it (16 kHz mono f32) and its loudness over time,
//! which tells real silence from quiet speech for both the engine and the pauses.

use std::path::Path;

use ffmpeg::format::{sample, Sample};
use ffmpeg::software::resampling;
use ffmpeg::util::frame;
use ffmpeg::{codec, media, ChannelLayout, Packet};
use ffmpeg_next as ffmpeg;

use crate::TranscribeError;

/// Whisper's sample rate.
pub const SAMPLE_RATE: u32 = 16_000;
/// One level per this many milliseconds.
pub const LEVEL_WINDOW_MS: u64 = 100;
/// The level of digital silence (RMS 0), in dBFS.
pub const SILENT_LEVEL_DBFS: f32 = -100.0;

const WINDOW_SAMPLES: usize = (SAMPLE_RATE as u64 * LEVEL_WINDOW_MS / 1000) as usize;

/// Decoded sound: 16 kHz mono samples in -1..1 and the RMS level of every 100 ms in dBFS
/// (the last window may be shorter).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sound {
    pub samples: Vec<f32>,
    pub levels: Vec<f32>,
}

impl Sound {
    /// Sound from 16 kHz mono samples, its levels measured.
    pub fn from_samples(samples: Vec<f32>) -> Sound {
        let levels = levels_of(&samples);
        Sound { samples, levels }
    }

    pub fn duration_ms(&self) -> u64 {
        self.samples.len() as u64 * 1000 / u64::from(SAMPLE_RATE)
    }

    /// The loudest 100 ms window in `start_ms..end_ms` (a window touching the range counts).
    pub fn loudest_between(&self, start_ms: u64, end_ms: u64) -> f32 {
        loudest_between(&self.levels, start_ms, end_ms)
    }
}

/// The loudest level of `levels` (one per [`LEVEL_WINDOW_MS`]) in `start_ms..end_ms`.
pub fn loudest_between(levels: &[f32], start_ms: u64, end_ms: u64) -> f32 {
    let first = (start_ms / LEVEL_WINDOW_MS) as usize;
    let last = (end_ms.div_ceil(LEVEL_WINDOW_MS) as usize).max(first + 1);
    levels
        .get(first.min(levels.len())..last.min(levels.len()))
        .unwrap_or(&[])
        .iter()
        .copied()
        .fold(SILENT_LEVEL_DBFS, f32::max)
}

/// RMS in dBFS of each 100 ms of 16 kHz samples.
pub fn levels_of(samples: &[f32]) -> Vec<f32> {
    samples
        .chunks(WINDOW_SAMPLES)
        .map(|window| {
            let power =
                window.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / window.len() as f64;
            if power <= 1e-10 {
                SILENT_LEVEL_DBFS
            } else {
                ((10.0 * power.log10()) as f32).max(SILENT_LEVEL_DBFS)
            }
        })
        .collect()
}

/// Quiet is at least this far below the clip's loud parts...
const QUIET_BELOW_SPEECH_DB: f32 = 25.0;
/// ...and never louder than this (dBFS), nor required to be quieter than this.
const QUIET_CEILING_DBFS: f32 = -35.0;
const QUIET_FLOOR_DBFS: f32 = -60.0;

/// A level under this is quiet: well below the clip's loud parts (its 90th percentile),
/// so a noisy microphone's hiss counts as quiet and soft speech does not. Infinite (all
/// quiet) for no levels.
pub fn quiet_threshold(levels: &[f32]) -> f32 {
    if levels.is_empty() {
        return f32::INFINITY;
    }
    let mut sorted = levels.to_vec();
    sorted.sort_by(f32::total_cmp);
    let loud = sorted[(sorted.len() * 9 / 10).min(sorted.len() - 1)];
    (loud - QUIET_BELOW_SPEECH_DB).clamp(QUIET_FLOOR_DBFS, QUIET_CEILING_DBFS)
}

fn init_ffmpeg() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        if let Err(e) = ffmpeg::init() {
            tracing::error!(error = %e, "FFmpeg failed to initialise");
        }
        ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Error);
    });
}

/// Decodes the best sound stream of `clip` (any file FFmpeg reads: our MP4 clips, WAV,
/// M4A, ...) to 16 kHz mono. [`TranscribeError::NoSound`] when it has no sound stream.
pub fn decode_sound(clip: &Path) -> Result<Sound, TranscribeError> {
    init_ffmpeg();
    let failed = |reason: String| TranscribeError::Decode {
        clip: clip.to_path_buf(),
        reason,
    };
    if let Err(e) = std::fs::metadata(clip) {
        return Err(failed(e.to_string()));
    }
    let mut input = ffmpeg::format::input(clip).map_err(|e| failed(e.to_string()))?;
    let stream =
        input
            .streams()
            .best(media::Type::Audio)
            .ok_or_else(|| TranscribeError::NoSound {
                clip: clip.to_path_buf(),
            })?;
    let index = stream.index();
    let mut decoder = codec::context::Context::from_parameters(stream.parameters())
        .and_then(|c| c.decoder().audio())
        .map_err(|e| failed(format!("its sound cannot be decoded: {e}")))?;
    let mut samples = Vec::new();
    let mut resampler: Option<resampling::Context> = None;
    let mut decoded = frame::Audio::empty();
    let mut packet = Packet::empty();
    let mut eof = false;
    loop {
        if !eof {
            match packet.read(&mut input) {
                Ok(()) if packet.stream() == index => {
                    // A packet the decoder refuses is skipped, as a player would.
                    let _ = decoder.send_packet(&packet);
                }
                Ok(()) | Err(ffmpeg::Error::InvalidData) => continue,
                Err(_) => {
                    eof = true;
                    let _ = decoder.send_eof();
                }
            }
        }
        let mut got = false;
        while decoder.receive_frame(&mut decoded).is_ok() {
            got = true;
            convert(&mut decoded, &mut resampler, &mut samples).map_err(&failed)?;
        }
        if eof && !got {
            break;
        }
    }
    if let Some(resampler) = resampler.as_mut() {
        // What the resampler still holds (its filter delay).
        let mut out =
            frame::Audio::new(Sample::F32(sample::Type::Packed), 4096, ChannelLayout::MONO);
        if resampler.flush(&mut out).is_ok() {
            append_mono(&out, &mut samples);
        }
    }
    Ok(Sound::from_samples(samples))
}

/// Resamples one decoded frame to 16 kHz mono f32 and appends it to `samples`.
fn convert(
    decoded: &mut frame::Audio,
    resampler: &mut Option<resampling::Context>,
    samples: &mut Vec<f32>,
) -> Result<(), String> {
    let channels = decoded.channels().max(1);
    if decoded.channel_layout().is_empty() {
        decoded.set_channel_layout(ChannelLayout::default(i32::from(channels)));
    }
    let rate = decoded.rate().max(1);
    let converter = match resampler.as_mut() {
        Some(r) => r,
        None => resampler.insert(
            resampling::Context::get(
                decoded.format(),
                decoded.channel_layout(),
                rate,
                Sample::F32(sample::Type::Packed),
                ChannelLayout::MONO,
                SAMPLE_RATE,
            )
            .map_err(|e| format!("its sound cannot be converted: {e}"))?,
        ),
    };
    // Room for this frame at the new rate plus what the resampler held back.
    let room = decoded.samples() * SAMPLE_RATE as usize / rate as usize + 1024;
    let mut out = frame::Audio::new(Sample::F32(sample::Type::Packed), room, ChannelLayout::MONO);
    if converter.run(decoded, &mut out).is_err() {
        // One frame that does not convert is skipped, as the file source does.
        return Ok(());
    }
    append_mono(&out, samples);
    Ok(())
}

fn append_mono(out: &frame::Audio, samples: &mut Vec<f32>) {
    let count = out.samples();
    samples.extend(
        out.data(0)
            .chunks_exact(4)
            .take(count)
            .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_rms_in_dbfs_per_100_ms() {
        // 0.25 s: 100 ms of full-scale square wave, 100 ms of half scale, 50 ms of nothing.
        let mut samples = vec![0.0f32; 4000];
        for (i, s) in samples.iter_mut().enumerate().take(1600) {
            *s = if i % 2 == 0 { 1.0 } else { -1.0 };
        }
        for s in &mut samples[1600..3200] {
            *s = 0.5;
        }
        let sound = Sound::from_samples(samples);
        assert_eq!(sound.levels.len(), 3);
        assert!(sound.levels[0].abs() < 0.01, "{}", sound.levels[0]);
        assert!((sound.levels[1] + 6.02).abs() < 0.01, "{}", sound.levels[1]);
        assert_eq!(sound.levels[2], SILENT_LEVEL_DBFS);
        assert_eq!(sound.duration_ms(), 250);
        assert_eq!(sound.loudest_between(200, 250), SILENT_LEVEL_DBFS);
        assert!(sound.loudest_between(150, 250) > -7.0);
        assert_eq!(sound.loudest_between(900, 1000), SILENT_LEVEL_DBFS);
    }
}
