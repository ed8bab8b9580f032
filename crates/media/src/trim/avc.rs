//! The H.264 parameter sets (SPS and PPS) of a stream's extradata, so the
//! trimmer can tell whether pictures it encodes decode with the header of the
//! pictures it copies. Reads both layouts FFmpeg hands out: `avcC` (MP4) and
//! Annex B start codes (libx264 with a global header).

/// SPS and PPS NAL units, each without its start code or length prefix.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ParameterSets {
    pub sps: Vec<Vec<u8>>,
    pub pps: Vec<Vec<u8>>,
}

impl ParameterSets {
    pub(crate) fn parse(extradata: &[u8]) -> Option<Self> {
        if extradata.first() == Some(&1) {
            parse_avcc(extradata)
        } else {
            Some(parse_annex_b(extradata))
        }
        .filter(|p| !p.sps.is_empty() && !p.pps.is_empty())
    }
}

fn parse_avcc(data: &[u8]) -> Option<ParameterSets> {
    let mut sets = ParameterSets::default();
    let mut at = 5;
    let sps_count = usize::from(*data.get(at)? & 0x1f);
    at += 1;
    for _ in 0..sps_count {
        let (nal, next) = length_prefixed(data, at)?;
        sets.sps.push(nal);
        at = next;
    }
    let pps_count = usize::from(*data.get(at)?);
    at += 1;
    for _ in 0..pps_count {
        let (nal, next) = length_prefixed(data, at)?;
        sets.pps.push(nal);
        at = next;
    }
    Some(sets)
}

fn length_prefixed(data: &[u8], at: usize) -> Option<(Vec<u8>, usize)> {
    let len = usize::from(u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]));
    let nal = data.get(at + 2..at + 2 + len)?.to_vec();
    Some((nal, at + 2 + len))
}

/// The NAL units of an Annex B byte stream, without their start codes.
fn nal_units(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut units = Vec::with_capacity(starts.len());
    for (n, &start) in starts.iter().enumerate() {
        let mut end = starts.get(n + 1).map_or(data.len(), |&next| next - 3);
        // A four-byte start code leaves one zero at the end of the previous
        // unit; a unit itself ends in its stop bit, never in a zero byte.
        while end > start && data[end - 1] == 0 {
            end -= 1;
        }
        if end > start {
            units.push(&data[start..end]);
        }
    }
    units
}

fn parse_annex_b(data: &[u8]) -> ParameterSets {
    let mut sets = ParameterSets::default();
    for nal in nal_units(data) {
        match nal.first().map(|b| b & 0x1f) {
            Some(7) => sets.sps.push(nal.to_vec()),
            Some(8) => sets.pps.push(nal.to_vec()),
            _ => {}
        }
    }
    sets
}

/// The size of the NAL length prefix an `avcC` header announces (1, 2 or 4).
pub(crate) fn length_size(avcc: &[u8]) -> Option<usize> {
    (avcc.first() == Some(&1))
        .then(|| avcc.get(4).map(|b| usize::from(b & 3) + 1))
        .flatten()
}

/// Rewrites an Annex B picture (what libx264 hands out) as MP4 samples hold
/// them: each NAL unit behind its length in `length_size` bytes. The muxer
/// does this itself only when the stream's header is Annex B too, and the
/// trimmer's header is the copied clip's `avcC`. Parameter sets are dropped:
/// they equal the header's (checked before), and MP4 keeps them there.
pub(crate) fn to_length_prefixed(annex_b: &[u8], length_size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(annex_b.len() + 16);
    for nal in nal_units(annex_b) {
        if matches!(nal[0] & 0x1f, 7 | 8) {
            continue;
        }
        let len = nal.len() as u32;
        out.extend_from_slice(&len.to_be_bytes()[4 - length_size..]);
        out.extend_from_slice(nal);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avcc_and_annex_b_of_the_same_sets_are_equal() {
        let sps = [0x67, 0x64, 0x00, 0x1f, 0xac];
        let pps = [0x68, 0xeb, 0xe3, 0xcb];
        let mut avcc = vec![1, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0, sps.len() as u8];
        avcc.extend_from_slice(&sps);
        avcc.extend_from_slice(&[1, 0, pps.len() as u8]);
        avcc.extend_from_slice(&pps);
        let mut annex_b = vec![0, 0, 0, 1];
        annex_b.extend_from_slice(&sps);
        annex_b.extend_from_slice(&[0, 0, 0, 1]);
        annex_b.extend_from_slice(&pps);
        annex_b.extend_from_slice(&[0, 0, 1, 0x06, 0x05]);
        let a = ParameterSets::parse(&avcc).expect("avcC parses");
        let b = ParameterSets::parse(&annex_b).expect("Annex B parses");
        assert_eq!(a, b);
        assert_eq!(a.sps, vec![sps.to_vec()]);
        let mut other = annex_b.clone();
        other[8] = 0x20;
        assert_ne!(ParameterSets::parse(&other), Some(a));
        assert_eq!(ParameterSets::parse(&[1, 2, 3]), None);
        assert_eq!(length_size(&avcc), Some(4));
    }

    #[test]
    fn annex_b_pictures_become_length_prefixed_samples() {
        let picture = [
            0, 0, 0, 1, 0x67, 9, 0, 0, 1, 0x06, 5, 0x80, 0, 0, 0, 1, 0x65, 1, 2, 3,
        ];
        assert_eq!(
            to_length_prefixed(&picture, 4),
            vec![0, 0, 0, 3, 0x06, 5, 0x80, 0, 0, 0, 4, 0x65, 1, 2, 3]
        );
    }
}
