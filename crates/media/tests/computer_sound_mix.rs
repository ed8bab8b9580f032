//! The audio mix with scripted inputs (no sound server): the computer sound
//! lands at the microphone's time for the same moment although the stamps
//! jitter, the levels apply, loud sums stay within -1..1, a lost computer
//! sound is told and the microphone goes on, and a computer sound that sends
//! nothing holds nothing up.
#![allow(
    clippy::expect_used,
    reason = "test helpers outside #[test] functions: a panic is the test failing"
)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver};
use pigeon_media::mix::{AudioMix, MixLevels};
use pigeon_media::source::{Sink, SourceContext, SourceEnd, SourceMessage};
use pigeon_media::{AudioChunk, AudioSource, Clock};

const RATE: usize = 48_000;

/// Chunks at chosen media times, handed over at once; then the chosen end,
/// or (with `None`) nothing until the recording stops.
struct Scripted {
    rate: u32,
    chunks: Vec<(Duration, Vec<f32>)>,
    end: Option<SourceEnd>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Scripted {
    fn new(chunks: Vec<(Duration, Vec<f32>)>, end: Option<SourceEnd>) -> Self {
        Scripted {
            rate: 48_000,
            chunks,
            end,
            thread: None,
        }
    }
}

impl AudioSource for Scripted {
    fn name(&self) -> String {
        "scripted".into()
    }
    fn is_live(&self) -> bool {
        false
    }
    fn start(&mut self, ctx: SourceContext, sink: Sink<AudioChunk>) -> pigeon_media::Result<()> {
        let chunks = std::mem::take(&mut self.chunks);
        let end = self.end.take();
        let rate = self.rate;
        self.thread = Some(std::thread::spawn(move || {
            for (at, samples) in chunks {
                let chunk = AudioChunk {
                    sample_rate: rate,
                    channels: 1,
                    samples,
                    captured_at: ctx.epoch + at,
                };
                if sink.deliver(chunk).is_err() {
                    return;
                }
            }
            match end {
                Some(end) => sink.end(end),
                None => {
                    while !ctx.should_stop() {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
            }
        }));
        Ok(())
    }
    fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the scripted source's thread");
        }
    }
}

/// `length` of constant `value` in chunks of `chunk` from `from`, each stamp
/// but the first off by a few milliseconds (as device stamps are).
fn constant(
    value: f32,
    from: Duration,
    length: Duration,
    chunk: Duration,
) -> Vec<(Duration, Vec<f32>)> {
    let per_chunk = (chunk.as_secs_f64() * RATE as f64).round() as usize;
    let count = (length.as_secs_f64() / chunk.as_secs_f64()).round() as usize;
    let jitter_ms = [0i64, 3, -2, 4, -4, 1, -3, 2];
    (0..count)
        .map(|i| {
            let exact = from + chunk * i as u32;
            let off = if i == 0 {
                0
            } else {
                jitter_ms[i % jitter_ms.len()]
            };
            let at = if off >= 0 {
                exact + Duration::from_millis(off as u64)
            } else {
                exact - Duration::from_millis((-off) as u64)
            };
            (at, vec![value; per_chunk])
        })
        .collect()
}

struct Mixed {
    /// The mix laid out by its stamps, from media time zero.
    samples: Vec<f32>,
    notices: Vec<String>,
    end: Option<SourceEnd>,
    /// Stamps of consecutive chunks that did not continue each other (in samples).
    discontinuities: usize,
}

fn run_mix(mut mix: AudioMix) -> Mixed {
    let clock = Clock::new();
    let ctx = SourceContext {
        clock,
        epoch: clock.now(),
        stop: Arc::new(AtomicBool::new(false)),
    };
    let (tx, rx) = bounded(10_000);
    mix.start(
        ctx.clone(),
        Sink::new(tx, false, Arc::new(AtomicU64::new(0))),
    )
    .expect("start the mix");
    let mixed = collect(&rx, ctx.epoch);
    ctx.stop.store(true, Ordering::Relaxed);
    mix.join();
    mixed
}

fn collect(rx: &Receiver<SourceMessage<AudioChunk>>, epoch: Duration) -> Mixed {
    let mut mixed = Mixed {
        samples: Vec::new(),
        notices: Vec::new(),
        end: None,
        discontinuities: 0,
    };
    let mut expected_next: Option<usize> = None;
    let deadline = Instant::now() + common::PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(SourceMessage::Item(chunk)) => {
                assert_eq!((chunk.sample_rate, chunk.channels), (48_000, 1));
                let at = usize::try_from(position(chunk.captured_at) - position(epoch))
                    .expect("no chunk before media time zero");
                if expected_next.is_some_and(|next| next != at) {
                    mixed.discontinuities += 1;
                }
                expected_next = Some(at + chunk.samples.len());
                if mixed.samples.len() < at + chunk.samples.len() {
                    mixed.samples.resize(at + chunk.samples.len(), f32::NAN);
                }
                mixed.samples[at..at + chunk.samples.len()].copy_from_slice(&chunk.samples);
            }
            Ok(SourceMessage::Notice(text)) => mixed.notices.push(text),
            Ok(SourceMessage::Ended(end)) => {
                mixed.end = Some(end);
                return mixed;
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return mixed,
            Err(e) => panic!("the mix did not end within {:?}: {e}", common::PATIENCE),
        }
    }
}

/// Sample position of a clock reading, as the mix counts them.
fn position(at: Duration) -> i64 {
    (at.as_nanos() * RATE as u128 / 1_000_000_000) as i64
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn first_index(samples: &[f32], from: usize, test: impl Fn(f32) -> bool) -> Option<usize> {
    samples[from..]
        .iter()
        .position(|&v| test(v))
        .map(|i| i + from)
}

#[test]
fn computer_sound_lands_at_the_microphones_time_despite_jittering_stamps() {
    let microphone = Scripted::new(
        constant(0.25, ms(0), ms(1000), ms(10)),
        Some(SourceEnd::Finished),
    );
    let computer = Scripted::new(
        constant(0.5, ms(300), ms(400), ms(20)),
        Some(SourceEnd::Finished),
    );
    let mix = AudioMix::new(
        Box::new(microphone),
        Box::new(computer),
        MixLevels::new(1.0, 0.5),
    );
    let (microphone_meter, computer_meter) = mix.meters();
    let mixed = run_mix(mix);
    assert_eq!(
        mixed.end,
        Some(SourceEnd::Finished),
        "the microphone's end ends the mix"
    );
    assert!(mixed.notices.is_empty(), "{:?}", mixed.notices);
    assert_eq!(
        mixed.samples.len(),
        RATE,
        "one second out, as the microphone gave"
    );
    assert_eq!(
        mixed.discontinuities, 0,
        "the jittering stamps make one continuous line"
    );
    let rise = first_index(&mixed.samples, 0, |v| v > 0.4).expect("the computer sound is in");
    let fall = first_index(&mixed.samples, rise, |v| v < 0.4).expect("and ends");
    println!("computer sound from sample {rise} to {fall} (expected 14400 to 33600)");
    assert_eq!(
        (rise, fall),
        (14_400, 33_600),
        "at 300 ms for 400 ms, to the sample"
    );
    for (i, &v) in mixed.samples.iter().enumerate() {
        let expected = if (rise..fall).contains(&i) { 0.5 } else { 0.25 };
        assert!(
            (v - expected).abs() < 1e-6,
            "sample {i} is {v}, not {expected}"
        );
    }
    println!(
        "meters: microphone {:?}, computer {:?}",
        microphone_meter.level(),
        computer_meter.level()
    );
    assert!((microphone_meter.level().peak_dbfs - (-12.04)).abs() < 0.1);
    assert!(
        (computer_meter.level().peak_dbfs - (-12.04)).abs() < 0.1,
        "0.5 at gain 0.5"
    );
}

#[test]
fn a_computer_level_of_zero_leaves_only_the_microphone() {
    let microphone = Scripted::new(
        constant(0.25, ms(0), ms(500), ms(10)),
        Some(SourceEnd::Finished),
    );
    let computer = Scripted::new(
        constant(0.5, ms(0), ms(500), ms(20)),
        Some(SourceEnd::Finished),
    );
    let levels = MixLevels::new(1.0, 1.0);
    levels.set_computer(0.0);
    let mixed = run_mix(AudioMix::new(
        Box::new(microphone),
        Box::new(computer),
        levels,
    ));
    assert_eq!(mixed.samples.len(), RATE / 2);
    assert!(
        mixed.samples.iter().all(|&v| v == 0.25),
        "only the microphone is heard"
    );
}

#[test]
fn a_loud_sum_is_bent_into_range() {
    let microphone = Scripted::new(
        constant(0.8, ms(0), ms(200), ms(10)),
        Some(SourceEnd::Finished),
    );
    let computer = Scripted::new(
        constant(0.8, ms(0), ms(200), ms(20)),
        Some(SourceEnd::Finished),
    );
    let mixed = run_mix(AudioMix::new(
        Box::new(microphone),
        Box::new(computer),
        MixLevels::default(),
    ));
    assert_eq!(mixed.samples.len(), RATE / 5);
    let (low, high) = mixed
        .samples
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    println!("0.8 + 0.8 mixed into {low}..{high}");
    assert!(low > 0.95 && high <= 1.0, "{low}..{high}");
}

#[test]
fn a_lost_computer_sound_is_told_and_the_microphone_goes_on() {
    let microphone = Scripted::new(
        constant(0.25, ms(0), ms(1000), ms(10)),
        Some(SourceEnd::Finished),
    );
    let computer = Scripted::new(
        constant(0.5, ms(0), ms(200), ms(20)),
        Some(SourceEnd::Lost("the sound server went away".into())),
    );
    let mixed = run_mix(AudioMix::new(
        Box::new(microphone),
        Box::new(computer),
        MixLevels::default(),
    ));
    println!("notices: {:?}", mixed.notices);
    assert_eq!(mixed.notices.len(), 1);
    assert!(
        mixed.notices[0].contains("the sound server went away")
            && mixed.notices[0].contains("goes on with the microphone only"),
        "{:?}",
        mixed.notices
    );
    assert_eq!(mixed.end, Some(SourceEnd::Finished));
    assert_eq!(
        mixed.samples.len(),
        RATE,
        "the whole second of the microphone"
    );
    assert!(mixed.samples[..9_600]
        .iter()
        .all(|&v| (v - 0.75).abs() < 1e-6));
    assert!(mixed.samples[9_600..].iter().all(|&v| v == 0.25));
}

#[test]
fn a_computer_sound_that_sends_nothing_holds_the_microphone_back_only_briefly() {
    let microphone = Scripted::new(
        constant(0.25, ms(0), ms(500), ms(10)),
        Some(SourceEnd::Finished),
    );
    let computer = Scripted::new(Vec::new(), None);
    let started = Instant::now();
    let mixed = run_mix(AudioMix::new(
        Box::new(microphone),
        Box::new(computer),
        MixLevels::default(),
    ));
    let took = started.elapsed();
    println!("half a second of microphone mixed with nothing in {took:?}");
    assert_eq!(mixed.samples.len(), RATE / 2);
    assert!(mixed.samples.iter().all(|&v| v == 0.25));
    assert_eq!(mixed.end, Some(SourceEnd::Finished));
}

#[test]
fn a_44k_computer_sound_is_resampled_onto_the_same_line() {
    let microphone = Scripted::new(
        constant(0.0, ms(0), ms(1000), ms(10)),
        Some(SourceEnd::Finished),
    );
    // 1 kHz at 44.1 kHz from 200 ms to 800 ms.
    let per_chunk = 882; // 20 ms
    let chunks: Vec<(Duration, Vec<f32>)> = (0..30)
        .map(|c| {
            let samples = (0..per_chunk)
                .map(|i| {
                    let t = (c * per_chunk + i) as f32 / 44_100.0;
                    0.5 * (2.0 * std::f32::consts::PI * 1000.0 * t).sin()
                })
                .collect();
            (ms(200 + 20 * c as u64), samples)
        })
        .collect();
    let mut computer = Scripted::new(chunks, Some(SourceEnd::Finished));
    computer.rate = 44_100;
    let mixed = run_mix(AudioMix::new(
        Box::new(microphone),
        Box::new(computer),
        MixLevels::default(),
    ));
    assert_eq!(mixed.samples.len(), RATE);
    let onset = first_index(&mixed.samples, 0, |v| v.abs() > 0.05).expect("the tone is in");
    let crossings = mixed.samples[14_400..33_600]
        .windows(2)
        .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
        .count();
    println!(
        "tone onset at sample {onset} (expected about 9600), {crossings} zero crossings in 400 ms"
    );
    assert!((9_600..9_700).contains(&onset), "onset {onset}");
    assert!(
        (795..=805).contains(&crossings),
        "1 kHz stays 1 kHz: {crossings}"
    );
    assert!(mixed.samples[..9_600].iter().all(|&v| v == 0.0));
}
