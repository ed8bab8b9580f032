//! The engines a test hub runs on, and the test's own view into them (psql, pg_dump,
//! rclone): what no API call can show or do.

use std::collections::HashMap;
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

/// The servers test hubs run on: the ones scripts/test-env started for the whole run
/// ([`Servers::shared`]), or a test's own, for faults that stop one
/// ([`Servers::private`]).
pub struct Servers {
    vars: HashMap<String, String>,
    /// Folders of the private servers, stopped and deleted on drop.
    own: Vec<PathBuf>,
}

/// Which server a test starts for itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Postgres,
    Garage,
}

impl Servers {
    pub fn shared() -> Self {
        Self {
            vars: std::env::vars()
                .filter(|(k, _)| k.starts_with("PIGEON_TEST_"))
                .collect(),
            own: vec![],
        }
    }

    /// The shared servers, but for `own`, which this test starts (scripts/test-server)
    /// in folders under `dir`.
    pub fn private(dir: &Path, own: &[Server]) -> Self {
        let mut servers = Self::shared();
        for server in own {
            let (name, prefix) = match server {
                Server::Postgres => ("postgres", "PIGEON_TEST_POSTGRES"),
                Server::Garage => ("garage", "PIGEON_TEST_S3_"),
            };
            // PostgreSQL runs as its own user: its folder must not be under a 0700 one.
            let folder = std::env::temp_dir().join(format!(
                "pigeon-{name}-{}",
                &server_name(&dir.join(name))[4..]
            ));
            let out = Command::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../scripts/test-server"
            ))
            .arg(name)
            .arg(&folder)
            .output()
            .expect("run scripts/test-server");
            assert!(
                out.status.success(),
                "starting a private {name} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            servers.own.push(folder);
            for line in String::from_utf8(out.stdout).unwrap().lines() {
                if let Some((k, v)) = line.trim_start_matches("export ").split_once('=') {
                    assert!(
                        k.starts_with(prefix) || k.starts_with("PIGEON_TEST_GARAGE"),
                        "{k}"
                    );
                    servers.vars.insert(k.to_string(), v.to_string());
                }
            }
        }
        servers
    }

    pub fn get(&self, var: &str) -> String {
        self.vars.get(var).cloned().unwrap_or_else(|| {
            panic!("{var} is not set: run the hub's tests on PostgreSQL and Garage inside scripts/test-env")
        })
    }

    /// The PostgreSQL database of the hub on `data`, created when missing.
    pub fn postgres_url(&self, data: &Path) -> String {
        let server = self.get("PIGEON_TEST_POSTGRES");
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

    /// The configuration that puts the hub on `data` on these servers: top-level keys,
    /// and the `[blobs]` table that goes last.
    pub fn toml(&self, data: &Path) -> (String, String) {
        (
            format!("database = \"{}\"\n", self.postgres_url(data)),
            format!(
                "[blobs]\nkind = \"s3\"\nbucket = \"{}\"\nendpoint = \"{}\"\nregion = \"{}\"\nallow_http = true\nprefix = \"{}\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
                self.get("PIGEON_TEST_S3_BUCKET"),
                self.get("PIGEON_TEST_S3_ENDPOINT"),
                self.get("PIGEON_TEST_S3_REGION"),
                server_name(data),
                self.get("PIGEON_TEST_S3_KEY_ID"),
                self.get("PIGEON_TEST_S3_SECRET"),
            ),
        )
    }

    /// An rclone command (a client that is not ours) with its remote `pigeon:` set to
    /// the test bucket; `remote` (a path in the bucket) follows `args`.
    pub fn rclone(&self, args: &[&str], remote: &str) -> Command {
        let mut c = Command::new("rclone");
        c.args(args)
            .arg(format!(
                "pigeon:{}/{remote}",
                self.get("PIGEON_TEST_S3_BUCKET")
            ))
            .envs(self.rclone_env())
            // This machine's environment names a CA bundle rclone cannot load.
            .env_remove("AWS_CA_BUNDLE");
        c
    }

    /// rclone's remote `pigeon:` for the test bucket, as environment variables.
    fn rclone_env(&self) -> Vec<(String, String)> {
        [
            ("TYPE", "s3".to_string()),
            ("PROVIDER", "Other".to_string()),
            ("ENDPOINT", self.get("PIGEON_TEST_S3_ENDPOINT")),
            ("REGION", self.get("PIGEON_TEST_S3_REGION")),
            ("ACCESS_KEY_ID", self.get("PIGEON_TEST_S3_KEY_ID")),
            ("SECRET_ACCESS_KEY", self.get("PIGEON_TEST_S3_SECRET")),
            ("FORCE_PATH_STYLE", "true".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (format!("RCLONE_CONFIG_PIGEON_{k}"), v))
        .collect()
    }

    /// Restarts the private PostgreSQL (`pg_ctl restart -m fast`: connections are cut).
    pub fn restart_postgres(&self) {
        let bin = self.get("PIGEON_TEST_POSTGRES_BIN");
        let data = self.get("PIGEON_TEST_POSTGRES_DATA");
        let mut cmd = as_postgres(&format!("{bin}/pg_ctl"));
        let status = cmd
            .args(["-D", &data, "-m", "fast", "-w", "restart"])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Stops the private Garage: SIGTERM, and SIGKILL if it has not stopped within 10 s
    /// (it waits for open requests); returns once it has let go of its ports.
    pub fn stop_garage(&self) {
        let config = PathBuf::from(self.get("PIGEON_TEST_GARAGE_CONFIG"));
        let pid = std::fs::read_to_string(config.with_file_name("garage.pid")).unwrap();
        let pid = pid.trim();
        // Gone, or a zombie no one has reaped: either way its ports are free.
        let stopped = || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.is_empty()
                || stat
                    .rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
        };
        for (signal, tries) in [("-TERM", 200), ("-KILL", 100)] {
            Command::new("kill").args([signal, pid]).status().unwrap();
            for _ in 0..tries {
                if stopped() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        panic!("Garage (pid {pid}) did not stop");
    }

    /// Starts the private Garage again on its configuration and waits for its S3 API.
    pub fn start_garage(&self) {
        let config = PathBuf::from(self.get("PIGEON_TEST_GARAGE_CONFIG"));
        let log = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(config.with_file_name("garage.log"))
            .unwrap();
        let child = Command::new("garage")
            .arg("-c")
            .arg(&config)
            .arg("server")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        std::fs::write(config.with_file_name("garage.pid"), child.id().to_string()).unwrap();
        // Dropping a Child leaves the process running; the stop script ends it.
        drop(child);
        let endpoint = self.get("PIGEON_TEST_S3_ENDPOINT");
        let port: u16 = endpoint.rsplit(':').next().unwrap().parse().unwrap();
        for _ in 0..200 {
            if super::cluster::get_status(port, "/").is_some() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("Garage did not come back");
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for folder in &self.own {
            let _ = Command::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../scripts/test-server"
            ))
            .arg("stop")
            .arg(folder)
            .output();
        }
    }
}

/// `program` run as the postgres user when we are root (PostgreSQL refuses root).
fn as_postgres(program: &str) -> Command {
    if running_as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        Command::new(program)
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
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

/// The shared PostgreSQL database of the hub on `data`.
pub fn postgres_url(data: &Path) -> String {
    Servers::shared().postgres_url(data)
}

/// The configuration that puts the hub on `data` on the selected engines: top-level
/// keys, and the `[blobs]` table that goes last.
pub fn engine_toml(data: &Path) -> (String, String) {
    match engine() {
        Engine::Sqlite => (String::new(), String::new()),
        Engine::Postgres | Engine::Cluster => Servers::shared().toml(data),
    }
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
