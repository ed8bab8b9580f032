//! Hub configuration: a TOML file, overridden by command-line flags and environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use pigeon_protocol::Limits;
use serde::Deserialize;

use crate::HubError;

/// Where blobs live.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BlobStorageConfig {
    /// A directory: `DATA/blobs` unless `path` is given.
    #[default]
    Local,
    /// A local directory elsewhere.
    LocalPath { path: PathBuf },
    /// An S3-compatible bucket (AWS S3, Garage, MinIO, R2). Credentials come from here
    /// or from the usual `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` environment
    /// variables; objects go under `prefix` when one is given (hubs of different teams
    /// may share a bucket).
    S3 {
        bucket: String,
        #[serde(default)]
        endpoint: Option<String>,
        #[serde(default)]
        region: Option<String>,
        #[serde(default)]
        allow_http: bool,
        #[serde(default)]
        prefix: Option<String>,
        #[serde(default)]
        access_key_id: Option<String>,
        #[serde(default)]
        secret_access_key: Option<String>,
    },
}

/// Garbage collection: what is removed after how long. Ages are in minutes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GcConfig {
    /// How often a serving hub collects; 0: only `pigeon-hub gc` does.
    pub interval_minutes: u64,
    /// An upload never sealed, after its last chunk.
    pub unsealed_after_minutes: u64,
    /// A sealed blob no message or record references (an outbox may hold one while
    /// offline), after it was sealed.
    pub unreferenced_after_minutes: u64,
    /// A stored part no blob records (a hub killed while receiving it), after it was
    /// written.
    pub orphan_parts_after_minutes: u64,
}

impl Default for GcConfig {
    fn default() -> Self {
        Self {
            interval_minutes: 60,
            unsealed_after_minutes: 2 * 24 * 60,
            unreferenced_after_minutes: 7 * 24 * 60,
            orphan_parts_after_minutes: 24 * 60,
        }
    }
}

/// The whole configuration. Every field has a default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HubConfig {
    /// Data directory: the SQLite database and (by default) the blobs.
    pub data: PathBuf,
    /// Where the metadata lives: `postgres://user:password@host/db` (several hubs may
    /// share it) or `sqlite:///path/hub.sqlite3`; by default `DATA/hub.sqlite3`.
    pub database: Option<String>,
    /// Connections the hub keeps to PostgreSQL at most.
    pub database_max_connections: u32,
    pub listen: SocketAddr,
    pub limits: Limits,
    pub blobs: BlobStorageConfig,
    /// Upper bound of a client's long-poll wait.
    pub long_poll_max_secs: u64,
    /// How long shutdown waits for in-flight requests (chunk writes) to finish.
    pub shutdown_grace_secs: u64,
    /// How long a request may take to be answered (long-polls, seals and chunk
    /// uploads have their own bounds).
    pub request_timeout_secs: u64,
    /// How long a seal may take: it may hash a whole clip again.
    pub seal_timeout_secs: u64,
    /// A chunk upload whose body sends nothing for this long is cut off; its stored
    /// bytes stay and the client resumes.
    pub upload_idle_secs: u64,
    /// Requests handled at once (long-polls not counted); more wait their turn.
    pub max_concurrent_requests: usize,
    /// Long-polls waiting at once; more wait their turn.
    pub max_waiting_polls: usize,
    /// An upload that saw no chunk for this long loses its in-memory running hash; its
    /// seal then hashes the stored bytes.
    pub upload_hash_idle_secs: u64,
    pub gc: GcConfig,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            data: PathBuf::from("pigeon-hub-data"),
            database: None,
            database_max_connections: 16,
            listen: SocketAddr::from(([127, 0, 0, 1], 7700)),
            limits: Limits::default(),
            blobs: BlobStorageConfig::default(),
            long_poll_max_secs: 60,
            shutdown_grace_secs: 30,
            request_timeout_secs: 30,
            seal_timeout_secs: 600,
            upload_idle_secs: 60,
            max_concurrent_requests: 256,
            max_waiting_polls: 4096,
            upload_hash_idle_secs: 600,
            gc: GcConfig::default(),
        }
    }
}

impl HubConfig {
    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, HubError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| HubError::Config(format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| {
            HubError::Config(format!("{} is not a valid hub config: {e}", path.display()))
        })
    }

    /// The SQLite database file of the default configuration.
    pub fn database_path(&self) -> PathBuf {
        self.data.join("hub.sqlite3")
    }

    /// The URL of the metadata database: the configured one, or the SQLite file in
    /// the data directory.
    pub fn database_url(&self) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => crate::db::sqlite_url(&self.database_path()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_and_limits() {
        let c: HubConfig = toml::from_str(
            r#"
            listen = "0.0.0.0:8080"
            [limits]
            max_recipients = 5
            [blobs]
            kind = "s3"
            bucket = "pigeon"
            endpoint = "http://127.0.0.1:9000"
            allow_http = true
            "#,
        )
        .unwrap();
        assert_eq!(c.limits.max_recipients, 5);
        assert_eq!(
            c.limits.max_subject_chars,
            Limits::default().max_subject_chars
        );
        assert!(matches!(c.blobs, BlobStorageConfig::S3 { .. }));
    }
}
