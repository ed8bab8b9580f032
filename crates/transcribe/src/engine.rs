//! The whisper.cpp engine: a model file loaded once, then a clip's [`Sound`] turned into
//! a timed [`Transcript`] with segment and word times.
//!
//! It runs on the caller's thread (whisper.cpp's worker threads are started from it, so
//! they inherit its priority: call [`lower_this_threads_priority`] first on a thread of
//! your own) and never blocks anything else; progress and cancel are checked while it runs.

mod ggml;
mod words;

use std::ffi::{c_int, c_void};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use pigeon_protocol::{Segment, Transcript, TRANSCRIPT_TIME_SLACK_MS};
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
    WhisperSysContext, WhisperSysState,
};

pub use ggml::{check_model_file, ModelHeader, GGML_MAGIC};
pub use words::{fit_words_to_sound, is_annotation_only, words_from_tokens, TextToken};

use crate::sound::{quiet_threshold, Sound};
use crate::TranscribeError;

/// Below this level (dBFS) a stretch of sound holds no speech: whisper's text for it is
/// left out, and a clip that never gets louder is not given to whisper at all (on
/// silence whisper tends to invent a "Thank you." or "[BLANK_AUDIO]").
pub const SPEECH_FLOOR_DBFS: f32 = -50.0;

/// A segment whisper itself rates as more likely no speech than this, over sound that
/// is barely above the floor, is left out.
const NO_SPEECH_PROBABILITY: f32 = 0.6;
/// "Barely above the floor" for the rule above.
const QUIET_SPEECH_DBFS: f32 = -35.0;

/// A whisper.cpp model loaded into memory, ready for any number of transcriptions (one
/// at a time per call; it may be shared between threads).
pub struct Model {
    context: WhisperContext,
    name: String,
    multilingual: bool,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.name)
            .field("multilingual", &self.multilingual)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Checks the file (it exists, is a ggml Whisper model, is complete) and loads it.
    /// The name is taken from the file name: `ggml-base.en.bin` is `base.en`.
    pub fn load(path: &Path) -> Result<Model, TranscribeError> {
        route_whisper_logs();
        let header = check_model_file(path)?;
        let not_a_model = |reason: String| TranscribeError::NotAModel {
            path: path.to_path_buf(),
            reason,
        };
        let path_text = path
            .to_str()
            .ok_or_else(|| not_a_model("its path is not valid UTF-8".into()))?;
        let mut params = WhisperContextParameters::default();
        params.use_gpu(false);
        let context = WhisperContext::new_with_params(path_text, params)
            .map_err(|e| not_a_model(format!("whisper.cpp could not load it: {e}")))?;
        let multilingual = context.is_multilingual();
        if multilingual != header.is_multilingual() {
            tracing::warn!(
                model = %path.display(),
                "the model's vocabulary size and whisper.cpp disagree on whether it is multilingual"
            );
        }
        let name = model_name(path);
        tracing::info!(model = %name, multilingual, bytes = header.expected_bytes, "speech model loaded");
        Ok(Model {
            context,
            name,
            multilingual,
        })
    }

    /// True for a model that hears many languages (base, small, ...); false for the
    /// English-only ones (tiny.en, base.en, ...).
    pub fn is_multilingual(&self) -> bool {
        self.multilingual
    }

    /// The model's short name (`base.en`), written into every transcript it makes.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// `ggml-base.en.bin` -> `base.en`; any other file name without its extension.
fn model_name(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bare = file.strip_suffix(".bin").unwrap_or(&file);
    let bare = bare.strip_prefix("ggml-").unwrap_or(bare);
    if bare.is_empty() {
        "whisper".into()
    } else {
        bare.chars()
            .take(pigeon_protocol::MAX_MODEL_CHARS as usize)
            .collect()
    }
}

/// How to transcribe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscribeOptions {
    /// The spoken language (ISO 639-1, `en`, `de`, ...). None: English for an English
    /// model, detected for a multilingual one.
    pub language: Option<String>,
    /// whisper.cpp's worker threads. The default leaves one core to everything else:
    /// ggml's workers spin while they wait for each other, so on a busy machine (a
    /// recording, a build) a worker per core burned 3x the CPU time and ran 3-4x slower
    /// than one worker fewer (measured on 2 cores, tiny.en: 30 s of speech in 33-54 s
    /// with 2 threads, 12-14 s with 1 while other work ran; on the idle machine 66 s of
    /// speech took 7.1 s with 2 threads, 11.9 s with 1, still above the 5x goal).
    pub threads: usize,
    /// Written into the transcript; empty means the model's own name.
    pub model_name: String,
}

impl Default for TranscribeOptions {
    fn default() -> Self {
        TranscribeOptions {
            language: None,
            threads: std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1))
                .max(1),
            model_name: String::new(),
        }
    }
}

/// What whisper.cpp's progress callback sees: the caller's progress report.
struct Hooks<'a> {
    progress: &'a mut dyn FnMut(f32),
}

unsafe extern "C" fn on_progress(
    _: *mut WhisperSysContext,
    _: *mut WhisperSysState,
    percent: c_int,
    user_data: *mut c_void,
) {
    // SAFETY: user_data is the `Hooks` that `transcribe` keeps alive (and does not touch)
    // while whisper_full runs, which calls this on the calling thread only.
    let hooks = unsafe { &mut *user_data.cast::<Hooks<'_>>() };
    (hooks.progress)((percent as f32 / 100.0).clamp(0.0, 0.99));
}

unsafe extern "C" fn on_abort(user_data: *mut c_void) -> bool {
    // SAFETY: user_data is the caller's `AtomicBool`, alive for the whole whisper_full
    // call; ggml may ask from its worker threads, and an atomic may be read from any.
    let cancel = unsafe { &*user_data.cast::<AtomicBool>() };
    cancel.load(Ordering::Relaxed)
}

unsafe extern "C" fn on_encoder_begin(
    _: *mut WhisperSysContext,
    _: *mut WhisperSysState,
    user_data: *mut c_void,
) -> bool {
    // SAFETY: as in `on_abort`.
    let cancel = unsafe { &*user_data.cast::<AtomicBool>() };
    !cancel.load(Ordering::Relaxed)
}

/// Transcribes `sound` with `model`. `progress` gets 0..=1 (1.0 once, at the end);
/// setting `cancel` stops it within a fraction of a second with
/// [`TranscribeError::Cancelled`]. Sound without speech gives a transcript with no
/// segments, never invented text.
pub fn transcribe(
    model: &Model,
    sound: &Sound,
    options: &TranscribeOptions,
    progress: &mut dyn FnMut(f32),
    cancel: &AtomicBool,
) -> Result<Transcript, TranscribeError> {
    let language = match &options.language {
        Some(code) => {
            let code = code.trim().to_ascii_lowercase();
            if code.contains('\0') || whisper_rs::get_lang_id(&code).is_none() {
                return Err(TranscribeError::Engine(format!(
                    "{code:?} is not a language the model knows; choose another in Settings"
                )));
            }
            if !model.multilingual && code != "en" {
                return Err(TranscribeError::Engine(format!(
                    "the {} model hears English only, not {code:?}; choose a multilingual model in Settings",
                    model.name
                )));
            }
            Some(code)
        }
        None if model.multilingual => None,
        None => Some("en".to_string()),
    };
    let model_name = if options.model_name.is_empty() {
        model.name.clone()
    } else {
        options.model_name.clone()
    };
    let duration_ms = sound.duration_ms();
    let empty = |language: &str| Transcript {
        language: language.to_string(),
        model: model_name.clone(),
        duration_ms,
        segments: Vec::new(),
    };
    if cancel.load(Ordering::Relaxed) {
        return Err(TranscribeError::Cancelled);
    }
    // Nothing louder than the floor anywhere: no speech, and nothing for whisper to invent.
    let loudest = sound.levels.iter().copied().fold(f32::MIN, f32::max);
    if sound.samples.is_empty() || loudest < SPEECH_FLOOR_DBFS {
        progress(1.0);
        return Ok(empty(language.as_deref().unwrap_or("en")));
    }

    let mut state = model
        .context
        .create_state()
        .map_err(|e| TranscribeError::Engine(format!("no room for its working state: {e}")))?;
    let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    params.set_n_threads(options.threads.clamp(1, 64) as c_int);
    params.set_language(language.as_deref().or(Some("auto")));
    params.set_translate(false);
    params.set_token_timestamps(true);
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_special(false);
    params.set_print_timestamps(false);
    params.set_suppress_blank(true);
    params.set_suppress_nst(true);
    // Each 30 s window starts fresh: a mistake is not carried into the next one, which
    // is what makes whisper repeat itself on long clips.
    params.set_no_context(true);
    let mut hooks = Hooks { progress };
    let cancel_ptr = std::ptr::from_ref(cancel).cast_mut().cast::<c_void>();
    // SAFETY: the callbacks' user data outlive `state.full` below, which is the only
    // call that uses them; `hooks` is not touched while it runs.
    unsafe {
        params.set_progress_callback(Some(on_progress));
        params.set_progress_callback_user_data(std::ptr::from_mut(&mut hooks).cast::<c_void>());
        params.set_abort_callback(Some(on_abort));
        params.set_abort_callback_user_data(cancel_ptr);
        params.set_start_encoder_callback(Some(on_encoder_begin));
        params.set_start_encoder_callback_user_data(cancel_ptr);
    }
    let ran = state.full(params, &sound.samples);
    if cancel.load(Ordering::Relaxed) {
        return Err(TranscribeError::Cancelled);
    }
    ran.map_err(|e| TranscribeError::Engine(e.to_string()))?;

    let language = match language {
        Some(code) => code,
        None => whisper_rs::get_lang_str(state.full_lang_id_from_state())
            .unwrap_or("en")
            .to_string(),
    };
    let segments = read_segments(model, &state, sound)?;
    (hooks.progress)(1.0);
    Ok(Transcript {
        segments,
        ..empty(&language)
    })
}

/// whisper.cpp's segments with their words, without the ones over silence, in order,
/// not overlapping, within the sound (plus the protocol's slack).
fn read_segments(
    model: &Model,
    state: &WhisperState,
    sound: &Sound,
) -> Result<Vec<Segment>, TranscribeError> {
    let first_special = model.context.token_eot();
    let limit = sound.duration_ms() + TRANSCRIPT_TIME_SLACK_MS;
    let quiet_below = quiet_threshold(&sound.levels);
    let mut segments: Vec<Segment> = Vec::new();
    for segment in state.as_iter() {
        let text = segment
            .to_str_lossy()
            .map_err(|e| TranscribeError::Engine(e.to_string()))?;
        let text = text.trim();
        // whisper's times are in hundredths of a second.
        let mut start_ms = (segment.start_timestamp().max(0) as u64) * 10;
        let mut end_ms = (segment.end_timestamp().max(0) as u64) * 10;
        if is_annotation_only(text) {
            continue;
        }
        let loudest = sound.loudest_between(start_ms, end_ms);
        let doubtful =
            segment.no_speech_probability() > NO_SPEECH_PROBABILITY && loudest < QUIET_SPEECH_DBFS;
        if loudest < SPEECH_FLOOR_DBFS || doubtful {
            tracing::debug!(text, loudest, "left out a segment heard over silence");
            continue;
        }
        let mut tokens = Vec::new();
        for index in 0..segment.n_tokens() {
            let Some(token) = segment.get_token(index) else {
                continue;
            };
            if token.token_id() >= first_special {
                continue;
            }
            let data = token.token_data();
            let bytes = token
                .to_bytes()
                .map_err(|e| TranscribeError::Engine(e.to_string()))?;
            tokens.push(TextToken {
                bytes: bytes.to_vec(),
                start_ms: data.t0.max(0) as u64 * 10,
                end_ms: data.t1.max(0) as u64 * 10,
            });
        }
        let mut words = words_from_tokens(&tokens);
        fit_words_to_sound(&mut words, &sound.levels, quiet_below);
        // The segment starts with its first word's sound (see `fit_words_to_sound`).
        if let Some(first) = words.first() {
            start_ms = start_ms.max(first.start_ms.min(end_ms));
        }
        // Keep everything in order and inside the segment (and the segment after the one
        // before): token times may stray a little.
        let floor = segments.last().map_or(0, |s| s.end_ms);
        start_ms = start_ms.max(floor).min(limit);
        end_ms = end_ms.clamp(start_ms, limit);
        let mut at = start_ms;
        for word in &mut words {
            word.start_ms = word.start_ms.clamp(at, end_ms);
            word.end_ms = word.end_ms.clamp(word.start_ms, end_ms);
            at = word.start_ms;
        }
        segments.push(Segment {
            start_ms,
            end_ms,
            text: text.to_string(),
            words,
        });
    }
    Ok(segments)
}

/// Lowers the calling thread (and the threads it starts, which inherit it) below
/// everything else: SCHED_IDLE where Linux allows it, and nice 19 in any case, so a
/// transcription never takes a core from a recording.
pub fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's own id, with a valid,
        // initialised sched_param.
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            if libc::setpriority(libc::PRIO_PROCESS, tid, 19) != 0 {
                tracing::debug!(error = %std::io::Error::last_os_error(), "could not lower the thread's nice value");
            }
            let param = libc::sched_param { sched_priority: 0 };
            if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
                tracing::debug!(error = %std::io::Error::last_os_error(), "could not make the thread idle-priority");
            }
        }
    }
}

/// whisper.cpp and ggml log to stderr by default; this sends their lines to `tracing`
/// (target `whisper_rs`) instead. Once per process.
fn route_whisper_logs() {
    whisper_rs::install_logging_hooks();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_come_from_the_file_name() {
        assert_eq!(model_name(Path::new("/m/ggml-base.en.bin")), "base.en");
        assert_eq!(model_name(Path::new("/m/ggml-small.bin")), "small");
        assert_eq!(model_name(Path::new("my-model.bin")), "my-model");
        assert_eq!(model_name(Path::new("/")), "whisper");
    }

    #[test]
    fn the_default_leaves_a_core_to_everything_else() {
        let options = TranscribeOptions::default();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(options.threads, (cores - 1).max(1));
        assert_eq!(options.language, None);
    }
}
