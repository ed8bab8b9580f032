//! Computer sound: what the computer plays, read from the default output's
//! monitor in PulseAudio (or PipeWire's PulseAudio server), as an
//! [`AudioSource`].
//!
//! It is NOT a mixer: on its own it records only what the computer plays.
//! [`AudioMix`](crate::mix::AudioMix) puts it together with the microphone.
//!
//! The stream is mono 48 kHz float (the server mixes down and resamples), read
//! in 20 ms fragments so what is captured reaches the recording within a few
//! tens of milliseconds. Each chunk is stamped with the recording's clock:
//! the time it was read less the chunk's length. An output that renders in
//! large blocks (an idle one) delivers in bursts; the mix lays bursts end to
//! end as the recorder does.

use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver};
use libpulse_binding::def::BufferAttr;
use libpulse_binding::error::{Code, PAErr};
use libpulse_binding::sample::{Format, Spec};
use libpulse_binding::stream::Direction;
use libpulse_simple_binding::Simple;

use crate::encode::AUDIO_RATE;
use crate::error::{MediaError, Result};
use crate::source::{
    join_thread, AudioChunk, AudioLevel, AudioSource, LevelMeter, Sink, SourceContext, SourceEnd,
};

/// The PulseAudio name of the default output's monitor.
pub const DEFAULT_MONITOR: &str = "@DEFAULT_MONITOR@";

/// Samples per read: 20 ms.
const FRAGMENT: usize = AUDIO_RATE as usize / 50;

/// At most one second waits in the server when the reader falls behind;
/// older sound is dropped by the server rather than arriving late.
const MAX_BUFFERED: u32 = AUDIO_RATE * 4;

/// How long [`ComputerSound::join`] waits for a read stuck in the server.
const JOIN_PATIENCE: Duration = Duration::from_secs(2);

/// The sound the computer plays, from the default output's monitor or a named
/// PulseAudio source.
pub struct ComputerSound {
    device: Option<String>,
    meter: LevelMeter,
    thread: Option<JoinHandle<()>>,
    /// Hangs up when the capture thread ends.
    ended: Option<Receiver<()>>,
}

impl ComputerSound {
    /// Checks that the sound server is there and the device (`None`: the
    /// default output's monitor) can be recorded. Capture starts with the
    /// recording.
    pub fn open(device: Option<&str>) -> Result<Self> {
        if let Some(name) = device {
            if name.is_empty() || name.contains('\0') {
                return Err(MediaError::ComputerSoundUnavailable(format!(
                    "Computer sound cannot be recorded: {name:?} is not a sound device name; choose a device from `pactl list short sources`, or record without computer sound."
                )));
            }
        }
        // Opened once to find out now, not when the recording starts, that
        // there is no server or no such device.
        // (Kept open until the start, an unread stream delayed the first sound
        // of the recording's own stream by 1.3 s: measured.)
        drop(connect(device)?);
        Ok(ComputerSound {
            device: device.map(str::to_string),
            meter: LevelMeter::new(),
            thread: None,
            ended: None,
        })
    }

    /// Live RMS/peak level of the computer sound while capturing.
    pub fn meter(&self) -> LevelMeter {
        self.meter.clone()
    }

    fn device_label(&self) -> &str {
        self.device.as_deref().unwrap_or("the default output")
    }
}

fn stream_spec() -> Spec {
    Spec {
        format: Format::F32le,
        rate: AUDIO_RATE,
        channels: 1,
    }
}

fn connect(device: Option<&str>) -> Result<Simple> {
    let bytes_per_sample = 4u32;
    let attr = BufferAttr {
        maxlength: MAX_BUFFERED,
        tlength: u32::MAX,
        prebuf: u32::MAX,
        minreq: u32::MAX,
        fragsize: FRAGMENT as u32 * bytes_per_sample,
    };
    Simple::new(
        None,
        "Pigeon",
        Direction::Record,
        Some(device.unwrap_or(DEFAULT_MONITOR)),
        "computer sound",
        &stream_spec(),
        None,
        Some(&attr),
    )
    .map_err(|e| unavailable(device, e))
}

/// One sentence for a stream that could not be opened.
fn unavailable(device: Option<&str>, err: PAErr) -> MediaError {
    // pa_simple reports the error code positive; the Code values are positive too.
    let code = err.0.abs();
    let text = if code == Code::ConnectionRefused as i32 || code == Code::InvalidServer as i32 {
        "Computer sound cannot be recorded: no PulseAudio or PipeWire sound server is running; record without computer sound, or start the sound server.".to_string()
    } else if code == Code::NoEntity as i32 {
        match device {
            Some(name) => format!("Computer sound cannot be recorded: the sound server has no device {name:?}; choose one from `pactl list short sources`, or record without computer sound."),
            None => "Computer sound cannot be recorded: the sound server has no default output to listen to; choose an output in the sound settings, or record without computer sound.".to_string(),
        }
    } else {
        format!("Computer sound cannot be recorded: the sound server refused ({err}); check the sound settings, or record without computer sound.")
    };
    MediaError::ComputerSoundUnavailable(text)
}

impl AudioSource for ComputerSound {
    fn name(&self) -> String {
        format!("computer sound of {}", self.device_label())
    }

    fn is_live(&self) -> bool {
        true
    }

    fn start(&mut self, ctx: SourceContext, sink: Sink<AudioChunk>) -> Result<()> {
        let device = self.device.clone();
        let meter = self.meter.clone();
        let (ready_tx, ready_rx) = bounded::<Result<()>>(1);
        let (ended_tx, ended_rx) = bounded::<()>(0);
        let handle = std::thread::Builder::new()
            .name("computer-sound".into())
            .spawn(move || {
                let _hang_up_when_done = ended_tx;
                let stream = match connect(device.as_deref()) {
                    Ok(stream) => {
                        let _ = ready_tx.send(Ok(()));
                        stream
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                tracing::info!(
                    device = device.as_deref().unwrap_or(DEFAULT_MONITOR),
                    "computer sound capturing"
                );
                capture(&stream, &ctx, &sink, &meter);
            })
            .map_err(|e| MediaError::io("start a thread for", "the computer sound", e))?;
        self.thread = Some(handle);
        self.ended = Some(ended_rx);
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.join();
                Err(e)
            }
            Err(_) => {
                self.join();
                Err(MediaError::ComputerSoundUnavailable(
                    "Computer sound cannot be recorded: its capture thread ended while opening the stream; record without computer sound.".into(),
                ))
            }
        }
    }

    fn join(&mut self) {
        // A read blocked in the server (a sound server that stopped sending)
        // must not hold up the end of the recording: the thread is left behind.
        if let Some(ended) = self.ended.take() {
            if ended.recv_timeout(JOIN_PATIENCE)
                == Err(crossbeam_channel::RecvTimeoutError::Timeout)
            {
                tracing::warn!(
                    "the computer sound did not stop within {JOIN_PATIENCE:?}; not waiting for it"
                );
                self.thread = None;
                return;
            }
        }
        join_thread(&mut self.thread, "computer sound");
    }
}

/// Reads 20 ms fragments until the recording stops or the stream fails.
fn capture(stream: &Simple, ctx: &SourceContext, sink: &Sink<AudioChunk>, meter: &LevelMeter) {
    let mut bytes = vec![0u8; FRAGMENT * 4];
    while !ctx.should_stop() {
        if let Err(e) = stream.read(&mut bytes) {
            sink.end(SourceEnd::Lost(format!(
                "the sound server stopped sending computer sound ({e})"
            )));
            return;
        }
        let read_at = ctx.clock.now();
        let samples: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        meter.store(AudioLevel::of(&samples));
        let length = Duration::from_secs_f64(FRAGMENT as f64 / f64::from(AUDIO_RATE));
        let chunk = AudioChunk {
            sample_rate: AUDIO_RATE,
            channels: 1,
            samples,
            // Stamped by arrival, less its length, as the microphone is. The
            // stream's reported latency is no help for a monitor: it follows
            // how far ahead the output renders (measured 476 ms for an idle
            // null sink, 46 ms while a 20 ms player plays), not how old the
            // sound is, and it threw the stamps half a second into the past.
            captured_at: read_at.saturating_sub(length),
        };
        if sink.deliver(chunk).is_err() {
            return;
        }
    }
}
