//! Which clients and hubs can talk. A client names the protocol it speaks in every
//! request ([`PROTOCOL_HEADER`]); a hub says what it is and serves at
//! [`crate::routes::VERSION`] ([`HubVersion`]) and refuses a client older than it
//! serves with one sentence naming the release to update to ([`check_client`]). A newer
//! client keeps working with an older hub for what that hub supports: a route the hub
//! lacks answers "route not found", which the client words as "the hub is older".
//!
//! Protocol 1 is everything up to Pigeon 0.1 (messages, blobs, receipts, records,
//! working hours, deadlines); clients of that release send no header at all.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ApiError, ErrorCode};

/// The request header a client names its protocol in.
pub const PROTOCOL_HEADER: &str = "pigeon-protocol";

/// The protocol this build speaks.
pub const PROTOCOL: u32 = 1;

/// The oldest client protocol a hub of this build serves.
pub const OLDEST_CLIENT_PROTOCOL: u32 = 1;

/// The first Pigeon release that speaks each protocol, oldest first.
const RELEASES: [(u32, &str); 1] = [(1, "0.1")];

/// The first Pigeon release speaking `protocol` (the newest known for a later one).
pub fn release_of(protocol: u32) -> &'static str {
    RELEASES
        .iter()
        .rev()
        .find(|(p, _)| *p <= protocol)
        .or(RELEASES.first())
        .map(|(_, r)| *r)
        .unwrap_or("0.1")
}

/// What a hub says about itself (`GET /v1/version`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HubVersion {
    /// The hub's release, e.g. `0.1.0`.
    pub hub: String,
    /// The newest protocol it speaks.
    pub protocol: u32,
    /// The oldest client protocol it serves.
    pub oldest_client_protocol: u32,
}

impl HubVersion {
    /// This build's.
    pub fn current(release: &str) -> Self {
        HubVersion {
            hub: release.to_string(),
            protocol: PROTOCOL,
            oldest_client_protocol: OLDEST_CLIENT_PROTOCOL,
        }
    }
}

/// The hub's rule for a client's [`PROTOCOL_HEADER`] (None: a client from before the
/// header, protocol 1): the protocol to answer in, or the refusal of a client older
/// than `oldest`. A client newer than this build is answered in this build's protocol.
pub fn check_client(header: Option<&str>, oldest: u32) -> Result<u32, ApiError> {
    let spoken = match header {
        None => 1,
        Some(text) => text.trim().parse::<u32>().map_err(|_| {
            ApiError::invalid(format!(
                "the {PROTOCOL_HEADER} header must be a protocol number such as {PROTOCOL} (got {text:?})"
            ))
        })?,
    };
    if spoken < oldest {
        return Err(ApiError::new(
            ErrorCode::ClientTooOld,
            format!(
                "this hub needs Pigeon {} or newer: update Pigeon to keep using it",
                release_of(oldest)
            ),
        ));
    }
    Ok(spoken.min(PROTOCOL))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_before_the_header_speak_protocol_one() {
        assert_eq!(check_client(None, 1), Ok(1));
        assert_eq!(check_client(Some("1"), 1), Ok(1));
    }

    #[test]
    fn a_newer_client_is_answered_in_the_hubs_protocol() {
        assert_eq!(check_client(Some("7"), 1), Ok(PROTOCOL));
    }

    #[test]
    fn an_older_client_is_told_which_release_to_update_to() {
        let refused = check_client(Some("0"), 1).unwrap_err();
        assert_eq!(refused.code, ErrorCode::ClientTooOld);
        assert_eq!(refused.http_status(), 426);
        assert_eq!(
            refused.message,
            "this hub needs Pigeon 0.1 or newer: update Pigeon to keep using it"
        );
        assert_eq!(
            check_client(Some("two"), 1).unwrap_err().code,
            ErrorCode::Invalid
        );
    }
}
