//! A media file with sound and no picture, given as the source: it records
//! with the still card, in real time, for as long as the sound lasts.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests: a panic is the test failing"
)]

use std::process::Command;
use std::time::{Duration, Instant};

use ffmpeg::{codec, media, Packet};
use ffmpeg_next as ffmpeg;
use pigeon_media::file::open_file;
use pigeon_media::source::{Sink, SourceContext, SourceMessage};
use pigeon_media::synthetic::SyntheticVideo;
use pigeon_media::{
    probe, AudioSource, Clock, Pacing, Recorder, RecorderConfig, StopReason, VideoFrame,
    VideoSource,
};

/// The first picture of the microphone-only still card, as packed YUV 4:2:0.
fn the_still_card(width: u32, height: u32) -> Vec<u8> {
    let mut still = SyntheticVideo::still(width, height, 30).unwrap();
    let clock = Clock::new();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ctx = SourceContext {
        clock,
        epoch: clock.now(),
        stop: stop.clone(),
    };
    let (tx, rx) = crossbeam_channel::bounded::<SourceMessage<VideoFrame>>(1);
    still
        .start(ctx, Sink::new(tx, true, Default::default()))
        .unwrap();
    let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    drop(rx);
    still.join();
    match first {
        SourceMessage::Item(frame) => frame.data,
        _ => panic!("no still card"),
    }
}

/// Luma planes of every decoded picture.
fn decode_luma(path: &std::path::Path) -> Vec<(u32, u32, Vec<u8>)> {
    pigeon_media::init();
    let mut input = ffmpeg::format::input(path).expect("open clip");
    let stream = input.streams().best(media::Type::Video).expect("video");
    let index = stream.index();
    let mut decoder = codec::context::Context::from_parameters(stream.parameters())
        .and_then(|c| c.decoder().video())
        .expect("decoder");
    let mut out = Vec::new();
    let mut frame = ffmpeg::util::frame::Video::empty();
    let mut collect = |decoder: &mut ffmpeg::decoder::Video, out: &mut Vec<_>| {
        while decoder.receive_frame(&mut frame).is_ok() {
            let (w, h, stride) = (frame.width(), frame.height(), frame.stride(0));
            let mut data = Vec::with_capacity((w * h) as usize);
            for row in 0..h as usize {
                data.extend_from_slice(&frame.data(0)[row * stride..row * stride + w as usize]);
            }
            out.push((w, h, data));
        }
    };
    let mut packet = Packet::empty();
    while packet.read(&mut input).is_ok() {
        if packet.stream() == index {
            decoder.send_packet(&packet).expect("packet");
            collect(&mut decoder, &mut out);
        }
    }
    decoder.send_eof().expect("eof");
    collect(&mut decoder, &mut out);
    out
}

#[test]
fn a_sound_only_file_records_with_the_still_card_for_the_length_of_its_sound() {
    pigeon_media::init();
    let dir = tempfile::tempdir().unwrap();
    let memo = dir.path().join("memo.m4a");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=440:d=2.5"])
        .args(["-c:a", "aac", "-b:a", "96k"])
        .arg(&memo)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made the memo");
    assert!(probe(&memo).unwrap().video().is_none(), "sound only");

    let (video, audio) = open_file(&memo, Pacing::RealTime).expect("a sound-only file opens");
    assert!(video.is_still_card());
    assert!(video.is_live(), "paced in real time");
    let audio = audio.expect("its sound");
    assert!(audio.is_live());
    let out = dir.path().join("memo.mp4");
    let started = Instant::now();
    let outcome = Recorder::start(
        RecorderConfig::new(&out),
        Box::new(video),
        Some(Box::new(audio)),
    )
    .expect("start")
    .wait()
    .expect("recording");
    let wall = started.elapsed();
    assert_eq!(outcome.stop_reason, StopReason::SourcesFinished);
    println!(
        "clip {:.3} s, {} frames, recorded in {:.3} s",
        outcome.duration.as_secs_f64(),
        outcome.video_frames,
        wall.as_secs_f64()
    );
    assert!(wall >= Duration::from_millis(2300), "real time: {wall:?}");
    let length = outcome.duration.as_secs_f64();
    assert!(
        (length - 2.5).abs() < 0.15,
        "as long as the sound: {length}"
    );

    let info = probe(&outcome.playable.clone().expect("playable copy")).unwrap();
    assert!(info.audio().is_some() && info.video().is_some());
    let frames = decode_luma(&outcome.clip);
    // 2.5 s at 30 fps is 75 frames; a live source on a loaded 2-core machine
    // may lose some to late slots (the recorder counts them), never gain any.
    assert!(
        (60..=76).contains(&frames.len()),
        "{} frames at 30 fps ({} dropped)",
        frames.len(),
        outcome.dropped_frames
    );
    let card = the_still_card(1280, 720);
    for (i, (w, h, data)) in frames.iter().enumerate() {
        assert_eq!((*w, *h), (1280, 720));
        let worst = data
            .iter()
            .zip(&card)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(
            worst <= 3,
            "frame {i} is the still card (largest difference {worst})"
        );
    }
}
