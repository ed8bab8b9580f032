//! Which CTranslate2 variable becomes which whisper.cpp tensor, and the model's sizes.
//!
//! whisper.cpp looks tensors up by OpenAI's PyTorch names (`encoder.blocks.0.attn.query.weight`
//! ...), checks each one's shape and element type, and wants every one of them. CTranslate2
//! fuses some: self-attention's query, key and value are one `linear_0` (3d x d) and
//! cross-attention's key and value one `linear_1` (2d x d); they are split by rows here.
//! Whisper's key projection has no bias (CTranslate2 stores zeros), and whisper.cpp has no
//! key-bias tensor: a key bias only adds the same number to every score of a query, which the
//! softmax cancels, so dropping it is exact.

use std::ops::Range;

use super::ct2::{Ct2Model, DType, Variable};

/// The header numbers whisper.cpp reads, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hparams {
    pub n_vocab: usize,
    pub n_audio_ctx: usize,
    pub n_audio_state: usize,
    pub n_audio_head: usize,
    pub n_audio_layer: usize,
    pub n_text_ctx: usize,
    pub n_text_state: usize,
    pub n_text_head: usize,
    pub n_text_layer: usize,
    pub n_mels: usize,
}

/// One tensor to write: rows `rows` of a variable, under a new name and shape (PyTorch order).
pub(crate) struct Planned<'m, 'a> {
    pub name: String,
    pub shape: Vec<usize>,
    pub source: &'m Variable<'a>,
    pub rows: Range<usize>,
    /// whisper.cpp keeps norms, biases and positional embeddings in f32, the rest in f16.
    pub f32: bool,
}

struct Planner<'m, 'a> {
    model: &'m Ct2Model<'a>,
    out: Vec<Planned<'m, 'a>>,
}

impl<'m, 'a> Planner<'m, 'a> {
    fn var(&self, name: &str) -> Result<&'m Variable<'a>, String> {
        let v = self
            .model
            .variables
            .get(name)
            .ok_or_else(|| format!("it has no variable {name}"))?;
        if !matches!(v.dtype, DType::F32 | DType::F16 | DType::Bf16) {
            return Err(format!(
                "variable {name} is stored as {:?}, and only float32, float16 or bfloat16 \
                 weights can be converted (re-export the model without quantization)",
                v.dtype
            ));
        }
        Ok(v)
    }

    /// Rows `part * n .. (part + 1) * n` of a (possibly fused) variable, `n = rows / parts`.
    fn push_part(
        &mut self,
        src: &str,
        dst: &str,
        parts: usize,
        part: usize,
        f32: bool,
    ) -> Result<(), String> {
        let v = self.var(src)?;
        let total = *v
            .shape
            .first()
            .ok_or_else(|| format!("{src} is a scalar"))?;
        if total % parts != 0 {
            return Err(format!("{src} has {total} rows, not {parts} equal parts"));
        }
        let n = total / parts;
        let mut shape = v.shape.clone();
        shape[0] = n;
        self.out.push(Planned {
            name: dst.to_string(),
            shape,
            source: v,
            rows: part * n..(part + 1) * n,
            f32,
        });
        Ok(())
    }

    fn push(&mut self, src: &str, dst: &str) -> Result<(), String> {
        let rank = self.var(src)?.shape.len();
        self.push_part(src, dst, 1, 0, rank < 2)
    }

    fn linear(&mut self, src: &str, dst: &str) -> Result<(), String> {
        self.push(&format!("{src}/weight"), &format!("{dst}.weight"))?;
        self.push(&format!("{src}/bias"), &format!("{dst}.bias"))
    }

    fn norm(&mut self, src: &str, dst: &str) -> Result<(), String> {
        self.push(&format!("{src}/gamma"), &format!("{dst}.weight"))?;
        self.push(&format!("{src}/beta"), &format!("{dst}.bias"))
    }

    /// A fused projection's pieces, in order, to `names`; `false` drops that piece's bias.
    fn fused(&mut self, src: &str, names: &[(&str, bool)]) -> Result<(), String> {
        let parts = names.len();
        for (i, (dst, has_bias)) in names.iter().enumerate() {
            self.push_part(
                &format!("{src}/weight"),
                &format!("{dst}.weight"),
                parts,
                i,
                false,
            )?;
            if *has_bias {
                self.push_part(
                    &format!("{src}/bias"),
                    &format!("{dst}.bias"),
                    parts,
                    i,
                    true,
                )?;
            }
        }
        Ok(())
    }

    fn attention_block(&mut self, src: &str, dst: &str) -> Result<(), String> {
        self.norm(
            &format!("{src}/self_attention/layer_norm"),
            &format!("{dst}.attn_ln"),
        )?;
        self.fused(
            &format!("{src}/self_attention/linear_0"),
            &[
                (&format!("{dst}.attn.query"), true),
                (&format!("{dst}.attn.key"), false),
                (&format!("{dst}.attn.value"), true),
            ],
        )?;
        self.linear(
            &format!("{src}/self_attention/linear_1"),
            &format!("{dst}.attn.out"),
        )?;
        self.norm(&format!("{src}/ffn/layer_norm"), &format!("{dst}.mlp_ln"))?;
        self.linear(&format!("{src}/ffn/linear_0"), &format!("{dst}.mlp.0"))?;
        self.linear(&format!("{src}/ffn/linear_1"), &format!("{dst}.mlp.2"))
    }

    fn scalar(&self, name: &str) -> Result<usize, String> {
        let v = self
            .model
            .variables
            .get(name)
            .ok_or_else(|| format!("it has no variable {name}"))?;
        v.scalar_int()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| format!("{name} is not a count"))
    }

    fn dim(&self, name: &str, axis: usize) -> Result<usize, String> {
        self.var(name)?
            .shape
            .get(axis)
            .copied()
            .ok_or_else(|| format!("{name} has no axis {axis}"))
    }

    fn layers(&self, prefix: &str) -> usize {
        (0..)
            .take_while(|i| {
                let p = format!("{prefix}/layer_{i}/");
                self.model
                    .variables
                    .range(p.clone()..)
                    .next()
                    .is_some_and(|(k, _)| k.starts_with(&p))
            })
            .count()
    }
}

/// Every whisper.cpp tensor of the model, with the header numbers.
pub(crate) fn plan<'m, 'a>(
    model: &'m Ct2Model<'a>,
) -> Result<(Hparams, Vec<Planned<'m, 'a>>), String> {
    let mut p = Planner {
        model,
        out: Vec::new(),
    };
    let enc_pe = "encoder/position_encodings/encodings";
    let dec_pe = "decoder/position_encodings/encodings";
    let hparams = Hparams {
        n_vocab: p.dim("decoder/embeddings/weight", 0)?,
        n_audio_ctx: p.dim(enc_pe, 0)?,
        n_audio_state: p.dim(enc_pe, 1)?,
        n_audio_head: p.scalar("encoder/num_heads")?,
        n_audio_layer: p.layers("encoder"),
        n_text_ctx: p.dim(dec_pe, 0)?,
        n_text_state: p.dim(dec_pe, 1)?,
        n_text_head: p.scalar("decoder/num_heads")?,
        n_text_layer: p.layers("decoder"),
        n_mels: p.dim("encoder/conv1/weight", 1)?,
    };
    if hparams.n_audio_layer == 0 || hparams.n_text_layer == 0 {
        return Err("it has no encoder or decoder layers".to_string());
    }

    p.push_part(enc_pe, "encoder.positional_embedding", 1, 0, true)?;
    for conv in ["conv1", "conv2"] {
        p.push(
            &format!("encoder/{conv}/weight"),
            &format!("encoder.{conv}.weight"),
        )?;
        p.push(
            &format!("encoder/{conv}/bias"),
            &format!("encoder.{conv}.bias"),
        )?;
        // whisper.cpp wants the conv bias as an (n, 1) matrix.
        if let Some(last) = p.out.last_mut() {
            last.shape.push(1);
        }
    }
    for i in 0..hparams.n_audio_layer {
        p.attention_block(
            &format!("encoder/layer_{i}"),
            &format!("encoder.blocks.{i}"),
        )?;
    }
    p.norm("encoder/layer_norm", "encoder.ln_post")?;

    p.push_part(dec_pe, "decoder.positional_embedding", 1, 0, true)?;
    p.push(
        "decoder/embeddings/weight",
        "decoder.token_embedding.weight",
    )?;
    for i in 0..hparams.n_text_layer {
        let (src, dst) = (format!("decoder/layer_{i}"), format!("decoder.blocks.{i}"));
        p.attention_block(&src, &dst)?;
        p.norm(
            &format!("{src}/attention/layer_norm"),
            &format!("{dst}.cross_attn_ln"),
        )?;
        p.linear(
            &format!("{src}/attention/linear_0"),
            &format!("{dst}.cross_attn.query"),
        )?;
        p.fused(
            &format!("{src}/attention/linear_1"),
            &[
                (&format!("{dst}.cross_attn.key"), false),
                (&format!("{dst}.cross_attn.value"), true),
            ],
        )?;
        p.linear(
            &format!("{src}/attention/linear_2"),
            &format!("{dst}.cross_attn.out"),
        )?;
    }
    p.norm("decoder/layer_norm", "decoder.ln")?;
    Ok((hparams, p.out))
}
