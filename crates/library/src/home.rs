//! Where a user's Pigeon state lives.
//!
//! By default the XDG folders: settings in `$XDG_CONFIG_HOME/pigeon` (usually
//! `~/.config/pigeon`), the database and files in `$XDG_DATA_HOME/pigeon`
//! (usually `~/.local/share/pigeon`). `PIGEON_HOME=DIR` puts all of it under one
//! folder (`DIR/config`, `DIR/data`), so several users can live on one machine.

use std::path::{Path, PathBuf};

/// The environment variable that relocates all of a user's state.
pub const PIGEON_HOME_VAR: &str = "PIGEON_HOME";

/// The folders of one user's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PigeonHome {
    config_dir: PathBuf,
    data_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    #[error("cannot tell where to keep Pigeon's files: neither PIGEON_HOME nor HOME is set; set PIGEON_HOME to a folder")]
    NoHome,
    #[error("PIGEON_HOME is set to a relative path ({0}); set it to an absolute folder path")]
    RelativeHome(PathBuf),
    #[error("could not create {path}: {source}; check that the folder is writable or set PIGEON_HOME elsewhere")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl PigeonHome {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, HomeError> {
        Self::from_vars(|name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
    }

    /// All state under one folder.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            config_dir: root.join("config"),
            data_dir: root.join("data"),
        }
    }

    /// Resolves the folders from environment variables given by `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<PathBuf>) -> Result<Self, HomeError> {
        if let Some(root) = var(PIGEON_HOME_VAR) {
            if root.is_relative() {
                return Err(HomeError::RelativeHome(root));
            }
            return Ok(Self::at(root));
        }
        let home = var("HOME");
        let xdg = |name: &str, fallback: &str| -> Result<PathBuf, HomeError> {
            match var(name).filter(|p| p.is_absolute()) {
                Some(dir) => Ok(dir),
                None => home
                    .as_ref()
                    .map(|h| h.join(fallback))
                    .ok_or(HomeError::NoHome),
            }
        };
        Ok(Self {
            config_dir: xdg("XDG_CONFIG_HOME", ".config")?.join("pigeon"),
            data_dir: xdg("XDG_DATA_HOME", ".local/share")?.join("pigeon"),
        })
    }

    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The settings file.
    pub fn settings_file(&self) -> PathBuf {
        self.config_dir.join("settings.toml")
    }

    /// The library database.
    pub fn database_file(&self) -> PathBuf {
        self.data_dir.join("library.sqlite3")
    }

    /// Clips, posters and downloaded attachments.
    pub fn files_dir(&self) -> PathBuf {
        self.data_dir.join("files")
    }

    /// Speech models downloaded for transcripts (large files, kept out of `files`).
    pub fn models_dir(&self) -> PathBuf {
        self.data_dir.join("models")
    }

    /// Creates the folders if they are missing.
    pub fn create(&self) -> Result<(), HomeError> {
        for path in [
            self.config_dir.clone(),
            self.data_dir.clone(),
            self.files_dir(),
        ] {
            std::fs::create_dir_all(&path).map_err(|source| HomeError::Create { path, source })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<PathBuf> {
        let map: HashMap<String, PathBuf> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), PathBuf::from(v)))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn pigeon_home_holds_everything() {
        let home =
            PigeonHome::from_vars(vars(&[("PIGEON_HOME", "/tmp/alice"), ("HOME", "/home/a")]))
                .unwrap();
        assert_eq!(
            home.settings_file(),
            Path::new("/tmp/alice/config/settings.toml")
        );
        assert_eq!(
            home.database_file(),
            Path::new("/tmp/alice/data/library.sqlite3")
        );
        assert_eq!(home.files_dir(), Path::new("/tmp/alice/data/files"));
        assert_eq!(home.models_dir(), Path::new("/tmp/alice/data/models"));
    }

    #[test]
    fn xdg_folders_by_default() {
        let home = PigeonHome::from_vars(vars(&[("HOME", "/home/a")])).unwrap();
        assert_eq!(home.config_dir(), Path::new("/home/a/.config/pigeon"));
        assert_eq!(home.data_dir(), Path::new("/home/a/.local/share/pigeon"));
        let home = PigeonHome::from_vars(vars(&[
            ("HOME", "/home/a"),
            ("XDG_CONFIG_HOME", "/cfg"),
            ("XDG_DATA_HOME", "/data"),
        ]))
        .unwrap();
        assert_eq!(home.config_dir(), Path::new("/cfg/pigeon"));
        assert_eq!(home.data_dir(), Path::new("/data/pigeon"));
    }

    #[test]
    fn unusable_environments_say_what_to_set() {
        let error = PigeonHome::from_vars(vars(&[])).unwrap_err();
        assert!(error.to_string().contains("set PIGEON_HOME"));
        let error = PigeonHome::from_vars(vars(&[("PIGEON_HOME", "rel/dir")])).unwrap_err();
        assert!(matches!(error, HomeError::RelativeHome(_)));
    }

    #[test]
    fn create_makes_the_folders() {
        let dir = tempfile::tempdir().unwrap();
        let home = PigeonHome::at(dir.path().join("bob"));
        home.create().unwrap();
        assert!(home.config_dir().is_dir() && home.files_dir().is_dir());
        home.create().unwrap();
    }
}
