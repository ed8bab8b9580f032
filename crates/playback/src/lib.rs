//! Pigeon's playback server: a tiny HTTP server on `127.0.0.1` that lets the desktop app's
//! `<video>` element play local clips. WebKitGTK's video element plays neither `file://`,
//! `asset://` nor custom URI schemes, but it does play from a loopback HTTP server that answers
//! `Range` requests.
//!
//! The app starts one [`PlaybackServer`] per session and [offers](PlaybackServer::offer) each clip
//! it wants played: a complete file, or a download still being written (a received clip grows in
//! `<dir>/clip.part` and is renamed to `<dir>/clip.mp4` once complete and verified), so playback can
//! start before the download ends. An offer returns
//! `http://127.0.0.1:PORT/SECRET/N/NAME` for the video element's `src`.
//!
//! This is NOT a general file server: a request names a number the server handed out, never a
//! path, and only what was offered can be read. It is NOT reachable from other machines: it
//! listens on `127.0.0.1` only, on a port the system picks, and every URL carries a secret of
//! 32 random bytes drawn when the server starts (a video element cannot send headers, so the secret
//! is in the path). A wrong secret, an unknown number or a wrong `Host` all get an empty 404.

mod body;

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

use body::Source;
use pigeon_protocol::range::{self, Wanted};

/// The content type of Pigeon's clips.
pub const MP4: &str = "video/mp4";

/// Why the playback server could not start or could not offer something.
#[derive(Debug, thiserror::Error)]
pub enum PlaybackError {
    /// [`PlaybackServer::start`] was called outside a tokio runtime.
    #[error("the playback server must be started from within a tokio runtime")]
    NoRuntime,
    /// No loopback port could be opened.
    #[error("could not open a port on 127.0.0.1 for playback: {0}")]
    Bind(#[source] std::io::Error),
    /// The system gave no random bytes for the session secret.
    #[error("could not draw a secret for the playback server: {0}")]
    Random(#[source] getrandom::Error),
    /// A complete file was offered that does not exist.
    #[error("{} cannot be played: there is no such file", .0.display())]
    Missing(PathBuf),
}

/// Something the video element may play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Media {
    /// A file that has all its bytes.
    File { path: PathBuf, content_type: String },
    /// A download in progress: bytes are appended to `partial`, which is renamed to `complete`
    /// once every byte is there and verified. `total_size` (from the message's metadata) is the
    /// size served until the complete file exists. `partial` only ever grows.
    Download {
        partial: PathBuf,
        complete: PathBuf,
        total_size: u64,
        content_type: String,
    },
}

impl Media {
    /// A complete file.
    pub fn file(path: impl Into<PathBuf>, content_type: impl Into<String>) -> Self {
        Media::File {
            path: path.into(),
            content_type: content_type.into(),
        }
    }

    /// A download that grows in `partial` and becomes `complete` with `total_size` bytes.
    pub fn download(
        partial: impl Into<PathBuf>,
        complete: impl Into<PathBuf>,
        total_size: u64,
        content_type: impl Into<String>,
    ) -> Self {
        Media::Download {
            partial: partial.into(),
            complete: complete.into(),
            total_size,
            content_type: content_type.into(),
        }
    }

    /// Which files this is: offering the same files again gives the same URL.
    fn key(&self) -> (PathBuf, Option<PathBuf>) {
        match self {
            Media::File { path, .. } => (path.clone(), None),
            Media::Download {
                partial, complete, ..
            } => (complete.clone(), Some(partial.clone())),
        }
    }

    fn content_type(&self) -> &str {
        match self {
            Media::File { content_type, .. } | Media::Download { content_type, .. } => content_type,
        }
    }

    /// The last URL segment: the file's name reduced to URL-safe characters. Display only; the
    /// server never reads it.
    fn url_name(&self) -> String {
        let path = match self {
            Media::File { path, .. } => path,
            Media::Download { complete, .. } => complete,
        };
        let name: String = path
            .file_name()
            .map(|name| name.to_string_lossy())
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if name.is_empty() || name.chars().all(|c| c == '.') {
            "media".to_owned()
        } else {
            name
        }
    }
}

/// Timings of the playback server; the defaults suit the app, tests shorten them.
#[derive(Debug, Clone)]
pub struct Options {
    /// A response waiting for a download ends with an error after the download has not grown
    /// for this long; the video element then shows an error.
    pub stall_timeout: Duration,
    /// How often a waiting response looks at the download's length.
    pub poll_interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            stall_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_millis(25),
        }
    }
}

/// The loopback HTTP server the video element plays from. Dropping it stops the server: it
/// accepts no more connections and ends responses still in flight.
pub struct PlaybackServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

struct Shared {
    secret: String,
    /// The one `Host` header a request may carry: `127.0.0.1:PORT`.
    host: String,
    options: Options,
    shutdown: CancellationToken,
    registry: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    last: u64,
    offered: HashMap<u64, Arc<Media>>,
    by_files: HashMap<(PathBuf, Option<PathBuf>), u64>,
}

impl PlaybackServer {
    /// Starts a server with default [`Options`] on the tokio runtime this is called from (in a
    /// Tauri app: inside `tauri::async_runtime::block_on` or an async command).
    pub fn start() -> Result<PlaybackServer, PlaybackError> {
        let runtime = Handle::try_current().map_err(|_| PlaybackError::NoRuntime)?;
        PlaybackServer::start_with(&runtime, Options::default())
    }

    /// Starts a server on `runtime` (in a Tauri app, `tauri::async_runtime::handle().inner()`).
    /// It listens on `127.0.0.1` on a port the system picks.
    pub fn start_with(runtime: &Handle, options: Options) -> Result<PlaybackServer, PlaybackError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(PlaybackError::Random)?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(PlaybackError::Bind)?;
        listener
            .set_nonblocking(true)
            .map_err(PlaybackError::Bind)?;
        let addr = listener.local_addr().map_err(PlaybackError::Bind)?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(PlaybackError::Bind)?
        };
        let shared = Arc::new(Shared {
            secret: hex::encode(secret),
            host: addr.to_string(),
            options,
            shutdown: CancellationToken::new(),
            registry: Mutex::new(Registry::default()),
        });
        let app = Router::new()
            .fallback(serve)
            .with_state(Arc::clone(&shared));
        let stop = shared.shutdown.clone();
        runtime.spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
            match served {
                Ok(()) => tracing::debug!(%addr, "playback server stopped"),
                Err(error) => tracing::error!(%addr, %error, "playback server failed"),
            }
        });
        tracing::info!(%addr, "playback server listening");
        Ok(PlaybackServer { addr, shared })
    }

    /// The address the server listens on (always `127.0.0.1`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Makes `media` playable and returns its URL, `http://127.0.0.1:PORT/SECRET/N/NAME`.
    /// Offering the same files again returns the same URL (with the new details). A complete file
    /// must exist; a download may not have started yet.
    pub fn offer(&self, media: Media) -> Result<String, PlaybackError> {
        if let Media::File { path, .. } = &media {
            if !path.is_file() {
                return Err(PlaybackError::Missing(path.clone()));
            }
        }
        let name = media.url_name();
        let mut registry = self.registry();
        let id = match registry.by_files.get(&media.key()) {
            Some(&id) => id,
            None => {
                registry.last += 1;
                let id = registry.last;
                registry.by_files.insert(media.key(), id);
                id
            }
        };
        tracing::debug!(id, media = ?media, "offered for playback");
        registry.offered.insert(id, Arc::new(media));
        Ok(format!("{}{id}/{name}", self.prefix()))
    }

    /// Stops serving what `url` points at; requests for it get 404 from now on (responses
    /// already streaming go on). Returns whether `url` was on offer.
    pub fn withdraw(&self, url: &str) -> bool {
        let Some(id) = url
            .strip_prefix(&self.prefix())
            .and_then(|rest| rest.split('/').next())
            .and_then(|id| id.parse::<u64>().ok())
        else {
            return false;
        };
        let mut registry = self.registry();
        let Some(media) = registry.offered.remove(&id) else {
            return false;
        };
        registry.by_files.remove(&media.key());
        true
    }

    /// Withdraws everything on offer.
    pub fn clear(&self) {
        let mut registry = self.registry();
        registry.offered.clear();
        registry.by_files.clear();
    }

    fn prefix(&self) -> String {
        format!("http://{}/{}/", self.shared.host, self.shared.secret)
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.shared.registry()
    }
}

impl fmt::Debug for PlaybackServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret.
        f.debug_struct("PlaybackServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for PlaybackServer {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}

impl Shared {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The offered media a request names, if its `Host` and secret are right.
    fn lookup(&self, uri: &Uri, headers: &HeaderMap) -> Option<(u64, Arc<Media>)> {
        let host = headers.get(header::HOST)?.as_bytes();
        if host != self.host.as_bytes() {
            return None;
        }
        let mut parts = uri.path().strip_prefix('/')?.split('/');
        let (Some(secret), Some(id), Some(_name), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if !same_secret(secret.as_bytes(), self.secret.as_bytes()) {
            return None;
        }
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let id: u64 = id.parse().ok()?;
        let media = self.registry().offered.get(&id).cloned()?;
        Some((id, media))
    }
}

/// Compares in time independent of where the first difference is.
fn same_secret(given: &[u8], secret: &[u8]) -> bool {
    given.len() == secret.len()
        && given
            .iter()
            .zip(secret)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// Every request: look the number up, then answer GET or HEAD with the whole file or one range.
async fn serve(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Some((id, media)) = shared.lookup(&uri, &headers) else {
        return status(StatusCode::NOT_FOUND);
    };
    if method != Method::GET && method != Method::HEAD {
        let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let (source, size) = match &*media {
        Media::File { path, .. } => match file_len(path).await {
            Some(len) => (Source::Whole(path.clone()), len),
            None => {
                tracing::warn!(id, path = %path.display(), "offered file is gone");
                return status(StatusCode::NOT_FOUND);
            }
        },
        Media::Download {
            partial,
            complete,
            total_size,
            ..
        } => match file_len(complete).await {
            Some(len) => (Source::Whole(complete.clone()), len),
            None => (
                Source::Growing {
                    partial: partial.clone(),
                    complete: complete.clone(),
                },
                *total_size,
            ),
        },
    };
    let range = headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok());
    let wanted = range::parse(range, size);
    tracing::debug!(id, %method, ?range, ?wanted, size, "playback request");

    let (code, start, end) = match wanted {
        Wanted::Whole => (StatusCode::OK, 0, size),
        Wanted::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end + 1),
        Wanted::Unsatisfiable => {
            let mut response = status(StatusCode::RANGE_NOT_SATISFIABLE);
            let headers = response.headers_mut();
            set(headers, header::CONTENT_RANGE, &format!("bytes */{size}"));
            headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            return response;
        }
    };
    let body = if method == Method::HEAD || start == end {
        Body::empty()
    } else {
        Body::from_stream(body::stream(
            source,
            start,
            end,
            shared.options.clone(),
            shared.shutdown.clone(),
        ))
    };
    let mut response = Response::new(body);
    *response.status_mut() = code;
    let headers = response.headers_mut();
    set(headers, header::CONTENT_TYPE, media.content_type());
    set(headers, header::CONTENT_LENGTH, &(end - start).to_string());
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if code == StatusCode::PARTIAL_CONTENT {
        let content_range = format!("bytes {start}-{}/{size}", end - 1);
        set(headers, header::CONTENT_RANGE, &content_range);
    }
    response
}

/// The length of a regular file, or `None` if there is none at `path`.
async fn file_len(path: &Path) -> Option<u64> {
    let metadata = tokio::fs::metadata(path).await.ok()?;
    metadata.is_file().then_some(metadata.len())
}

/// An empty response with `code` and nothing that says why.
fn status(code: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(value) => {
            headers.insert(name, value);
        }
        Err(_) => tracing::warn!(%name, value, "header value not sent: not valid in HTTP"),
    }
}

#[cfg(test)]
mod tests;
