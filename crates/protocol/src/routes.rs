//! The HTTP routes, listed once so the hub, its client and the tests cannot drift apart.
//! [`TABLE`] is every route with its method and path pattern (`{id}` marks the one path
//! parameter); the hub builds its router from the same patterns.

/// `GET` unauthenticated liveness/readiness probe.
pub const HEALTHZ: &str = "/healthz";
/// `GET`: 200 while the process serves, the engines not checked: what a load balancer
/// asks, so hubs stay in rotation when a server they all share is down (they answer
/// with advice then) while [`HEALTHZ`] tells monitoring.
pub const LIVEZ: &str = "/livez";
/// `GET`: the hub's counters in Prometheus text format (no token; keep it off the
/// public network, see docs/hub.md).
pub const METRICS: &str = "/metrics";
/// `GET` the API's OpenAPI document (no token: the contract is public).
pub const OPENAPI: &str = "/v1/openapi.json";
/// `GET` [`crate::HubVersion`]: the hub's release and the protocols it serves (no token,
/// so a client can ask before it has one).
pub const VERSION: &str = "/v1/version";
/// `GET` the calling user's [`crate::Profile`]; `PATCH` [`crate::ProfileUpdate`] ->
/// [`crate::Profile`] changes their zone and working hours.
pub const ME: &str = "/v1/me";
/// `GET` every active user's [`crate::Profile`] (recipient completion, working hours).
pub const USERS: &str = "/v1/users";
/// `GET` the hub's limits.
pub const LIMITS: &str = "/v1/limits";
/// `POST` [`crate::NewBlob`] -> [`crate::BlobStatus`].
pub const BLOBS: &str = "/v1/blobs";
/// `POST` [`crate::NewMessage`] -> [`crate::Message`] (idempotent by id).
pub const MESSAGES: &str = "/v1/messages";
/// `GET` [`crate::InboxPage`]; query: `order`, `after`, `limit`.
pub const INBOX: &str = "/v1/inbox";
/// `GET` long-poll; query: `after`, `timeout_ms`, `limit`.
pub const INBOX_WAIT: &str = "/v1/inbox/wait";

/// `PUT` [`crate::NewRecord`] -> [`crate::Record`] (idempotent by the record id).
pub fn record(id: &crate::RecordId) -> String {
    format!("/v1/records/{id}")
}
/// `GET` -> `Vec<`[`crate::Record`]`>`: the message's records, oldest first.
pub fn message_records(id: &crate::MessageId) -> String {
    format!("/v1/messages/{id}/records")
}

/// `GET` the blob's bytes (HTTP Range, ETag).
pub fn blob(id: &crate::BlobId) -> String {
    format!("/v1/blobs/{id}")
}
/// `PUT` raw bytes appended at `?offset=N` -> [`crate::BlobStatus`].
pub fn blob_chunks(id: &crate::BlobId) -> String {
    format!("/v1/blobs/{id}/chunks")
}
/// `GET` -> [`crate::BlobStatus`].
pub fn blob_status(id: &crate::BlobId) -> String {
    format!("/v1/blobs/{id}/status")
}
/// `POST` [`crate::SealBlob`] -> [`crate::BlobRef`].
pub fn blob_seal(id: &crate::BlobId) -> String {
    format!("/v1/blobs/{id}/seal")
}
/// `GET` -> [`crate::Message`].
pub fn message(id: &crate::MessageId) -> String {
    format!("/v1/messages/{id}")
}
/// `GET` -> [`crate::MessageStatus`] (sender only).
pub fn message_status(id: &crate::MessageId) -> String {
    format!("/v1/messages/{id}/status")
}
/// `POST` (recipient only) marks the message viewed.
pub fn message_viewed(id: &crate::MessageId) -> String {
    format!("/v1/messages/{id}/viewed")
}
/// `POST` (recipient only) marks the message done.
pub fn message_done(id: &crate::MessageId) -> String {
    format!("/v1/messages/{id}/done")
}

/// `GET` a blob's bytes, pattern of [`blob`].
pub const BLOB: &str = "/v1/blobs/{id}";
/// `PUT` pattern of [`blob_chunks`].
pub const BLOB_CHUNKS: &str = "/v1/blobs/{id}/chunks";
/// `GET` pattern of [`blob_status`].
pub const BLOB_STATUS: &str = "/v1/blobs/{id}/status";
/// `POST` pattern of [`blob_seal`].
pub const BLOB_SEAL: &str = "/v1/blobs/{id}/seal";
/// `GET` pattern of [`message`].
pub const MESSAGE: &str = "/v1/messages/{id}";
/// `GET` pattern of [`message_status`].
pub const MESSAGE_STATUS: &str = "/v1/messages/{id}/status";
/// `POST` pattern of [`message_viewed`].
pub const MESSAGE_VIEWED: &str = "/v1/messages/{id}/viewed";
/// `POST` pattern of [`message_done`].
pub const MESSAGE_DONE: &str = "/v1/messages/{id}/done";
/// `GET` pattern of [`message_records`].
pub const MESSAGE_RECORDS: &str = "/v1/messages/{id}/records";
/// `PUT` pattern of [`record`].
pub const RECORD: &str = "/v1/records/{id}";

/// Every route under [`PREFIX`] but [`OPENAPI`] and [`VERSION`] needs a bearer token.
pub const PREFIX: &str = "/v1";

/// HTTP method of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
}

impl Method {
    /// The method's name as HTTP spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
        }
    }
}

/// One route of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    /// Path pattern; `{id}` is a blob, message or record id.
    pub path: &'static str,
}

impl Route {
    /// Whether the route needs a bearer token (everything under [`PREFIX`] but the
    /// API's document).
    pub fn needs_token(&self) -> bool {
        self.path.starts_with(PREFIX) && self.path != OPENAPI && self.path != VERSION
    }
}

/// Every route the hub serves.
pub const TABLE: &[Route] = &[
    Route {
        method: Method::Get,
        path: HEALTHZ,
    },
    Route {
        method: Method::Get,
        path: LIVEZ,
    },
    Route {
        method: Method::Get,
        path: METRICS,
    },
    Route {
        method: Method::Get,
        path: OPENAPI,
    },
    Route {
        method: Method::Get,
        path: VERSION,
    },
    Route {
        method: Method::Get,
        path: ME,
    },
    Route {
        method: Method::Patch,
        path: ME,
    },
    Route {
        method: Method::Get,
        path: USERS,
    },
    Route {
        method: Method::Get,
        path: LIMITS,
    },
    Route {
        method: Method::Post,
        path: BLOBS,
    },
    Route {
        method: Method::Get,
        path: BLOB,
    },
    Route {
        method: Method::Get,
        path: BLOB_STATUS,
    },
    Route {
        method: Method::Put,
        path: BLOB_CHUNKS,
    },
    Route {
        method: Method::Post,
        path: BLOB_SEAL,
    },
    Route {
        method: Method::Post,
        path: MESSAGES,
    },
    Route {
        method: Method::Get,
        path: MESSAGE,
    },
    Route {
        method: Method::Get,
        path: MESSAGE_STATUS,
    },
    Route {
        method: Method::Post,
        path: MESSAGE_VIEWED,
    },
    Route {
        method: Method::Post,
        path: MESSAGE_DONE,
    },
    Route {
        method: Method::Get,
        path: MESSAGE_RECORDS,
    },
    Route {
        method: Method::Put,
        path: RECORD,
    },
    Route {
        method: Method::Get,
        path: INBOX,
    },
    Route {
        method: Method::Get,
        path: INBOX_WAIT,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_the_path_builders() {
        let id = crate::BlobId::parse("0123456789abcdef").unwrap();
        let m = crate::MessageId::parse("0123456789abcdef").unwrap();
        let r = crate::RecordId::parse("0123456789abcdef").unwrap();
        for (pattern, path) in [
            (BLOB, blob(&id)),
            (BLOB_CHUNKS, blob_chunks(&id)),
            (BLOB_STATUS, blob_status(&id)),
            (BLOB_SEAL, blob_seal(&id)),
            (MESSAGE, message(&m)),
            (MESSAGE_STATUS, message_status(&m)),
            (MESSAGE_VIEWED, message_viewed(&m)),
            (MESSAGE_DONE, message_done(&m)),
            (MESSAGE_RECORDS, message_records(&m)),
            (RECORD, record(&r)),
        ] {
            assert_eq!(pattern.replace("{id}", "0123456789abcdef"), path);
            assert!(TABLE.iter().any(|r| r.path == pattern), "{pattern}");
        }
        for open in [HEALTHZ, OPENAPI, VERSION] {
            assert!(!TABLE.iter().find(|r| r.path == open).unwrap().needs_token());
        }
        assert!(TABLE.iter().find(|r| r.path == ME).unwrap().needs_token());
    }
}
