//! The hub as an installed system service: where its configuration is when none is
//! named, and running as the owner of the data directory, so that an operator's
//! `sudo pigeon-hub user add alice` writes the database as the service's own user does
//! (a file the operator's root created would lock the service out of it).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::HubError;

/// The configuration the hub's package installs (and its service reads).
pub const SYSTEM_CONFIG: &str = "/etc/pigeon-hub/hub.toml";

/// The configuration to read: the one named, else the system one when it exists, else
/// none (the built-in defaults).
pub fn config_path(named: Option<&Path>) -> Option<PathBuf> {
    match named {
        Some(path) => Some(path.to_path_buf()),
        None => Some(PathBuf::from(SYSTEM_CONFIG)).filter(|p| p.is_file()),
    }
}

/// When started as root on a data directory another user owns, becomes that user (and
/// their group) before anything is opened; returns the uid it became. Otherwise does
/// nothing: a hub started by its owner, or by root on root's own directory, stays as
/// it is.
pub fn become_data_owner(data: &Path) -> Result<Option<u32>, HubError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let Ok(meta) = std::fs::metadata(data) else {
        return Ok(None);
    };
    let (uid, gid) = (meta.uid(), meta.gid());
    if uid == 0 {
        return Ok(None);
    }
    let failed = |what: &str| {
        HubError::Config(format!(
            "cannot become the owner of {} ({what} {}): run this as that user, e.g. sudo -u pigeon-hub pigeon-hub ...",
            data.display(),
            std::io::Error::last_os_error()
        ))
    };
    // Supplementary groups first, then the group, then the user: after setuid nothing
    // else may be changed.
    // SAFETY: plain system calls on integers; a null list with length 0 is allowed.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0 {
            return Err(failed("setgroups"));
        }
        if libc::setgid(gid) != 0 {
            return Err(failed("setgid"));
        }
        if libc::setuid(uid) != 0 {
            return Err(failed("setuid"));
        }
    }
    Ok(Some(uid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_configuration_wins() {
        let named = Path::new("/tmp/some/hub.toml");
        assert_eq!(config_path(Some(named)), Some(named.to_path_buf()));
    }

    #[test]
    fn a_directory_root_owns_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        // As root (the test machines) on root's directory, or as any other user: no change.
        assert_eq!(become_data_owner(dir.path()).unwrap(), None);
    }
}
