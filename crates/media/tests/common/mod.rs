//! Decoding helpers shared by the integration tests: they read recorded clips
//! back with ffmpeg-next and measure what is in them.
#![allow(dead_code)]

use std::path::Path;

use ffmpeg::format::{sample, Sample};
use ffmpeg::{codec, media, Packet};
use ffmpeg_next as ffmpeg;
use pigeon_media::synthetic::FLASH_LUMA_THRESHOLD;

/// Presentation time (s) and mean luma of every decoded picture.
pub fn decode_video(path: &Path) -> Vec<(f64, f64)> {
    pigeon_media::init();
    let mut input = ffmpeg::format::input(path).expect("open clip");
    let stream = input
        .streams()
        .best(media::Type::Video)
        .expect("video stream");
    let (index, tb) = (stream.index(), f64::from(stream.time_base()));
    let mut decoder = codec::context::Context::from_parameters(stream.parameters())
        .and_then(|c| c.decoder().video())
        .expect("video decoder");
    let mut out = Vec::new();
    let mut frame = ffmpeg::util::frame::Video::empty();
    let mut packet = Packet::empty();
    let mut collect = |decoder: &mut ffmpeg::decoder::Video, out: &mut Vec<(f64, f64)>| {
        while decoder.receive_frame(&mut frame).is_ok() {
            let (w, h) = (frame.width() as usize, frame.height() as usize);
            let stride = frame.stride(0);
            let data = frame.data(0);
            let mut sum = 0u64;
            for row in 0..h {
                sum += data[row * stride..row * stride + w]
                    .iter()
                    .map(|&v| u64::from(v))
                    .sum::<u64>();
            }
            let pts = frame.timestamp().or(frame.pts()).unwrap_or(0) as f64 * tb;
            out.push((pts, sum as f64 / (w * h) as f64));
        }
    };
    loop {
        match packet.read(&mut input) {
            Ok(()) => {
                if packet.stream() == index {
                    decoder.send_packet(&packet).expect("send packet");
                    collect(&mut decoder, &mut out);
                }
            }
            Err(ffmpeg::Error::Eof) => break,
            Err(_) => break,
        }
    }
    decoder.send_eof().expect("eof");
    collect(&mut decoder, &mut out);
    out
}

/// Mono f32 samples (first channel) and the time (s) of the first one.
pub fn decode_audio(path: &Path) -> (u32, f64, Vec<f32>) {
    pigeon_media::init();
    let mut input = ffmpeg::format::input(path).expect("open clip");
    let stream = input
        .streams()
        .best(media::Type::Audio)
        .expect("audio stream");
    let (index, tb) = (stream.index(), f64::from(stream.time_base()));
    let mut decoder = codec::context::Context::from_parameters(stream.parameters())
        .and_then(|c| c.decoder().audio())
        .expect("audio decoder");
    let mut samples = Vec::new();
    let mut start: Option<f64> = None;
    let mut rate = 0;
    let mut frame = ffmpeg::util::frame::Audio::empty();
    let mut packet = Packet::empty();
    let mut collect = |decoder: &mut ffmpeg::decoder::Audio,
                       samples: &mut Vec<f32>,
                       start: &mut Option<f64>,
                       rate: &mut u32| {
        while decoder.receive_frame(&mut frame).is_ok() {
            assert_eq!(
                frame.format(),
                Sample::F32(sample::Type::Planar),
                "AAC decodes to planar float"
            );
            *rate = frame.rate();
            if start.is_none() {
                *start = Some(frame.timestamp().or(frame.pts()).unwrap_or(0) as f64 * tb);
            }
            samples.extend_from_slice(&frame.plane::<f32>(0)[..frame.samples()]);
        }
    };
    while packet.read(&mut input).is_ok() {
        if packet.stream() == index {
            decoder.send_packet(&packet).expect("send packet");
            collect(&mut decoder, &mut samples, &mut start, &mut rate);
        }
    }
    let _ = decoder.send_eof();
    collect(&mut decoder, &mut samples, &mut start, &mut rate);
    (rate, start.unwrap_or(0.0), samples)
}

/// Times (s) where the picture turns white.
pub fn flash_onsets(frames: &[(f64, f64)]) -> Vec<f64> {
    let mut onsets = Vec::new();
    let mut was = false;
    for &(t, luma) in frames {
        let is = luma > FLASH_LUMA_THRESHOLD;
        if is && !was {
            onsets.push(t);
        }
        was = is;
    }
    onsets
}

/// Times (s) where the tone starts after at least 0.5 s of quiet.
pub fn beep_onsets(rate: u32, start: f64, samples: &[f32]) -> Vec<f64> {
    let quiet_needed = rate as usize / 2;
    let mut quiet = quiet_needed;
    let mut onsets = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        if s.abs() > 0.1 {
            if quiet >= quiet_needed {
                onsets.push(start + i as f64 / f64::from(rate));
            }
            quiet = 0;
        } else {
            quiet += 1;
        }
    }
    onsets
}

/// For every flash, the distance (s) to the nearest beep: audio minus video.
pub fn av_offsets(path: &Path) -> Vec<f64> {
    let flashes = flash_onsets(&decode_video(path));
    let (rate, start, samples) = decode_audio(path);
    let beeps = beep_onsets(rate, start, &samples);
    let audio_end = start + samples.len() as f64 / f64::from(rate.max(1));
    // The first 21 ms of sound are the AAC encoder's priming: the marker at 0 s
    // has its beep cut, so only later markers count.
    flashes
        .iter()
        .filter(|&&f| f >= 0.5)
        // A marker cut by the stop has no whole beep to compare with.
        .filter(|&&f| f + 0.2 <= audio_end)
        .filter_map(|f| {
            beeps
                .iter()
                .map(|b| b - f)
                .min_by(|a, b| a.abs().total_cmp(&b.abs()))
        })
        .collect()
}

/// Duration gst-discoverer (GStreamer, the desktop player) reports, in seconds.
pub fn gstreamer_duration(path: &Path) -> Option<f64> {
    let out = std::process::Command::new("gst-discoverer-1.0")
        .arg(path)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("Duration:"))?;
    let value = line.split_once(':')?.1.trim();
    let parts: Vec<&str> = value.split(':').collect();
    if parts.len() != 3 {
        return None;
    }
    let h: f64 = parts[0].parse().ok()?;
    let m: f64 = parts[1].parse().ok()?;
    let s: f64 = parts[2].parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "pigeon_media=info".into()),
        )
        .with_test_writer()
        .try_init();
}
