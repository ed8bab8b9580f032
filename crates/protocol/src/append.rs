//! The rules of an append to an unsealed blob, checked before and while bytes arrive.

use crate::{ApiError, BlobKind, ErrorCode, Limits};

/// Checks that an append may start: the blob is not sealed and the chunk continues
/// exactly where the store's acknowledged bytes end.
pub fn check_start(sealed: bool, acknowledged: u64, offset: u64) -> Result<(), ApiError> {
    if sealed {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the blob is already sealed: start a new blob",
        ));
    }
    if offset != acknowledged {
        return Err(offset_mismatch(acknowledged, offset));
    }
    Ok(())
}

/// The refusal of a chunk that does not start at the acknowledged offset.
pub fn offset_mismatch(acknowledged: u64, offset: u64) -> ApiError {
    ApiError::new(
        ErrorCode::OffsetMismatch,
        format!(
            "this chunk starts at byte {offset} but the store has acknowledged {acknowledged} bytes: resume from {acknowledged}"
        ),
    )
}

/// Checks a chunk of `len` bytes at `offset` (its declared length, or what arrived so
/// far) against the chunk limit and the kind's size limit.
pub fn check_len(limits: &Limits, kind: BlobKind, offset: u64, len: u64) -> Result<(), ApiError> {
    if len > limits.max_chunk_bytes {
        return Err(ApiError::limit(
            "max_chunk_bytes",
            limits.max_chunk_bytes,
            len,
        ));
    }
    let (name, max) = limits.blob_limit(kind);
    let total = offset.saturating_add(len);
    if total > max {
        return Err(ApiError::limit(name, max, total));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_then_offset_then_sizes() {
        let limits = Limits::default();
        assert_eq!(
            check_start(true, 0, 0).unwrap_err().code,
            ErrorCode::Conflict
        );
        assert_eq!(
            check_start(false, 5, 0).unwrap_err().code,
            ErrorCode::OffsetMismatch
        );
        assert!(check_start(false, 5, 5).is_ok());
        let e = check_len(&limits, BlobKind::Poster, u64::MAX, 1).unwrap_err();
        assert_eq!(e.limit.unwrap().limit, "max_poster_bytes");
        let e = check_len(&limits, BlobKind::Clip, 0, limits.max_chunk_bytes + 1).unwrap_err();
        assert_eq!(e.limit.unwrap().limit, "max_chunk_bytes");
    }
}
