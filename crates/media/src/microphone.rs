//! Microphones through cpal: the device's real rate, sample format and
//! channel count are used as they are; the recorder resamples to 48 kHz mono.

use std::thread::JoinHandle;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};
use crossbeam_channel::bounded;

use crate::error::{MediaError, Result};
use crate::source::{
    join_thread, AudioChunk, AudioLevel, AudioSource, LevelMeter, Sink, SourceContext, SourceEnd,
};

/// A microphone the system offers.
#[derive(Debug, Clone)]
pub struct MicrophoneDescription {
    /// Stable id to pass to [`MicrophoneSource::open`] (e.g. "alsa:default").
    pub id: String,
    pub name: String,
    pub is_default: bool,
    pub sample_rate: u32,
    pub channels: u16,
    pub sample_format: String,
}

/// Lists audio inputs with their default configuration.
pub fn list_microphones() -> Result<Vec<MicrophoneDescription>> {
    let host = cpal::default_host();
    let default_id = host.default_input_device().and_then(|d| d.id().ok());
    let devices = host
        .input_devices()
        .map_err(|e| MediaError::MicrophoneUnavailable {
            device: "(any)".into(),
            reason: format!("the list of inputs could not be read: {e}"),
        })?;
    Ok(devices
        .filter_map(|device| {
            let id = device.id().ok()?;
            let config = device.default_input_config().ok()?;
            Some(MicrophoneDescription {
                id: id.to_string(),
                name: device
                    .description()
                    .map(|d| d.name().to_string())
                    .unwrap_or_else(|_| id.to_string()),
                is_default: default_id.as_ref() == Some(&id),
                sample_rate: config.sample_rate(),
                channels: config.channels(),
                sample_format: format!("{:?}", config.sample_format()),
            })
        })
        .collect())
}

fn find_device(wanted: Option<&str>) -> Result<cpal::Device> {
    let host = cpal::default_host();
    match wanted {
        None => host.default_input_device().ok_or(MediaError::NoMicrophone),
        Some(wanted) => {
            let devices = host
                .input_devices()
                .map_err(|e| MediaError::MicrophoneUnavailable {
                    device: wanted.to_string(),
                    reason: e.to_string(),
                })?;
            for device in devices {
                let id = device.id().map(|i| i.to_string()).unwrap_or_default();
                let name = device
                    .description()
                    .map(|d| d.name().to_string())
                    .unwrap_or_default();
                if id == wanted || name == wanted {
                    return Ok(device);
                }
            }
            Err(MediaError::MicrophoneUnavailable {
                device: wanted.to_string(),
                reason: "no input with that id or name exists".into(),
            })
        }
    }
}

/// An opened microphone. Capture starts with the recording; [`Self::meter`]
/// then shows the live level.
pub struct MicrophoneSource {
    wanted: Option<String>,
    label: String,
    sample_rate: u32,
    channels: u16,
    meter: LevelMeter,
    thread: Option<JoinHandle<()>>,
}

impl MicrophoneSource {
    /// Opens the default input (`None`) or the one with this id or name.
    pub fn open(wanted: Option<&str>) -> Result<Self> {
        let device = find_device(wanted)?;
        let label = device
            .description()
            .map(|d| d.name().to_string())
            .unwrap_or_else(|_| "default".into());
        let config =
            device
                .default_input_config()
                .map_err(|e| MediaError::MicrophoneUnavailable {
                    device: label.clone(),
                    reason: e.to_string(),
                })?;
        Ok(MicrophoneSource {
            wanted: wanted.map(str::to_string),
            label,
            sample_rate: config.sample_rate(),
            channels: config.channels(),
            meter: LevelMeter::new(),
            thread: None,
        })
    }

    /// The device's own rate and channel count.
    pub fn format(&self) -> (u32, u16) {
        (self.sample_rate, self.channels)
    }

    /// Live RMS/peak level while capturing.
    pub fn meter(&self) -> LevelMeter {
        self.meter.clone()
    }
}

fn build<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    ctx: SourceContext,
    sink: Sink<AudioChunk>,
    meter: LevelMeter,
) -> std::result::Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let (rate, channels) = (config.sample_rate, config.channels);
    let error_sink = sink.clone();
    device.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], _info| {
            let samples: Vec<f32> = data.iter().map(|s| s.to_sample::<f32>()).collect();
            meter.store(AudioLevel::of(&samples));
            let frames = samples.len() / usize::from(channels.max(1));
            // The callback runs once the period was captured: its first sample is that much older.
            let captured_at = ctx
                .clock
                .now()
                .saturating_sub(Duration::from_secs_f64(frames as f64 / f64::from(rate)));
            let _ = sink.deliver(AudioChunk {
                sample_rate: rate,
                channels,
                samples,
                captured_at,
            });
        },
        move |err| {
            error_sink.end(SourceEnd::Lost(format!("the microphone failed: {err}")));
        },
        None,
    )
}

impl AudioSource for MicrophoneSource {
    fn name(&self) -> String {
        format!("microphone {}", self.label)
    }

    fn is_live(&self) -> bool {
        true
    }

    fn start(&mut self, ctx: SourceContext, sink: Sink<AudioChunk>) -> Result<()> {
        let wanted = self.wanted.clone();
        let label = self.label.clone();
        let meter = self.meter.clone();
        let (ready_tx, ready_rx) = bounded::<Result<()>>(1);
        // cpal streams are not Send everywhere: the stream lives and dies on this thread.
        let handle = std::thread::Builder::new()
            .name("microphone".into())
            .spawn(move || {
                let unavailable = |reason: String| MediaError::MicrophoneUnavailable { device: label.clone(), reason };
                let opened = find_device(wanted.as_deref()).and_then(|device| {
                    let supported = device.default_input_config().map_err(|e| unavailable(e.to_string()))?;
                    let config = supported.config();
                    let stream = match supported.sample_format() {
                        SampleFormat::I16 => build::<i16>(&device, config, ctx.clone(), sink.clone(), meter.clone()),
                        SampleFormat::I32 => build::<i32>(&device, config, ctx.clone(), sink.clone(), meter.clone()),
                        SampleFormat::F32 => build::<f32>(&device, config, ctx.clone(), sink.clone(), meter.clone()),
                        SampleFormat::U16 => build::<u16>(&device, config, ctx.clone(), sink.clone(), meter.clone()),
                        SampleFormat::I8 => build::<i8>(&device, config, ctx.clone(), sink.clone(), meter.clone()),
                        SampleFormat::U8 => build::<u8>(&device, config, ctx.clone(), sink.clone(), meter.clone()),
                        SampleFormat::F64 => build::<f64>(&device, config, ctx.clone(), sink.clone(), meter.clone()),
                        other => return Err(unavailable(format!("its sample format {other:?} is not supported"))),
                    }
                    .map_err(|e| unavailable(e.to_string()))?;
                    // cpal 0.18 streams do not start by themselves.
                    stream.play().map_err(|e| unavailable(e.to_string()))?;
                    tracing::info!(microphone = %label, rate = config.sample_rate, channels = config.channels, format = ?supported.sample_format(), "microphone capturing");
                    Ok(stream)
                });
                let stream = match opened {
                    Ok(stream) => {
                        let _ = ready_tx.send(Ok(()));
                        stream
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                drop(sink);
                while !ctx.should_stop() {
                    std::thread::sleep(Duration::from_millis(20));
                }
                drop(stream);
            })
            .map_err(|e| MediaError::io("start a thread for", "the microphone", e))?;
        self.thread = Some(handle);
        match ready_rx.recv() {
            Ok(result) => {
                if result.is_err() {
                    join_thread(&mut self.thread, "microphone");
                }
                result
            }
            Err(_) => {
                join_thread(&mut self.thread, "microphone");
                Err(MediaError::MicrophoneUnavailable {
                    device: self.label.clone(),
                    reason: "the capture thread ended while opening it".into(),
                })
            }
        }
    }

    fn join(&mut self) {
        join_thread(&mut self.thread, "microphone");
    }
}
