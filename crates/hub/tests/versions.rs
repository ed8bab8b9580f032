//! Versions that talk: the hub says what it is and serves, answers clients from before
//! the protocol header and newer ones, and tells an outdated client in one sentence
//! which release to update to.
// Helpers of the tests below: a failed step stops the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pigeon_protocol::{routes, HubVersion, PROTOCOL, PROTOCOL_HEADER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_names_its_versions_and_refuses_only_clients_it_cannot_serve() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(&dir.path().join("hub"), 0);
    let token = hub.add_user("alice");
    let http = reqwest::Client::new();

    // Asked without a token, as a client does before it has one.
    let version: HubVersion = http
        .get(format!("{}{}", hub.url, routes::VERSION))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(version.hub, env!("CARGO_PKG_VERSION"));
    assert_eq!(version.protocol, PROTOCOL);
    assert!(version.oldest_client_protocol <= PROTOCOL);

    let me = |header: Option<&'static str>, with_token: bool| {
        let mut req = http.get(format!("{}{}", hub.url, routes::ME));
        if with_token {
            req = req.bearer_auth(&token);
        }
        if let Some(h) = header {
            req = req.header(PROTOCOL_HEADER, h);
        }
        req.send()
    };
    // Pigeon 0.1 sends no header; this build sends its own; a newer one is served too.
    for header in [None, Some("1"), Some("99")] {
        let resp = me(header, true).await.unwrap();
        assert_eq!(resp.status(), 200, "{header:?}");
    }
    // An outdated client hears what to do, before anything about its token.
    for with_token in [true, false] {
        let resp = me(Some("0"), with_token).await.unwrap();
        assert_eq!(resp.status(), 426);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "client_too_old");
        assert_eq!(
            body["message"],
            "this hub needs Pigeon 0.1 or newer: update Pigeon to keep using it"
        );
    }
    let resp = me(Some("latest"), true).await.unwrap();
    assert_eq!(resp.status(), 422);

    // The client of this build names its protocol and is served.
    let client = hub.client(&token);
    use pigeon_store::Store;
    assert_eq!(client.me().await.unwrap().name.as_str(), "alice");
    let asked = client.hub_version().await.unwrap().unwrap();
    assert_eq!(asked, version);
}
