use std::io::Write;
use std::time::Duration;

use reqwest::header::{HeaderMap as Headers, RANGE};
use reqwest::{Client, StatusCode};

use super::*;

/// Deterministic, not repeating within a few MiB, so a misplaced chunk shows.
fn content(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 7 + i / 251 + i / 65_521) % 256) as u8)
        .collect()
}

fn client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

fn quick() -> Options {
    Options {
        stall_timeout: Duration::from_millis(400),
        poll_interval: Duration::from_millis(10),
    }
}

fn server(options: Options) -> PlaybackServer {
    PlaybackServer::start_with(&Handle::current(), options).expect("server starts")
}

struct Clip {
    _dir: tempfile::TempDir,
    path: PathBuf,
    bytes: Vec<u8>,
}

fn clip(len: usize) -> Clip {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("clip.mp4");
    let bytes = content(len);
    std::fs::write(&path, &bytes).expect("write clip");
    Clip {
        _dir: dir,
        path,
        bytes,
    }
}

async fn get(url: &str, range: Option<&str>) -> (StatusCode, Headers, Vec<u8>) {
    let mut request = client().get(url);
    if let Some(range) = range {
        request = request.header(RANGE, range);
    }
    let response = request.send().await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("body").to_vec();
    (status, headers, body)
}

fn header<'a>(headers: &'a Headers, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("text header")
}

#[tokio::test]
async fn listens_on_loopback_only_with_a_long_secret() {
    let server = server(Options::default());
    assert_eq!(server.addr().ip(), Ipv4Addr::LOCALHOST);
    assert_ne!(server.addr().port(), 0);
    let clip = clip(10);
    let url = server.offer(Media::file(&clip.path, MP4)).expect("offer");
    let rest = url
        .strip_prefix(&format!("http://127.0.0.1:{}/", server.addr().port()))
        .expect("loopback URL");
    let secret = rest.split('/').next().expect("secret");
    assert_eq!(secret.len(), 64);
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(!format!("{server:?}").contains(secret));
    assert!(rest.ends_with("/1/clip.mp4"), "{url}");

    let other = self::server(Options::default());
    let other_url = other.offer(Media::file(&clip.path, MP4)).expect("offer");
    assert!(
        !other_url.contains(secret),
        "each server draws its own secret"
    );
}

#[test]
fn starting_outside_a_runtime_is_an_error() {
    assert!(matches!(
        PlaybackServer::start(),
        Err(PlaybackError::NoRuntime)
    ));
}

#[tokio::test]
async fn whole_file_without_range() {
    let server = server(Options::default());
    let clip = clip(1_000_000);
    let url = server.offer(Media::file(&clip.path, MP4)).expect("offer");
    let (status, headers, body) = get(&url, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "video/mp4");
    assert_eq!(header(&headers, "content-length"), "1000000");
    assert_eq!(header(&headers, "accept-ranges"), "bytes");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert!(headers.get("content-range").is_none());
    assert!(body == clip.bytes);
}

#[tokio::test]
async fn each_range_form() {
    let server = server(Options::default());
    let clip = clip(1_000_000);
    let url = server.offer(Media::file(&clip.path, MP4)).expect("offer");
    let cases = [
        ("bytes=0-1", 0, 1),
        ("bytes=100-599999", 100, 599_999),
        ("bytes=999000-", 999_000, 999_999),
        ("bytes=-10", 999_990, 999_999),
        ("bytes=0-", 0, 999_999),
        ("bytes=500-5000000", 500, 999_999),
        ("bytes=999999-999999", 999_999, 999_999),
    ];
    for (range, start, end) in cases {
        let (status, headers, body) = get(&url, Some(range)).await;
        assert_eq!(status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            header(&headers, "content-range"),
            format!("bytes {start}-{end}/1000000"),
            "{range}"
        );
        assert_eq!(
            header(&headers, "content-length"),
            (end - start + 1).to_string(),
            "{range}"
        );
        assert_eq!(header(&headers, "accept-ranges"), "bytes");
        assert_eq!(header(&headers, "content-type"), "video/mp4");
        assert!(body == clip.bytes[start..=end], "{range}");
    }
}

#[tokio::test]
async fn several_ranges_get_the_whole_file() {
    let server = server(Options::default());
    let clip = clip(1000);
    let url = server.offer(Media::file(&clip.path, MP4)).expect("offer");
    let (status, headers, body) = get(&url, Some("bytes=0-9,20-29")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("content-range").is_none());
    assert!(body == clip.bytes);
}

#[tokio::test]
async fn unsatisfiable_range_is_416() {
    let server = server(Options::default());
    let clip = clip(1000);
    let url = server.offer(Media::file(&clip.path, MP4)).expect("offer");
    for range in ["bytes=1000-", "bytes=5000-6000", "bytes=-0"] {
        let (status, headers, body) = get(&url, Some(range)).await;
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(header(&headers, "content-range"), "bytes */1000");
        assert!(body.is_empty());
    }
}

#[tokio::test]
async fn head_has_the_headers_and_no_body() {
    let server = server(Options::default());
    let clip = clip(1000);
    let url = server.offer(Media::file(&clip.path, MP4)).expect("offer");
    let response = client().head(&url).send().await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(header(&headers, "content-length"), "1000");
    assert_eq!(header(&headers, "accept-ranges"), "bytes");
    assert_eq!(header(&headers, "content-type"), "video/mp4");
    assert!(response.bytes().await.expect("body").is_empty());

    let response = client()
        .head(&url)
        .header(RANGE, "bytes=10-19")
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    let headers = response.headers().clone();
    assert_eq!(header(&headers, "content-range"), "bytes 10-19/1000");
    assert_eq!(header(&headers, "content-length"), "10");
}

#[tokio::test]
async fn wrong_secret_unknown_number_or_other_paths_are_404() {
    let server = server(Options::default());
    let clip = clip(1000);
    let url = server.offer(Media::file(&clip.path, MP4)).expect("offer");
    let base = format!("http://{}", server.addr());
    let secret = &server.shared.secret;
    let mut wrong = secret.clone().into_bytes();
    wrong[10] = if wrong[10] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).expect("hex");
    let path = clip.path.display();
    for bad in [
        format!("{base}/{wrong}/1/clip.mp4"),
        format!("{base}/{}/1/clip.mp4", &secret[..63]),
        format!("{base}/{secret}/2/clip.mp4"),
        format!("{base}/{secret}/0/clip.mp4"),
        format!("{base}/{secret}/+1/clip.mp4"),
        format!("{base}/{secret}/1"),
        format!("{base}/{secret}/1/clip.mp4/more"),
        format!("{base}/{secret}/{path}"),
        format!("{base}/{secret}/"),
        format!("{base}/"),
    ] {
        let (status, headers, body) = get(&bad, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
        assert!(body.is_empty(), "{bad}");
        assert!(headers.get("content-type").is_none(), "{bad}");
    }
    // The same URL under another host name (as a page rebinding its DNS name would send).
    let response = client()
        .get(&url)
        .header(header::HOST, "evil.example")
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // The right URL still works, and other methods are refused.
    assert_eq!(get(&url, None).await.0, StatusCode::OK);
    let response = client().post(&url).send().await.expect("response");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn offers_withdraw_and_clear() {
    let server = server(Options::default());
    let first = clip(100);
    let second = clip(200);
    let url = server.offer(Media::file(&first.path, MP4)).expect("offer");
    assert_eq!(
        server.offer(Media::file(&first.path, MP4)).expect("offer"),
        url
    );
    let other = server.offer(Media::file(&second.path, MP4)).expect("offer");
    assert_ne!(other, url);

    assert!(server.withdraw(&url));
    assert!(!server.withdraw(&url));
    assert!(!server.withdraw("http://127.0.0.1:1/nothing/1/x"));
    assert_eq!(get(&url, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&other, None).await.0, StatusCode::OK);

    let again = server.offer(Media::file(&first.path, MP4)).expect("offer");
    assert_ne!(again, url, "a withdrawn number is never reused");
    server.clear();
    assert_eq!(get(&again, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&other, None).await.0, StatusCode::NOT_FOUND);

    let missing = first.path.with_file_name("missing.mp4");
    assert!(matches!(
        server.offer(Media::file(&missing, MP4)),
        Err(PlaybackError::Missing(path)) if path == missing
    ));
}

#[tokio::test]
async fn names_in_urls_are_url_safe() {
    let server = server(Options::default());
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("my clip ü?#.mp4");
    std::fs::write(&path, b"abc").expect("write");
    let url = server.offer(Media::file(&path, MP4)).expect("offer");
    assert!(url.ends_with("/1/my_clip____.mp4"), "{url}");
    assert_eq!(get(&url, None).await.2, b"abc");
}

/// Writes `bytes` into `partial` in steps while a client reads, then renames it to `complete`.
async fn write_in_steps(partial: PathBuf, complete: PathBuf, bytes: Vec<u8>, step: usize) {
    let mut file = std::fs::File::create(&partial).expect("create partial");
    for chunk in bytes.chunks(step) {
        tokio::time::sleep(Duration::from_millis(15)).await;
        file.write_all(chunk).expect("append");
        file.flush().expect("flush");
    }
    drop(file);
    tokio::time::sleep(Duration::from_millis(30)).await;
    std::fs::rename(&partial, &complete).expect("rename");
}

fn download_paths() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let partial = dir.path().join("clip.part");
    let complete = dir.path().join("clip.mp4");
    (dir, partial, complete)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_growing_download_streams_as_it_arrives() {
    let server = server(quick());
    let (_dir, partial, complete) = download_paths();
    let bytes = content(1_500_000);
    let url = server
        .offer(Media::download(
            &partial,
            &complete,
            bytes.len() as u64,
            MP4,
        ))
        .expect("offer");
    assert!(url.ends_with("/1/clip.mp4"));

    // The download has not started: the size is already the expected total.
    let response = client().head(&url).send().await.expect("response");
    assert_eq!(header(response.headers(), "content-length"), "1500000");

    let writer = tokio::spawn(write_in_steps(
        partial.clone(),
        complete.clone(),
        bytes.clone(),
        100_000,
    ));
    let tail = {
        let url = url.clone();
        // A seek far ahead of the download, as a player reading the end of a file would do.
        tokio::spawn(async move { get(&url, Some("bytes=1400000-")).await })
    };

    let mut response = client().get(&url).send().await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(response.headers(), "content-length"), "1500000");
    let mut body = response
        .chunk()
        .await
        .expect("first bytes")
        .expect("a chunk")
        .to_vec();
    assert!(
        !writer.is_finished(),
        "playback starts before the download ends"
    );
    while let Some(chunk) = response.chunk().await.expect("more bytes") {
        body.extend_from_slice(&chunk);
    }
    assert_eq!(body.len(), bytes.len());
    assert!(body == bytes, "streamed bytes equal the final file");

    let (status, headers, tail) = tail.await.expect("tail reader");
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(&headers, "content-range"),
        "bytes 1400000-1499999/1500000"
    );
    assert!(tail == bytes[1_400_000..]);
    writer.await.expect("writer");

    // Once complete, the same URL serves the complete file.
    assert!(!partial.exists());
    let (status, _, body) = get(&url, Some("bytes=-5")).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert!(body == bytes[bytes.len() - 5..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_completed_under_another_file_continues_from_it() {
    let server = server(quick());
    let (_dir, partial, complete) = download_paths();
    let bytes = content(1_000_000);
    let half = bytes.len() / 2;
    std::fs::write(&partial, &bytes[..half]).expect("first half");
    let url = server
        .offer(Media::download(
            &partial,
            &complete,
            bytes.len() as u64,
            MP4,
        ))
        .expect("offer");

    let finisher = {
        let (partial, complete, bytes) = (partial.clone(), complete.clone(), bytes.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            // A new file (a new inode), not the partial renamed: the reader's open partial
            // never gets the second half, so it has to move over to the complete file.
            let verified = complete.with_extension("verified");
            std::fs::write(&verified, &bytes).expect("complete copy");
            std::fs::rename(&verified, &complete).expect("rename");
            std::fs::remove_file(&partial).expect("remove partial");
        })
    };
    let (status, _, body) = get(&url, None).await;
    finisher.await.expect("finisher");
    assert_eq!(status, StatusCode::OK);
    assert!(body == bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_download_ends_the_response_with_an_error() {
    let server = server(quick());
    let (_dir, partial, complete) = download_paths();
    let bytes = content(600_000);
    std::fs::write(&partial, &bytes[..300_000]).expect("part");
    let url = server
        .offer(Media::download(
            &partial,
            &complete,
            bytes.len() as u64,
            MP4,
        ))
        .expect("offer");

    let started = std::time::Instant::now();
    let response = client().get(&url).send().await.expect("headers");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.bytes().await.is_err(),
        "the body must not look complete"
    );
    assert!(started.elapsed() >= quick().stall_timeout);

    // What is on disk is still served.
    let (status, _, body) = get(&url, Some("bytes=0-299999")).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert!(body == bytes[..300_000]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_server_ends_waiting_responses_and_stops_listening() {
    let server = server(Options::default());
    let (_dir, partial, complete) = download_paths();
    std::fs::write(&partial, content(1000)).expect("part");
    let url = server
        .offer(Media::download(&partial, &complete, 5000, MP4))
        .expect("offer");
    let response = client().get(&url).send().await.expect("headers");
    let started = std::time::Instant::now();
    drop(server);
    assert!(response.bytes().await.is_err());
    assert!(started.elapsed() < Duration::from_secs(5));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(client().get(&url).send().await.is_err());
}

#[tokio::test]
async fn a_file_that_is_gone_is_404() {
    let server = server(Options::default());
    let clip = clip(10);
    let url = server.offer(Media::file(&clip.path, MP4)).expect("offer");
    std::fs::remove_file(&clip.path).expect("remove");
    assert_eq!(get(&url, None).await.0, StatusCode::NOT_FOUND);
}
