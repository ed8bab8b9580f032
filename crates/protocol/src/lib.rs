//! Pigeon's shared-store protocol: the serde wire types that the hub server, the hub
//! client and the folder store exchange (users, blobs, messages, inbox pages, receipts,
//! limits and the one error body every failed call returns), plus every rule both
//! stores apply to them: one function per field rule ([`fields`]), the commit
//! ([`commit`]), the seal ([`seal`]), appends ([`append`]), who may see what
//! ([`access`]) and byte ranges ([`range`]).
//!
//! A message carries a clip, text, or both; an answer may name a moment of the clip it
//! answers (a comment, [`Message::is_comment`]) or one of its [`Chapter`]s, and is
//! checked against it ([`commit::answer_about`]). Records about a message carry its
//! transcript and the participants' reactions ([`REACTIONS`], [`reactions`]).
//!
//! This crate is NOT a client or a server: it does no I/O, holds no state and knows
//! nothing about HTTP libraries, SQLite or files. A rule that needs stored data says
//! what to read and decides from what the store fed it (as [`mp4::VideoProbe`] does).
//! The HTTP routes are listed in [`routes`] so client and server cannot drift apart, and
//! every wire type describes its JSON as a JSON Schema (`utoipa::ToSchema`, with the
//! patterns of the ids), from which the hub builds its OpenAPI document.

pub mod access;
pub mod append;
mod blobs;
pub mod commit;
mod deadlines;
mod error;
mod extensions;
pub mod fields;
pub mod hours;
mod ids;
mod inbox;
mod limits;
mod messages;
pub mod mp4;
pub mod range;
mod receipts;
mod records;
pub mod routes;
pub mod seal;
mod transcripts;
mod users;
mod versions;

pub use blobs::*;
pub use deadlines::*;
pub use error::*;
pub use extensions::*;
pub use ids::*;
pub use inbox::*;
pub use limits::*;
pub use messages::*;
pub use receipts::*;
pub use records::*;
pub use transcripts::*;
pub use users::*;
pub use versions::*;

/// Checks that `tz` is a real IANA zone name (`Europe/Berlin`, `UTC`); see
/// [`fields::time_zone`].
pub fn validate_time_zone(tz: &str) -> Result<(), Invalid> {
    fields::time_zone(tz)
}

/// Attachment names are display text: any printable text, no control characters; see
/// [`fields::attachment_name`].
pub fn validate_attachment_name(name: &str, max_chars: u64) -> Result<(), ApiError> {
    fields::attachment_name(name, max_chars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn ids_reject_path_characters() {
        assert!(MessageId::parse("0123456789abcdef").is_ok());
        assert!(MessageId::parse("../../etc/passwd0000").is_err());
        assert!(MessageId::parse("short").is_err());
        assert!(UserName::parse("alice").is_ok());
        assert!(UserName::parse("Alice").is_err());
        assert!(UserName::parse("../x").is_err());
        assert!(serde_json::from_str::<BlobId>("\"a/b/c/d/e/f/g/h/i/j\"").is_err());
    }

    #[test]
    fn limit_errors_map_to_413_for_bytes_and_422_for_counts() {
        assert_eq!(ApiError::limit("max_clip_bytes", 1, 2).http_status(), 413);
        assert_eq!(ApiError::limit("max_recipients", 1, 2).http_status(), 422);
    }

    #[test]
    fn time_zones_are_real_zone_names() {
        assert!(validate_time_zone("Europe/Berlin").is_ok());
        assert!(validate_time_zone("America/Argentina/Buenos_Aires").is_ok());
        assert!(validate_time_zone("../x").is_err());
        assert!(validate_time_zone("").is_err());
        // The right shape, but no such zone.
        assert!(validate_time_zone("Europe/Atlantis").is_err());
    }

    #[test]
    fn posters_must_be_images_and_say_so() {
        let poster = |ct: &str| NewBlob {
            kind: BlobKind::Poster,
            content_type: ct.into(),
        };
        assert!(check_new_blob(&poster("image/jpeg")).is_ok());
        let refused = check_new_blob(&poster("application/pdf")).unwrap_err();
        assert_eq!(refused.code, ErrorCode::NotImage);
        assert_eq!(refused.http_status(), 422);
        assert!(check_poster_bytes("image/jpeg", &[0xFF, 0xD8, 0xFF, 0xE0]).is_ok());
        assert!(check_poster_bytes("image/png", b"\x89PNG\r\n\x1a\n..").is_ok());
        assert!(check_poster_bytes("image/jpeg", b"%PDF-1.7").is_err());
        assert!(check_poster_bytes("image/png", &[0xFF, 0xD8, 0xFF]).is_err());
    }

    #[test]
    fn transcripts_must_say_they_are_transcripts() {
        let transcript = |ct: &str| NewBlob {
            kind: BlobKind::Transcript,
            content_type: ct.into(),
        };
        assert!(check_new_blob(&transcript(TRANSCRIPT_CONTENT_TYPE)).is_ok());
        let refused = check_new_blob(&transcript("application/json")).unwrap_err();
        assert_eq!(refused.code, ErrorCode::Invalid);
        assert!(refused.message.contains(TRANSCRIPT_CONTENT_TYPE));
    }

    #[test]
    fn a_message_without_a_poster_keeps_its_old_json() {
        let json = r#"{"id":"0123456789abcdef","recipients":["bob"],"subject":"s","text":null,
            "clip":"0123456789abcdef0","attachments":[],"respond_by":"2030-01-01T00:00:00Z",
            "respond_by_tz":"UTC","in_reply_to":null}"#;
        let m: NewMessage = serde_json::from_str(json).unwrap();
        assert_eq!(m.poster, None);
        assert!(!serde_json::to_string(&m).unwrap().contains("poster"));
    }

    #[test]
    fn receipt_state_is_the_furthest() {
        let mut r = Receipt::new(UserName::parse("bob").unwrap());
        assert_eq!(r.state(), RecipientState::Sent);
        r.viewed_at = Some(Utc::now());
        assert_eq!(r.state(), RecipientState::Viewed);
        r.response = Some(Response::Done);
        assert_eq!(r.state(), RecipientState::Responded);
    }
}
