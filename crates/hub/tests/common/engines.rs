//! The engines a test hub runs on, and the test's own view into them (psql, pg_dump,
//! rclone): what no API call can show or do.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// The engines a test hub runs on, from `PIGEON_TEST_HUB_ENGINE`: `sqlite` (the
/// default: SQLite and a local folder in the data directory), `postgres` (PostgreSQL
/// and the Garage bucket that scripts/test-env started) or `cluster` (the same, served
/// by several hubs behind HAProxy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
    Cluster,
}

impl Engine {
    /// Metadata in PostgreSQL and blobs in Garage.
    pub fn on_servers(self) -> bool {
        self != Engine::Sqlite
    }
}

pub fn engine() -> Engine {
    match std::env::var("PIGEON_TEST_HUB_ENGINE").as_deref() {
        Ok("postgres") => Engine::Postgres,
        Ok("cluster") => Engine::Cluster,
        Ok("sqlite") | Err(_) => Engine::Sqlite,
        Ok(other) => panic!("PIGEON_TEST_HUB_ENGINE={other}: say sqlite, postgres or cluster"),
    }
}

pub fn test_server(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the hub's tests on PostgreSQL and Garage inside scripts/test-env")
    })
}

/// The name a hub on `data` has in the shared servers (its database, its prefix in the
/// bucket): the same for the same folder, so a restarted hub finds its data again.
pub fn server_name(data: &Path) -> String {
    let digest = Sha256::digest(data.to_string_lossy().as_bytes());
    format!("hub_{}", &hex_of(&digest)[..20])
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `sql` with psql on the database at `url` and returns what it printed.
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-Atqc", sql])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The PostgreSQL database of the hub on `data`, created when missing.
pub fn postgres_url(data: &Path) -> String {
    let server = test_server("PIGEON_TEST_POSTGRES");
    let name = server_name(data);
    let out = Command::new("psql")
        .arg(format!("{server}/postgres"))
        .args(["-v", "ON_ERROR_STOP=1", "-qc"])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .expect("run psql");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || err.contains("already exists"),
        "creating the database {name} failed: {err}"
    );
    format!("{server}/{name}")
}

/// The configuration that puts the hub on `data` on the selected engines: top-level
/// keys, and the `[blobs]` table that goes last.
pub fn engine_toml(data: &Path) -> (String, String) {
    match engine() {
        Engine::Sqlite => (String::new(), String::new()),
        Engine::Postgres | Engine::Cluster => (
            format!("database = \"{}\"\n", postgres_url(data)),
            format!(
                "[blobs]\nkind = \"s3\"\nbucket = \"{}\"\nendpoint = \"{}\"\nregion = \"{}\"\nallow_http = true\nprefix = \"{}\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
                test_server("PIGEON_TEST_S3_BUCKET"),
                test_server("PIGEON_TEST_S3_ENDPOINT"),
                test_server("PIGEON_TEST_S3_REGION"),
                server_name(data),
                test_server("PIGEON_TEST_S3_KEY_ID"),
                test_server("PIGEON_TEST_S3_SECRET"),
            ),
        ),
    }
}

/// rclone's remote `pigeon:` for the test bucket, as environment variables.
pub fn rclone_env() -> Vec<(String, String)> {
    [
        ("TYPE", "s3".to_string()),
        ("PROVIDER", "Other".to_string()),
        ("ENDPOINT", test_server("PIGEON_TEST_S3_ENDPOINT")),
        ("REGION", test_server("PIGEON_TEST_S3_REGION")),
        ("ACCESS_KEY_ID", test_server("PIGEON_TEST_S3_KEY_ID")),
        ("SECRET_ACCESS_KEY", test_server("PIGEON_TEST_S3_SECRET")),
        ("FORCE_PATH_STYLE", "true".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("RCLONE_CONFIG_PIGEON_{k}"), v))
    .collect()
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
