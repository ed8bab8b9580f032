//! Any device rate and channel count to the clip's mono 48 kHz, with
//! swresample. The recorder's one `unsafe` lives here: ffmpeg-next does not
//! mark its swresample context `Send`, and the session that owns the
//! resampler is moved onto the recorder thread.

use ffmpeg::format::{sample, Sample};
use ffmpeg::software::resampling;
use ffmpeg::util::frame;
use ffmpeg::ChannelLayout;
use ffmpeg_next as ffmpeg;

use crate::encode::AUDIO_RATE;
use crate::error::{MediaError, Result};
use crate::source::AudioChunk;

/// Turns interleaved `f32` chunks of one rate and channel count into mono
/// 48 kHz samples (channels mixed down).
pub(crate) struct Resampler {
    rate: u32,
    channels: u16,
    /// None when the input is mono 48 kHz already.
    context: Option<resampling::Context>,
}

// SAFETY: `resampling::Context` owns its SwrContext (allocated in `get`, freed
// in its Drop) and the Resampler owns the Context alone, so moving it to
// another thread moves the only handle to it, as with a Box. It is used only
// through `&mut self` and the Resampler is not Sync, so no two threads ever
// use it at once, and swresample keeps no per-thread state a move could break.
unsafe impl Send for Resampler {}

impl Resampler {
    pub(crate) fn new(rate: u32, channels: u16) -> Result<Self> {
        let channels = channels.max(1);
        let context = if rate == AUDIO_RATE && channels == 1 {
            None
        } else {
            let context = resampling::Context::get(
                Sample::F32(sample::Type::Packed),
                ChannelLayout::default(i32::from(channels)),
                rate,
                Sample::F32(sample::Type::Planar),
                ChannelLayout::MONO,
                AUDIO_RATE,
            )
            .map_err(|e| {
                MediaError::ffmpeg(
                    format!("setting up a {rate} Hz {channels}-channel resampler"),
                    e,
                )
            })?;
            Some(context)
        };
        Ok(Resampler {
            rate,
            channels,
            context,
        })
    }

    /// True when chunks of this rate and channel count need no new resampler.
    pub(crate) fn takes(&self, rate: u32, channels: u16) -> bool {
        self.rate == rate && self.channels == channels.max(1)
    }

    pub(crate) fn run(&mut self, chunk: &AudioChunk) -> Result<Vec<f32>> {
        let Some(context) = self.context.as_mut() else {
            return Ok(chunk.samples.clone());
        };
        let frames = chunk.frames();
        if frames == 0 {
            return Ok(Vec::new());
        }
        let layout = ChannelLayout::default(i32::from(self.channels));
        let mut input = frame::Audio::new(Sample::F32(sample::Type::Packed), frames, layout);
        input.set_rate(self.rate);
        let bytes = input.data_mut(0);
        let samples = chunk
            .samples
            .iter()
            .take(frames * usize::from(self.channels));
        for (slot, s) in bytes.chunks_exact_mut(4).zip(samples) {
            slot.copy_from_slice(&s.to_ne_bytes());
        }
        let capacity = frames * AUDIO_RATE as usize / self.rate.max(1) as usize + 256;
        let mut output = frame::Audio::new(
            Sample::F32(sample::Type::Planar),
            capacity,
            ChannelLayout::MONO,
        );
        context
            .run(&input, &mut output)
            .map_err(|e| MediaError::ffmpeg("resampling audio", e))?;
        let plane = output.plane::<f32>(0);
        Ok(plane[..output.samples().min(plane.len())].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_44k_stereo_device_becomes_48k_mono_at_the_same_pitch() {
        crate::init();
        let mut resampler = Resampler::new(44_100, 2).expect("resampler");
        assert!(resampler.takes(44_100, 2) && !resampler.takes(48_000, 2));
        let mut out = Vec::new();
        for chunk in 0..100 {
            let samples: Vec<f32> = (0..441)
                .flat_map(|i| {
                    let t = (chunk * 441 + i) as f32 / 44_100.0;
                    let v = 0.5 * (2.0 * std::f32::consts::PI * 1000.0 * t).sin();
                    [v, v]
                })
                .collect();
            let chunk = AudioChunk {
                sample_rate: 44_100,
                channels: 2,
                samples,
                captured_at: Duration::ZERO,
            };
            out.extend(resampler.run(&chunk).expect("resample"));
        }
        // One second in, one second out (less the resampler's few samples of delay).
        assert!(
            (47_800..=48_000).contains(&out.len()),
            "{} samples",
            out.len()
        );
        // 1 kHz stays 1 kHz: about 2000 zero crossings in a second.
        let crossings = out
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        assert!(
            (1990..=2010).contains(&crossings),
            "{crossings} zero crossings"
        );
    }

    #[test]
    fn mono_48k_passes_through_unchanged() {
        let mut resampler = Resampler::new(48_000, 1).expect("resampler");
        let chunk = AudioChunk {
            sample_rate: 48_000,
            channels: 1,
            samples: vec![0.25, -0.5, 0.75],
            captured_at: Duration::ZERO,
        };
        assert_eq!(resampler.run(&chunk).expect("run"), chunk.samples);
    }
}
