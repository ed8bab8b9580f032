//! Files attached to a message: checked before they are queued, typed so the
//! recipient's system opens them with the right application.

use std::path::{Path, PathBuf};

use crate::error::{LibraryError, Result};

/// A file ready to attach: its absolute path, the name recipients see, its MIME type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub path: PathBuf,
    pub name: String,
    pub content_type: String,
    pub size: u64,
}

impl Attachment {
    /// Checks that `path` is a readable file and describes it.
    pub fn from_path(path: &Path) -> Result<Self> {
        let path = std::path::absolute(path).map_err(|e| LibraryError::io(path, e))?;
        let meta = std::fs::metadata(&path).map_err(|e| {
            LibraryError::Invalid(format!(
                "{} cannot be attached ({e}): check that the file exists",
                path.display()
            ))
        })?;
        if !meta.is_file() {
            return Err(LibraryError::Invalid(format!(
                "{} is not a file: attach files, not folders",
                path.display()
            )));
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "attachment".into());
        Ok(Attachment {
            content_type: content_type_for(&path).to_owned(),
            name,
            path,
            size: meta.len(),
        })
    }

    /// The (path, display name, content type) triple the outbox queues.
    pub fn into_queued(self) -> (PathBuf, String, String) {
        (self.path, self.name, self.content_type)
    }
}

/// The name a received attachment is stored under: its position first, so two
/// attachments with the same name never overwrite each other.
pub fn stored_file_name(position: usize, name: &str) -> String {
    format!("{position}-{}", save_as_name(name))
}

/// The file name to offer when saving an attachment whose sender named it `name`
/// (names are display text: anything unsafe in a file name is replaced).
pub fn save_as_name(name: &str) -> String {
    safe_file_name(name)
}

/// An attachment's display name made safe as a file name (names are display text only).
pub fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "._- ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches('.').trim();
    if trimmed.is_empty() {
        "attachment".to_owned()
    } else {
        trimmed.chars().take(100).collect()
    }
}

/// The MIME type recipients' apps open an attachment with, from its extension.
pub fn content_type_for(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "txt" | "md" => "text/plain",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        "odp" => "application/vnd.oasis.opendocument.presentation",
        "csv" => "text/csv",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_attachments_are_stored_and_saved_under_safe_names() {
        assert_eq!(stored_file_name(0, "Agenda.pdf"), "0-Agenda.pdf");
        assert_eq!(stored_file_name(2, "a/b:c.txt"), "2-a_b_c.txt");
        assert_eq!(save_as_name("Agenda.pdf"), "Agenda.pdf");
        assert_eq!(
            save_as_name("3-notes.txt"),
            "3-notes.txt",
            "a name is never cut"
        );
        assert_eq!(save_as_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(save_as_name("..."), "attachment");
    }

    #[test]
    fn a_file_is_described_and_a_folder_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("Agenda.PDF");
        std::fs::write(&file, b"%PDF-1.4").unwrap();
        let a = Attachment::from_path(&file).unwrap();
        assert_eq!(a.name, "Agenda.PDF");
        assert_eq!(a.content_type, "application/pdf");
        assert_eq!(a.size, 8);
        let err = Attachment::from_path(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a file"), "{err}");
        let err = Attachment::from_path(&dir.path().join("missing.txt"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("check that the file exists"), "{err}");
    }
}
