//! A structural check that a blob is an ISO-BMFF/MP4 file with a video track: `ftyp`
//! first, then a `moov` holding a `trak` whose `mdia/hdlr` handler type is `vide`
//! (fragmented MP4 with an empty `moov` has this too). It walks the box tree with
//! bounds checks and never trusts a box size past the end of the file.
//!
//! This is a container check, NOT a decode: a file with a well-formed header and broken
//! frames passes. It needs no FFmpeg, so the hub does not depend on the recording engine.
//!
//! I/O-free: [`VideoProbe`] asks for byte ranges ([`ProbeStep::Read`]) and the caller
//! reads them from wherever the blob lives, sync or async.

/// A `moov` larger than this is not something Pigeon's recorder writes.
const MAX_MOOV_BYTES: u64 = 64 * 1024 * 1024;
/// Stop walking top-level boxes after this many (a fragment pair per second of clip).
const MAX_TOP_LEVEL_BOXES: u32 = 200_000;
const HEADER_READ: u64 = 16;

/// What the probe needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeStep {
    /// Read `len` bytes at `offset` (fewer only at the end of the file) and [`VideoProbe::feed`] them.
    Read { offset: u64, len: u64 },
    /// Verdict: `Ok` for an MP4 with a video track, `Err(reason)` otherwise.
    Done(Result<(), String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Header,
    Moov { size: u64 },
}

/// Walks the top-level boxes of a file of known size.
#[derive(Debug, Clone)]
pub struct VideoProbe {
    size: u64,
    pos: u64,
    boxes: u32,
    want: Want,
    verdict: Option<Result<(), String>>,
}

impl VideoProbe {
    /// A probe for a file of `size` bytes.
    pub fn new(size: u64) -> Self {
        Self {
            size,
            pos: 0,
            boxes: 0,
            want: Want::Header,
            verdict: None,
        }
    }

    /// The next read the probe needs, or its verdict.
    pub fn next_step(&self) -> ProbeStep {
        if let Some(v) = &self.verdict {
            return ProbeStep::Done(v.clone());
        }
        match self.want {
            Want::Header => ProbeStep::Read {
                offset: self.pos,
                len: HEADER_READ.min(self.size - self.pos),
            },
            Want::Moov { size } => ProbeStep::Read {
                offset: self.pos,
                len: size,
            },
        }
    }

    fn fail(&mut self, reason: impl Into<String>) {
        self.verdict = Some(Err(reason.into()));
    }

    /// Feeds the bytes of the last requested read.
    pub fn feed(&mut self, data: &[u8]) {
        if self.verdict.is_some() {
            return;
        }
        match self.want {
            Want::Header => self.feed_header(data),
            Want::Moov { size } => {
                if (data.len() as u64) < size {
                    return self.fail("the moov box is cut short");
                }
                match moov_has_video(&data[..size as usize]) {
                    Ok(true) => self.verdict = Some(Ok(())),
                    Ok(false) => self.fail("the file has no video track"),
                    Err(e) => self.fail(e),
                }
            }
        }
    }

    fn feed_header(&mut self, data: &[u8]) {
        let Some((box_type, header_len, declared)) = parse_header(data) else {
            return self.fail(if self.pos == 0 {
                "the file does not start with an MP4 box".to_string()
            } else {
                format!("broken box header at byte {}", self.pos)
            });
        };
        let remaining = self.size - self.pos;
        let box_size = if declared == 0 { remaining } else { declared };
        if box_size < header_len || box_size > remaining {
            return self.fail(format!(
                "box {:?} at byte {} claims {} bytes but only {} remain",
                String::from_utf8_lossy(&box_type),
                self.pos,
                box_size,
                remaining
            ));
        }
        if self.pos == 0 && &box_type != b"ftyp" {
            return self.fail("the file does not start with an ftyp box: it is not an MP4");
        }
        self.boxes += 1;
        if self.boxes > MAX_TOP_LEVEL_BOXES {
            return self.fail("too many top-level boxes before a moov");
        }
        if &box_type == b"moov" {
            if box_size > MAX_MOOV_BYTES {
                return self.fail("the moov box is implausibly large");
            }
            self.want = Want::Moov { size: box_size };
            return;
        }
        self.pos += box_size;
        if self.pos >= self.size {
            self.fail("the file has no moov box");
        }
    }
}

/// Parses a box header: (type, header length, declared size; 0 = to end of file).
fn parse_header(data: &[u8]) -> Option<([u8; 4], u64, u64)> {
    if data.len() < 8 {
        return None;
    }
    let size32 = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as u64;
    let box_type = [data[4], data[5], data[6], data[7]];
    if !box_type.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return None;
    }
    if size32 == 1 {
        if data.len() < 16 {
            return None;
        }
        let mut large = [0u8; 8];
        large.copy_from_slice(&data[8..16]);
        Some((box_type, 16, u64::from_be_bytes(large)))
    } else {
        Some((box_type, 8, size32))
    }
}

/// A child box: its type and body.
type ChildBox<'a> = ([u8; 4], &'a [u8]);

/// Iterates the child boxes of a container body.
fn children(body: &[u8]) -> Result<Vec<ChildBox<'_>>, String> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < body.len() {
        let (t, header, declared) =
            parse_header(&body[pos..]).ok_or_else(|| "broken box inside moov".to_string())?;
        let remaining = (body.len() - pos) as u64;
        let size = if declared == 0 { remaining } else { declared };
        if size < header || size > remaining {
            return Err("a box inside moov overruns its parent".to_string());
        }
        out.push((t, &body[pos + header as usize..pos + size as usize]));
        pos += size as usize;
    }
    Ok(out)
}

/// Whether a whole `moov` box (header included) has a `trak` with a `vide` handler.
fn moov_has_video(moov: &[u8]) -> Result<bool, String> {
    let (_, header, _) = parse_header(moov).ok_or("broken moov header")?;
    for (t, trak) in children(&moov[header as usize..])? {
        if &t != b"trak" {
            continue;
        }
        for (t, mdia) in children(trak)? {
            if &t != b"mdia" {
                continue;
            }
            for (t, hdlr) in children(mdia)? {
                // hdlr: version+flags (4), pre_defined (4), handler_type (4).
                if &t == b"hdlr" && hdlr.len() >= 12 && &hdlr[8..12] == b"vide" {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// Runs the probe over an in-memory file (tests, small files).
pub fn check_video_bytes(file: &[u8]) -> Result<(), String> {
    let mut probe = VideoProbe::new(file.len() as u64);
    loop {
        match probe.next_step() {
            ProbeStep::Done(v) => return v,
            ProbeStep::Read { offset, len } => {
                let start = offset as usize;
                let end = (offset + len).min(file.len() as u64) as usize;
                probe.feed(&file[start..end]);
            }
        }
    }
}

/// Box builders for tests of the checks that walk MP4 files.
#[cfg(test)]
pub(crate) mod fixtures {
    /// A box of type `t` around `body`.
    pub(crate) fn mp4_box(t: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(t);
        v.extend_from_slice(body);
        v
    }

    /// An `hdlr` box with this handler type.
    pub(crate) fn hdlr(handler: &[u8; 4]) -> Vec<u8> {
        let mut body = vec![0u8; 8];
        body.extend_from_slice(handler);
        body.extend_from_slice(&[0u8; 13]);
        mp4_box(b"hdlr", &body)
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{hdlr, mp4_box};
    use super::*;

    fn file_with(handler: &[u8; 4]) -> Vec<u8> {
        let mdia = mp4_box(b"mdia", &hdlr(handler));
        let trak = mp4_box(b"trak", &mdia);
        let moov = mp4_box(b"moov", &trak);
        let mut f = mp4_box(b"ftyp", b"isom\0\0\0\0isomiso6");
        f.extend(moov);
        f.extend(mp4_box(b"moof", &[0; 20]));
        f.extend(mp4_box(b"mdat", &[1; 100]));
        f
    }

    #[test]
    fn accepts_video_track() {
        assert_eq!(check_video_bytes(&file_with(b"vide")), Ok(()));
    }

    #[test]
    fn rejects_audio_only_text_and_truncation() {
        assert!(check_video_bytes(&file_with(b"soun")).is_err());
        assert!(check_video_bytes(b"%PDF-1.7 hello").is_err());
        assert!(check_video_bytes(b"").is_err());
        let f = file_with(b"vide");
        // Cut inside the moov: its declared size overruns the file.
        assert!(check_video_bytes(&f[..40]).is_err());
    }

    #[test]
    fn rejects_lying_sizes() {
        let mut f = file_with(b"vide");
        f[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(check_video_bytes(&f).is_err());
    }
}
