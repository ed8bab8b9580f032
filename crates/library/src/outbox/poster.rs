//! The poster: a small JPEG made from the clip that travels as its own blob (see the
//! outbox's module docs for why a message may go without one).

use std::path::PathBuf;
use std::time::Duration;

use pigeon_store::protocol::{BlobKind, BlobRef};
use pigeon_store::upload_file;

use super::{refusal_text, Outbox};
use crate::db::Draft;
use crate::error::{LibraryError, Result};

impl Outbox {
    /// The poster that travels with the draft's message: made from the clip, uploaded
    /// and sealed once. `None` when the message goes without one (see the module docs);
    /// an error only when trying again later may succeed (the store is unreachable).
    pub async fn seal_poster(&self, draft: &str) -> Result<Option<BlobRef>> {
        let d = self.library.draft(draft)?;
        if let Some(sealed) = d.poster_sealed {
            return Ok(Some(sealed));
        }
        if d.poster_skipped.is_some() {
            return Ok(None);
        }
        let path = match d.poster_path.clone().filter(|p| p.is_file()) {
            Some(path) => path,
            None => match make_poster(&d).await {
                Ok(path) => {
                    let (id, poster) = (draft.to_owned(), path.clone());
                    self.library
                        .blocking(move |l| l.set_draft_poster(&id, &poster))
                        .await?;
                    path
                }
                Err(e) => {
                    tracing::warn!(draft, error = %e, "no poster could be made: sending without one");
                    self.skip_poster(draft, format!("no poster could be made: {e}"))
                        .await?;
                    return Ok(None);
                }
            },
        };
        match upload_file(
            self.store.clone(),
            &path,
            BlobKind::Poster,
            "image/jpeg",
            None,
        )
        .await
        {
            Ok(sealed) => {
                let (id, poster) = (draft.to_owned(), sealed.clone());
                self.library
                    .blocking(move |l| l.set_poster_sealed(&id, &poster))
                    .await?;
                Ok(Some(sealed))
            }
            Err(e) if e.is_retryable() => Err(e.into()),
            Err(e) => {
                let reason = refusal_text(&e);
                tracing::warn!(
                    draft,
                    reason,
                    "the store refused the poster: sending without one"
                );
                self.skip_poster(draft, format!("the store refused it: {reason}"))
                    .await?;
                Ok(None)
            }
        }
    }

    /// The message of `draft` goes without a poster, for `reason`.
    async fn skip_poster(&self, draft: &str, reason: String) -> Result<()> {
        let id = draft.to_owned();
        self.library
            .blocking(move |l| l.set_poster_skipped(&id, &reason))
            .await
    }
}

/// Widest poster, in pixels: an inbox thumbnail, small enough for the store's limit.
pub const POSTER_MAX_WIDTH: u32 = 640;

/// Makes the poster JPEG of a draft next to its clip, from the player-ready copy when
/// there is one. Half a second in rather than the first frame: a camera's first frames
/// are often still adjusting exposure.
async fn make_poster(draft: &Draft) -> Result<PathBuf> {
    let source = draft
        .playable_path
        .clone()
        .filter(|p| p.is_file())
        .unwrap_or_else(|| draft.clip_path.clone());
    let out = draft.clip_path.with_extension("poster.jpg");
    let at = match draft.duration {
        Some(d) if d > Duration::from_secs(1) => Duration::from_millis(500),
        _ => Duration::ZERO,
    };
    let path = out.clone();
    tokio::task::spawn_blocking(move || {
        pigeon_media::poster_jpeg(&source, at, POSTER_MAX_WIDTH, &path).or_else(|_| {
            pigeon_media::poster_jpeg(&source, Duration::ZERO, POSTER_MAX_WIDTH, &path)
        })
    })
    .await
    .map_err(|e| LibraryError::Corrupt(format!("a poster task failed: {e}")))??;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use pigeon_store::protocol::Limits;
    use pigeon_store::FolderStore;

    use super::super::tests::alice_to_bob;
    use super::super::Delivery;
    use super::*;
    use crate::db::Library;
    use crate::home::PigeonHome;
    use crate::test_support::{queue_to as to, recorded_draft, user};

    #[tokio::test]
    async fn a_poster_travels_as_its_own_sealed_blob_and_is_reused_by_every_retry() {
        let dir = tempfile::tempdir().unwrap();
        let (library, outbox, _bob) = alice_to_bob(dir.path(), true).await;
        let draft = recorded_draft(&library);
        outbox.finish_clip(&draft, None).await.unwrap();
        let d = library.draft(&draft).unwrap();
        let poster = d
            .poster_sealed
            .clone()
            .expect("the poster was sealed with the clip");
        assert_eq!(poster.kind, BlobKind::Poster);
        assert_eq!(poster.content_type, "image/jpeg");
        let jpeg = std::fs::read(d.poster_path.unwrap()).unwrap();
        assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG");
        assert!(poster.size < Limits::default().max_poster_bytes);

        let id = to(&library, draft.clone(), "bob");
        // The first answer is lost; the retry must commit the very same message.
        assert!(matches!(
            outbox.deliver(&id).await.unwrap(),
            Delivery::Queued { .. }
        ));
        match outbox.deliver(&id).await.unwrap() {
            Delivery::Sent(m) => assert_eq!(m.poster, Some(poster)),
            other => panic!("delivered on retry: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_refused_poster_sends_the_message_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        let tiny = Limits {
            max_poster_bytes: 100,
            ..Limits::default()
        };
        let alice = FolderStore::open_or_create(&shared, &user("alice"), tiny.clone())
            .await
            .unwrap();
        FolderStore::open_or_create(&shared, &user("bob"), tiny)
            .await
            .unwrap();
        let library = Arc::new(Library::open(&PigeonHome::at(dir.path().join("alice"))).unwrap());
        let outbox = Outbox::new(library.clone(), Arc::new(alice));
        let draft = recorded_draft(&library);
        let id = to(&library, draft.clone(), "bob");
        match outbox.deliver(&id).await.unwrap() {
            Delivery::Sent(m) => assert_eq!(m.poster, None),
            other => panic!("a refused poster blocks nothing: {other:?}"),
        }
        let skipped = library.draft(&draft).unwrap().poster_skipped.unwrap();
        assert!(skipped.contains("max_poster_bytes"), "{skipped}");
    }
}
