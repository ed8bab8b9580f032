//! The model download against a real HTTP server on loopback: whole downloads, a connection
//! dropped half-way and continued with a Range request, a server that ignores Range, wrong
//! files, cancelling, and the errors a user reads.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests: a panic is the test failing"
)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use pigeon_transcribe::models::{
    download, download_from, installed, DownloadProgress, ModelEntry, ModelError,
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the test server does besides serving the file honestly.
#[derive(Clone, Default)]
struct Behaviour {
    /// On the first request, send only this many body bytes, then close the connection.
    drop_first_after: Option<usize>,
    /// Answer every request with the whole file (200), as servers without Range support do.
    ignore_range: bool,
    /// Answer every request with this status and no body.
    status: Option<&'static str>,
    /// Send this many bytes more than the file (a different, longer file).
    extra: usize,
}

struct Server {
    addr: SocketAddr,
    /// The Range start of each request (None: no Range header), in order.
    ranges: Arc<Mutex<Vec<Option<u64>>>>,
}

impl Server {
    async fn start(body: Vec<u8>, behaviour: Behaviour) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let ranges = Arc::new(Mutex::new(Vec::new()));
        let body = Arc::new(body);
        let log = ranges.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(answer(socket, body.clone(), behaviour.clone(), log.clone()));
            }
        });
        Server { addr, ranges }
    }

    fn url(&self) -> String {
        format!("http://{}/ggml-test.bin", self.addr)
    }

    fn ranges(&self) -> Vec<Option<u64>> {
        self.ranges.lock().unwrap().clone()
    }
}

async fn answer(
    socket: TcpStream,
    body: Arc<Vec<u8>>,
    behaviour: Behaviour,
    log: Arc<Mutex<Vec<Option<u64>>>>,
) {
    let mut reader = BufReader::new(socket);
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("range") {
                range = value
                    .trim()
                    .strip_prefix("bytes=")
                    .and_then(|r| r.strip_suffix('-'))
                    .and_then(|n| n.parse::<u64>().ok());
            }
        }
    }
    let index = {
        let mut log = log.lock().unwrap();
        log.push(range);
        log.len() - 1
    };
    let mut socket = reader.into_inner();
    if let Some(status) = behaviour.status {
        let head = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        let _ = socket.write_all(head.as_bytes()).await;
        return;
    }
    let mut full = body.to_vec();
    full.extend(std::iter::repeat_n(7u8, behaviour.extra));
    let len = full.len() as u64;
    let start = if behaviour.ignore_range {
        0
    } else {
        range.unwrap_or(0)
    };
    if start >= len && range.is_some() && !behaviour.ignore_range {
        let head = format!(
            "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let _ = socket.write_all(head.as_bytes()).await;
        return;
    }
    let head = if range.is_some() && !behaviour.ignore_range {
        format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{}/{len}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            len - 1,
            len - start
        )
    } else {
        format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")
    };
    let mut rest = &full[start as usize..];
    if index == 0 {
        if let Some(n) = behaviour.drop_first_after {
            rest = &rest[..n.min(rest.len())];
        }
    }
    if socket.write_all(head.as_bytes()).await.is_ok() {
        let _ = socket.write_all(rest).await;
        let _ = socket.flush().await;
    }
    // Dropping the socket closes the connection, early when the body was cut short.
}

/// Deterministic bytes that do not compress or repeat.
fn model_bytes(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

const SIZE: usize = 3 * 1024 * 1024 + 17;

fn part_of(dest: &Path) -> std::path::PathBuf {
    dest.with_file_name(format!(
        "{}.part",
        dest.file_name().unwrap().to_string_lossy()
    ))
}

/// Progress must only go up, within the file, and end at the total when complete.
fn check_progress(events: &[DownloadProgress], total: u64) {
    assert!(!events.is_empty());
    assert!(events.iter().all(|p| p.total == total && p.done <= total));
    assert!(
        events.windows(2).all(|w| w[0].done <= w[1].done),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_whole_model_downloads_with_progress_and_is_checked() {
    let body = model_bytes(SIZE);
    let server = Server::start(body.clone(), Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ggml-test.bin");
    let mut events = Vec::new();
    let cancel = AtomicBool::new(false);

    let path = download_from(
        &server.url(),
        SIZE as u64,
        &sha256(&body),
        &dest,
        |p| events.push(p),
        &cancel,
    )
    .await
    .unwrap();

    assert_eq!(path, dest);
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert!(!part_of(&dest).exists());
    check_progress(&events, SIZE as u64);
    assert_eq!(events.first().unwrap().done, 0);
    assert_eq!(events.last().unwrap().done, SIZE as u64);
    // Reported at most once per 256 KiB (plus the start and the end), not per packet, and
    // along the way, not only at the ends.
    assert!(
        (3..=(SIZE / (256 * 1024) + 2)).contains(&events.len()),
        "{} progress reports",
        events.len()
    );
    assert_eq!(server.ranges(), vec![None]);

    // Already there and right: no second request.
    download_from(
        &server.url(),
        SIZE as u64,
        &sha256(&body),
        &dest,
        |_| {},
        &cancel,
    )
    .await
    .unwrap();
    assert_eq!(server.ranges().len(), 1);
}

#[tokio::test]
async fn a_dropped_connection_keeps_the_part_and_the_next_try_continues_it() {
    let body = model_bytes(SIZE);
    let cut = 1_000_000;
    let server = Server::start(
        body.clone(),
        Behaviour {
            drop_first_after: Some(cut),
            ..Behaviour::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ggml-test.bin");
    let cancel = AtomicBool::new(false);

    let err = download_from(
        &server.url(),
        SIZE as u64,
        &sha256(&body),
        &dest,
        |_| {},
        &cancel,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ModelError::Interrupted { .. }), "{err}");
    assert!(
        err.to_string().contains("continues where it stopped"),
        "{err}"
    );
    assert!(!dest.exists());
    let kept = std::fs::metadata(part_of(&dest)).unwrap().len();
    assert_eq!(kept, cut as u64, "every byte that arrived is kept");

    let mut events = Vec::new();
    download_from(
        &server.url(),
        SIZE as u64,
        &sha256(&body),
        &dest,
        |p| events.push(p),
        &cancel,
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert!(!part_of(&dest).exists());
    assert_eq!(server.ranges(), vec![None, Some(kept)]);
    check_progress(&events, SIZE as u64);
    assert_eq!(
        events.first().unwrap().done,
        kept,
        "progress starts at the part"
    );
}

#[tokio::test]
async fn a_server_without_range_support_gives_the_whole_file_again() {
    let body = model_bytes(SIZE);
    let server = Server::start(
        body.clone(),
        Behaviour {
            ignore_range: true,
            ..Behaviour::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ggml-test.bin");
    // A part from an earlier try, with bytes that are not the file's.
    std::fs::write(part_of(&dest), vec![0u8; 5000]).unwrap();
    download_from(
        &server.url(),
        SIZE as u64,
        &sha256(&body),
        &dest,
        |_| {},
        &AtomicBool::new(false),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(server.ranges(), vec![Some(5000)]);
}

#[tokio::test]
async fn a_wrong_file_is_deleted_and_said_so() {
    let body = model_bytes(SIZE);
    let server = Server::start(body.clone(), Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ggml-test.bin");
    let err = download_from(
        &server.url(),
        SIZE as u64,
        &sha256(b"another model"),
        &dest,
        |_| {},
        &AtomicBool::new(false),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ModelError::ChecksumMismatch), "{err}");
    assert_eq!(
        err.to_string(),
        "the downloaded model does not match its checksum; it was deleted, download it again"
    );
    assert!(!dest.exists());
    assert!(!part_of(&dest).exists());
}

#[tokio::test]
async fn a_longer_file_than_pinned_is_refused_and_deleted() {
    let body = model_bytes(SIZE);
    let server = Server::start(
        body.clone(),
        Behaviour {
            extra: 100,
            ..Behaviour::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ggml-test.bin");
    let err = download_from(
        &server.url(),
        SIZE as u64,
        &sha256(&body),
        &dest,
        |_| {},
        &AtomicBool::new(false),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ModelError::WrongSize { .. }), "{err}");
    assert!(!dest.exists());
    assert!(!part_of(&dest).exists());
}

#[tokio::test]
async fn cancelling_keeps_the_part_for_the_next_download() {
    let body = model_bytes(SIZE);
    let server = Server::start(body.clone(), Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ggml-test.bin");
    let cancel = AtomicBool::new(false);
    let err = download_from(
        &server.url(),
        SIZE as u64,
        &sha256(&body),
        &dest,
        |p| {
            if p.done > 0 {
                cancel.store(true, Ordering::Relaxed);
            }
        },
        &cancel,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ModelError::Cancelled), "{err}");
    let kept = std::fs::metadata(part_of(&dest)).unwrap().len();
    assert!(kept > 0 && kept < SIZE as u64, "{kept}");

    cancel.store(false, Ordering::Relaxed);
    download_from(
        &server.url(),
        SIZE as u64,
        &sha256(&body),
        &dest,
        |_| {},
        &cancel,
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(server.ranges(), vec![None, Some(kept)]);
}

#[tokio::test]
async fn http_errors_and_an_unreachable_server_are_one_sentence() {
    let server = Server::start(
        Vec::new(),
        Behaviour {
            status: Some("404 Not Found"),
            ..Behaviour::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ggml-test.bin");
    let cancel = AtomicBool::new(false);
    let err = download_from(&server.url(), 10, &"0".repeat(64), &dest, |_| {}, &cancel)
        .await
        .unwrap_err();
    assert!(matches!(err, ModelError::Http { .. }), "{err}");
    assert!(err.to_string().contains("404 Not Found"), "{err}");

    // A port nobody listens on (bound, then closed).
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{closed}/ggml-test.bin");
    let err = download_from(&url, 10, &"0".repeat(64), &dest, |_| {}, &cancel)
        .await
        .unwrap_err();
    assert!(matches!(err, ModelError::Offline { .. }), "{err}");
    assert!(
        err.to_string().contains("check the internet connection"),
        "{err}"
    );
    assert!(!dest.exists());
}

#[tokio::test]
async fn a_catalog_entry_downloads_into_its_folder_and_counts_as_installed() {
    let body = model_bytes(SIZE);
    let server = Server::start(body.clone(), Behaviour::default()).await;
    let entry = ModelEntry {
        key: "test",
        label: "Test",
        file_name: "ggml-test.bin",
        url: Box::leak(server.url().into_boxed_str()),
        bytes: SIZE as u64,
        sha256: Box::leak(sha256(&body).into_boxed_str()),
        multilingual: false,
    };
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data").join("models");
    assert_eq!(installed(&entry, &dir), None);
    // The future is Send, so the app can run it on any tokio worker (tokio::spawn).
    fn send<F: std::future::Future + Send>(f: F) -> F {
        f
    }
    let cancel = AtomicBool::new(false);
    let path = send(download(&entry, &dir, |_| {}, &cancel)).await.unwrap();
    assert_eq!(path, dir.join("ggml-test.bin"));
    assert_eq!(installed(&entry, &dir), Some(path));
}
