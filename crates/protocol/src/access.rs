//! Who may see what. The hub and the folder store answer "not found" for whatever these
//! say the caller may not see, so a stranger cannot even learn that it exists.

use crate::{BlobKind, Message, UserName};

/// The sender and the recipients may read a message.
pub fn may_read(m: &Message, user: &UserName) -> bool {
    &m.sender == user || m.recipients.contains(user)
}

/// Only the sender sees every recipient's receipt.
pub fn may_see_status(m: &Message, user: &UserName) -> bool {
    &m.sender == user
}

/// Only a recipient marks a message delivered, viewed or done.
pub fn may_mark(m: &Message, user: &UserName) -> bool {
    m.recipients.contains(user)
}

/// A blob is readable by its uploader, and by whoever may read a message that
/// references it (`referenced_visibly`).
pub fn may_read_blob(owner: &UserName, user: &UserName, referenced_visibly: bool) -> bool {
    owner == user || referenced_visibly
}

/// The file name a download of a blob of `kind` is saved as: an attachment's name from
/// the message (or a neutral one), none for clips and posters.
pub fn download_name(kind: BlobKind, attachment_name: Option<String>) -> Option<String> {
    match kind {
        BlobKind::Clip | BlobKind::Poster | BlobKind::Transcript => None,
        BlobKind::Attachment => Some(attachment_name.unwrap_or_else(|| "attachment".to_string())),
    }
}
