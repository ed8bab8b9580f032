//! The microphone and the computer sound mixed into one [`AudioSource`], each
//! with its own level.
//!
//! It is NOT a general mixer: it has one master input, the microphone, whose
//! chunks decide when and how much sound goes out, and one companion, the
//! computer sound, which contributes what it captured for the same stretch of
//! time on the shared [`Clock`](crate::Clock) and silence where it has nothing.
//!
//! ## Alignment
//! Both inputs are brought to mono 48 kHz and laid on one line of sample
//! positions each (the clock's time × 48 000). A chunk continues its input's
//! line unless its stamp is more than [`SLACK`] ahead of where the line ended
//! (a hole, kept as one) or more than 200 ms behind it (dropped): stamps are
//! estimates of when a device captured and jitter, or bunch up after a
//! stall, while the sound itself is continuous. It is the recorder's own rule
//! for its sound line, so the two agree. Microphone sound goes out once the
//! computer sound for its stretch has arrived, or [`LOOKAHEAD`] after it was
//! captured at the latest, so a late or silent computer never holds the
//! recording up; computer sound arriving later than that is left out.
//!
//! ## Levels and ends
//! [`MixLevels`] are linear gains shared with the UI, read for every chunk,
//! so they change while recording. The sum is soft-clipped: untouched below
//! 0.9, bent smoothly towards ±1 above. The microphone ending ends the mix;
//! the computer sound ending is told to the user as a notice and the
//! recording goes on with the microphone alone.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, never, select, Receiver};

use crate::encode::AUDIO_RATE;
use crate::error::{MediaError, Result};
use crate::source::{
    join_thread, AudioChunk, AudioLevel, AudioSource, LevelMeter, RecorderGone, Sink,
    SourceContext, SourceEnd, SourceMessage,
};

mod line;

use line::{continue_line, position, time_of, ComputerLine, MicrophoneLine, Placement};

/// How far ahead of its input's line a chunk's stamp may be and still
/// continue it (the recorder fills holes past the same 60 ms).
pub const SLACK: Duration = Duration::from_millis(60);

/// The longest the microphone's sound waits for the computer sound of the
/// same moment. Measured under a load of 12 on two cores, 120 ms lost
/// computer sound that came late; the recorder's queue holds two seconds.
pub const LOOKAHEAD: Duration = Duration::from_millis(250);

/// The highest gain a level can be set to (+12 dB).
pub const MAX_GAIN: f32 = 4.0;

/// Each input's queue: two seconds of 10 ms periods, as the recorder's.
const INPUT_QUEUE: usize = 200;

/// How long the mix waits for the microphone to hang up after a stop.
const STOP_PATIENCE: Duration = Duration::from_secs(1);

/// The two inputs' gains, shared between the mix and whoever sets them (the
/// UI while recording). Linear factors, 0 (muted) to [`MAX_GAIN`].
#[derive(Debug, Clone)]
pub struct MixLevels {
    microphone: Arc<AtomicU32>,
    computer: Arc<AtomicU32>,
}

impl MixLevels {
    pub fn new(microphone: f32, computer: f32) -> Self {
        let levels = MixLevels {
            microphone: Arc::new(AtomicU32::new(0)),
            computer: Arc::new(AtomicU32::new(0)),
        };
        levels.set_microphone(microphone);
        levels.set_computer(computer);
        levels
    }

    pub fn set_microphone(&self, gain: f32) {
        self.microphone
            .store(clamp_gain(gain).to_bits(), Ordering::Relaxed);
    }

    pub fn set_computer(&self, gain: f32) {
        self.computer
            .store(clamp_gain(gain).to_bits(), Ordering::Relaxed);
    }

    pub fn microphone(&self) -> f32 {
        f32::from_bits(self.microphone.load(Ordering::Relaxed))
    }

    pub fn computer(&self) -> f32 {
        f32::from_bits(self.computer.load(Ordering::Relaxed))
    }
}

impl Default for MixLevels {
    /// Both inputs as they come.
    fn default() -> Self {
        MixLevels::new(1.0, 1.0)
    }
}

fn clamp_gain(gain: f32) -> f32 {
    if gain.is_nan() {
        0.0
    } else {
        gain.clamp(0.0, MAX_GAIN)
    }
}

/// Leaves samples below 0.9 as they are and bends louder ones smoothly
/// towards ±1, so a loud sum never wraps or clips hard.
pub fn soft_clip(x: f32) -> f32 {
    const KNEE: f32 = 0.9;
    let magnitude = x.abs();
    if magnitude <= KNEE {
        x
    } else {
        let room = 1.0 - KNEE;
        (KNEE + room * ((magnitude - KNEE) / room).tanh()).copysign(x)
    }
}

/// The microphone and the computer sound as one mono 48 kHz source.
pub struct AudioMix {
    microphone: Box<dyn AudioSource>,
    computer: Box<dyn AudioSource>,
    levels: MixLevels,
    microphone_meter: LevelMeter,
    computer_meter: LevelMeter,
    thread: Option<JoinHandle<()>>,
}

impl AudioMix {
    pub fn new(
        microphone: Box<dyn AudioSource>,
        computer: Box<dyn AudioSource>,
        levels: MixLevels,
    ) -> Self {
        AudioMix {
            microphone,
            computer,
            levels,
            microphone_meter: LevelMeter::new(),
            computer_meter: LevelMeter::new(),
            thread: None,
        }
    }

    /// The gains, to change while recording.
    pub fn levels(&self) -> MixLevels {
        self.levels.clone()
    }

    /// Live levels of the microphone and of the computer sound as they enter
    /// the mix (after their gains).
    pub fn meters(&self) -> (LevelMeter, LevelMeter) {
        (self.microphone_meter.clone(), self.computer_meter.clone())
    }
}

impl AudioSource for AudioMix {
    fn name(&self) -> String {
        format!(
            "{} mixed with {}",
            self.microphone.name(),
            self.computer.name()
        )
    }

    fn is_live(&self) -> bool {
        self.microphone.is_live()
    }

    fn start(&mut self, ctx: SourceContext, sink: Sink<AudioChunk>) -> Result<()> {
        let (microphone_tx, microphone_rx) = bounded(INPUT_QUEUE);
        let microphone_sink = Sink::new(
            microphone_tx,
            self.microphone.is_live(),
            Arc::new(AtomicU64::new(0)),
        );
        self.microphone.start(ctx.clone(), microphone_sink)?;
        let (computer_tx, computer_rx) = bounded(INPUT_QUEUE);
        let computer_sink = Sink::new(
            computer_tx,
            self.computer.is_live(),
            Arc::new(AtomicU64::new(0)),
        );
        // The microphone is what the user came to record: without computer
        // sound the recording still goes on, and says so.
        let (computer_rx, start_notice) = match self.computer.start(ctx.clone(), computer_sink) {
            Ok(()) => (computer_rx, None),
            Err(e) => {
                tracing::warn!(error = %e, "computer sound did not start");
                (
                    never(),
                    Some(format!(
                        "Computer sound could not be started, so the recording goes on with the microphone only ({e})."
                    )),
                )
            }
        };
        let mixer = Mixer {
            ctx,
            sink,
            levels: self.levels.clone(),
            microphone_meter: self.microphone_meter.clone(),
            computer_meter: self.computer_meter.clone(),
            microphone: MicrophoneLine::default(),
            computer: ComputerLine {
                done: start_notice.is_some(),
                ..ComputerLine::default()
            },
            counts: MixCounts::default(),
        };
        let spawned = std::thread::Builder::new()
            .name("audio-mix".into())
            .spawn(move || mixer.run(microphone_rx, computer_rx, start_notice));
        match spawned {
            Ok(handle) => {
                self.thread = Some(handle);
                Ok(())
            }
            Err(e) => {
                self.microphone.join();
                self.computer.join();
                Err(MediaError::io("start a thread for", "the audio mix", e))
            }
        }
    }

    fn join(&mut self) {
        self.microphone.join();
        self.computer.join();
        join_thread(&mut self.thread, "audio mix");
    }
}

/// The mixing thread's state.
struct Mixer {
    ctx: SourceContext,
    sink: Sink<AudioChunk>,
    levels: MixLevels,
    microphone_meter: LevelMeter,
    computer_meter: LevelMeter,
    microphone: MicrophoneLine,
    computer: ComputerLine,
    counts: MixCounts,
}

/// What went less than smoothly, logged when the mix ends.
#[derive(Debug, Default)]
struct MixCounts {
    /// Computer sound that came after its stretch was mixed, in samples.
    computer_late: u64,
    /// Chunks whose stamps did not continue their input's line.
    computer_jumps: u64,
    microphone_jumps: u64,
    /// Microphone sound far behind its line, dropped (in samples).
    microphone_dropped: u64,
}

impl Mixer {
    fn run(
        mut self,
        microphone_rx: Receiver<SourceMessage<AudioChunk>>,
        computer_rx: Receiver<SourceMessage<AudioChunk>>,
        start_notice: Option<String>,
    ) {
        if let Some(text) = start_notice {
            if self.sink.notice(text).is_err() {
                return;
            }
        }
        let mut computer_rx = computer_rx;
        let mut stop_seen: Option<Instant> = None;
        let microphone_end: Option<SourceEnd> = loop {
            select! {
                recv(microphone_rx) -> msg => match msg {
                    Ok(SourceMessage::Item(chunk)) => {
                        if let Err(e) = self.take_microphone(&chunk) {
                            break Some(SourceEnd::Lost(format!("the microphone's sound could not be converted: {e}")));
                        }
                    }
                    Ok(SourceMessage::Notice(text)) => {
                        if self.sink.notice(text).is_err() {
                            return;
                        }
                    }
                    Ok(SourceMessage::Ended(end)) => break Some(end),
                    Err(_) if self.ctx.should_stop() => break None,
                    Err(_) => break Some(SourceEnd::Lost("the microphone stopped delivering sound".into())),
                },
                recv(computer_rx) -> msg => {
                    let open = self.on_computer(msg);
                    match open {
                        Ok(true) => {}
                        Ok(false) => computer_rx = never(),
                        Err(RecorderGone) => return,
                    }
                },
                default(Duration::from_millis(10)) => {}
            }
            if self.emit_ready(false).is_err() {
                return;
            }
            if self.ctx.should_stop() {
                let since = *stop_seen.get_or_insert_with(Instant::now);
                if since.elapsed() > STOP_PATIENCE {
                    tracing::warn!("the microphone did not stop within {STOP_PATIENCE:?}; the mix ends without it");
                    break None;
                }
            }
        };
        // The computer sound of the microphone's last stretch may still be on its way.
        let deadline = Instant::now() + LOOKAHEAD;
        while !self.computer.done && self.microphone.end() > self.computer.next.unwrap_or(i64::MIN)
        {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match computer_rx.recv_timeout(left) {
                Ok(msg) => {
                    if let Err(RecorderGone) | Ok(false) = self.on_computer(Ok(msg)) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        if self.emit_ready(true).is_err() {
            return;
        }
        let counts = &self.counts;
        tracing::info!(
            computer_late_ms = counts.computer_late * 1000 / u64::from(AUDIO_RATE),
            computer_jumps = counts.computer_jumps,
            microphone_jumps = counts.microphone_jumps,
            microphone_dropped_ms = counts.microphone_dropped * 1000 / u64::from(AUDIO_RATE),
            "audio mix ended"
        );
        if let Some(end) = microphone_end {
            self.sink.end(end);
        }
    }

    /// Handles one message of the computer sound; false when it has ended.
    fn on_computer(
        &mut self,
        msg: std::result::Result<SourceMessage<AudioChunk>, crossbeam_channel::RecvError>,
    ) -> std::result::Result<bool, RecorderGone> {
        let lost = match msg {
            Ok(SourceMessage::Item(chunk)) => match self.take_computer(&chunk) {
                Ok(()) => return Ok(true),
                Err(e) => format!("its sound could not be converted: {e}"),
            },
            Ok(SourceMessage::Notice(text)) => {
                self.sink.notice(text)?;
                return Ok(true);
            }
            Ok(SourceMessage::Ended(SourceEnd::Finished)) => {
                self.computer.done = true;
                return Ok(false);
            }
            Ok(SourceMessage::Ended(SourceEnd::Lost(why))) => why,
            Err(_) if self.ctx.should_stop() => {
                self.computer.done = true;
                return Ok(false);
            }
            Err(_) => "it stopped delivering".to_string(),
        };
        self.computer.done = true;
        self.computer_meter.store(AudioLevel::SILENT);
        tracing::warn!(reason = %lost, "computer sound lost");
        self.sink.notice(format!(
            "Computer sound stopped ({lost}); the recording goes on with the microphone only."
        ))?;
        Ok(false)
    }

    fn take_microphone(&mut self, chunk: &AudioChunk) -> Result<()> {
        let samples = self.microphone.conversion.run(chunk)?;
        if samples.is_empty() {
            return Ok(());
        }
        let gain = self.levels.microphone();
        self.microphone_meter.store(AudioLevel::of(
            &samples.iter().map(|s| s * gain).collect::<Vec<_>>(),
        ));
        let stamped = position(chunk.captured_at);
        let (at, continues) = match continue_line(self.microphone.next, stamped) {
            Placement::Continue(at) => (at, true),
            Placement::Jump(at) => {
                if self.microphone.next.is_some() {
                    self.counts.microphone_jumps += 1;
                }
                (at, false)
            }
            Placement::Drop => {
                self.counts.microphone_dropped += samples.len() as u64;
                return Ok(());
            }
        };
        if !continues && !self.microphone.pending.is_empty() {
            // A jump in the microphone's time: what came before goes out as it is.
            let _ = self.emit_until(self.microphone.end());
        }
        if self.microphone.pending.is_empty() {
            self.microphone.start = at;
        }
        self.microphone.pending.extend_from_slice(&samples);
        self.microphone.next = Some(at + samples.len() as i64);
        Ok(())
    }

    fn take_computer(&mut self, chunk: &AudioChunk) -> Result<()> {
        let samples = self.computer.conversion.run(chunk)?;
        if samples.is_empty() {
            return Ok(());
        }
        let gain = self.levels.computer();
        self.computer_meter.store(AudioLevel::of(
            &samples.iter().map(|s| s * gain).collect::<Vec<_>>(),
        ));
        let at = match continue_line(self.computer.next, position(chunk.captured_at)) {
            Placement::Continue(at) => at,
            Placement::Jump(at) => {
                if self.computer.next.is_some() {
                    self.counts.computer_jumps += 1;
                }
                at
            }
            Placement::Drop => {
                self.counts.computer_late += samples.len() as u64;
                return Ok(());
            }
        };
        if self.microphone.next.is_some() && at < self.microphone.start {
            let late = (self.microphone.start - at).min(samples.len() as i64);
            self.counts.computer_late += late as u64;
        }
        self.computer.place(at, &samples);
        Ok(())
    }

    /// Mixes and sends the microphone's sound whose computer sound is in (or
    /// will not come); with `all`, everything pending.
    fn emit_ready(&mut self, all: bool) -> std::result::Result<(), RecorderGone> {
        let end = self.microphone.end();
        let ready = if all || self.computer.done {
            end
        } else {
            let covered = self.computer.next.unwrap_or(i64::MIN);
            let waited_enough = position(self.ctx.clock.now()) - position(LOOKAHEAD);
            covered.max(waited_enough).min(end)
        };
        self.emit_until(ready)
    }

    fn emit_until(&mut self, until: i64) -> std::result::Result<(), RecorderGone> {
        let start = self.microphone.start;
        let count = until - start;
        if count <= 0 {
            return Ok(());
        }
        let count = (count as usize).min(self.microphone.pending.len());
        self.computer.forget_before(start);
        let (microphone_gain, computer_gain) = (self.levels.microphone(), self.levels.computer());
        let samples: Vec<f32> = self.microphone.pending[..count]
            .iter()
            .enumerate()
            .map(|(i, &m)| {
                let c = self.computer.at(start + i as i64);
                soft_clip(m * microphone_gain + c * computer_gain)
            })
            .collect();
        self.microphone.pending.drain(..count);
        self.microphone.start = start + count as i64;
        self.computer.forget_before(self.microphone.start);
        self.sink.deliver(AudioChunk {
            sample_rate: AUDIO_RATE,
            channels: 1,
            samples,
            captured_at: time_of(start),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_clip_leaves_quiet_sound_alone_and_bounds_loud_sound() {
        assert_eq!(soft_clip(0.5), 0.5);
        assert_eq!(soft_clip(-0.9), -0.9);
        assert!(soft_clip(1.8) <= 1.0 && soft_clip(1.8) > 0.99);
        assert!(soft_clip(-3.0) >= -1.0);
        assert!(
            soft_clip(0.95) > soft_clip(0.92),
            "still rising past the knee"
        );
    }

    #[test]
    fn levels_are_clamped_and_shared() {
        let levels = MixLevels::new(1.0, 0.5);
        let seen_by_the_mix = levels.clone();
        levels.set_computer(9.0);
        levels.set_microphone(f32::NAN);
        assert_eq!(seen_by_the_mix.computer(), MAX_GAIN);
        assert_eq!(seen_by_the_mix.microphone(), 0.0);
    }
}
