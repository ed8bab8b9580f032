//! The response body: a byte range of a file read in chunks, waiting for a growing download.

use std::io::{self, SeekFrom};
use std::path::PathBuf;
use std::time::Instant;

use bytes::Bytes;
use futures_util::Stream;
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::sync::CancellationToken;

use crate::Options;

/// How much is read from disk and sent at a time.
pub(crate) const CHUNK: u64 = 256 * 1024;

/// Where the bytes of one response come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A file that already has every byte.
    Whole(PathBuf),
    /// A download still being written to `partial`, renamed to `complete` when done.
    Growing { partial: PathBuf, complete: PathBuf },
}

/// The bytes `start..end` of `source`, as a body stream. Bytes of a growing download that are not
/// on disk yet are waited for; the stream ends with an error (and the connection with it) if the
/// file stops short, if a download makes no progress for `options.stall_timeout`, or when the
/// server shuts down.
pub(crate) fn stream(
    source: Source,
    start: u64,
    end: u64,
    options: Options,
    shutdown: CancellationToken,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let reader = Reader {
        source,
        file: None,
        from_complete: false,
        pos: start,
        end,
        options,
        shutdown,
        seen_len: None,
        progress_at: Instant::now(),
        failed: false,
    };
    futures_util::stream::unfold(reader, |mut reader| async move {
        if reader.failed {
            return None;
        }
        match reader.next_chunk().await {
            Ok(Some(bytes)) => Some((Ok(bytes), reader)),
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, at = reader.pos, "playback response ended early");
                reader.failed = true;
                Some((Err(error), reader))
            }
        }
    })
}

struct Reader {
    source: Source,
    file: Option<File>,
    /// Whether `file` is a file that will not grow any more.
    from_complete: bool,
    pos: u64,
    end: u64,
    options: Options,
    shutdown: CancellationToken,
    /// The download's length when last looked at, to tell a stalled download from a slow one.
    seen_len: Option<u64>,
    progress_at: Instant,
    failed: bool,
}

impl Reader {
    async fn next_chunk(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            if self.pos >= self.end {
                return Ok(None);
            }
            if self.file.is_none() {
                self.open().await?;
            }
            if let Some(file) = &mut self.file {
                let want = (self.end - self.pos).min(CHUNK);
                let mut buf = vec![0; usize::try_from(want).unwrap_or(usize::MAX)];
                let n = file.read(&mut buf).await?;
                if n > 0 {
                    buf.truncate(n);
                    self.pos += n as u64;
                    self.progress_at = Instant::now();
                    return Ok(Some(Bytes::from(buf)));
                }
                if self.from_complete {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file is shorter than the size it was served with",
                    ));
                }
                if let Source::Growing { complete, .. } = &self.source {
                    if tokio::fs::try_exists(complete).await.unwrap_or(false) {
                        // The download finished under another name (or inode): go on from there.
                        self.file = None;
                        continue;
                    }
                }
            }
            self.wait().await?;
        }
    }

    /// Opens the complete file if there is one, else the partial download; for a download that
    /// has not started yet (or is being renamed right now) nothing is opened and we wait.
    async fn open(&mut self) -> io::Result<()> {
        let (path, complete, growing) = match &self.source {
            Source::Whole(path) => (path, true, false),
            Source::Growing { partial, complete } => {
                if tokio::fs::try_exists(complete).await.unwrap_or(false) {
                    (complete, true, true)
                } else {
                    (partial, false, true)
                }
            }
        };
        match File::open(path).await {
            Ok(mut file) => {
                file.seek(SeekFrom::Start(self.pos)).await?;
                self.file = Some(file);
                self.from_complete = complete;
                Ok(())
            }
            Err(error) if growing && error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Sleeps one poll interval; fails if the download has not grown for the stall timeout or the
    /// server is shutting down.
    async fn wait(&mut self) -> io::Result<()> {
        let len = match &self.file {
            Some(file) => file.metadata().await.ok().map(|m| m.len()),
            None => None,
        };
        if len.is_some() && len != self.seen_len {
            self.seen_len = len;
            self.progress_at = Instant::now();
        }
        if self.progress_at.elapsed() >= self.options.stall_timeout {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the download stopped growing",
            ));
        }
        tokio::select! {
            () = self.shutdown.cancelled() => Err(io::Error::other("the playback server stopped")),
            () = tokio::time::sleep(self.options.poll_interval) => Ok(()),
        }
    }
}
