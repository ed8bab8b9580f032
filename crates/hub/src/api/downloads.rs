//! Downloads of sealed blobs: Range, ETag, Content-Disposition.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use pigeon_protocol::range::{self, Wanted};
use pigeon_protocol::{access, not_sealed_yet};

use super::{parse_blob_id, AuthUser};
use crate::db::{self};
use crate::{Hub, HubError};

/// `filename` for Content-Disposition: ASCII fallback plus RFC 5987 UTF-8 form.
pub(super) fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

pub(super) async fn download(
    State(hub): State<Arc<Hub>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, HubError> {
    let id = parse_blob_id(&id)?;
    let found = db::readable_blob(&mut *hub.db.conn().await?, &id, &user.name).await?;
    let Some((row, attachment_name)) = found else {
        return Err(HubError::not_found("blob"));
    };
    let Some(sealed) = row.sealed_ref() else {
        return Err(not_sealed_yet().into());
    };
    let etag = format!("\"{}\"", sealed.sha256);
    let mut builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable",
        )
        .header(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&sealed.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        );
    if let Some(name) = access::download_name(sealed.kind, attachment_name) {
        if let Ok(v) = HeaderValue::from_str(&content_disposition(&name)) {
            builder = builder.header(header::CONTENT_DISPOSITION, v);
        }
    }
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if inm.is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*")) {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .map_err(|e| HubError::Internal(e.to_string()));
    }
    let size = sealed.size;
    // If-Range with a different validator means "send the whole thing".
    let if_range_ok = headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim() == etag);
    let wanted = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(v) if if_range_ok => range::parse(Some(v), size),
        _ => Wanted::Whole,
    };
    let (status, start, end) = match (wanted, wanted.bounds(size)) {
        (Wanted::Whole, _) => (StatusCode::OK, 0, size),
        (_, Some((a, b))) => {
            builder = builder.header(
                header::CONTENT_RANGE,
                format!("bytes {a}-{}/{size}", b.saturating_sub(1)),
            );
            (StatusCode::PARTIAL_CONTENT, a, b)
        }
        (_, None) => {
            let body = range::unsatisfiable(size);
            return builder
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(&body).unwrap_or_default()))
                .map_err(|e| HubError::Internal(e.to_string()));
        }
    };
    let parts = db::parts(&mut *hub.db.conn().await?, &id).await?;
    let stream = hub.storage.read(parts, start, end);
    builder
        .status(status)
        .header(header::CONTENT_LENGTH, end - start)
        .body(Body::from_stream(stream))
        .map_err(|e| HubError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_escapes_quotes_and_paths() {
        let v = content_disposition("../\"evil\".pdf");
        assert!(v.starts_with("attachment; filename=\"../_evil_.pdf\""));
        assert!(v.contains("filename*=UTF-8''..%2F%22evil%22.pdf"));
    }
}
