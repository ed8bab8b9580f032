//! The timing rules of a recording, without I/O: a clock reading becomes media
//! time (pauses do not count), a picture takes a frame slot, sound takes its
//! place on the clip's sample line. The session drives them with what the
//! sources deliver; the tests below drive them directly.

use std::time::Duration;

use crate::encode::AUDIO_RATE;

/// Media time zero and the pauses, as readings of the recording's clock.
#[derive(Debug)]
pub(super) struct Timeline {
    epoch: Duration,
    /// Start and (once resumed) end of each pause, in order.
    pauses: Vec<(Duration, Option<Duration>)>,
}

impl Timeline {
    pub(super) fn new(epoch: Duration) -> Self {
        Timeline {
            epoch,
            pauses: Vec::new(),
        }
    }

    /// Clock reading of media time zero.
    pub(super) fn epoch(&self) -> Duration {
        self.epoch
    }

    /// Pauses from `at`; false when already paused.
    pub(super) fn pause(&mut self, at: Duration) -> bool {
        if self.pauses.last().is_some_and(|p| p.1.is_none()) {
            return false;
        }
        self.pauses.push((at, None));
        true
    }

    /// Resumes from `at`; false when not paused.
    pub(super) fn resume(&mut self, at: Duration) -> bool {
        match self.pauses.last_mut().filter(|p| p.1.is_none()) {
            Some(pause) => {
                pause.1 = Some(at);
                true
            }
            None => false,
        }
    }

    /// Media time of a clock reading: pauses and time before the start do not
    /// count; None while paused.
    pub(super) fn media_time(&self, at: Duration) -> Option<Duration> {
        let mut t = at.checked_sub(self.epoch)?;
        for &(start, end) in &self.pauses {
            match end {
                _ if at < start => {}
                None => return None,
                Some(end) if at < end => return None,
                // Pause and resume may be read on two threads: never a negative pause.
                Some(end) => t = t.saturating_sub(end.saturating_sub(start)),
            }
        }
        Some(t)
    }
}

/// Which frame slot (`round(t * fps)`) each picture takes. A picture late for
/// its slot takes the next free one while it is shown less than a frame early
/// there, and is one too many (dropped, counted) otherwise; slots nobody took
/// keep the previous picture on screen (counted as repeated).
#[derive(Debug)]
pub(super) struct FrameSlots {
    fps: u32,
    last: Option<i64>,
    late: u64,
    repeated: u64,
}

impl FrameSlots {
    pub(super) fn new(fps: u32) -> Self {
        FrameSlots {
            fps: fps.max(1),
            last: None,
            late: 0,
            repeated: 0,
        }
    }

    /// The slot of a picture captured at media time `media`, or None when it
    /// is one too many.
    pub(super) fn place(&mut self, media: Duration) -> Option<i64> {
        let exact = media.as_secs_f64() * f64::from(self.fps);
        let mut slot = exact.round() as i64;
        if let Some(last) = self.last {
            if slot <= last {
                if (last + 1) as f64 - exact > 1.0 {
                    self.late += 1;
                    return None;
                }
                slot = last + 1;
            }
            self.repeated += (slot - last - 1) as u64;
        }
        self.last = Some(slot);
        Some(slot)
    }

    /// How long one slot is on screen.
    pub(super) fn frame_length(&self) -> Duration {
        Duration::from_secs_f64(1.0 / f64::from(self.fps))
    }

    /// Pictures dropped because they came too late.
    pub(super) fn late(&self) -> u64 {
        self.late
    }

    /// Slots that kept the previous picture.
    pub(super) fn repeated(&self) -> u64 {
        self.repeated
    }
}

/// Holes in the sound longer than this (60 ms) are filled with silence.
const AUDIO_GAP_TOLERANCE: i64 = (AUDIO_RATE as i64) * 60 / 1000;
/// Sound further behind the line than this (200 ms) is dropped; less is laid
/// down after what is there (never mixed, never stretched).
const AUDIO_OVERLAP_LIMIT: i64 = (AUDIO_RATE as i64) / 5;

/// Where a chunk of 48 kHz sound goes on the clip's sample line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AudioPlacement {
    /// Too far behind what was laid down already.
    Drop,
    /// `silence` samples to fill a hole, then the first `samples` of the chunk.
    Lay { silence: usize, samples: usize },
}

/// The clip's sound, sample by sample from media time zero.
#[derive(Debug, Default)]
pub(super) struct AudioLine {
    next: i64,
    gap_filled: i64,
}

impl AudioLine {
    /// Places `len` samples captured at media time `media`; nothing, silence
    /// included, goes past media time `end`.
    pub(super) fn place(&mut self, media: Duration, len: usize, end: Duration) -> AudioPlacement {
        let position = (media.as_secs_f64() * f64::from(AUDIO_RATE)).round() as i64;
        let gap = position - self.next;
        if gap < -AUDIO_OVERLAP_LIMIT {
            return AudioPlacement::Drop;
        }
        let end = (end.as_secs_f64() * f64::from(AUDIO_RATE)) as i64;
        let room = (end - self.next).max(0);
        let silence = if gap > AUDIO_GAP_TOLERANCE {
            gap.min(room)
        } else {
            0
        };
        let samples = (room - silence).min(len as i64);
        self.next += silence + samples;
        self.gap_filled += silence;
        AudioPlacement::Lay {
            silence: silence as usize,
            samples: samples as usize,
        }
    }

    /// Length of the sound laid down so far.
    pub(super) fn length(&self) -> Duration {
        samples_to_duration(self.next)
    }

    /// Silence that filled holes so far.
    pub(super) fn gap_filled(&self) -> Duration {
        samples_to_duration(self.gap_filled)
    }
}

fn samples_to_duration(samples: i64) -> Duration {
    Duration::from_secs_f64(samples.max(0) as f64 / f64::from(AUDIO_RATE))
}

/// Buckets of 0.1 ms up to 200 ms: constant memory for any length.
const JITTER_BUCKETS: usize = 2001;

/// How far each interval between captured frames is from 1/fps: a histogram
/// that gives the 99th percentile.
#[derive(Debug)]
pub(super) struct FrameJitter {
    nominal: Duration,
    last_capture: Option<Duration>,
    buckets: Vec<u32>,
    count: u64,
}

impl FrameJitter {
    pub(super) fn new(fps: u32) -> Self {
        FrameJitter {
            nominal: Duration::from_secs_f64(1.0 / f64::from(fps.max(1))),
            last_capture: None,
            buckets: vec![0; JITTER_BUCKETS],
            count: 0,
        }
    }

    /// Notes a frame captured at clock reading `at`.
    pub(super) fn captured(&mut self, at: Duration) {
        if let Some(prev) = self.last_capture.replace(at) {
            self.add(at.saturating_sub(prev).abs_diff(self.nominal));
        }
    }

    fn add(&mut self, deviation: Duration) {
        let bucket = ((deviation.as_micros() / 100) as usize).min(JITTER_BUCKETS - 1);
        if let Some(n) = self.buckets.get_mut(bucket) {
            *n += 1;
        }
        self.count += 1;
    }

    pub(super) fn p99(&self) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let target = (self.count as f64 * 0.99).ceil() as u64;
        let mut seen = 0u64;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += u64::from(n);
            if seen >= target {
                return Duration::from_micros((i as u64 + 1) * 100);
            }
        }
        Duration::from_millis(200)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn pauses_do_not_count_as_media_time() {
        let mut timeline = Timeline::new(ms(100));
        assert_eq!(timeline.media_time(ms(50)), None, "before the start");
        assert_eq!(timeline.media_time(ms(1100)), Some(ms(1000)));
        assert!(timeline.pause(ms(1100)));
        assert!(!timeline.pause(ms(1200)), "already paused");
        assert_eq!(timeline.media_time(ms(1500)), None);
        assert!(timeline.resume(ms(2100)));
        assert!(!timeline.resume(ms(2200)), "not paused");
        assert_eq!(timeline.media_time(ms(2600)), Some(ms(1500)));
        // A reading from before the pause keeps its media time.
        assert_eq!(timeline.media_time(ms(600)), Some(ms(500)));
    }

    #[test]
    fn frames_take_slots_late_ones_the_next_or_none() {
        let mut slots = FrameSlots::new(30);
        let frame = |n: f64| Duration::from_secs_f64(n / 30.0);
        assert_eq!(slots.place(frame(0.0)), Some(0));
        assert_eq!(slots.place(frame(1.1)), Some(1));
        // Early for slot 1 again: takes slot 2, shown less than a frame early.
        assert_eq!(slots.place(frame(1.4)), Some(2));
        // A burst: slot 2 is taken and 3 is more than a frame away.
        assert_eq!(slots.place(frame(1.9)), None);
        assert_eq!(slots.late(), 1);
        // A gap of two slots: 3 and 4 keep the previous picture.
        assert_eq!(slots.place(frame(5.0)), Some(5));
        assert_eq!(slots.repeated(), 2);
    }

    #[test]
    fn sound_is_laid_down_in_place_holes_filled_and_never_past_the_end() {
        let end = Duration::from_secs(2);
        let mut line = AudioLine::default();
        assert_eq!(
            line.place(Duration::ZERO, 480, end),
            AudioPlacement::Lay {
                silence: 0,
                samples: 480
            }
        );
        // 30 ms late: within tolerance, laid down right after.
        assert_eq!(
            line.place(ms(40), 480, end),
            AudioPlacement::Lay {
                silence: 0,
                samples: 480
            }
        );
        // A hole of 1 s: filled with silence.
        assert_eq!(
            line.place(ms(1020), 480, end),
            AudioPlacement::Lay {
                silence: 48_000,
                samples: 480
            }
        );
        // Far behind the line: dropped.
        assert_eq!(line.place(ms(100), 480, end), AudioPlacement::Drop);
        // Far past the end: silence up to the end and nothing more.
        assert_eq!(
            line.place(Duration::from_secs(5), 480, end),
            AudioPlacement::Lay {
                silence: 96_000 - 49_440,
                samples: 0
            }
        );
        assert_eq!(line.length(), end);
        assert_eq!(
            line.gap_filled(),
            Duration::from_secs_f64(94_560.0 / 48_000.0)
        );
    }

    #[test]
    fn jitter_reports_the_99th_percentile() {
        let mut jitter = FrameJitter::new(30);
        for _ in 0..99 {
            jitter.add(Duration::from_micros(250));
        }
        jitter.add(Duration::from_millis(40));
        assert_eq!(jitter.p99(), Duration::from_micros(300));
        jitter.add(Duration::from_millis(40));
        assert_eq!(jitter.p99(), Duration::from_micros(40_100));
        // Steady capture at 1/fps deviates by nothing.
        let mut steady = FrameJitter::new(25);
        for i in 0..10 {
            steady.captured(ms(40 * i));
        }
        assert_eq!(steady.p99(), Duration::from_micros(100));
    }
}
