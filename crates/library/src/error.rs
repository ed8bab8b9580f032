//! The one error type of the library's stateful parts (database, outbox, inbox sync).

use std::path::PathBuf;

use pigeon_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("the library database failed ({0}); if this repeats, move the database file aside and run again")]
    Database(#[from] rusqlite::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Media(#[from] pigeon_media::MediaError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no {what} matches {id:?}: list them with `pigeon {list}`")]
    NotFound {
        what: &'static str,
        id: String,
        list: &'static str,
    },
    /// The id names no message sent from this library; the text says what it is and
    /// what to do instead.
    #[error("{0}")]
    NotSentHere(String),
    #[error("{0}")]
    Invalid(String),
    #[error(
        "the library holds unreadable data ({0}); it was written by a newer Pigeon or damaged"
    )]
    Corrupt(String),
}

impl LibraryError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LibraryError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = LibraryError> = std::result::Result<T, E>;
