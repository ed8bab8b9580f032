//! The rules of a seal, without I/O: [`Seal`] says what it needs (the sha256 of the
//! stored bytes, byte ranges for the video or poster check, the whole of a transcript)
//! and the store, hub or folder, reads it from its own storage and feeds it back, as
//! with [`VideoProbe`]. A transcript is read in one read (its size is bounded by
//! `max_transcript_bytes` at append) and checked by [`crate::check_transcript`].
//!
//! The video check of a clip made of many tiny boxes would ask for a read per box:
//! [`Seal`] reads in windows of at least [`READ_WINDOW`] bytes, answers the probe's
//! small reads from the window it holds, and refuses a clip that needs more than
//! [`MAX_READS`] reads, so a crafted file costs a store a bounded amount of work.

use crate::mp4::{ProbeStep, VideoProbe};
use crate::{
    check_poster_bytes, check_transcript, validate_sha256, ApiError, BlobId, BlobKind, BlobRef,
    ErrorCode,
};
use crate::{SealBlob, POSTER_MAGIC_LEN};

/// Smallest read a seal check asks a store for.
pub const READ_WINDOW: u64 = 256 * 1024;
/// Most reads a seal check asks a store for.
pub const MAX_READS: u32 = 256;

/// What a seal needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealStep {
    /// Hash bytes `0..size` of the blob (or take the running hash of exactly those
    /// bytes) and pass the lowercase hex to [`Seal::hashed`].
    Hash { size: u64 },
    /// Read `len` bytes at `offset` (fewer only at the end) and [`Seal::feed`] them.
    Read { offset: u64, len: u64 },
    /// Store this reference as the seal (or it was already sealed with it): done.
    Seal(BlobRef),
    /// Already sealed with these values: answer with the stored reference, store nothing.
    AlreadySealed(BlobRef),
    /// Refused: store nothing.
    Refused(ApiError),
}

#[derive(Debug)]
enum Stage {
    Hash,
    Probe(VideoProbe),
    Poster,
    Transcript,
    Finished(SealStep),
}

/// One seal of a blob.
#[derive(Debug)]
pub struct Seal {
    blob: BlobRef,
    stage: Stage,
    window: Option<(u64, Vec<u8>)>,
    reads: u32,
    max_reads: u32,
    read_window: u64,
}

impl Seal {
    /// A seal of blob `id` (stored as `kind`/`content_type`, `acknowledged` bytes,
    /// `sealed` if it already is) as `req` asks.
    pub fn begin(
        id: &BlobId,
        kind: BlobKind,
        content_type: &str,
        acknowledged: u64,
        sealed: Option<BlobRef>,
        req: &SealBlob,
    ) -> Self {
        let blob = BlobRef {
            id: id.clone(),
            kind,
            size: req.size,
            sha256: req.sha256.clone(),
            content_type: content_type.to_string(),
        };
        let stage = if let Err(e) = validate_sha256(&req.sha256) {
            Stage::Finished(SealStep::Refused(e))
        } else if let Some(sealed) = sealed {
            Stage::Finished(if sealed.size == req.size && sealed.sha256 == req.sha256 {
                SealStep::AlreadySealed(sealed)
            } else {
                SealStep::Refused(ApiError::new(
                    ErrorCode::Conflict,
                    "the blob is already sealed with another size or sha256",
                ))
            })
        } else if req.size != acknowledged {
            Stage::Finished(SealStep::Refused(ApiError::new(
                ErrorCode::ChecksumMismatch,
                format!(
                    "seal says {} bytes but the store has {acknowledged} acknowledged: upload the missing bytes from {acknowledged} first",
                    req.size
                ),
            )))
        } else {
            Stage::Hash
        };
        Self {
            blob,
            stage,
            window: None,
            reads: 0,
            max_reads: MAX_READS,
            read_window: READ_WINDOW,
        }
    }

    /// Other read bounds (tests).
    pub fn with_read_bounds(mut self, read_window: u64, max_reads: u32) -> Self {
        self.read_window = read_window.max(1);
        self.max_reads = max_reads;
        self
    }

    /// How many reads the seal asked for so far.
    pub fn reads(&self) -> u32 {
        self.reads
    }

    /// What the seal needs next, or its outcome.
    pub fn next_step(&self) -> SealStep {
        match &self.stage {
            Stage::Hash => SealStep::Hash {
                size: self.blob.size,
            },
            Stage::Finished(step) => step.clone(),
            Stage::Poster => SealStep::Read {
                offset: 0,
                len: POSTER_MAGIC_LEN.min(self.blob.size),
            },
            Stage::Transcript => SealStep::Read {
                offset: 0,
                len: self.blob.size,
            },
            Stage::Probe(probe) => match probe.next_step() {
                // `advance` answers every read the window covers and finishes the probe.
                ProbeStep::Done(_) => SealStep::Refused(ApiError::new(
                    ErrorCode::Internal,
                    "the seal check stopped early: seal again",
                )),
                ProbeStep::Read { offset, len } => SealStep::Read {
                    offset,
                    len: len
                        .max(self.read_window)
                        .min(self.blob.size.saturating_sub(offset)),
                },
            },
        }
    }

    /// The sha256 (lowercase hex) of the stored bytes, after [`SealStep::Hash`].
    pub fn hashed(&mut self, actual: &str) {
        if !matches!(self.stage, Stage::Hash) {
            return;
        }
        self.stage = if actual != self.blob.sha256 {
            Stage::Finished(SealStep::Refused(ApiError::new(
                ErrorCode::ChecksumMismatch,
                format!(
                    "the uploaded bytes have sha256 {actual}, not {}: upload the file again as a new blob",
                    self.blob.sha256
                ),
            )))
        } else {
            match self.blob.kind {
                BlobKind::Clip => Stage::Probe(VideoProbe::new(self.blob.size)),
                BlobKind::Poster => Stage::Poster,
                BlobKind::Transcript => Stage::Transcript,
                BlobKind::Attachment => Stage::Finished(SealStep::Seal(self.blob.clone())),
            }
        };
        self.advance();
    }

    /// The bytes of the last [`SealStep::Read`].
    pub fn feed(&mut self, data: &[u8]) {
        match &mut self.stage {
            Stage::Poster => {
                self.stage =
                    Stage::Finished(match check_poster_bytes(&self.blob.content_type, data) {
                        Ok(()) => SealStep::Seal(self.blob.clone()),
                        Err(e) => SealStep::Refused(e),
                    });
            }
            Stage::Transcript => {
                self.reads += 1;
                self.stage = Stage::Finished(if data.len() as u64 != self.blob.size {
                    SealStep::Refused(ApiError::new(
                        ErrorCode::Internal,
                        "the store read less of the transcript than it holds: seal again",
                    ))
                } else {
                    match check_transcript(data) {
                        Ok(_) => SealStep::Seal(self.blob.clone()),
                        Err(e) => SealStep::Refused(e),
                    }
                });
            }
            Stage::Probe(probe) => {
                if let ProbeStep::Read { offset, .. } = probe.next_step() {
                    self.reads += 1;
                    self.window = Some((offset, data.to_vec()));
                }
                self.advance();
            }
            Stage::Hash | Stage::Finished(_) => {}
        }
    }

    /// Answers the probe from the window while it can; then either finishes or leaves a
    /// read for the store, within the read budget.
    fn advance(&mut self) {
        let Stage::Probe(probe) = &mut self.stage else {
            return;
        };
        loop {
            match probe.next_step() {
                ProbeStep::Done(Ok(())) => {
                    self.stage = Stage::Finished(SealStep::Seal(self.blob.clone()));
                    return;
                }
                ProbeStep::Done(Err(reason)) => {
                    self.stage = Stage::Finished(SealStep::Refused(not_video(&reason)));
                    return;
                }
                ProbeStep::Read { offset, len } => {
                    let covered = self.window.as_ref().and_then(|(start, bytes)| {
                        let from = offset.checked_sub(*start)?;
                        let to = from.checked_add(len)?;
                        let have = bytes.len() as u64;
                        // A window that reaches the end of the blob covers a short read too.
                        let at_end = start.saturating_add(have) >= self.blob.size;
                        let to = if at_end { to.min(have) } else { to };
                        (to <= have && from <= to)
                            .then(|| bytes[from as usize..to as usize].to_vec())
                    });
                    match covered {
                        Some(bytes) => probe.feed(&bytes),
                        None if self.reads >= self.max_reads => {
                            self.stage = Stage::Finished(SealStep::Refused(not_video(&format!(
                                "its boxes take more than {} reads to walk",
                                self.max_reads
                            ))));
                            return;
                        }
                        None => return,
                    }
                }
            }
        }
    }
}

fn not_video(reason: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotVideo,
        format!("the clip is not an MP4 video ({reason}): record or export the clip as MP4 and upload it as a new blob"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::fixtures::{hdlr, mp4_box};
    use sha2::{Digest, Sha256};

    /// ftyp, `tiny` empty `free` boxes, then a moov with one video track.
    fn many_tiny_boxes(tiny: usize) -> Vec<u8> {
        let mut f = mp4_box(b"ftyp", b"isom\0\0\0\0isom");
        for _ in 0..tiny {
            f.extend(mp4_box(b"free", b""));
        }
        let mdia = mp4_box(b"mdia", &hdlr(b"vide"));
        f.extend(mp4_box(b"moov", &mp4_box(b"trak", &mdia)));
        f
    }

    fn clip_seal(data: &[u8]) -> Seal {
        Seal::begin(
            &id(),
            BlobKind::Clip,
            "video/mp4",
            data.len() as u64,
            None,
            &req(data),
        )
    }

    /// Drives a seal over bytes in memory, as a store would over its storage.
    fn drive(mut seal: Seal, data: &[u8]) -> (SealStep, u32) {
        loop {
            match seal.next_step() {
                SealStep::Hash { size } => {
                    seal.hashed(&hex::encode(Sha256::digest(&data[..size as usize])))
                }
                SealStep::Read { offset, len } => {
                    let end = (offset + len).min(data.len() as u64);
                    seal.feed(&data[offset as usize..end as usize]);
                }
                done => return (done, seal.reads()),
            }
        }
    }

    fn req(data: &[u8]) -> SealBlob {
        SealBlob {
            size: data.len() as u64,
            sha256: hex::encode(Sha256::digest(data)),
        }
    }

    fn id() -> BlobId {
        BlobId::parse("0123456789abcdef").unwrap()
    }

    #[test]
    fn a_clip_of_many_tiny_boxes_is_walked_in_a_few_reads() {
        let data = many_tiny_boxes(100_000);
        let (step, reads) = drive(clip_seal(&data), &data);
        assert!(matches!(step, SealStep::Seal(_)), "{step:?}");
        // 800 KB of 8-byte boxes: a handful of windows instead of 100 000 reads.
        assert!(reads <= 5, "{reads} reads");
    }

    #[test]
    fn a_clip_needing_too_many_reads_is_refused() {
        let data = many_tiny_boxes(10_000);
        let (step, reads) = drive(clip_seal(&data).with_read_bounds(16, 100), &data);
        let SealStep::Refused(e) = step else {
            panic!("{step:?}")
        };
        assert_eq!(e.code, ErrorCode::NotVideo);
        assert!(e.message.contains("100 reads"), "{}", e.message);
        assert_eq!(reads, 100);
    }

    #[test]
    fn size_hash_and_already_sealed() {
        let data = b"%PDF-1.7 hello".to_vec();
        let good = req(&data);
        let begin = |ack, sealed, r: &SealBlob| {
            Seal::begin(
                &id(),
                BlobKind::Attachment,
                "application/pdf",
                ack,
                sealed,
                r,
            )
        };
        let (step, _) = drive(begin(data.len() as u64, None, &good), &data);
        let SealStep::Seal(sealed) = step else {
            panic!("{step:?}")
        };
        let again = begin(data.len() as u64, Some(sealed.clone()), &good).next_step();
        assert_eq!(again, SealStep::AlreadySealed(sealed.clone()));
        let other = SealBlob {
            size: 3,
            ..good.clone()
        };
        let refused = |s: SealStep| match s {
            SealStep::Refused(e) => e.code,
            s => panic!("{s:?}"),
        };
        assert_eq!(
            refused(begin(3, Some(sealed), &other).next_step()),
            ErrorCode::Conflict
        );
        assert_eq!(
            refused(begin(3, None, &good).next_step()),
            ErrorCode::ChecksumMismatch
        );
        let wrong = SealBlob {
            sha256: "0".repeat(64),
            ..good.clone()
        };
        assert_eq!(
            refused(drive(begin(data.len() as u64, None, &wrong), &data).0),
            ErrorCode::ChecksumMismatch
        );
        let bad_hex = SealBlob {
            sha256: "XYZ".into(),
            ..good
        };
        assert_eq!(
            refused(begin(0, None, &bad_hex).next_step()),
            ErrorCode::Invalid
        );
    }

    #[test]
    fn a_poster_is_checked_by_its_first_bytes() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5, 6];
        let seal = |data: &[u8]| {
            Seal::begin(
                &id(),
                BlobKind::Poster,
                "image/jpeg",
                data.len() as u64,
                None,
                &req(data),
            )
        };
        assert!(matches!(drive(seal(&jpeg), &jpeg).0, SealStep::Seal(_)));
        assert!(matches!(
            drive(seal(b"%PDF-1.7"), b"%PDF-1.7").0,
            SealStep::Refused(_)
        ));
    }

    #[test]
    fn a_transcript_is_read_whole_once_and_checked() {
        let seal = |data: &[u8]| {
            Seal::begin(
                &id(),
                BlobKind::Transcript,
                crate::TRANSCRIPT_CONTENT_TYPE,
                data.len() as u64,
                None,
                &req(data),
            )
        };
        let good = br#"{"language":"en","model":"tiny.en","duration_ms":2000,
            "segments":[{"start_ms":0,"end_ms":1500,"text":" Hello."}]}"#;
        let (step, reads) = drive(seal(good), good);
        assert!(matches!(step, SealStep::Seal(_)), "{step:?}");
        assert_eq!(reads, 1);
        let overlapping = br#"{"language":"en","model":"tiny.en","duration_ms":2000,
            "segments":[{"start_ms":0,"end_ms":1500,"text":"a"},{"start_ms":1000,"end_ms":1800,"text":"b"}]}"#;
        let SealStep::Refused(e) = drive(seal(overlapping), overlapping).0 else {
            panic!("an overlapping transcript was sealed")
        };
        assert_eq!(e.code, ErrorCode::Invalid);
        assert!(e.message.contains("segment 2 starts"), "{}", e.message);
        let SealStep::Refused(e) = drive(seal(b"<html>"), b"<html>").0 else {
            panic!("HTML was sealed as a transcript")
        };
        assert!(
            e.message.contains("not the JSON of a transcript"),
            "{}",
            e.message
        );
    }
}
