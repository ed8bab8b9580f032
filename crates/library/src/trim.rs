//! Trimming a draft before it is sent, and the clip times a user types.
//!
//! [`trim_draft`] cuts the draft's clip to a range ([`pigeon_media::trim`]: frame
//! accurate, only the pictures at the start cut re-encoded) into a new file that
//! replaces the draft's clip, with its own playable copy, poster and length. What was
//! cut off never reaches the store: the upload starts over with the trimmed file
//! (already complete, so it is sent whole, in the background at once when an outbox
//! is given), and a blob the store holds for the untrimmed clip is abandoned, never
//! referenced by a message. The old local files are deleted. Only a ready draft can
//! be trimmed; trimming again cuts the current (trimmed) clip.
//!
//! It is NOT an editor: one range is kept, and there is no undo.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pigeon_media::trim::{TrimOutcome, TrimRange};

use crate::clock::{Clock, SystemClock};
use crate::db::{Draft, DraftState, Library};
use crate::error::{LibraryError, Result};
use crate::outbox::{Outbox, POSTER_MAX_WIDTH};

/// A new clip for a draft ([`Library::replace_draft_clip`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplacementClip {
    pub clip_path: PathBuf,
    pub size: u64,
    pub playable_path: Option<PathBuf>,
    pub duration: Duration,
    pub poster_path: Option<PathBuf>,
    /// Where in the replaced clip this one starts: the draft's chapters move by it.
    pub starts_at: Duration,
}

/// A trimmed draft and what the trim did.
#[derive(Debug, Clone, PartialEq)]
pub struct TrimmedDraft {
    pub draft: Draft,
    pub outcome: TrimOutcome,
}

/// Reads a time in a clip as typed: seconds (`80`, `3.2`), `m:ss` (`1:20`,
/// `0:03.2`) or `h:mm:ss` (`1:02:03`).
pub fn parse_clip_time(text: &str) -> Result<Duration> {
    let invalid = || {
        LibraryError::Invalid(format!(
            "{text:?} is not a time in the clip: write seconds (80, 3.2), minutes:seconds (1:20, 0:03.2) or hours:minutes:seconds (1:02:03)"
        ))
    };
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.is_empty() || parts.len() > 3 {
        return Err(invalid());
    }
    let (last, whole) = parts.split_last().ok_or_else(invalid)?;
    let seconds: f64 = parse_number(last, true).ok_or_else(invalid)?;
    if !whole.is_empty() && seconds >= 60.0 {
        return Err(invalid());
    }
    let mut total = 0u64;
    for (i, part) in whole.iter().enumerate() {
        let value = parse_number(part, false).ok_or_else(invalid)? as u64;
        // Minutes after hours stay below 60; the first part may be any size.
        if i > 0 && value >= 60 {
            return Err(invalid());
        }
        total = total * 60 + value;
    }
    let secs = total as f64 * 60.0 + seconds;
    Duration::try_from_secs_f64(secs).map_err(|_| invalid())
}

/// Digits, and with `fraction` a decimal point and more digits.
fn parse_number(text: &str, fraction: bool) -> Option<f64> {
    let ok = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || (fraction && c == '.'))
        && text.chars().filter(|&c| c == '.').count() <= 1
        && !text.starts_with('.')
        && !text.ends_with('.');
    ok.then(|| text.parse().ok()).flatten()
}

/// `0:03.2`, `1:20`, `1:02:03.04`: what [`parse_clip_time`] reads, to the millisecond.
pub fn format_clip_time(time: Duration) -> String {
    let millis = time.as_millis();
    let (h, m, s, ms) = (
        millis / 3_600_000,
        millis / 60_000 % 60,
        millis / 1000 % 60,
        millis % 1000,
    );
    let fraction = if ms == 0 {
        String::new()
    } else {
        format!(".{ms:03}").trim_end_matches('0').to_string()
    };
    if h > 0 {
        format!("{h}:{m:02}:{s:02}{fraction}")
    } else {
        format!("{m}:{s:02}{fraction}")
    }
}

/// Trims `draft` to `start..end` (see the module docs) and returns it as it is now.
pub async fn trim_draft(
    library: &Arc<Library>,
    outbox: Option<&Outbox>,
    draft: &str,
    start: Duration,
    end: Duration,
) -> Result<Draft> {
    Ok(trim_draft_with_outcome(library, outbox, draft, start, end)
        .await?
        .draft)
}

/// [`trim_draft`], also saying how many frames were re-encoded and copied.
pub async fn trim_draft_with_outcome(
    library: &Arc<Library>,
    outbox: Option<&Outbox>,
    draft: &str,
    start: Duration,
    end: Duration,
) -> Result<TrimmedDraft> {
    let before = library.draft(draft)?;
    match before.state {
        DraftState::Ready => {}
        DraftState::Recording => {
            return Err(LibraryError::Invalid(format!(
                "draft {} is still being recorded: stop the recording, then trim it",
                before.id
            )))
        }
        DraftState::Queued | DraftState::Sent => {
            return Err(LibraryError::AlreadyQueued { draft: before.id })
        }
    }
    let id = before.id.clone();
    let source = before.clip_path.clone();
    let target = trimmed_path(&source, &id);
    let (outcome, replacement) = tokio::task::spawn_blocking({
        let target = target.clone();
        move || cut(&source, &target, TrimRange { start, end })
    })
    .await
    .map_err(|e| LibraryError::Corrupt(format!("the trim task failed: {e}")))??;

    let replaced = library
        .blocking({
            let (id, replacement) = (id.clone(), replacement.clone());
            move |l| l.replace_draft_clip(&id, &replacement)
        })
        .await;
    match replaced {
        Ok(true) => {
            // The transcript of the untrimmed clip has the wrong words and times.
            let id = id.clone();
            library
                .blocking(move |l| l.requeue_transcription_of_draft(&id, SystemClock.now()))
                .await?;
        }
        other => {
            remove_files(&replacement);
            other?;
            return Err(LibraryError::AlreadyQueued { draft: id });
        }
    }
    // The old clip is replaced for good: its files only take room now. Its upload,
    // if one still runs, fails on the missing file or seals a blob nobody references.
    remove_files(&ReplacementClip {
        clip_path: before.clip_path.clone(),
        size: 0,
        playable_path: before.playable_path.clone(),
        duration: Duration::ZERO,
        poster_path: before.poster_path.clone(),
        starts_at: Duration::ZERO,
    });
    tracing::info!(
        draft = %id,
        start = %format_clip_time(start),
        end = %format_clip_time(end),
        frames = outcome.video_frames,
        reencoded = outcome.reencoded_frames,
        "trimmed a draft"
    );
    if let Some(outbox) = outbox {
        let (outbox, id) = (outbox.clone(), id.clone());
        tokio::spawn(async move {
            let (clip, poster) = tokio::join!(outbox.seal_clip(&id), outbox.seal_poster(&id));
            if let Err(e) = clip {
                tracing::info!(draft = %id, error = %e, "the trimmed clip will be uploaded at send");
            }
            if let Err(e) = poster {
                tracing::info!(draft = %id, error = %e, "the poster will be uploaded at send");
            }
        });
    }
    Ok(TrimmedDraft {
        draft: library.draft(&id)?,
        outcome,
    })
}

/// A new name next to the clip for its trimmed version, so the old file stays whole
/// until the draft points at the new one.
fn trimmed_path(clip: &Path, draft: &str) -> PathBuf {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    clip.with_file_name(format!("{draft}-trim-{}.mp4", &tag[..8]))
}

/// The media work, on the blocking pool: the trimmed clip, its playable copy and
/// its poster (a poster that cannot be made is made again, or skipped, at send).
fn cut(source: &Path, target: &Path, range: TrimRange) -> Result<(TrimOutcome, ReplacementClip)> {
    let outcome = pigeon_media::trim::trim(source, target, range)?;
    let playable = pigeon_media::clip::playable_path_for(target);
    let playable = match pigeon_media::make_playable(target, &playable) {
        Ok(_) => Some(playable),
        Err(e) => {
            tracing::warn!(error = %e, "no playable copy of the trimmed clip");
            None
        }
    };
    let poster = target.with_extension("poster.jpg");
    let from = playable.clone().unwrap_or_else(|| target.to_path_buf());
    let at = if outcome.duration > Duration::from_secs(1) {
        Duration::from_millis(500)
    } else {
        Duration::ZERO
    };
    let poster = match pigeon_media::poster_jpeg(&from, at, POSTER_MAX_WIDTH, &poster) {
        Ok(()) => Some(poster),
        Err(e) => {
            tracing::info!(error = %e, "the trimmed clip's poster is made at send");
            None
        }
    };
    let replacement = ReplacementClip {
        clip_path: target.to_path_buf(),
        size: outcome.bytes,
        playable_path: playable,
        duration: outcome.duration,
        poster_path: poster,
        starts_at: range.start,
    };
    Ok((outcome, replacement))
}

fn remove_files(clip: &ReplacementClip) {
    let files = [
        Some(&clip.clip_path),
        clip.playable_path.as_ref(),
        clip.poster_path.as_ref(),
    ];
    for path in files.into_iter().flatten() {
        if let Err(e) = std::fs::remove_file(path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::info!(path = %path.display(), error = %e, "could not remove a replaced file");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use pigeon_media::synthetic::{SyntheticAudio, SyntheticVideo};
    use pigeon_media::{Pacing, Recorder, RecorderConfig};
    use pigeon_store::protocol::{BlobKind, BlobRef, Limits};
    use pigeon_store::{BlobUpload, FolderStore, Store};

    use super::*;
    use crate::home::PigeonHome;
    use crate::test_support::{queue_to, user};

    #[test]
    fn clip_times_read_as_typed_and_print_back() {
        let ms = Duration::from_millis;
        for (text, want) in [
            ("80", ms(80_000)),
            ("3.2", ms(3200)),
            ("0:03.2", ms(3200)),
            ("1:20", ms(80_000)),
            ("1:02:03", ms(3_723_000)),
            (" 12:00.5 ", ms(720_500)),
        ] {
            assert_eq!(parse_clip_time(text).unwrap(), want, "{text}");
        }
        for bad in [
            "", "1:60", "1:61:00", "abc", "-3", "1.2.3", ":5", "1:", "3.", "1:2:3:4",
        ] {
            let err = parse_clip_time(bad).expect_err(bad).to_string();
            assert!(err.contains("minutes:seconds"), "{bad}: {err}");
        }
        for (d, text) in [
            (ms(3200), "0:03.2"),
            (ms(80_000), "1:20"),
            (ms(3_723_040), "1:02:03.04"),
            (ms(59_999), "0:59.999"),
        ] {
            assert_eq!(format_clip_time(d), text);
            assert_eq!(parse_clip_time(text).unwrap(), d);
        }
    }

    /// A ready draft with `seconds` of synthetic picture and tone.
    fn recorded(library: &Library, seconds: u64) -> Draft {
        let draft = library.create_draft(chrono::Utc::now()).unwrap();
        let mut config = RecorderConfig::new(&draft.clip_path);
        config.preview = None;
        let length = Some(Duration::from_secs(seconds));
        let video = SyntheticVideo::new(320, 240, 30, Pacing::AsFastAsPossible, length).unwrap();
        let audio = SyntheticAudio::new(48_000, Pacing::AsFastAsPossible, length).unwrap();
        let outcome = Recorder::start(config, Box::new(video), Some(Box::new(audio)))
            .unwrap()
            .wait()
            .unwrap();
        library
            .finish_draft(
                &draft.id,
                outcome.duration,
                outcome.playable.as_deref(),
                false,
            )
            .unwrap();
        library.draft(&draft.id).unwrap()
    }

    #[tokio::test]
    async fn a_trim_replaces_the_clip_and_starts_its_upload_over() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        let store: Arc<dyn Store> = Arc::new(
            FolderStore::open_or_create(&shared, &user("alice"), Limits::default())
                .await
                .unwrap(),
        );
        let library = Arc::new(Library::open(&PigeonHome::at(dir.path().join("alice"))).unwrap());
        let outbox = Outbox::new(library.clone(), store.clone());
        let before = recorded(&library, 4);
        // The untrimmed clip has its transcript.
        let owner = crate::transcripts::TranscriptOwner::Draft(before.id.clone());
        library
            .queue_transcription(&owner, chrono::Utc::now())
            .unwrap();
        let job = library.queued_transcriptions().unwrap().remove(0);
        assert!(library.start_transcription(&job).unwrap());
        let untrimmed: pigeon_store::protocol::Transcript = serde_json::from_str(
            r#"{"language":"en","model":"tiny.en","duration_ms":4000,"segments":[]}"#,
        )
        .unwrap();
        assert!(library
            .finish_transcription(&job, &untrimmed, chrono::Utc::now())
            .unwrap());
        // The untrimmed clip was uploaded and sealed while it was recorded.
        let sealed = outbox.seal_clip(&before.id).await.unwrap();
        assert!(library.draft(&before.id).unwrap().clip_sealed.is_some());

        let trimmed = trim_draft_with_outcome(
            &library,
            Some(&outbox),
            &before.id,
            Duration::from_millis(1200),
            Duration::from_millis(3500),
        )
        .await
        .unwrap();
        let d = &trimmed.draft;
        assert_eq!(trimmed.outcome.video_frames, 69);
        assert_eq!(trimmed.outcome.reencoded_frames, 24);
        assert_eq!(d.duration, Some(Duration::from_millis(2300)));
        assert_ne!(d.clip_path, before.clip_path);
        assert_eq!(
            d.clip_announced,
            std::fs::metadata(&d.clip_path).unwrap().len()
        );
        assert!(d.playable_path.as_ref().unwrap().is_file());
        assert!(d.poster_path.as_ref().unwrap().is_file());
        assert!(!before.clip_path.exists(), "the untrimmed clip is deleted");
        let transcript = library.transcript(&owner).unwrap().unwrap();
        assert_eq!(
            transcript.state,
            crate::transcripts::TranscriptState::Queued,
            "the trimmed clip is transcribed again"
        );
        assert_eq!(transcript.transcript, None);
        assert!(!before.playable_path.as_ref().unwrap().exists());

        // The background upload seals the trimmed file; the old seal is forgotten,
        // and a late seal of the old blob does not come back.
        let file = std::fs::read(&d.clip_path).unwrap();
        let sha = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&file))
        };
        let now = tokio::time::Instant::now();
        let sealed_new = loop {
            if let Some(s) = library.draft(&d.id).unwrap().clip_sealed {
                break s;
            }
            assert!(now.elapsed() < Duration::from_secs(30), "no upload");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(sealed_new.sha256, sha);
        assert_eq!(sealed_new.size, file.len() as u64);
        assert_ne!(sealed_new.id, sealed.id);
        library.set_clip_sealed(&d.id, &sealed).unwrap();
        assert_eq!(library.draft(&d.id).unwrap().clip_sealed, Some(sealed_new));

        // Trimming again cuts the trimmed clip.
        let again = trim_draft_with_outcome(
            &library,
            None,
            &d.id,
            Duration::ZERO,
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        assert_eq!(again.outcome.video_frames, 30);
        assert_eq!(again.draft.clip_sealed, None);
        assert_eq!(again.draft.clip_blob, None);
    }

    #[tokio::test]
    async fn a_trim_moves_the_chapters_with_the_part_kept() {
        let dir = tempfile::tempdir().unwrap();
        let library = Arc::new(Library::open(&PigeonHome::at(dir.path().join("alice"))).unwrap());
        let draft = recorded(&library, 4);
        let chapter = |start_ms, title: &str| pigeon_store::protocol::Chapter {
            start_ms,
            title: title.into(),
        };
        let agenda = [
            chapter(0, "Intro"),
            chapter(1_000, "Budget"),
            chapter(2_500, "Hiring"),
            chapter(3_600, "Q3"),
        ];
        library.set_draft_chapters(&draft.id, &agenda).unwrap();
        let ms = Duration::from_millis;
        let trimmed = trim_draft(&library, None, &draft.id, ms(1_500), ms(3_500))
            .await
            .unwrap();
        assert_eq!(
            trimmed.chapters,
            [chapter(0, "Budget"), chapter(1_000, "Hiring")]
        );
        let length = trimmed.duration.unwrap().as_millis() as u64;
        assert!(crate::chapters::check(&trimmed.chapters, Some(length)).is_ok());
    }

    #[tokio::test]
    async fn only_a_ready_draft_is_trimmed_and_a_bad_range_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let library = Arc::new(Library::open(&PigeonHome::at(dir.path().join("alice"))).unwrap());
        let draft = recorded(&library, 2);
        let err = trim_draft(
            &library,
            None,
            &draft.id,
            Duration::from_secs(1),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("only 2.000 s long"), "{err}");
        let unchanged = library.draft(&draft.id).unwrap();
        assert_eq!(unchanged.clip_path, draft.clip_path);
        assert!(
            draft.clip_path.is_file(),
            "a failed trim leaves the clip alone"
        );

        queue_to(&library, draft.id.clone(), "bob");
        let err = trim_draft(
            &library,
            None,
            &draft.id,
            Duration::ZERO,
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, LibraryError::AlreadyQueued { .. }), "{err}");

        let recording = library.create_draft(chrono::Utc::now()).unwrap();
        let err = trim_draft(
            &library,
            None,
            &recording.id,
            Duration::ZERO,
            Duration::from_secs(1),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("still being recorded"), "{err}");
        // The sealed-blob guard: a seal for a blob that is not the draft's is ignored.
        let stray = BlobRef {
            id: BlobUpload::start(
                Arc::new(
                    FolderStore::open_or_create(
                        &dir.path().join("s"),
                        &user("alice"),
                        Limits::default(),
                    )
                    .await
                    .unwrap(),
                ),
                BlobKind::Clip,
                "video/mp4",
            )
            .await
            .unwrap()
            .id()
            .clone(),
            kind: BlobKind::Clip,
            size: 1,
            sha256: "0".repeat(64),
            content_type: "video/mp4".into(),
        };
        library.set_clip_sealed(&recording.id, &stray).unwrap();
        assert_eq!(library.draft(&recording.id).unwrap().clip_sealed, None);
    }
}
