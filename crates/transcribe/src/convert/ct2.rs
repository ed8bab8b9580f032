//! Reading CTranslate2's `model.bin`: a version, the model spec's name, a table of named
//! variables (shape, data type, raw little-endian bytes) and aliases.
//!
//! Layout (CTranslate2 `models/model.cc`, binary version 2..=6): `u32 version`,
//! `string spec`, `u32 spec_revision`, `u32 n_variables`, then per variable
//! `string name, u8 rank, u32 dims[rank], u8 dtype, u32 n_bytes, bytes`, then
//! `u32 n_aliases` and pairs of strings. A string is `u16 length` (counting a closing NUL)
//! and that many bytes.

use std::collections::BTreeMap;

/// The data types CTranslate2 stores (its `DataType` enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl DType {
    fn from_id(id: u8) -> Option<DType> {
        Some(match id {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::Bf16,
            _ => return None,
        })
    }

    pub(crate) fn item_size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I16 | DType::F16 | DType::Bf16 => 2,
            DType::F32 | DType::I32 => 4,
        }
    }
}

/// One variable, borrowing its bytes from the file.
#[derive(Debug)]
pub(crate) struct Variable<'a> {
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub data: &'a [u8],
}

impl Variable<'_> {
    pub(crate) fn elements(&self) -> usize {
        self.shape.iter().product()
    }

    /// An integer scalar (e.g. `encoder/num_heads`), whatever integer type it was saved in.
    pub(crate) fn scalar_int(&self) -> Option<i64> {
        if self.elements() != 1 {
            return None;
        }
        let d = self.data;
        Some(match self.dtype {
            DType::I8 => i64::from(d[0] as i8),
            DType::I16 => i64::from(i16::from_le_bytes([d[0], d[1]])),
            DType::I32 => i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]])),
            _ => return None,
        })
    }

    /// The values as f32, whatever float type they were saved in.
    pub(crate) fn to_f32(&self) -> Option<Vec<f32>> {
        let d = self.data;
        Some(match self.dtype {
            DType::F32 => d
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            DType::F16 => d
                .chunks_exact(2)
                .map(|c| super::half::f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
            DType::Bf16 => d
                .chunks_exact(2)
                .map(|c| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16))
                .collect(),
            DType::I8 | DType::I16 | DType::I32 => return None,
        })
    }
}

/// A parsed `model.bin`.
#[derive(Debug)]
pub(crate) struct Ct2Model<'a> {
    pub spec: String,
    pub variables: BTreeMap<String, Variable<'a>>,
}

/// Parses the whole file; the error is a short reason (the caller names the file).
pub(crate) fn parse(bytes: &[u8]) -> Result<Ct2Model<'_>, String> {
    let mut r = Reader { bytes, at: 0 };
    let version = r.u32()?;
    if !(2..=6).contains(&version) {
        return Err(format!(
            "its binary version is {version}, and only versions 2 to 6 are understood"
        ));
    }
    let spec = r.string()?;
    let _spec_revision = r.u32()?;
    let count = r.u32()?;
    let mut variables = BTreeMap::new();
    for _ in 0..count {
        let name = r.string()?;
        let rank = usize::from(r.u8()?);
        let mut shape = Vec::with_capacity(rank);
        for _ in 0..rank {
            shape.push(r.u32()? as usize);
        }
        let (dtype, n_bytes) = if version >= 4 {
            let id = r.u8()?;
            let dtype =
                DType::from_id(id).ok_or_else(|| format!("variable {name} has data type {id}"))?;
            (dtype, r.u32()? as usize)
        } else {
            // Before version 4 the file gave the item size and the element count.
            let size = r.u8()?;
            let dtype = match size {
                1 => DType::I8,
                2 => DType::F16,
                4 => DType::F32,
                _ => return Err(format!("variable {name} has items of {size} bytes")),
            };
            (dtype, r.u32()? as usize * usize::from(size))
        };
        let data = r.take(n_bytes)?;
        let variable = Variable { shape, dtype, data };
        if variable.elements() * dtype.item_size() != n_bytes {
            return Err(format!(
                "variable {name} has {n_bytes} bytes, which does not fit its shape"
            ));
        }
        variables.insert(name, variable);
    }
    // Aliases (version >= 3) only name variables again (Whisper's output projection is the
    // token embedding); whisper.cpp ties them itself, so they are read past and dropped.
    Ok(Ct2Model { spec, variables })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| "the file ends too early (truncated?)".to_string())?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self) -> Result<String, String> {
        let len = usize::from(self.u16()?);
        let raw = self.take(len)?;
        let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
        String::from_utf8(raw.to_vec()).map_err(|_| "a name is not UTF-8".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }

    #[test]
    fn reads_a_small_variable_table() {
        let mut f = Vec::new();
        f.extend_from_slice(&6u32.to_le_bytes());
        string(&mut f, "WhisperSpec");
        f.extend_from_slice(&3u32.to_le_bytes());
        f.extend_from_slice(&2u32.to_le_bytes());
        string(&mut f, "encoder/num_heads");
        f.push(0);
        f.push(2);
        f.extend_from_slice(&2u32.to_le_bytes());
        f.extend_from_slice(&6i16.to_le_bytes());
        string(&mut f, "w");
        f.push(2);
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&2u32.to_le_bytes());
        f.push(4);
        f.extend_from_slice(&4u32.to_le_bytes());
        f.extend_from_slice(&0x3c00u16.to_le_bytes()); // 1.0
        f.extend_from_slice(&0xc000u16.to_le_bytes()); // -2.0
        f.extend_from_slice(&0u32.to_le_bytes());

        let model = parse(&f).unwrap();
        assert_eq!(model.spec, "WhisperSpec");
        assert_eq!(model.variables["encoder/num_heads"].scalar_int(), Some(6));
        let w = &model.variables["w"];
        assert_eq!(w.shape, vec![1, 2]);
        assert_eq!(w.to_f32().unwrap(), vec![1.0, -2.0]);
    }

    #[test]
    fn a_truncated_file_is_refused() {
        let mut f = Vec::new();
        f.extend_from_slice(&6u32.to_le_bytes());
        string(&mut f, "WhisperSpec");
        f.extend_from_slice(&3u32.to_le_bytes());
        f.extend_from_slice(&1u32.to_le_bytes());
        string(&mut f, "w");
        f.push(1);
        f.extend_from_slice(&100u32.to_le_bytes());
        f.push(4);
        f.extend_from_slice(&200u32.to_le_bytes());
        f.extend_from_slice(&[0; 10]);
        assert!(parse(&f).unwrap_err().contains("truncated"));
    }
}
