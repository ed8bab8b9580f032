//! [`Store`] over a `pigeon-hub` server's HTTP API.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use pigeon_protocol::{
    routes, ApiError, BlobId, BlobRef, BlobStatus, ErrorCode, HubVersion, InboxCursor, InboxPage,
    InboxQuery, Limits, Message, MessageId, MessageStatus, NewBlob, NewMessage, NewRecord, Profile,
    ProfileUpdate, Record, SealBlob, User,
};
use reqwest::{header, Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use crate::{BlobDownload, BodySource, ByteRange, Store, StoreError};

/// How failed requests are retried: network errors and 5xx only, with exponential
/// backoff; 4xx is never retried (the same request would fail the same way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 6,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// A client of one hub, acting as the user whose token it holds.
#[derive(Clone)]
pub struct HubClient {
    http: reqwest::Client,
    base: String,
    token: String,
    retry: RetryPolicy,
}

impl std::fmt::Debug for HubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl HubClient {
    /// A client of the hub at `base_url` (e.g. `https://hub.example.com`).
    pub fn new(base_url: &str, token: &str) -> Result<Self, StoreError> {
        let base = base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(StoreError::Rejected(ApiError::invalid(format!(
                "hub address {base_url:?} must start with https:// (or http:// on a trusted network)"
            ))));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .user_agent(concat!("pigeon-store/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| StoreError::Unreachable {
                url: base.clone(),
                reason: format!("cannot set up HTTPS: {e}"),
            })?;
        Ok(Self {
            http,
            base,
            token: token.to_string(),
            retry: RetryPolicy::default(),
        })
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Replaces the HTTP client (custom TLS roots, proxies, connection pooling).
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// The hub's address.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// What the hub says about its release and protocols; `None` for a hub from before
    /// versions (it has no such route: protocol 1).
    pub async fn hub_version(&self) -> Result<Option<HubVersion>, StoreError> {
        match self
            .json(|| self.request(Method::GET, routes::VERSION))
            .await
        {
            Ok(version) => Ok(Some(version)),
            Err(StoreError::Rejected(api))
                if api.code == ErrorCode::NotFound
                    && api.message.starts_with("route not found") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header(pigeon_protocol::PROTOCOL_HEADER, pigeon_protocol::PROTOCOL)
    }

    /// Sends the request `build` makes, retrying network errors and 5xx with backoff.
    /// Returns the successful response; a 4xx becomes [`StoreError::Rejected`].
    async fn send(
        &self,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<reqwest::Response, StoreError> {
        let mut delay = self.retry.first_delay;
        let mut attempt = 1;
        loop {
            let last = attempt >= self.retry.attempts.max(1);
            let outcome = build().send().await;
            let failure = match outcome {
                Ok(resp)
                    if resp.status().is_success() || resp.status() == StatusCode::NOT_MODIFIED =>
                {
                    return Ok(resp)
                }
                Ok(resp) if resp.status().is_server_error() => {
                    let status = resp.status();
                    let body = error_body(resp).await;
                    if last {
                        return Err(match body {
                            Some(e) => StoreError::Rejected(e),
                            None => StoreError::Unreachable {
                                url: self.base.clone(),
                                reason: format!("the hub answered {status}"),
                            },
                        });
                    }
                    format!("the hub answered {status}")
                }
                Ok(resp) => {
                    let status = resp.status();
                    return Err(StoreError::Rejected(error_body(resp).await.unwrap_or_else(|| {
                        ApiError::new(
                            if status == StatusCode::UNAUTHORIZED {
                                ErrorCode::Unauthorized
                            } else if status == StatusCode::NOT_FOUND {
                                ErrorCode::NotFound
                            } else {
                                ErrorCode::Invalid
                            },
                            format!("the hub answered {status} without details: check the hub address and version"),
                        )
                    })));
                }
                Err(e) => {
                    if let Some(failed) = body_failure(&e) {
                        // The body's source (a local file) failed, not the network: the
                        // same request would fail the same way.
                        return Err(failed);
                    }
                    let reason = describe(&e);
                    if last {
                        return Err(StoreError::Unreachable {
                            url: self.base.clone(),
                            reason,
                        });
                    }
                    reason
                }
            };
            tracing::debug!(attempt, reason = %failure, delay_ms = delay.as_millis() as u64, "retrying a hub request");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.retry.max_delay);
            attempt += 1;
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<T, StoreError> {
        let resp = self.send(build).await?;
        resp.json::<T>()
            .await
            .map_err(|e| StoreError::Corrupt(format!("unexpected response from the hub: {e}")))
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The error a streamed request body ended with, when that is why the request failed.
fn body_failure(e: &reqwest::Error) -> Option<StoreError> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(failed) = s.downcast_ref::<StoreError>() {
            return Some(match failed {
                StoreError::Io { path, source } => StoreError::Io {
                    path: path.clone(),
                    source: std::io::Error::new(source.kind(), source.to_string()),
                },
                StoreError::LocalFile { path, source } => StoreError::LocalFile {
                    path: path.clone(),
                    source: std::io::Error::new(source.kind(), source.to_string()),
                },
                other => StoreError::Corrupt(other.to_string()),
            });
        }
        source = s.source();
    }
    None
}

async fn error_body(resp: reqwest::Response) -> Option<ApiError> {
    let bytes = resp.bytes().await.ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[async_trait]
impl Store for HubClient {
    async fn me(&self) -> Result<User, StoreError> {
        self.json(|| self.request(Method::GET, routes::ME)).await
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.json(|| self.request(Method::GET, routes::USERS)).await
    }

    async fn limits(&self) -> Result<Limits, StoreError> {
        self.json(|| self.request(Method::GET, routes::LIMITS))
            .await
    }

    async fn profiles(&self) -> Result<Vec<Profile>, StoreError> {
        self.json(|| self.request(Method::GET, routes::USERS)).await
    }

    async fn set_profile(&self, update: &ProfileUpdate) -> Result<Profile, StoreError> {
        // A whole replacement, so a retry after a lost answer does no harm.
        self.json(|| self.request(Method::PATCH, routes::ME).json(update))
            .await
    }

    async fn create_blob(&self, blob: &NewBlob) -> Result<BlobStatus, StoreError> {
        self.json(|| self.request(Method::POST, routes::BLOBS).json(blob))
            .await
    }

    async fn blob_status(&self, id: &BlobId) -> Result<BlobStatus, StoreError> {
        self.json(|| self.request(Method::GET, &routes::blob_status(id)))
            .await
    }

    async fn append_blob(
        &self,
        id: &BlobId,
        offset: u64,
        bytes: Bytes,
    ) -> Result<BlobStatus, StoreError> {
        let path = format!("{}?offset={offset}", routes::blob_chunks(id));
        self.json(|| {
            self.request(Method::PUT, &path)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(bytes.clone())
        })
        .await
    }

    async fn append_blob_from(
        &self,
        id: &BlobId,
        offset: u64,
        len: u64,
        source: BodySource,
    ) -> Result<BlobStatus, StoreError> {
        let path = format!("{}?offset={offset}", routes::blob_chunks(id));
        self.json(|| {
            // Content-Length, not chunked: the hub refuses an oversized append before
            // reading it, and knows where a broken body stopped short.
            self.request(Method::PUT, &path)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .header(header::CONTENT_LENGTH, len)
                .body(reqwest::Body::wrap_stream(source()))
        })
        .await
    }

    async fn seal_blob(&self, id: &BlobId, seal: &SealBlob) -> Result<BlobRef, StoreError> {
        self.json(|| {
            self.request(Method::POST, &routes::blob_seal(id))
                .json(seal)
        })
        .await
    }

    async fn commit_message(&self, message: &NewMessage) -> Result<Message, StoreError> {
        self.json(|| self.request(Method::POST, routes::MESSAGES).json(message))
            .await
    }

    async fn message(&self, id: &MessageId) -> Result<Message, StoreError> {
        self.json(|| self.request(Method::GET, &routes::message(id)))
            .await
    }

    async fn commit_record(&self, record: &NewRecord) -> Result<Record, StoreError> {
        // PUT to the record's own id: a retry after a lost answer is the same request.
        self.json(|| {
            self.request(Method::PUT, &routes::record(&record.id))
                .json(record)
        })
        .await
        .map_err(older_hub)
    }

    async fn records(&self, message: &MessageId) -> Result<Vec<Record>, StoreError> {
        self.json(|| self.request(Method::GET, &routes::message_records(message)))
            .await
            .map_err(older_hub)
    }

    async fn inbox(&self, query: &InboxQuery) -> Result<InboxPage, StoreError> {
        let mut params = vec![("order", query.order.as_str().to_string())];
        if let Some(after) = &query.after {
            params.push(("after", after.0.clone()));
        }
        if query.limit > 0 {
            params.push(("limit", query.limit.to_string()));
        }
        let path = format!("{}?{}", routes::INBOX, query_string(&params));
        self.json(|| self.request(Method::GET, &path)).await
    }

    async fn wait_inbox(
        &self,
        after: Option<&InboxCursor>,
        timeout: Duration,
    ) -> Result<InboxPage, StoreError> {
        let mut params = vec![("timeout_ms", timeout.as_millis().to_string())];
        if let Some(after) = after {
            params.push(("after", after.0.clone()));
        }
        let path = format!("{}?{}", routes::INBOX_WAIT, query_string(&params));
        self.json(|| {
            self.request(Method::GET, &path)
                .timeout(timeout + Duration::from_secs(15))
        })
        .await
    }

    async fn mark_viewed(&self, id: &MessageId) -> Result<(), StoreError> {
        self.send(|| self.request(Method::POST, &routes::message_viewed(id)))
            .await?;
        Ok(())
    }

    async fn mark_done(&self, id: &MessageId) -> Result<(), StoreError> {
        self.send(|| self.request(Method::POST, &routes::message_done(id)))
            .await?;
        Ok(())
    }

    async fn message_status(&self, id: &MessageId) -> Result<MessageStatus, StoreError> {
        self.json(|| self.request(Method::GET, &routes::message_status(id)))
            .await
    }

    async fn download(
        &self,
        id: &BlobId,
        range: Option<ByteRange>,
    ) -> Result<BlobDownload, StoreError> {
        let range_header = range.map(|r| match r.end {
            Some(end) if end > r.start => format!("bytes={}-{}", r.start, end - 1),
            _ => format!("bytes={}-", r.start),
        });
        let resp = self
            .send(|| {
                let b = self.request(Method::GET, &routes::blob(id));
                match &range_header {
                    Some(h) => b.header(header::RANGE, h),
                    None => b,
                }
            })
            .await?;
        let headers = resp.headers().clone();
        let text = |name: header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let sha256 = text(header::ETAG)
            .unwrap_or_default()
            .trim_matches('"')
            .to_string();
        let content_type =
            text(header::CONTENT_TYPE).unwrap_or_else(|| "application/octet-stream".into());
        let len = resp.content_length().unwrap_or(0);
        let (start, end, size) = match text(header::CONTENT_RANGE) {
            Some(cr) if resp.status() == StatusCode::PARTIAL_CONTENT => parse_content_range(&cr)
                .ok_or_else(|| StoreError::Corrupt(format!("bad Content-Range {cr:?}")))?,
            _ => (0, len, len),
        };
        let file_name = text(header::CONTENT_DISPOSITION).and_then(|d| disposition_name(&d));
        let url = self.base.clone();
        let body = resp
            .bytes_stream()
            .map(move |r| {
                r.map_err(|e| StoreError::Unreachable {
                    url: url.clone(),
                    reason: format!(
                        "the download broke off ({}): download again from where it stopped",
                        describe(&e)
                    ),
                })
            })
            .boxed();
        Ok(BlobDownload {
            size,
            start,
            end,
            content_type,
            sha256,
            file_name,
            body,
        })
    }
}

/// A hub older than records answers their route with its plain "route not found": say
/// what that means instead.
fn older_hub(e: StoreError) -> StoreError {
    match e {
        StoreError::Rejected(api)
            if api.code == ErrorCode::NotFound && api.message.starts_with("route not found") =>
        {
            StoreError::Rejected(ApiError::new(
                ErrorCode::NotFound,
                "the hub is older than transcripts and cannot store them: ask whoever runs the hub to update it",
            ))
        }
        other => other,
    }
}

/// `k=v&...` with values percent-encoded.
fn query_string(params: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (k, v) in params {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        for b in v.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// `bytes A-B/SIZE` -> (A, B+1, SIZE).
fn parse_content_range(v: &str) -> Option<(u64, u64, u64)> {
    let rest = v.strip_prefix("bytes ")?;
    let (range, size) = rest.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    Some((
        a.parse().ok()?,
        b.parse::<u64>().ok()? + 1,
        size.parse().ok()?,
    ))
}

/// The UTF-8 `filename*` of a Content-Disposition, else the plain `filename`.
fn disposition_name(v: &str) -> Option<String> {
    if let Some(idx) = v.find("filename*=UTF-8''") {
        let enc = v[idx + "filename*=UTF-8''".len()..]
            .split(';')
            .next()?
            .trim();
        let mut bytes = Vec::new();
        let raw = enc.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'%' && i + 2 < raw.len() {
                let hex = std::str::from_utf8(raw.get(i + 1..i + 3)?).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            } else {
                bytes.push(raw[i]);
                i += 1;
            }
        }
        return String::from_utf8(bytes).ok();
    }
    let idx = v.find("filename=\"")?;
    let rest = &v[idx + "filename=\"".len()..];
    Some(rest.split('"').next()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hub_without_records_is_named_as_too_old() {
        // What a hub from before records answers for their routes.
        let old = StoreError::Rejected(ApiError::not_found("route"));
        let e = older_hub(old);
        assert_eq!(e.code(), Some(ErrorCode::NotFound));
        assert!(e.to_string().contains("older than transcripts"), "{e}");
        // A missing message stays what it is.
        let missing = older_hub(StoreError::Rejected(ApiError::not_found("message")));
        assert!(
            missing.to_string().starts_with("message not found"),
            "{missing}"
        );
    }

    #[test]
    fn parses_download_headers() {
        assert_eq!(parse_content_range("bytes 10-19/100"), Some((10, 20, 100)));
        assert_eq!(
            disposition_name("attachment; filename=\"a_b.pdf\"; filename*=UTF-8''a%2Fb%C3%A9.pdf")
                .as_deref(),
            Some("a/bé.pdf")
        );
    }
}
