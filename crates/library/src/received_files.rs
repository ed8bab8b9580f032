//! Where a received message's files are kept on this computer, by one set of names:
//! the inbox sync downloads to them and the faces play, open and save from them.

use std::path::{Path, PathBuf};

use pigeon_store::protocol::MessageId;

use crate::db::Library;

/// The files of one received message, all in its own folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedFiles {
    dir: PathBuf,
}

impl ReceivedFiles {
    pub fn of(library: &Library, id: &MessageId) -> Self {
        Self {
            dir: crate::inbox::received_dir(library, id),
        }
    }

    /// The message's folder (created by whoever writes into it first).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The clip as the sender uploaded it, once it is completely downloaded.
    pub fn clip(&self) -> PathBuf {
        self.dir.join("clip.mp4")
    }

    /// The clip while it downloads; renamed to [`clip`](Self::clip) once checked.
    pub fn clip_part(&self) -> PathBuf {
        partial(&self.clip())
    }

    /// The local copy players read (see `pigeon_media::make_playable`).
    pub fn playable(&self) -> PathBuf {
        self.dir.join("clip.playable.mp4")
    }

    /// The poster: the sender's (PNG or JPEG, by its content type) or, for a message
    /// that came without one, a JPEG made from the clip.
    pub fn poster(&self, content_type: &str) -> PathBuf {
        self.dir.join(match content_type {
            "image/png" => "poster.png",
            _ => "poster.jpg",
        })
    }

    /// The downloaded copy of the attachment at `position` named `name` by its sender.
    pub fn attachment(&self, position: usize, name: &str) -> PathBuf {
        self.dir
            .join(crate::attachment::stored_file_name(position, name))
    }
}

/// Where a download to `path` is written until it is complete and checked.
pub fn partial(path: &Path) -> PathBuf {
    path.with_extension("part")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::home::PigeonHome;

    #[test]
    fn a_received_message_keeps_its_files_in_its_own_folder() {
        let dir = tempfile::tempdir().unwrap();
        let library = Library::open(&PigeonHome::at(dir.path())).unwrap();
        let id = MessageId::parse("0123456789abcdef").unwrap();
        let files = ReceivedFiles::of(&library, &id);
        assert_eq!(
            files.dir(),
            library.files_dir().join("received/0123456789abcdef")
        );
        assert_eq!(files.clip(), files.dir().join("clip.mp4"));
        assert_eq!(files.clip_part(), files.dir().join("clip.part"));
        assert_eq!(files.playable(), files.dir().join("clip.playable.mp4"));
        assert_eq!(files.poster("image/png"), files.dir().join("poster.png"));
        assert_eq!(files.poster("image/jpeg"), files.dir().join("poster.jpg"));
        assert_eq!(
            files.attachment(1, "../Q4 plan.pdf"),
            files.dir().join("1-_Q4 plan.pdf"),
            "a sender's name never leaves the folder"
        );
    }
}
