//! Transcription benchmark (not a test). Run:
//!
//! ```text
//! cargo bench -p pigeon-transcribe --bench transcribe
//! ```
//!
//! 1. Speed: 60 s of espeak-ng speech transcribed with tiny.en (the test model) and,
//!    when `$PIGEON_BASE_EN_MODEL` names a file, base.en, and the multilingual base of
//!    `testing::base_model()` when it is there; prints times real time (goal
//!    >= 5x for tiny.en), the word error rate and the peak RSS after each model.
//! 2. Beside a recording: a live 720p30 recording (synthetic picture with sensor noise
//!    and tone, real time) runs alone, then again while tiny.en transcribes over and over
//!    on a thread lowered with `lower_this_threads_priority`, as the app does after Stop;
//!    prints both recordings' dropped frames (goal: 0, and no more than alone).
//!
//! `PIGEON_BENCH_SECONDS` changes the speech length (default 60) and
//! `PIGEON_BENCH_RECORD_SECONDS` the recordings' (default 30); `PIGEON_BENCH_PARTS` =
//! `speed` or `record` runs only one part.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a benchmark, not a test: a failed step ends the run with its message"
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pigeon_media::synthetic::{SyntheticAudio, SyntheticVideo};
use pigeon_media::{Pacing, QualityPreset, Recorder, RecorderConfig, RecordingOutcome};
use pigeon_transcribe::{
    decode_sound, lower_this_threads_priority, transcribe, word_error_rate, Model, Sound,
    TranscribeOptions,
};

const TINY_GOAL_X: f64 = 5.0;

fn env_seconds(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn current_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `seconds` of speech: the test text again and again with a second's breath between.
fn speech(dir: &Path, seconds: u64) -> (PathBuf, String) {
    let one = dir.join("one.wav");
    common::speak(common::SPEECH, &one);
    let breath = dir.join("breath.wav");
    common::run(
        Command::new("sox")
            .arg(&one)
            .arg(&breath)
            .args(["pad", "0", "1"]),
    );
    let looped = dir.join("looped.wav");
    common::loop_to(&breath, seconds as f64, &looped);
    let out = dir.join("speech.wav");
    common::run(Command::new("sox").arg(&looped).arg(&out).args([
        "trim",
        "0",
        &seconds.to_string(),
    ]));
    // The reference is what was said: whole repeats, plus the words of the cut one
    // that fit (counted from the speaking rate), so the cut does not count as errors.
    let per_repeat = common::wav_seconds(&breath);
    let whole = (seconds as f64 / per_repeat).floor() as usize;
    let words = pigeon_transcribe::normalised_words(common::SPEECH);
    let spoken_share = (seconds as f64 - whole as f64 * per_repeat) / (per_repeat - 1.0);
    let partial = ((words.len() as f64) * spoken_share.clamp(0.0, 1.0)).floor() as usize;
    let mut reference = vec![common::SPEECH.to_string(); whole];
    reference.push(words[..partial].join(" "));
    (out, reference.join(" "))
}

/// CPU time of this process (every thread, whisper.cpp's workers too).
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// One transcription on a thread of its own (lowered or not): wall and CPU seconds.
fn timed_run(
    model: &Model,
    sound: &Sound,
    options: &TranscribeOptions,
    lowered: bool,
) -> (f64, f64, String) {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                if lowered {
                    lower_this_threads_priority();
                }
                let cpu = cpu_seconds();
                let started = Instant::now();
                let t = transcribe(model, sound, options, &mut |_| {}, &AtomicBool::new(false))
                    .expect("transcribe");
                (
                    started.elapsed().as_secs_f64(),
                    cpu_seconds() - cpu,
                    format!("{}\u{0}{}", t.language, common::words_of(&t)),
                )
            })
            .join()
            .unwrap()
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn speed(name: &str, path: &Path, sound: &Sound, reference: &str, goal: Option<f64>) {
    let loaded_at = Instant::now();
    let model = Model::load(path).expect("the model loads");
    let load = loaded_at.elapsed();
    let seconds = sound.duration_ms() as f64 / 1000.0;
    let options = TranscribeOptions::default();
    // Twice at normal priority (the first run may pay for a cold page cache), the faster
    // counts; then once lowered, as the app runs it.
    let mut best = (f64::MAX, f64::MAX);
    let mut heard = String::new();
    for _ in 0..2 {
        let (wall, cpu, text) = timed_run(&model, sound, &options, false);
        if wall < best.0 {
            best = (wall, cpu);
        }
        heard = text;
    }
    let (lowered_wall, _, _) = timed_run(&model, sound, &options, true);
    let (wall, cpu) = best;
    let x = seconds / wall;
    // What the machine would do with its cores to itself: the CPU time spread over them.
    let idle_x = seconds / (cpu / options.threads as f64);
    let (language, heard) = heard.split_once('\u{0}').unwrap_or(("?", &heard));
    let wer = word_error_rate(reference, heard);
    let goal_text = goal.map_or(String::new(), |g| format!(" (goal >= {g:.0}x)"));
    println!("{name} ({}):", path.display());
    println!("  model load            {:.2} s", load.as_secs_f64());
    println!(
        "  transcription         {wall:.2} s wall, {cpu:.2} CPU-s for {seconds:.1} s of speech, {} threads (best of 2; load average {})",
        options.threads,
        load_average()
    );
    println!("  speed                 {x:.1}x real time{goal_text}");
    println!(
        "  speed, CPU-bound      {idle_x:.1}x real time on {} idle cores (speech s / (CPU-s / threads)){goal_text}",
        options.threads
    );
    println!(
        "  lowered priority      {lowered_wall:.2} s wall ({:.1}x) beside whatever else runs",
        seconds / lowered_wall
    );
    println!(
        "  word error rate       {:.1} % (language {language})",
        wer * 100.0
    );
    println!(
        "  peak RSS so far       {:.0} MB (now {:.0} MB with the model loaded)",
        peak_rss_mb(),
        current_rss_mb()
    );
}

fn record_live(dir: &Path, name: &str, seconds: u64) -> RecordingOutcome {
    let out = dir.join(format!("{name}.mp4"));
    let length = Some(Duration::from_secs(seconds));
    let video = SyntheticVideo::new(1280, 720, 30, Pacing::RealTime, length)
        .expect("settings")
        .with_sensor_noise(true);
    let audio = SyntheticAudio::new(48_000, Pacing::RealTime, length).expect("settings");
    let mut config = RecorderConfig::new(&out);
    config.quality = QualityPreset::Standard;
    Recorder::start(config, Box::new(video), Some(Box::new(audio)))
        .expect("start the live recording")
        .wait()
        .expect("the live recording")
}

fn beside_a_recording(dir: &Path, model_path: &Path, sound: &Sound, seconds: u64) {
    let alone = record_live(dir, "alone", seconds);
    let model = Model::load(model_path).expect("the model loads");
    let stop = AtomicBool::new(false);
    let finished = AtomicUsize::new(0);
    let (beside, transcribed) = std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            lower_this_threads_priority();
            let mut audio_seconds = 0.0;
            while !stop.load(Ordering::Relaxed) {
                match transcribe(
                    &model,
                    sound,
                    &TranscribeOptions::default(),
                    &mut |_| {},
                    &stop,
                ) {
                    Ok(_) => {
                        finished.fetch_add(1, Ordering::Relaxed);
                        audio_seconds += sound.duration_ms() as f64 / 1000.0;
                    }
                    Err(pigeon_transcribe::TranscribeError::Cancelled) => break,
                    Err(e) => panic!("{e}"),
                }
            }
            audio_seconds
        });
        let outcome = record_live(dir, "beside", seconds);
        stop.store(true, Ordering::Relaxed);
        (outcome, worker.join().unwrap())
    });
    let line = |what: &str, o: &RecordingOutcome| {
        println!(
            "  {what:<22}{} dropped of {} frames, {} repeated slots, jitter p99 {:.1} ms",
            o.dropped_frames,
            o.video_frames,
            o.repeated_frames,
            o.frame_jitter_p99.as_secs_f64() * 1000.0
        );
    };
    println!(
        "live 720p30 recording, {seconds} s, alone and beside transcription (goal: 0 dropped):"
    );
    line("alone", &alone);
    line("beside transcription", &beside);
    println!(
        "  meanwhile             {} whole transcriptions finished ({transcribed:.0} s of speech) at the lowest priority",
        finished.load(Ordering::Relaxed)
    );
}

fn main() {
    // `cargo bench` passes --bench; anything else is ignored.
    let seconds = env_seconds("PIGEON_BENCH_SECONDS", 60);
    let record_seconds = env_seconds("PIGEON_BENCH_RECORD_SECONDS", 30);
    let parts = std::env::var("PIGEON_BENCH_PARTS").unwrap_or_else(|_| "all".into());
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let tiny = common::model_path();
    let (wav, reference) = speech(dir, seconds);
    let sound = decode_sound(&wav).expect("decode the speech");
    println!(
        "pigeon-transcribe benchmark: {:.1} s of espeak-ng speech, {} cores",
        sound.duration_ms() as f64 / 1000.0,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if parts != "record" {
        speed("tiny.en", &tiny, &sound, &reference, Some(TINY_GOAL_X));
        match std::env::var_os("PIGEON_BASE_EN_MODEL").map(PathBuf::from) {
            Some(base) if base.is_file() => speed("base.en", &base, &sound, &reference, None),
            Some(base) => println!("base.en: not available ({} is not a file)", base.display()),
            None => {
                println!("base.en: not available (set PIGEON_BASE_EN_MODEL to ggml-base.en.bin)")
            }
        }
        // The multilingual base the tests use (detects the language itself).
        match pigeon_transcribe::testing::base_model() {
            Ok(base) => speed("base (multilingual)", &base, &sound, &reference, None),
            Err(why) => println!("base (multilingual): not available ({why})"),
        }
    }
    if parts != "speed" {
        beside_a_recording(dir, &tiny, &sound, record_seconds);
    }
}
