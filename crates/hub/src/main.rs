//! The `pigeon-hub` command: serve the API, manage users.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use pigeon_hub::migrate::MigrateProgress;
use pigeon_hub::{service, BlobStorageConfig, Hub, HubConfig};
use pigeon_protocol::{User, UserName};
use tracing_subscriber::EnvFilter;

/// Pigeon's hub: the server a team runs to exchange video messages.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// TOML configuration file (see docs/hub.md; default: /etc/pigeon-hub/hub.toml when it
    /// exists); flags and environment override it.
    #[arg(long, global = true, env = "PIGEON_HUB_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (SQLite database and local blobs).
    #[arg(long, global = true, env = "PIGEON_HUB_DATA")]
    data: Option<PathBuf>,
    /// Metadata database: postgres://user:password@host/db, or a sqlite:// file
    /// (default: hub.sqlite3 in the data directory).
    #[arg(long, global = true, env = "PIGEON_HUB_DATABASE")]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API until SIGINT/SIGTERM.
    Serve {
        /// Address to listen on; port 0 picks a free port (printed on stdout).
        #[arg(long, env = "PIGEON_HUB_LISTEN")]
        listen: Option<SocketAddr>,
        /// Log as JSON lines instead of text.
        #[arg(long, env = "PIGEON_HUB_LOG_JSON")]
        log_json: bool,
    },
    /// Remove uploads never sealed, blobs nothing references and orphaned parts older
    /// than the ages in the `[gc]` configuration, and say what was freed.
    Gc {
        /// Only say what would be freed.
        #[arg(long)]
        dry_run: bool,
    },
    /// Copy this hub's metadata into PostgreSQL (and its blobs into an S3 bucket), to
    /// serve from there: run it while the hub serves, stop the hub, run it again, then
    /// serve with the configuration it prints. Safe to run again at any point.
    Migrate {
        /// The PostgreSQL database: postgres://user:password@host/db.
        #[arg(long)]
        to: String,
        /// Move the blobs as well, into `s3` (the bucket named by the --s3-* flags;
        /// credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).
        #[arg(long, value_parser = ["s3"])]
        blobs: Option<String>,
        #[arg(long, required_if_eq("blobs", "s3"))]
        s3_bucket: Option<String>,
        #[arg(long)]
        s3_endpoint: Option<String>,
        #[arg(long)]
        s3_region: Option<String>,
        /// Keep the objects under this prefix of the bucket.
        #[arg(long)]
        s3_prefix: Option<String>,
        /// Allow an http:// endpoint (a bucket on the same machine or network).
        #[arg(long)]
        s3_allow_http: bool,
    },
    /// Write a consistent copy of this hub (SQLite and local blobs) into a new folder
    /// while it serves; the folder is a hub's data folder (see docs/hub.md: restore).
    Backup {
        /// A new or empty folder.
        dir: PathBuf,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user and print their access token (shown only this once).
    Add {
        name: String,
        #[arg(long)]
        display_name: Option<String>,
        /// IANA time zone, e.g. Europe/Berlin.
        #[arg(long, default_value = "UTC")]
        tz: String,
    },
    /// List users.
    List,
    /// Revoke a user's access.
    Revoke { name: String },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole cause chain on one line, without a backtrace.
            eprintln!("pigeon-hub: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = match service::config_path(cli.config.as_deref()) {
        Some(path) => HubConfig::from_file(&path)?,
        None => HubConfig::default(),
    };
    if let Some(data) = cli.data {
        config.data = data;
    }
    // As root on the service's data (`sudo pigeon-hub user add`): act as the service's user.
    service::become_data_owner(&config.data)?;
    if let Some(database) = cli.database {
        config.database = Some(database);
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve { listen, log_json } => {
                if let Some(listen) = listen {
                    config.listen = listen;
                }
                init_logs(log_json);
                serve(config).await
            }
            Command::User { command } => users(&config, command).await,
            Command::Migrate {
                to,
                blobs,
                s3_bucket,
                s3_endpoint,
                s3_region,
                s3_prefix,
                s3_allow_http,
            } => {
                let mut target = config.clone();
                target.database = Some(to);
                if blobs.is_some() {
                    target.blobs = BlobStorageConfig::S3 {
                        bucket: s3_bucket.unwrap_or_default(),
                        endpoint: s3_endpoint,
                        region: s3_region,
                        allow_http: s3_allow_http,
                        prefix: s3_prefix,
                        access_key_id: None,
                        secret_access_key: None,
                    };
                }
                migrate(&config, &target).await
            }
            Command::Backup { dir } => {
                let last = std::sync::atomic::AtomicU64::new(u64::MAX);
                let report = pigeon_hub::backup::backup(&config, &dir, &|done, total| {
                    let tenth = done * 10 / total.max(1);
                    if last.swap(tenth, std::sync::atomic::Ordering::Relaxed) != tenth {
                        eprintln!("  blob parts: {done}/{total}");
                    }
                })
                .await
                .with_context(|| {
                    format!(
                        "the backup into {} failed: delete that folder and try again",
                        dir.display()
                    )
                })?;
                println!("{report}");
                println!(
                    "Restore: stop the hub, then serve with --data {}",
                    dir.display()
                );
                Ok(())
            }
            Command::Gc { dry_run } => {
                let report = pigeon_hub::collect_garbage(&config, dry_run).await?;
                println!("{report}");
                Ok(())
            }
        }
    })
}

fn init_logs(json: bool) {
    let filter = EnvFilter::try_from_env("PIGEON_HUB_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(config: HubConfig) -> anyhow::Result<()> {
    let hub = Hub::open(config.clone())
        .await
        .with_context(|| format!("cannot open the hub data in {}", config.data.display()))?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data = %config.data.display(), "pigeon-hub listening");
    // Tests and scripts read the actual address from this line.
    println!("pigeon-hub listening on http://{addr}");
    hub.serve(listener, shutdown_signal()).await?;
    Ok(())
}

async fn migrate(from: &HubConfig, to: &HubConfig) -> anyhow::Result<()> {
    // One line per table and per tenth of the parts: readable in a terminal and a log.
    let last_tenth = std::sync::atomic::AtomicU64::new(u64::MAX);
    let report = pigeon_hub::migrate::migrate(from, to, &|p| match p {
        MigrateProgress::Rows { table, copied } if copied % 5000 == 0 || copied < 500 => {
            eprintln!("  {table}: {copied} rows");
        }
        MigrateProgress::Rows { .. } => {}
        MigrateProgress::Parts { done, total, bytes } => {
            let tenth = done * 10 / total.max(1);
            if last_tenth.swap(tenth, std::sync::atomic::Ordering::Relaxed) != tenth {
                eprintln!(
                    "  blob parts: {done}/{total} ({:.1} MB copied)",
                    bytes as f64 / 1e6
                );
            }
        }
        MigrateProgress::Verified { done, total } if done == total => {
            eprintln!("  verified {done} sealed blobs by sha256");
        }
        MigrateProgress::Verified { .. } => {}
    })
    .await
    .context("the migration stopped; what it copied stays, and running it again continues")?;
    println!("{report}");
    println!("Serve from there with these lines in the hub's configuration:");
    println!(
        "database = {:?}",
        to.database.as_deref().unwrap_or_default()
    );
    if let BlobStorageConfig::S3 {
        bucket,
        endpoint,
        region,
        allow_http,
        prefix,
        ..
    } = &to.blobs
    {
        println!("[blobs]\nkind = \"s3\"\nbucket = {bucket:?}");
        for (key, value) in [
            ("endpoint", endpoint),
            ("region", region),
            ("prefix", prefix),
        ] {
            if let Some(v) = value {
                println!("{key} = {v:?}");
            }
        }
        if *allow_http {
            println!("allow_http = true");
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

async fn users(config: &HubConfig, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            name,
            display_name,
            tz,
        } => {
            let name = UserName::parse(name)?;
            let user = User {
                display_name: display_name.unwrap_or_else(|| name.to_string()),
                name,
                time_zone: tz,
            };
            let token = pigeon_hub::add_user(config, &user).await?;
            eprintln!(
                "added {}; their token (shown only now, give it to them):",
                user.name
            );
            println!("{token}");
        }
        UserCommand::List => {
            for row in pigeon_hub::list_users(config).await? {
                let state = match row.revoked {
                    Some(t) => format!("revoked {}", t.to_rfc3339()),
                    None => "active".to_string(),
                };
                println!(
                    "{}\t{}\t{}\t{}",
                    row.user.name, row.user.display_name, row.user.time_zone, state
                );
            }
        }
        UserCommand::Revoke { name } => {
            let name = UserName::parse(name)?;
            if !pigeon_hub::revoke_user(config, &name).await? {
                bail!("no active user named {name}: `pigeon-hub user list` shows them");
            }
            eprintln!("revoked {name}");
        }
    }
    Ok(())
}
