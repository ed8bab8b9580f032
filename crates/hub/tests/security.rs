//! Security tests against a real hub process, over raw HTTP where the client would
//! refuse to send something bad.
// Helpers of the tests below: a failed step stops the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use pigeon_store::protocol::{routes, ApiError, ErrorCode, InboxOrder, InboxQuery};
use pigeon_store::Store;
use reqwest::StatusCode;

struct Setup {
    hub: HubProcess,
    tokens: Vec<String>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(&dir.path().join("hub"), 0);
    let tokens = NAMES.iter().map(|n| hub.add_user(n)).collect();
    Setup {
        hub,
        tokens,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

impl Setup {
    fn store(&self, i: usize) -> Arc<dyn Store> {
        Arc::new(self.hub.client(&self.tokens[i]))
    }
    fn get(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let b = self.http.get(format!("{}{path}", self.hub.url));
        match token {
            Some(t) => b.bearer_auth(t),
            None => b,
        }
    }
    /// GETs a blob as user `i` with one extra header.
    async fn blob_with(
        &self,
        blob: &pigeon_store::protocol::BlobId,
        i: usize,
        name: &str,
        value: impl AsRef<str>,
    ) -> reqwest::Response {
        self.get(&format!("/v1/blobs/{blob}"), Some(&self.tokens[i]))
            .header(name, value.as_ref())
            .send()
            .await
            .unwrap()
    }
    fn post(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.hub.url))
            .bearer_auth(token)
    }
}

async fn api_error(resp: reqwest::Response) -> (StatusCode, ApiError) {
    let status = resp.status();
    let body = resp.text().await.unwrap();
    let err: ApiError =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("not an error body ({e}): {body}"));
    assert!(!err.message.is_empty());
    (status, err)
}

#[tokio::test]
async fn every_api_call_needs_a_valid_token() {
    let s = setup();
    for path in [
        "/v1/me",
        "/v1/users",
        "/v1/inbox",
        "/v1/limits",
        "/v1/blobs/0123456789abcdef0123",
    ] {
        let (status, err) = api_error(s.get(path, None).send().await.unwrap()).await;
        assert_eq!(
            (status, err.code),
            (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized),
            "{path}"
        );
        let (status, _) = api_error(s.get(path, Some("pgn_wrong")).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let resp = s
        .http
        .post(format!("{}/v1/messages", s.hub.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    // Health needs none.
    assert_eq!(
        s.get("/healthz", None).send().await.unwrap().status(),
        StatusCode::OK
    );

    // A revoked user's token stops working.
    assert_eq!(
        s.get("/v1/me", Some(&s.tokens[2]))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let out = hub_command(&s.hub.data)
        .args(["user", "revoke", "carol"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        s.get("/v1/me", Some(&s.tokens[2]))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // Tokens are stored hashed: the database never contains one.
    let db = s.hub.stored_metadata();
    for t in &s.tokens {
        assert!(!db.windows(t.len()).any(|w| w == t.as_bytes()));
    }
    let list = hub_command(&s.hub.data)
        .args(["user", "list"])
        .output()
        .unwrap();
    let text = String::from_utf8(list.stdout).unwrap();
    assert!(text.contains("alice") && text.contains("revoked"), "{text}");
}

#[tokio::test]
async fn others_cannot_list_read_or_guess() {
    let s = setup();
    let (alice, carol) = (s.store(0), s.store(2));
    let clip = upload_clip(&alice).await;
    let doc = upload_attachment(&alice, s.hub.data.parent().unwrap(), b"secret agenda").await;
    let mut m = message(&clip, &["bob"], "private");
    attach(&mut m, &doc, "agenda.pdf");
    alice.commit_message(&m).await.unwrap();

    let carol_token = &s.tokens[2];
    let missing_blob = "0123456789abcdef0123456789abcdef";
    let missing_msg = new_id();
    for (path, twin) in [
        (
            format!("/v1/messages/{}", m.id),
            format!("/v1/messages/{missing_msg}"),
        ),
        (
            format!("/v1/messages/{}/status", m.id),
            format!("/v1/messages/{missing_msg}/status"),
        ),
        (
            format!("/v1/messages/{}/records", m.id),
            format!("/v1/messages/{missing_msg}/records"),
        ),
        (
            format!("/v1/blobs/{}", clip.id),
            format!("/v1/blobs/{missing_blob}"),
        ),
        (
            format!("/v1/blobs/{}", doc.id),
            format!("/v1/blobs/{missing_blob}"),
        ),
        (
            format!("/v1/blobs/{}/status", doc.id),
            format!("/v1/blobs/{missing_blob}/status"),
        ),
    ] {
        let (status, err) = api_error(s.get(&path, Some(carol_token)).send().await.unwrap()).await;
        let (status2, err2) =
            api_error(s.get(&twin, Some(carol_token)).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        // Identical to a missing id: nothing leaks.
        assert_eq!((status, err), (status2, err2), "{path}");
    }
    let resp = s
        .post(&format!("/v1/messages/{}/viewed", m.id), carol_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(carol
        .inbox(&InboxQuery::default())
        .await
        .unwrap()
        .entries
        .is_empty());

    // Bob, a recipient, downloads the attachment as a file with the right headers.
    let resp = s
        .get(&format!("/v1/blobs/{}", doc.id), Some(&s.tokens[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(
        resp.headers()["etag"],
        format!("\"{}\"", doc.sha256).as_str()
    );
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"agenda.pdf\""));
    // ETag revalidation and ranges.
    let resp = s
        .blob_with(&clip.id, 1, "if-none-match", format!("\"{}\"", clip.sha256))
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    let resp = s.blob_with(&clip.id, 1, "range", "bytes=0-7").await;
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(resp.headers()["content-type"], "video/mp4");
    assert_eq!(resp.headers()["accept-ranges"], "bytes");
    assert_eq!(
        resp.headers()["content-range"],
        format!("bytes 0-7/{}", clip.size).as_str()
    );
    assert!(resp.headers().get("content-disposition").is_none());
    assert_eq!(&resp.bytes().await.unwrap()[4..8], b"ftyp");
    let resp = s
        .blob_with(&clip.id, 1, "range", format!("bytes={}-", clip.size))
        .await;
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        resp.headers()["content-range"],
        format!("bytes */{}", clip.size).as_str()
    );
}

#[tokio::test]
async fn path_traversal_never_reaches_the_filesystem() {
    let s = setup();
    let alice = s.store(0);
    let token = &s.tokens[0];
    for path in [
        "/v1/blobs/..%2F..%2F..%2Fetc%2Fpasswd",
        "/v1/blobs/../../etc/passwd",
        "/v1/blobs/%2E%2E%2Fhub.sqlite3",
        "/v1/messages/..%2Fhub.sqlite3",
    ] {
        let resp = s.get(path, Some(token)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // Traversal in a message id is refused as invalid JSON content.
    let clip = upload_clip(&alice).await;
    let body = serde_json::json!({
        "id": "../../../../tmp/pigeon-evil", "recipients": ["bob"], "subject": "x",
        "clip": clip.id, "respond_by": "2999-01-01T00:00:00Z", "respond_by_tz": "UTC"
    });
    let (status, err) = api_error(
        s.post("/v1/messages", token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, err.code),
        (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Invalid)
    );
    // An attachment named like a path is display text only.
    let doc = upload_attachment(&alice, s.hub.data.parent().unwrap(), b"doc").await;
    let mut m = message(&clip, &["bob"], "names");
    attach(&mut m, &doc, "../../../../tmp/pigeon-evil.pdf");
    alice.commit_message(&m).await.unwrap();
    assert!(!std::path::Path::new("/tmp/pigeon-evil.pdf").exists());
    let resp = s
        .get(&format!("/v1/blobs/{}", doc.id), Some(&s.tokens[1]))
        .send()
        .await
        .unwrap();
    let cd = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.contains("filename*=UTF-8''..%2F..%2F"), "{cd}");
    // Every stored object key is a server-generated id.
    let keys = s.hub.object_keys();
    assert!(!keys.is_empty());
    for rel in keys {
        assert!(
            rel.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/-_".contains(c)),
            "{rel}"
        );
    }
}

#[tokio::test]
async fn malformed_and_oversize_requests_get_clear_errors_and_store_nothing() {
    let s = setup();
    let token = &s.tokens[0];
    let limits = test_limits();

    let (status, err) = api_error(
        s.post("/v1/messages", token)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, err.code),
        (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Invalid)
    );
    let (status, err) = api_error(
        s.post("/v1/messages", token)
            .header("content-type", "application/json")
            .body(r#"{"id": 5}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, err.code),
        (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Invalid)
    );

    // A JSON body over the bound.
    let huge = format!(
        r#"{{"subject": "{}"}}"#,
        "x".repeat(limits.max_json_bytes as usize)
    );
    let (status, err) = api_error(
        s.post("/v1/messages", token)
            .header("content-type", "application/json")
            .body(huge)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(err.limit.unwrap().limit, "max_json_bytes");

    // A chunk over the per-request bound, and one over the attachment limit.
    let id = &s.hub.create_attachment_blob(token, "application/pdf").await;
    let put = |bytes: Vec<u8>| {
        s.http
            .put(format!("{}/v1/blobs/{id}/chunks?offset=0", s.hub.url))
            .bearer_auth(token)
            .body(bytes)
            .send()
    };
    let (status, err) = api_error(
        put(vec![0; limits.max_attachment_bytes as usize + 10])
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let l = err.limit.unwrap();
    assert_eq!(
        (l.limit.as_str(), l.max),
        ("max_attachment_bytes", limits.max_attachment_bytes)
    );
    let (status, err) = api_error(
        put(vec![0; limits.max_chunk_bytes as usize + 1])
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, err.limit.unwrap().limit.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "max_chunk_bytes")
    );
    // Nothing was kept of those.
    let st: serde_json::Value = s
        .get(&format!("/v1/blobs/{id}/status"), Some(token))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st["acknowledged"], 0);
    // Bad query strings and bad content types.
    let (status, _) = api_error(
        s.get("/v1/inbox?limit=lots", Some(token))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = api_error(
        s.post("/v1/blobs", token)
            .json(&serde_json::json!({"kind": "attachment", "content_type": "text/html\r\nX-Evil: 1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let bob = s.store(1);
    let page = bob
        .inbox(&InboxQuery {
            order: InboxOrder::Arrival,
            after: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert!(page.entries.is_empty());
}

/// `bytes=0-18446744073709551615` once overflowed the hub's own Range parser (a panic in
/// debug builds, a wrapped range in release): it is the whole blob, like any range past
/// the end.
#[tokio::test]
async fn a_range_up_to_the_largest_number_is_the_whole_blob() {
    let s = setup();
    let dir = tempfile::tempdir().unwrap();
    let doc: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let blob = upload_attachment(&s.store(0), dir.path(), &doc).await;
    for (header, start) in [
        ("bytes=0-18446744073709551615", 0usize),
        ("bytes=4990-18446744073709551615", 4990),
        ("bytes=-18446744073709551615", 0),
    ] {
        let resp = s.blob_with(&blob.id, 0, "Range", header).await;
        assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT, "{header}");
        assert_eq!(
            resp.headers()["content-range"],
            format!("bytes {start}-4999/5000").as_str(),
            "{header}"
        );
        assert_eq!(resp.bytes().await.unwrap(), &doc[start..], "{header}");
    }
    let resp = s
        .blob_with(&blob.id, 0, "Range", "bytes=18446744073709551615-")
        .await;
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(resp.headers()["content-range"], "bytes */5000");
}

/// Walks the protocol's route table: every route under `/v1` answers 401 without a token
/// or with a wrong one, before it reads anything else of the request, and exists (with a
/// token it is not the router's "no such route").
#[tokio::test]
async fn every_route_of_the_table_answers_401_without_a_token() {
    let s = setup();
    let mut walked = 0;
    for route in routes::TABLE {
        let path = route.path.replace("{id}", "0123456789abcdef0123");
        // A long-poll with a token should not wait long.
        let query = if route.path == routes::INBOX_WAIT {
            "?timeout_ms=10"
        } else {
            ""
        };
        let url = format!("{}{path}{query}", s.hub.url);
        let method = reqwest::Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let what = format!("{} {path}", route.method.as_str());
        if !route.needs_token() {
            let resp = s.http.request(method, &url).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{what}");
            continue;
        }
        for token in [None, Some("pgn_wrong"), Some("")] {
            let mut req = s.http.request(method.clone(), &url).body("{}");
            if let Some(t) = token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            let (status, err) = api_error(req.send().await.unwrap()).await;
            assert_eq!(
                (status, err.code),
                (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized),
                "{what} with {token:?}"
            );
        }
        let resp = s
            .http
            .request(method, &url)
            .bearer_auth(&s.tokens[0])
            .send()
            .await
            .unwrap();
        if !resp.status().is_success() {
            let (_, err) = api_error(resp).await;
            assert!(
                !err.message.starts_with("route not found"),
                "{what}: {}",
                err.message
            );
        }
        walked += 1;
    }
    // All but the three for operators and balancers, the API's document and the
    // hub's version, which need none.
    assert_eq!(walked, routes::TABLE.len() - 5);
}
