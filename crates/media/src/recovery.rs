//! Finding and repairing clips that a crash left behind.
//!
//! While a recording runs, a marker file `<clip>.recording` holds the
//! recorder's process id; a clean stop removes it. A marker whose process is
//! gone means the recording never finished. Its clip is still readable up to
//! the last complete fragment (about one second before the crash), and
//! [`recover`] remuxes that into a clean MP4 with the right duration.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{MediaError, Result};

/// The marker next to a clip that is being recorded.
pub fn marker_path(clip: &Path) -> PathBuf {
    let mut name = clip
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".recording");
    clip.with_file_name(name)
}

pub(crate) fn mark_unfinished(clip: &Path) -> Result<()> {
    let marker = marker_path(clip);
    std::fs::write(&marker, std::process::id().to_string())
        .map_err(|e| MediaError::io("write", &marker, e))
}

pub(crate) fn clear_unfinished(clip: &Path) {
    if let Err(e) = std::fs::remove_file(marker_path(clip)) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(error = %e, clip = %clip.display(), "could not remove the recording marker");
        }
    }
}

fn process_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists() && pid != 0
}

/// True when `clip` was being recorded by a process that no longer runs.
pub fn is_unfinished(clip: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(marker_path(clip)) else {
        return false;
    };
    match text.trim().parse::<u32>() {
        Ok(pid) if pid == std::process::id() => false,
        Ok(pid) if cfg!(target_os = "linux") => !process_alive(pid),
        _ => true,
    }
}

/// Every unfinished clip in `dir`.
pub fn find_unfinished(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| MediaError::io("list", dir, e))?;
    let mut clips = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(clip_name) = name.strip_suffix(".recording") {
            let clip = path.with_file_name(clip_name);
            if clip.exists() && is_unfinished(&clip) {
                clips.push(clip);
            }
        }
    }
    clips.sort();
    Ok(clips)
}

/// A clip brought back after a crash.
#[derive(Debug, Clone)]
pub struct RecoveredClip {
    pub playable: PathBuf,
    /// How much of the recording survived.
    pub duration: Duration,
}

/// Remuxes what survives of `clip` into `playable` (a clean MP4 with the right
/// duration) and removes the marker. The damaged original is left in place.
pub fn recover(clip: &Path, playable: &Path) -> Result<RecoveredClip> {
    let duration = crate::clip::make_playable(clip, playable).map_err(|e| match e {
        MediaError::NotMedia { reason, .. } => MediaError::NothingToRecover {
            path: clip.to_path_buf(),
            reason: format!("the recording ended before its first second was written ({reason})"),
        },
        other => other,
    })?;
    clear_unfinished(clip);
    tracing::info!(clip = %clip.display(), ?duration, "recovered an unfinished recording");
    Ok(RecoveredClip {
        playable: playable.to_path_buf(),
        duration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_of_a_dead_process_means_unfinished() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clip = dir.path().join("a.mp4");
        std::fs::write(&clip, b"x").expect("write");
        assert!(!is_unfinished(&clip));
        // Our own process is alive: not unfinished.
        mark_unfinished(&clip).expect("mark");
        assert!(!is_unfinished(&clip));
        // pid_max is below 2^22 on Linux: this process cannot exist.
        std::fs::write(marker_path(&clip), "4194399").expect("write");
        assert!(is_unfinished(&clip));
        assert_eq!(
            find_unfinished(dir.path()).expect("list"),
            vec![clip.clone()]
        );
        clear_unfinished(&clip);
        assert!(!is_unfinished(&clip));
    }
}
