//! The running sha256 of uploads in progress, so a seal need not read the blob again.
//! Each hub keeps the states of the uploads it is receiving in memory, and every
//! acknowledged chunk also stores its state with the blob ([`save`]), so a chunk that
//! lands on another hub (or on this one after a restart) continues the hash from there
//! ([`restore`]). Only a blob with no stored state (an upload begun before hubs stored
//! them) is hashed again at seal.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pigeon_protocol::BlobId;
use sha2::digest::common::hazmat::{SerializableState, SerializedState};
use sha2::{Digest, Sha256};

/// The state of a running hash as stored text (hex).
pub(crate) fn save(hasher: &Sha256) -> String {
    hex::encode(hasher.serialize().as_slice())
}

/// A running hash from [`save`]'s text; `None` when it is not one.
pub(crate) fn restore(text: &str) -> Option<Sha256> {
    let bytes = hex::decode(text).ok()?;
    let state = SerializedState::<Sha256>::try_from(bytes.as_slice()).ok()?;
    Sha256::deserialize(&state).ok()
}

/// The running sha256 of each upload in progress: bytes `0..hashed` of the blob, and
/// when a chunk last touched it. An upload that saw no chunk for `idle` loses its state
/// (abandoned uploads must not hold memory forever); it resumes by hashing what is
/// stored, at seal.
pub(crate) struct Hashers {
    idle: Duration,
    map: Mutex<HashMap<BlobId, RunningHash>>,
}

struct RunningHash {
    hashed: u64,
    hasher: Sha256,
    touched: Instant,
}

impl Hashers {
    pub(crate) fn new(idle: Duration) -> Self {
        Self {
            idle,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The state that continues at `offset` (a fresh one at 0), taken out while a chunk
    /// is hashed; `None` when it is gone or elsewhere.
    pub(crate) fn take(&self, blob: &BlobId, offset: u64, now: Instant) -> Option<Sha256> {
        let mut map = self.map.lock().ok()?;
        Self::evict(&mut map, self.idle, now);
        match map.remove(blob) {
            Some(r) if r.hashed == offset => Some(r.hasher),
            Some(other) => {
                map.insert(blob.clone(), other);
                None
            }
            None if offset == 0 => Some(Sha256::new()),
            None => None,
        }
    }

    pub(crate) fn put(&self, blob: &BlobId, hashed: u64, hasher: Sha256, now: Instant) {
        if let Ok(mut map) = self.map.lock() {
            Self::evict(&mut map, self.idle, now);
            map.insert(
                blob.clone(),
                RunningHash {
                    hashed,
                    hasher,
                    touched: now,
                },
            );
        }
    }

    /// Drops the state of uploads idle for longer than `idle`.
    pub(crate) fn evict_idle(&self, now: Instant) {
        if let Ok(mut map) = self.map.lock() {
            Self::evict(&mut map, self.idle, now);
        }
    }

    fn evict(map: &mut HashMap<BlobId, RunningHash>, idle: Duration, now: Instant) {
        map.retain(|blob, r| {
            let keep = now.saturating_duration_since(r.touched) < idle;
            if !keep {
                tracing::debug!(%blob, hashed = r.hashed, "upload idle: its running hash is dropped");
            }
            keep
        });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(n: u8) -> BlobId {
        BlobId::parse(format!("{n:016}")).unwrap()
    }

    #[test]
    fn an_idle_upload_loses_its_running_hash_and_resumes_without_it() {
        let hashers = Hashers::new(Duration::from_secs(600));
        let t0 = Instant::now();
        let (a, b) = (blob(1), blob(2));
        let mut h = hashers.take(&a, 0, t0).unwrap();
        h.update(b"first chunk");
        hashers.put(&a, 11, h, t0);
        hashers.put(&b, 5, Sha256::new(), t0 + Duration::from_secs(500));
        // Within the idle time the next chunk continues the hash.
        let h = hashers.take(&a, 11, t0 + Duration::from_secs(599)).unwrap();
        hashers.put(&a, 11, h, t0 + Duration::from_secs(599));
        assert_eq!(hashers.len(), 2);
        // Past it, the state is gone: a late chunk gets none (seal re-reads the bytes).
        hashers.evict_idle(t0 + Duration::from_secs(1200));
        assert_eq!(hashers.len(), 0);
        assert!(hashers
            .take(&a, 11, t0 + Duration::from_secs(1200))
            .is_none());
        // A new upload still starts hashing at 0.
        assert!(hashers.take(&blob(3), 0, t0).is_some());
    }

    #[test]
    fn a_saved_state_continues_the_same_hash() {
        let mut h = Sha256::new();
        // Not a whole number of 64-byte blocks: the buffered tail is part of the state.
        h.update(b"the first chunk of a clip, 45 bytes long....");
        let text = save(&h);
        let mut restored = restore(&text).unwrap();
        h.update(b" and the rest");
        restored.update(b" and the rest");
        assert_eq!(h.finalize(), restored.finalize());
        assert_eq!(
            hex::encode(Sha256::digest(
                b"the first chunk of a clip, 45 bytes long.... and the rest"
            )),
            hex::encode({
                let mut r = restore(&text).unwrap();
                r.update(b" and the rest");
                r.finalize()
            })
        );
        assert!(restore("not hex").is_none());
        assert!(restore("00ff").is_none());
    }

    #[test]
    fn any_chunk_sweeps_the_abandoned_ones() {
        let hashers = Hashers::new(Duration::from_secs(10));
        let t0 = Instant::now();
        hashers.put(&blob(1), 3, Sha256::new(), t0);
        hashers.put(&blob(2), 3, Sha256::new(), t0 + Duration::from_secs(20));
        assert_eq!(hashers.len(), 1);
    }
}
