//! The API keeps its contract: schemathesis reads the live hub's own OpenAPI document
//! (`/v1/openapi.json`), sends it generated requests, valid and not, one operation at a
//! time and in chains that follow the document's links, and checks every answer: no
//! 5xx, and every status, content type, header and body as the document says. It runs
//! on every engine the hub suites run on (one hub on SQLite, one on PostgreSQL and
//! Garage, three behind HAProxy).
// Helpers of the tests below: a failed step stops the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use common::*;
use pigeon_store::Store;

/// The schemathesis that scripts/setup installed (PIGEON_TEST_SCHEMATHESIS, as
/// scripts/test sets it), or one on PATH.
fn schemathesis() -> PathBuf {
    if let Some(path) = std::env::var_os("PIGEON_TEST_SCHEMATHESIS") {
        return PathBuf::from(path);
    }
    let on_path = Command::new("schemathesis").arg("--version").output();
    assert!(
        on_path.is_ok_and(|o| o.status.success()),
        "schemathesis is not installed: run scripts/setup, then set PIGEON_TEST_SCHEMATHESIS to the bin/schemathesis it made (scripts/test does)"
    );
    PathBuf::from("schemathesis")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_hub_answers_as_its_document_says() {
    let bin = schemathesis();
    let dir = tempfile::tempdir().unwrap();
    // Long-polls end within a second, so generated waits do not hold the run up.
    let hub = HubProcess::start_with(
        &dir.path().join("hub"),
        0,
        &test_limits(),
        "long_poll_max_secs = 1\n",
    );
    let alice = hub.add_user("alice");
    // The document's examples send to bob: with him there, they commit for real.
    let bob: Arc<dyn Store> = Arc::new(hub.client(&hub.add_user("bob")));
    // A message to alice with a clip, so the operations on one message and the
    // download reach something real rather than only "not found".
    let clip = upload_clip(&bob).await;
    let sent = bob
        .commit_message(&message(&clip, &["alice"], "for the contract"))
        .await
        .unwrap();
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        format!(
            r#"[[operations]]
include-path-regex = "^/v1/messages/\\{{id\\}}"
parameters = {{ "path.id" = "{message}" }}

[[operations]]
include-operation-id = "download"
parameters = {{ "path.id" = "{clip}" }}
"#,
            message = sent.id,
            clip = clip.id,
        ),
    )
    .unwrap();
    let report = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("schemathesis-{:?}.xml", engine()).to_lowercase());
    let out = Command::new(&bin)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{}/v1/openapi.json", hub.url))
        .args(["--header", &format!("Authorization: Bearer {alice}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance",
        ])
        // A fixed seed: the same requests each run, so a failure here reproduces. One
        // worker: its test generator is not safe across threads (it failed inside itself).
        .args(["--seed", "1", "--max-examples", "20", "--workers", "1"])
        .args(["--request-timeout", "30", "--wait-for-schema", "10"])
        .args(["--report", "junit", "--report-junit-path"])
        .arg(&report)
        // It keeps a cache in its working directory: the test's, not the source tree.
        .current_dir(dir.path())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "schemathesis found answers that break the document (report: {}):\n{stdout}\n{}",
        report.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    // It really tested every route of the table (but the document itself, which it
    // reads rather than tests), in every phase.
    let junit = std::fs::read_to_string(&report).unwrap();
    for route in pigeon_protocol::routes::TABLE {
        if route.path != pigeon_protocol::routes::OPENAPI {
            let case = format!("testcase name=\"{} {}\"", route.method.as_str(), route.path);
            assert!(
                junit.contains(&case),
                "{case} missing from {}",
                report.display()
            );
        }
    }
    for phase in ["Coverage", "Fuzzing", "Stateful"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains('✅') && l.contains(phase)),
            "{phase}: {stdout}"
        );
    }
}
