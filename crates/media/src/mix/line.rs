//! The mix's bookkeeping: sample positions on the clock, each input's line
//! of sound waiting to be mixed, and the conversion of each input to mono
//! 48 kHz.

use std::collections::VecDeque;
use std::time::Duration;

use crate::encode::AUDIO_RATE;
use crate::error::Result;
use crate::recorder::resample::Resampler;
use crate::source::AudioChunk;

/// Computer sound kept ahead of the microphone at most (a microphone that
/// stalls must not make it grow without end).
const COMPUTER_KEPT: usize = AUDIO_RATE as usize * 2;

/// A hole in the computer sound up to this long is filled with silence;
/// a longer one starts its line afresh.
const COMPUTER_FILL: i64 = AUDIO_RATE as i64;

/// Sound further behind its line than this (200 ms, as in the recorder) is
/// dropped.
const OVERLAP_LIMIT: i64 = AUDIO_RATE as i64 / 5;

/// Sample position on the clock at 48 kHz.
pub(super) fn position(at: Duration) -> i64 {
    (at.as_nanos() * u128::from(AUDIO_RATE) / 1_000_000_000) as i64
}

/// The clock time of a sample position, rounded up so that
/// `position(time_of(p)) == p`.
pub(super) fn time_of(position: i64) -> Duration {
    let nanos = (u128::try_from(position.max(0)).unwrap_or(0) * 1_000_000_000)
        .div_ceil(u128::from(AUDIO_RATE));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

fn slack_samples() -> i64 {
    position(super::SLACK)
}

/// Brings one input's chunks to mono 48 kHz, making a new resampler when
/// the input's format changes.
#[derive(Default)]
pub(super) struct Conversion {
    resampler: Option<Resampler>,
}

impl Conversion {
    pub(super) fn run(&mut self, chunk: &AudioChunk) -> Result<Vec<f32>> {
        let resampler = match self.resampler.as_mut() {
            Some(r) if r.takes(chunk.sample_rate, chunk.channels) => r,
            _ => self
                .resampler
                .insert(Resampler::new(chunk.sample_rate, chunk.channels)?),
        };
        resampler.run(chunk)
    }
}

/// The microphone's sound not yet mixed, from `start` on.
#[derive(Default)]
pub(super) struct MicrophoneLine {
    pub(super) conversion: Conversion,
    pub(super) pending: Vec<f32>,
    pub(super) start: i64,
    /// Where the next chunk continues the line.
    pub(super) next: Option<i64>,
}

impl MicrophoneLine {
    pub(super) fn end(&self) -> i64 {
        self.start + self.pending.len() as i64
    }
}

/// The computer sound waiting to be mixed, from `start` on.
#[derive(Default)]
pub(super) struct ComputerLine {
    pub(super) conversion: Conversion,
    pub(super) kept: VecDeque<f32>,
    pub(super) start: i64,
    pub(super) next: Option<i64>,
    /// Ended, lost or never started: nothing more will come.
    pub(super) done: bool,
}

impl ComputerLine {
    pub(super) fn end(&self) -> i64 {
        self.start + self.kept.len() as i64
    }

    /// Lays `samples` down from position `at`.
    pub(super) fn place(&mut self, at: i64, samples: &[f32]) {
        if self.kept.is_empty() {
            self.start = at;
        } else if at >= self.end() {
            let hole = at - self.end();
            if hole <= COMPUTER_FILL {
                self.kept.extend(std::iter::repeat_n(0.0, hole as usize));
            } else {
                self.kept.clear();
                self.start = at;
            }
        } else if at > self.start {
            // Overlap: the newer sound replaces what the line held from `at`.
            self.kept.truncate((at - self.start) as usize);
        } else {
            self.kept.clear();
            self.start = at;
        }
        self.kept.extend(samples.iter().copied());
        self.next = Some(at + samples.len() as i64);
        if self.kept.len() > COMPUTER_KEPT {
            let extra = self.kept.len() - COMPUTER_KEPT;
            self.kept.drain(..extra);
            self.start += extra as i64;
        }
    }

    /// Forgets what lies before `position` (already mixed, or too late).
    pub(super) fn forget_before(&mut self, position: i64) {
        if position > self.start {
            let gone = ((position - self.start) as usize).min(self.kept.len());
            self.kept.drain(..gone);
            self.start = if self.kept.is_empty() {
                position
            } else {
                self.start + gone as i64
            };
        }
    }

    pub(super) fn at(&self, position: i64) -> f32 {
        if position < self.start {
            return 0.0;
        }
        self.kept
            .get((position - self.start) as usize)
            .copied()
            .unwrap_or(0.0)
    }
}

/// Where a chunk goes on its input's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Placement {
    /// Right after what the line holds (its stamp was close, or a little
    /// behind: a late callback, a burst after a stall).
    Continue(i64),
    /// At its stamp: the first chunk, or one past a hole longer than the slack.
    Jump(i64),
    /// So far behind the line that it overlaps what is there: dropped.
    Drop,
}

/// The recorder's own rule for its sound line, so the mix and the recorder
/// agree: a hole past the slack is kept, sound behind the line continues it
/// up to [`OVERLAP_LIMIT`] and is dropped further back; the line never runs
/// backwards.
pub(super) fn continue_line(next: Option<i64>, stamped: i64) -> Placement {
    match next {
        None => Placement::Jump(stamped),
        Some(next) if stamped - next > slack_samples() => Placement::Jump(stamped),
        Some(next) if next - stamped > OVERLAP_LIMIT => Placement::Drop,
        Some(next) => Placement::Continue(next),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_keeps_holes_continues_behind_and_drops_far_behind() {
        assert_eq!(continue_line(None, 500), Placement::Jump(500));
        assert_eq!(
            continue_line(Some(1000), 1000 + 2880),
            Placement::Continue(1000)
        );
        assert_eq!(
            continue_line(Some(1000), 1000 + 2881),
            Placement::Jump(3881)
        );
        assert_eq!(
            continue_line(Some(20_000), 20_000 - 9600),
            Placement::Continue(20_000)
        );
        assert_eq!(continue_line(Some(20_000), 20_000 - 9601), Placement::Drop);
    }

    #[test]
    fn positions_and_times_agree() {
        let at = Duration::from_millis(1500);
        assert_eq!(position(at), 72_000);
        assert_eq!(time_of(72_000), at);
        for p in [1, 7, 47_999, 123_456_789] {
            assert_eq!(position(time_of(p)), p);
        }
    }

    #[test]
    fn the_computer_line_fills_short_holes_and_replaces_overlaps() {
        let mut line = ComputerLine::default();
        line.place(100, &[1.0; 10]);
        line.place(120, &[2.0; 10]);
        assert_eq!((line.at(105), line.at(115), line.at(125)), (1.0, 0.0, 2.0));
        line.place(125, &[3.0; 10]);
        assert_eq!((line.at(124), line.at(125), line.end()), (2.0, 3.0, 135));
        line.forget_before(130);
        assert_eq!((line.start, line.at(129), line.at(130)), (130, 0.0, 3.0));
    }
}
