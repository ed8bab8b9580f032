//! The H.264 encoder the trimmer re-encodes cut points with: configured like
//! the recorder's (`mux.rs`), so its SPS/PPS can equal those of the pictures
//! it is spliced with. Whether they do is checked, never assumed.

use ffmpeg::format::Pixel;
use ffmpeg::{codec, encoder, Dictionary, Rational};
use ffmpeg_next as ffmpeg;

use super::avc::ParameterSets;
use crate::encode::{ContentKind, QualityPreset, X264Settings};
use crate::error::{MediaError, Result};

/// An opened libx264 encoder and the parameter sets it writes.
pub(crate) struct SpliceEncoder {
    pub encoder: encoder::Video,
    pub sets: Option<ParameterSets>,
    pub settings: X264Settings,
}

/// Opens the recorder's H.264 encoder with `settings` for a picture of
/// `width`x`height`, as `mux.rs` does.
pub(crate) fn open(
    width: u32,
    height: u32,
    fps: u32,
    settings: X264Settings,
) -> Result<SpliceEncoder> {
    let h264 =
        encoder::find_by_name("libx264").ok_or(MediaError::MissingEncoder { name: "libx264" })?;
    let mut venc = codec::context::Context::new_with_codec(h264)
        .encoder()
        .video()
        .map_err(|e| MediaError::ffmpeg("setting up the H.264 encoder", e))?;
    venc.set_width(width);
    venc.set_height(height);
    venc.set_format(Pixel::YUV420P);
    venc.set_time_base(Rational(1, fps as i32));
    venc.set_frame_rate(Some(Rational(fps as i32, 1)));
    venc.set_gop(fps);
    venc.set_max_b_frames(0);
    venc.set_max_bit_rate(settings.max_bitrate as usize);
    // MP4 keeps the parameter sets in the header (avcC), as the recorder does.
    venc.set_flags(codec::Flags::GLOBAL_HEADER);
    let mut opts = Dictionary::new();
    opts.set("preset", settings.preset);
    opts.set("tune", settings.tune);
    opts.set("crf", settings.crf);
    opts.set("bufsize", &settings.buffer_size().to_string());
    opts.set("keyint_min", &fps.to_string());
    opts.set("threads", "auto");
    let encoder = venc
        .open_as_with(h264, opts)
        .map_err(|e| MediaError::ffmpeg("opening the H.264 encoder (libx264)", e))?;
    // SAFETY: extradata/extradata_size of an opened encoder describe one
    // buffer owned by the encoder, alive while `encoder` is.
    let sets = unsafe {
        let ctx = &*encoder.as_ptr();
        if ctx.extradata.is_null() || ctx.extradata_size <= 0 {
            None
        } else {
            let data = std::slice::from_raw_parts(ctx.extradata, ctx.extradata_size as usize);
            ParameterSets::parse(data)
        }
    };
    Ok(SpliceEncoder {
        encoder,
        sets,
        settings,
    })
}

/// The recorder's encoder whose parameter sets equal `wanted`, trying the
/// settings of each quality preset, for a camera and for a screen (the clip does
/// not say which recorded it).
pub(crate) fn matching(
    width: u32,
    height: u32,
    fps: u32,
    wanted: &ParameterSets,
) -> Result<Option<SpliceEncoder>> {
    let every = [ContentKind::Camera, ContentKind::Screen]
        .into_iter()
        .flat_map(|content| QualityPreset::ALL.map(|quality| (quality, content)));
    for (quality, content) in every {
        let candidate = open(width, height, fps, X264Settings::new(quality, content))?;
        if candidate.sets.as_ref() == Some(wanted) {
            return Ok(Some(candidate));
        }
        tracing::debug!(
            quality = quality.label(),
            ?content,
            wanted = ?wanted,
            made = ?candidate.sets,
            "the cut encoder's parameter sets differ"
        );
    }
    Ok(None)
}
