//! A look at a model file before whisper.cpp gets it: whisper.cpp trusts its input, so a
//! file of the wrong kind or one cut short must be refused here, in Rust, with a sentence.
//!
//! The layout (whisper.cpp's `whisper_model_load`): the magic `ggml`, eleven i32
//! hyper-parameters, the mel filterbank, the vocabulary, then tensors, each a small
//! header followed by its data, back to back up to the end of the file.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::TranscribeError;

/// `ggml` read as a little-endian u32, the first four bytes of every whisper.cpp model.
pub const GGML_MAGIC: u32 = 0x6767_6d6c;

/// What the header says about the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelHeader {
    pub n_vocab: i32,
    pub n_audio_layer: i32,
    pub n_text_layer: i32,
    /// The file size the header and the tensors' own headers add up to.
    pub expected_bytes: u64,
}

impl ModelHeader {
    /// Whisper's multilingual vocabularies have 51865 (or, for large-v3, 51866) tokens;
    /// the English-only ones have 51864.
    pub fn is_multilingual(&self) -> bool {
        self.n_vocab >= 51865
    }
}

/// Reads the header and walks the tensor headers of `path`, so that a file that is not a
/// whisper.cpp model, or is shorter than its contents say, never reaches whisper.cpp.
pub fn check_model_file(path: &Path) -> Result<ModelHeader, TranscribeError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(TranscribeError::ModelMissing {
                path: path.to_path_buf(),
            })
        }
        Err(e) => {
            return Err(TranscribeError::NotAModel {
                path: path.to_path_buf(),
                reason: format!("it cannot be read: {e}"),
            })
        }
    };
    let actual = file.metadata().map(|m| m.len()).unwrap_or(0);
    if actual == 0 {
        return Err(TranscribeError::NotAModel {
            path: path.to_path_buf(),
            reason: "the file is empty".into(),
        });
    }
    let not_a_model = |reason: &str| TranscribeError::NotAModel {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let mut reader = Walker {
        inner: BufReader::new(file),
        at: 0,
        len: actual,
    };
    // Too short for even the magic: not a model (nothing says how long it should be).
    let magic = reader.u32().ok_or_else(|| not_a_model("it is too short"))?;
    if magic != GGML_MAGIC {
        return Err(not_a_model("it does not start with the ggml mark"));
    }
    let truncated = |expected: u64| TranscribeError::ModelTruncated {
        path: path.to_path_buf(),
        expected,
        actual,
    };
    // From here on the file claims to be a model: running out of bytes means it was cut.
    let mut hparams = [0i32; 11];
    for value in &mut hparams {
        *value = reader.i32().ok_or_else(|| truncated(actual + 1))?;
    }
    let [n_vocab, _n_audio_ctx, _n_audio_state, _n_audio_head, n_audio_layer, _n_text_ctx, _n_text_state, _n_text_head, n_text_layer, n_mels, _ftype] =
        hparams;
    let plausible = (50_000..=60_000).contains(&n_vocab)
        && (1..=64).contains(&n_audio_layer)
        && (1..=64).contains(&n_text_layer)
        && (1..=256).contains(&n_mels);
    if !plausible {
        return Err(not_a_model("its header does not describe a Whisper model"));
    }
    let n_mel = reader.i32().ok_or_else(|| truncated(actual + 1))?;
    let n_fft = reader.i32().ok_or_else(|| truncated(actual + 1))?;
    if !(0..=1024).contains(&n_mel) || !(0..=4096).contains(&n_fft) {
        return Err(not_a_model("its mel filterbank is malformed"));
    }
    reader
        .skip(n_mel as u64 * n_fft as u64 * 4)
        .map_err(truncated)?;
    let words = reader.i32().ok_or_else(|| truncated(actual + 1))?;
    if !(0..=n_vocab).contains(&words) {
        return Err(not_a_model("its vocabulary is malformed"));
    }
    for _ in 0..words {
        let len = reader.u32().ok_or_else(|| truncated(actual + 1))?;
        if len > 1024 {
            return Err(not_a_model("its vocabulary is malformed"));
        }
        reader.skip(u64::from(len)).map_err(truncated)?;
    }
    // Every whisper model has the same tensors per layer: 11 outside the layers,
    // 15 per encoder layer and 24 per decoder layer.
    let wanted = 11 + 15 * n_audio_layer as u64 + 24 * n_text_layer as u64;
    let mut tensors = 0u64;
    let mut last_size = 0u64;
    while reader.at < reader.len {
        let header = (|| Some((reader.i32()?, reader.i32()?, reader.i32()?)))();
        let (n_dims, name_len, ttype) = header.ok_or_else(|| truncated(actual + 1))?;
        if !(1..=4).contains(&n_dims) || !(1..=256).contains(&name_len) {
            return Err(not_a_model("a tensor header is malformed"));
        }
        let mut elements = 1u64;
        for _ in 0..n_dims {
            let ne = reader.i32().ok_or_else(|| truncated(actual + 1))?;
            if ne <= 0 {
                return Err(not_a_model("a tensor header is malformed"));
            }
            elements = elements.saturating_mul(ne as u64);
        }
        reader.skip(name_len as u64).map_err(truncated)?;
        let Some(bytes) = tensor_bytes(ttype, elements) else {
            // A type this check does not know: whisper.cpp is the judge of the rest.
            return Ok(ModelHeader {
                n_vocab,
                n_audio_layer,
                n_text_layer,
                expected_bytes: actual,
            });
        };
        last_size = bytes;
        reader.skip(bytes).map_err(truncated)?;
        tensors += 1;
    }
    if tensors < wanted {
        // Cut exactly between two tensors: the missing ones are at least as big as the last.
        return Err(truncated(actual + last_size.max(1) * (wanted - tensors)));
    }
    Ok(ModelHeader {
        n_vocab,
        n_audio_layer,
        n_text_layer,
        expected_bytes: reader.at,
    })
}

/// Bytes of a tensor of `elements` values stored as ggml type `ttype`; None for a type
/// this check does not know.
fn tensor_bytes(ttype: i32, elements: u64) -> Option<u64> {
    // (block size in values, bytes per block), from ggml's type traits.
    let (block, size) = match ttype {
        0 => (1, 4),      // F32
        1 | 30 => (1, 2), // F16, BF16
        2 => (32, 18),    // Q4_0
        3 => (32, 20),    // Q4_1
        6 => (32, 22),    // Q5_0
        7 => (32, 24),    // Q5_1
        8 => (32, 34),    // Q8_0
        10 => (256, 84),  // Q2_K
        11 => (256, 110), // Q3_K
        12 => (256, 144), // Q4_K
        13 => (256, 176), // Q5_K
        14 => (256, 210), // Q6_K
        _ => return None,
    };
    Some(elements.div_ceil(block) * size)
}

/// Reads little-endian values and skips ahead, keeping count of where it is.
struct Walker {
    inner: BufReader<File>,
    at: u64,
    len: u64,
}

impl Walker {
    fn bytes4(&mut self) -> Option<[u8; 4]> {
        let mut buf = [0u8; 4];
        self.inner.read_exact(&mut buf).ok()?;
        self.at += 4;
        Some(buf)
    }

    fn u32(&mut self) -> Option<u32> {
        self.bytes4().map(u32::from_le_bytes)
    }

    fn i32(&mut self) -> Option<i32> {
        self.bytes4().map(i32::from_le_bytes)
    }

    /// Skips `n` bytes; Err with the size the file needed to have when it ends first.
    fn skip(&mut self, n: u64) -> Result<(), u64> {
        let to = self.at.saturating_add(n);
        if to > self.len {
            return Err(to);
        }
        self.inner.seek(SeekFrom::Start(to)).map_err(|_| to)?;
        self.at = to;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests: a panic is the test failing")]

    use super::*;

    /// A tiny but well-formed ggml whisper file: 1 encoder and 1 decoder layer
    /// (11 + 15 + 24 = 50 tensors of 3 f16 values each).
    fn fake_model() -> Vec<u8> {
        let mut out = Vec::new();
        let i32s = |out: &mut Vec<u8>, values: &[i32]| {
            for v in values {
                out.extend_from_slice(&v.to_le_bytes());
            }
        };
        out.extend_from_slice(&GGML_MAGIC.to_le_bytes());
        i32s(&mut out, &[51864, 1500, 384, 6, 1, 448, 384, 6, 1, 80, 1]);
        i32s(&mut out, &[2, 3]);
        out.extend_from_slice(&[0u8; 2 * 3 * 4]);
        i32s(&mut out, &[2]);
        for word in [&b"a"[..], b"bc"] {
            out.extend_from_slice(&(word.len() as u32).to_le_bytes());
            out.extend_from_slice(word);
        }
        for t in 0..50 {
            let name = format!("tensor.{t}");
            i32s(&mut out, &[1, name.len() as i32, 1, 3]);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&[0u8; 6]);
        }
        out
    }

    fn check(bytes: &[u8]) -> Result<ModelHeader, TranscribeError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        std::fs::write(&path, bytes).unwrap();
        check_model_file(&path)
    }

    #[test]
    fn a_whole_model_file_passes_with_its_size() {
        let bytes = fake_model();
        let header = check(&bytes).unwrap();
        assert_eq!(header.expected_bytes, bytes.len() as u64);
        assert!(!header.is_multilingual());
        assert_eq!((header.n_audio_layer, header.n_text_layer), (1, 1));
    }

    #[test]
    fn a_model_cut_anywhere_is_truncated() {
        let bytes = fake_model();
        for cut in [60, 100, bytes.len() - 30, bytes.len() - 3, bytes.len() - 1] {
            match check(&bytes[..cut]) {
                Err(TranscribeError::ModelTruncated {
                    expected, actual, ..
                }) => {
                    assert_eq!(actual, cut as u64);
                    assert!(expected > actual, "cut at {cut}: expected {expected}");
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn other_files_are_not_models() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0";
        assert!(matches!(check(png), Err(TranscribeError::NotAModel { .. })));
        assert!(matches!(check(b""), Err(TranscribeError::NotAModel { .. })));
        assert!(matches!(
            check(b"gg"),
            Err(TranscribeError::NotAModel { .. })
        ));
        // The magic, then nonsense.
        let mut wrong = GGML_MAGIC.to_le_bytes().to_vec();
        wrong.extend_from_slice(&[0xff; 64]);
        assert!(matches!(
            check(&wrong),
            Err(TranscribeError::NotAModel { .. })
        ));
    }

    #[test]
    fn a_missing_file_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            check_model_file(&dir.path().join("nothing.bin")),
            Err(TranscribeError::ModelMissing { .. })
        ));
    }
}
