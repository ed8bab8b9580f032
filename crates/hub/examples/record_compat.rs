//! Records a release's hub answering what Pigeon 0.1's client sends (tests/compat/
//! exchanges.json), as the fixture tests/compat.rs holds this build to:
//!
//! ```sh
//! # a hub of that release, with users alice and bob, serving on URL
//! cargo run -p pigeon-hub --example record_compat -- URL ALICE_TOKEN BOB_TOKEN RELEASE \
//!   > crates/hub/tests/compat/hub-RELEASE.json
//! ```
// A developer's tool: a failed step stops it at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/compat/play.rs"]
mod play;

use std::collections::HashMap;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, alice, bob, release] = args.as_slice() else {
        eprintln!("usage: record_compat URL ALICE_TOKEN BOB_TOKEN RELEASE");
        std::process::exit(2);
    };
    let tokens = HashMap::from([
        ("alice".to_string(), alice.clone()),
        ("bob".to_string(), bob.clone()),
    ]);
    let answers = play::play(url.trim_end_matches('/'), &tokens).await;
    let recording = play::Recording {
        release: release.clone(),
        answers,
    };
    println!("{}", serde_json::to_string_pretty(&recording).unwrap());
}
