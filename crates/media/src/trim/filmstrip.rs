//! [`filmstrip`]: small JPEG pictures spread evenly over a clip, for the trim
//! scrubber. Long clips show their keyframes (decoded alone, so a
//! ten-minute clip costs a pass over its packets and `count` decodes);
//! clips with fewer keyframes than pictures asked for decode every frame.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ffmpeg::format::Pixel;
use ffmpeg::util::frame;
use ffmpeg::{codec, media, Packet};
use ffmpeg_next as ffmpeg;

use crate::clip::{open_input, read_packet};
use crate::encode::FrameConverter;
use crate::error::{MediaError, Result};

/// `count` JPEG pictures at most `max_width` pixels wide, evenly spaced over
/// `clip`, each with its time in the clip; fewer when the clip has fewer
/// frames.
pub fn filmstrip(clip: &Path, count: u32, max_width: u32) -> Result<Vec<(Duration, Vec<u8>)>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let no_video = || MediaError::NotAClip {
        path: clip.to_path_buf(),
        reason: "it has no video stream".into(),
    };
    // Pass 1: where the pictures are, without decoding.
    let mut input = open_input(clip)?;
    let stream = input
        .streams()
        .best(media::Type::Video)
        .ok_or_else(no_video)?;
    let (index, tb, params) = (
        stream.index(),
        stream.time_base(),
        stream.parameters().clone(),
    );
    let mut all = Vec::new();
    let mut keys = Vec::new();
    let mut packet = Packet::empty();
    while read_packet(&mut input, &mut packet) {
        if packet.stream() != index {
            continue;
        }
        if let Some(pts) = packet.pts().or(packet.dts()) {
            all.push(pts);
            if packet.is_key() {
                keys.push(pts);
            }
        }
    }
    all.sort_unstable();
    let (Some(&start), Some(&end)) = (all.first(), all.last()) else {
        return Err(MediaError::NotAClip {
            path: clip.to_path_buf(),
            reason: "no picture could be found".into(),
        });
    };
    let only_keys = keys.len() >= count as usize;
    let pool = if only_keys { &keys } else { &all };
    let mut wanted: Vec<i64> = (0..count)
        .map(|i| {
            let at =
                start + ((end - start) as f64 * (f64::from(i) + 0.5) / f64::from(count)) as i64;
            nearest(pool, at)
        })
        .collect();
    wanted.dedup();

    // Pass 2: decode just those pictures (and, without enough keyframes, the
    // ones they depend on).
    let mut input = open_input(clip)?;
    let mut decoder = codec::context::Context::from_parameters(params)
        .and_then(|c| c.decoder().video())
        .map_err(|e| MediaError::ffmpeg("opening the video decoder", e))?;
    let last_wanted = wanted.last().copied().unwrap_or(end);
    let mut pictures: BTreeMap<i64, frame::Video> = BTreeMap::new();
    let mut picture = frame::Video::empty();
    let mut collect = |decoder: &mut ffmpeg::decoder::Video,
                       pictures: &mut BTreeMap<i64, frame::Video>| {
        while decoder.receive_frame(&mut picture).is_ok() {
            if let Some(pts) = picture.pts().or(picture.timestamp()) {
                if wanted.binary_search(&pts).is_ok() {
                    pictures.insert(pts, picture.clone());
                }
            }
        }
    };
    while read_packet(&mut input, &mut packet) {
        if packet.stream() != index {
            continue;
        }
        let pts = packet.pts().or(packet.dts()).unwrap_or(i64::MIN);
        if pts > last_wanted {
            break;
        }
        // With enough keyframes only the wanted ones are decoded, each alone.
        if only_keys && (!packet.is_key() || wanted.binary_search(&pts).is_err()) {
            continue;
        }
        if decoder.send_packet(&packet).is_ok() {
            collect(&mut decoder, &mut pictures);
        }
    }
    let _ = decoder.send_eof();
    collect(&mut decoder, &mut pictures);

    let mut jpeg = JpegWriter::default();
    pictures
        .into_iter()
        .map(|(pts, picture)| {
            let at = ((pts - start).max(0) as f64) * f64::from(tb);
            Ok((
                Duration::from_secs_f64(at),
                jpeg.write(&picture, max_width)?,
            ))
        })
        .collect()
}

/// The value in sorted `pool` closest to `at`.
fn nearest(pool: &[i64], at: i64) -> i64 {
    let i = pool.partition_point(|&p| p < at);
    match (i.checked_sub(1).and_then(|j| pool.get(j)), pool.get(i)) {
        (Some(&before), Some(&after)) if at - before <= after - at => before,
        (_, Some(&after)) => after,
        (Some(&before), None) => before,
        (None, None) => at,
    }
}

/// Scales pictures and encodes them as JPEG, like the poster
/// ([`crate::clip::poster_jpeg`]) but into memory.
#[derive(Default)]
struct JpegWriter {
    converter: Option<(u32, u32, FrameConverter)>,
}

impl JpegWriter {
    fn write(&mut self, picture: &frame::Video, max_width: u32) -> Result<Vec<u8>> {
        let (w, h) = (picture.width(), picture.height());
        let width = w.min(max_width.max(16)) & !1;
        let height = ((u64::from(h) * u64::from(width) / u64::from(w.max(1))) as u32 & !1).max(2);
        let stale = !matches!(&self.converter, Some((cw, ch, _)) if *cw == width && *ch == height);
        if stale {
            self.converter = Some((
                width,
                height,
                FrameConverter::new(Pixel::YUVJ420P, width, height),
            ));
        }
        let Some((_, _, converter)) = self.converter.as_mut() else {
            return Err(MediaError::MissingEncoder { name: "swscale" });
        };
        let scaled = converter.convert_frame(picture)?;
        crate::clip::encode_jpeg(scaled, 4, "a filmstrip picture")
    }
}

#[cfg(test)]
mod tests {
    use super::nearest;

    #[test]
    fn nearest_picks_the_closest_value() {
        let pool = [0, 30, 60, 90];
        assert_eq!(nearest(&pool, 44), 30);
        assert_eq!(nearest(&pool, 46), 60);
        assert_eq!(nearest(&pool, -5), 0);
        assert_eq!(nearest(&pool, 500), 90);
    }
}
