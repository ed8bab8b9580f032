//! Blobs in the folder: `blobs/ID/` holds the metadata, the parts and the seal.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use pigeon_protocol::seal::{Seal, SealStep};
use pigeon_protocol::{
    access, append, check_new_blob, not_sealed_yet, range, BlobId, BlobKind, BlobRef, BlobStatus,
    MessageId, NewBlob, SealBlob, UserName,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{ByteRange, StoreError};

use super::files::*;
use super::{not_found, Folder};

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct BlobMeta {
    pub(super) owner: UserName,
    pub(super) kind: BlobKind,
    pub(super) content_type: String,
}

/// One stored part of a blob.
#[derive(Debug, Clone)]
pub(super) struct PartFile {
    pub(super) start: u64,
    pub(super) len: u64,
    pub(super) path: PathBuf,
}

/// What a download reads: bytes `start..end` of a sealed blob made of `parts`.
pub(super) struct DownloadPlan {
    pub(super) sealed: BlobRef,
    pub(super) file_name: Option<String>,
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) parts: Vec<PartFile>,
}

impl Folder {
    // ---- blobs ----

    pub(super) fn blob_meta(&self, id: &BlobId) -> Result<Option<BlobMeta>, StoreError> {
        read_json(&self.blob_dir(id).join("blob.json"))
    }

    pub(super) fn owned_blob(&self, id: &BlobId) -> Result<BlobMeta, StoreError> {
        match self.blob_meta(id)? {
            Some(m) if m.owner == self.me.name => Ok(m),
            _ => Err(not_found("blob")),
        }
    }

    pub(super) fn sealed(&self, id: &BlobId) -> Result<Option<BlobRef>, StoreError> {
        read_json(&self.blob_dir(id).join("sealed.json"))
    }

    /// The contiguous parts from byte 0 and where they end.
    pub(super) fn parts(&self, id: &BlobId) -> Result<(u64, Vec<PartFile>), StoreError> {
        let dir = self.blob_dir(id);
        let mut all: Vec<PartFile> = list_names(&dir)?
            .into_iter()
            .filter_map(|name| {
                let rest = name.strip_prefix("part-")?;
                let (s, l) = rest.split_once('-')?;
                Some(PartFile {
                    start: s.parse().ok()?,
                    len: l.parse().ok()?,
                    path: dir.join(&name),
                })
            })
            .collect();
        // Two writers may both have stored a part at one offset: the longest wins.
        all.sort_by(|a, b| a.start.cmp(&b.start).then(b.len.cmp(&a.len)));
        let mut pos = 0;
        let mut chain = Vec::new();
        for p in all {
            if p.start == pos && p.len > 0 {
                pos += p.len;
                chain.push(p);
            }
        }
        Ok((pos, chain))
    }

    pub(super) fn status(&self, id: &BlobId, meta: &BlobMeta) -> Result<BlobStatus, StoreError> {
        let (acknowledged, _) = self.parts(id)?;
        Ok(BlobStatus {
            id: id.clone(),
            kind: meta.kind,
            content_type: meta.content_type.clone(),
            acknowledged,
            sealed: self.sealed(id)?,
        })
    }

    pub(super) fn create_blob(&self, req: &NewBlob) -> Result<BlobStatus, StoreError> {
        check_new_blob(req)?;
        let id = BlobId::parse(uuid::Uuid::new_v4().simple().to_string())
            .map_err(|e| StoreError::Corrupt(e.0))?;
        let meta = BlobMeta {
            owner: self.me.name.clone(),
            kind: req.kind,
            content_type: req.content_type.clone(),
        };
        write_json_new(&self.blob_dir(&id).join("blob.json"), &meta)?;
        self.status(&id, &meta)
    }

    pub(super) fn append(
        &self,
        id: &BlobId,
        offset: u64,
        bytes: &[u8],
    ) -> Result<BlobStatus, StoreError> {
        let meta = self.owned_blob(id)?;
        let (ack, _) = self.parts(id)?;
        append::check_start(self.sealed(id)?.is_some(), ack, offset)?;
        let len = bytes.len() as u64;
        append::check_len(&self.limits, meta.kind, offset, len)?;
        if len > 0 {
            let path = self
                .blob_dir(id)
                .join(format!("part-{offset:020}-{len:020}"));
            write_new(&path, bytes)?;
        }
        self.status(id, &meta)
    }

    pub(super) fn read_range(
        parts: &[PartFile],
        start: u64,
        end: u64,
    ) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::with_capacity((end - start) as usize);
        for p in parts {
            let (a, b) = (start.max(p.start), end.min(p.start + p.len));
            if a >= b {
                continue;
            }
            let mut f = std::fs::File::open(&p.path).map_err(io(&p.path))?;
            f.seek(SeekFrom::Start(a - p.start)).map_err(io(&p.path))?;
            let mut buf = vec![0u8; (b - a) as usize];
            f.read_exact(&mut buf).map_err(io(&p.path))?;
            out.extend_from_slice(&buf);
        }
        Ok(out)
    }

    /// The sha256 (hex) of the first `size` bytes of `parts`.
    pub(super) fn hash_parts(parts: &[PartFile], size: u64) -> Result<String, StoreError> {
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1024 * 1024];
        let mut left_total = size;
        for p in parts {
            let mut f = std::fs::File::open(&p.path).map_err(io(&p.path))?;
            let mut left = p.len.min(left_total);
            left_total -= left;
            while left > 0 {
                let want = left.min(buf.len() as u64) as usize;
                let n = f.read(&mut buf[..want]).map_err(io(&p.path))?;
                if n == 0 {
                    return Err(StoreError::Corrupt(format!(
                        "{} is shorter than its name says",
                        p.path.display()
                    )));
                }
                h.update(&buf[..n]);
                left -= n as u64;
            }
        }
        Ok(hex::encode(h.finalize()))
    }

    /// Drives the protocol's seal over the blob's part files.
    pub(super) fn seal(&self, id: &BlobId, req: &SealBlob) -> Result<BlobRef, StoreError> {
        let meta = self.owned_blob(id)?;
        let (ack, parts) = self.parts(id)?;
        let mut seal = Seal::begin(
            id,
            meta.kind,
            &meta.content_type,
            ack,
            self.sealed(id)?,
            req,
        );
        loop {
            match seal.next_step() {
                SealStep::Hash { size } => seal.hashed(&Self::hash_parts(&parts, size)?),
                SealStep::Read { offset, len } => {
                    let end = offset.saturating_add(len).min(ack);
                    seal.feed(&Self::read_range(&parts, offset.min(end), end)?)
                }
                SealStep::AlreadySealed(sealed) => return Ok(sealed),
                SealStep::Refused(e) => return Err(e.into()),
                SealStep::Seal(sealed) => {
                    write_json_new(&self.blob_dir(id).join("sealed.json"), &sealed)?;
                    // Another writer may have sealed first: report what is stored.
                    return self
                        .sealed(id)?
                        .ok_or_else(|| StoreError::Corrupt("the seal did not persist".into()));
                }
            }
        }
    }

    pub(super) fn download_plan(
        &self,
        id: &BlobId,
        range: Option<ByteRange>,
    ) -> Result<DownloadPlan, StoreError> {
        let meta = self.blob_meta(id)?.ok_or_else(|| not_found("blob"))?;
        let mut name = None;
        let mut referenced_visibly = false;
        for mid in list_names(&self.blob_dir(id).join("refs"))? {
            let Ok(mid) = MessageId::parse(mid) else {
                continue;
            };
            if let Ok(m) = self.visible(&mid) {
                referenced_visibly = true;
                if let Some(a) = m.attachments.iter().find(|a| &a.blob.id == id) {
                    name = Some(a.name.clone());
                    break;
                }
            }
        }
        if !access::may_read_blob(&meta.owner, &self.me.name, referenced_visibly) {
            return Err(not_found("blob"));
        }
        let sealed = self.sealed(id)?.ok_or_else(not_sealed_yet)?;
        let (start, end) = match range {
            None => (0, sealed.size),
            Some(r) => range::check_bounds(r.start, r.end, sealed.size)?,
        };
        let (_, parts) = self.parts(id)?;
        Ok(DownloadPlan {
            file_name: access::download_name(sealed.kind, name),
            sealed,
            start,
            end,
            parts,
        })
    }
}
