//! Versions that talk, against a real release's answers. `compat/exchanges.json` is what
//! Pigeon 0.1's client sends in one conversation (a clip of the protocol: profile,
//! limits, an attachment uploaded and sealed, a message committed twice, the inbox in
//! two orders, a download, viewed, a reaction, the long-poll, the sender's status and
//! records, done); `compat/hub-0.1.0.json` is how the 0.1.0 hub answered it (recorded
//! with `examples/record_compat.rs` from the hub built at commit 9229c4d, the last before
//! versions were named). Both ways:
//! - the 0.1 client against this hub: every answer has the 0.1 status, content type
//!   and every field 0.1 sent, of the same JSON type (new fields may be added);
//! - this client against a 0.1 hub (its recorded answers, served as recorded): this
//!   build's `HubClient` reads every one, and learns the hub is from before versions.
// Helpers of the tests below: a failed step stops the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "compat/play.rs"]
mod play;

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{Request, Response};
use common::*;
use pigeon_protocol::{InboxQuery, MessageId};
use pigeon_store::{HubClient, Store};
use serde_json::Value;

fn recording() -> play::Recording {
    serde_json::from_str(include_str!("compat/hub-0.1.0.json")).unwrap()
}

/// Whether `now` still carries everything `then` did: every field, with the same JSON
/// type (a null then may be anything now), arrays of the same length.
fn carries(then: &Value, now: &Value, at: &str) -> Result<(), String> {
    match (then, now) {
        (Value::Null, _) => Ok(()),
        (Value::Object(a), Value::Object(b)) => a.iter().try_for_each(|(k, v)| match b.get(k) {
            Some(w) => carries(v, w, &format!("{at}/{k}")),
            None => Err(format!("{at}/{k} is gone")),
        }),
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .try_for_each(|(i, (v, w))| carries(v, w, &format!("{at}/{i}"))),
        (Value::Array(a), Value::Array(b)) => {
            Err(format!("{at} had {} items, now {}", a.len(), b.len()))
        }
        (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_)) => Ok(()),
        _ => Err(format!("{at} was {then}, now {now}")),
    }
}

fn media_type(ct: &Option<String>) -> Option<&str> {
    ct.as_deref()
        .map(|c| c.split(';').next().unwrap_or(c).trim())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_0_1_client_is_answered_as_the_0_1_hub_answered() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(&dir.path().join("hub"), 0);
    let tokens = HashMap::from([
        ("alice".to_string(), hub.add_user("alice")),
        ("bob".to_string(), hub.add_user("bob")),
    ]);
    let then = recording();
    let now = play::play(&hub.url, &tokens).await;
    assert_eq!(then.answers.len(), now.len());
    for (a, b) in then.answers.iter().zip(&now) {
        let what = format!("{} {}", a.method, a.path);
        assert_eq!((&a.method, &a.path), (&b.method, &b.path));
        if a.path == pigeon_protocol::routes::VERSION {
            // The one route added since: 0.1 had none, so its client never asks.
            assert_eq!(a.status, 404, "{what}");
            assert_eq!(b.status, 200, "{what}");
            continue;
        }
        assert_eq!(a.status, b.status, "{what}: {:?}", b.json);
        assert_eq!(
            media_type(&a.content_type),
            media_type(&b.content_type),
            "{what}"
        );
        match (&a.json, &b.json) {
            (Some(then), Some(now)) => {
                carries(then, now, "").unwrap_or_else(|e| panic!("{what}: {e}"));
            }
            (None, None) => {}
            (then, now) => panic!("{what}: JSON then {then:?}, now {now:?}"),
        }
    }
}

/// Serves the recorded answers of a 0.1 hub: by method and path (ids and queries aside),
/// the first recorded answer; anything else as that hub answered a route it did not have.
async fn serve_recording(rec: play::Recording) -> String {
    let answers = rec.answers;
    let missing = answers
        .iter()
        .find(|a| a.path == pigeon_protocol::routes::VERSION)
        .cloned()
        .unwrap();
    let pattern = |template: &str| -> Vec<String> {
        let path = template.split('?').next().unwrap();
        path.split('/')
            .map(|s| {
                if s.contains("${") || s.starts_with("compat-") {
                    "*".into()
                } else {
                    s.to_string()
                }
            })
            .collect()
    };
    let app = axum::Router::new().fallback(move |req: Request<Body>| {
        let answers = answers.clone();
        let missing = missing.clone();
        async move {
            let segments: Vec<&str> = req.uri().path().split('/').collect();
            let found = answers
                .iter()
                .find(|a| {
                    let p = pattern(&a.path);
                    a.method == req.method().as_str()
                        && a.path != pigeon_protocol::routes::VERSION
                        && p.len() == segments.len()
                        && p.iter().zip(&segments).all(|(x, y)| x == "*" || x == y)
                })
                .unwrap_or(&missing)
                .clone();
            let mut resp = Response::builder().status(found.status);
            if let Some(ct) = &found.content_type {
                resp = resp.header("content-type", ct);
            }
            let body = found.json.map(|j| j.to_string()).unwrap_or_default();
            resp.body(Body::from(body)).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn this_client_reads_a_0_1_hub() {
    let url = serve_recording(recording()).await;
    let alice = HubClient::new(&url, "recorded").unwrap();
    let bob = HubClient::new(&url, "recorded").unwrap();
    assert_eq!(alice.me().await.unwrap().name.as_str(), "alice");
    assert!(alice.limits().await.unwrap().max_clip_bytes > 0);
    assert_eq!(alice.profiles().await.unwrap().len(), 2);
    let page = bob.inbox(&InboxQuery::default()).await.unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].message.subject, "Agenda");
    assert_eq!(page.entries[0].message.attachments[0].name, "agenda.pdf");
    let id = MessageId::parse("compat-message-0001").unwrap();
    let status = alice.message_status(&id).await.unwrap();
    assert_eq!(status.receipts.len(), 1);
    let records = alice.records(&id).await.unwrap();
    assert_eq!(records.len(), 1);
    // A hub from before versions: the client knows it is protocol 1.
    assert_eq!(alice.hub_version().await.unwrap(), None);
}
