//! The one error type of the library's stateful parts (database, outbox, inbox sync).

use std::path::PathBuf;

use pigeon_store::protocol::{ApiError, MessageId, UserName};
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
    /// No row of the kind `what` has this id or starts with it.
    #[error("no {what} matches {id:?}")]
    NotFound {
        what: &'static str,
        id: String,
        /// Which list shows them ("drafts", "status" for sent messages, "inbox"), for
        /// the face's advice.
        list: &'static str,
    },
    /// More than one row starts with the prefix given.
    #[error("{id:?} matches several {plural}: give more of the id")]
    Ambiguous {
        plural: &'static str,
        id: String,
        /// As in [`LibraryError::NotFound`].
        list: &'static str,
    },
    /// The draft was handed to the outbox before.
    #[error("draft {draft} was already sent or queued")]
    AlreadyQueued { draft: String },
    /// The id is of a message the user received, where one they sent was asked for.
    #[error("{id} is a message you received from {sender}, not one you sent")]
    ReceivedNotSent { id: MessageId, sender: UserName },
    /// No message sent from this library has this id or starts with it. A message the
    /// user sent from another computer is known there, or to the store by its whole id.
    #[error("no message sent from this library matches {id:?}")]
    UnknownSent { id: String },
    /// The settings name a user the folder store cannot take.
    #[error("your user name {name:?} cannot be used: {reason}; log in again with a valid name")]
    UnusableUserName { name: String, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error(
        "the library holds unreadable data ({0}); it was written by a newer Pigeon or damaged"
    )]
    Corrupt(String),
}

impl LibraryError {
    /// A protocol rule's refusal, checked here before anything is queued, as a user
    /// reads it: the protocol names its limits by field ("max_text_chars"), a user is
    /// told what is too long and what to do.
    pub(crate) fn refused(error: ApiError) -> Self {
        let Some(l) = error.limit else {
            return LibraryError::Invalid(error.message);
        };
        LibraryError::Invalid(match l.limit.as_str() {
            "max_chapters" => format!(
                "a clip has at most {} chapters and this one would have {}: remove some",
                l.max, l.actual
            ),
            "max_chapter_title_chars" => format!(
                "a chapter title has at most {} characters and one has {}: shorten it",
                l.max, l.actual
            ),
            "max_text_chars" => format!(
                "a message's text has at most {} characters and this one has {}: shorten it",
                l.max, l.actual
            ),
            _ => error.message,
        })
    }

    /// The id asked for names no message sent from this library (whatever else it is).
    pub fn is_not_sent_here(&self) -> bool {
        matches!(
            self,
            Self::ReceivedNotSent { .. } | Self::UnknownSent { .. }
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LibraryError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = LibraryError> = std::result::Result<T, E>;
