//! `pigeon`: Pigeon without a window. Record a clip into a draft, send it with
//! attachments and a respond-by, sync the inbox, fetch, reply, mark done, and see who
//! answered. Human output by default, `--json` for scripts.
//!
//! This binary is a thin face over `pigeon-library` (state, outbox, inbox) and
//! `pigeon-media` (recording): it holds no rules of its own, only argument parsing,
//! progress bars and wording. `PIGEON_HOME=DIR` relocates all of a user's state.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::Utc;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use pigeon_library::connect::{connect, recover_unfinished};
use pigeon_library::respond_by::local_time_zone;
use pigeon_library::{
    Attachment, AudioChoice, Delivery, DownloadPolicy, Draft, Inbox, Library, LibraryError,
    NewOutgoing, Outbox, PigeonHome, Recording, RecordingOptions, ResponseBy, Settings, Sources,
    StoreSettings, VideoChoice,
};
use pigeon_media::QualityPreset;
use pigeon_store::protocol::{MessageId, UserName};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "pigeon",
    version,
    about = "Asynchronous video messages with a respond-by time"
)]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Choose the store and who you are in it.
    Login {
        /// A hub server's address, e.g. https://pigeon.example.com
        #[arg(long, requires = "token", conflicts_with = "folder")]
        hub: Option<String>,
        /// Your access token (printed once by `pigeon-hub user add`).
        #[arg(long)]
        token: Option<String>,
        /// A shared folder used as the store (no server).
        #[arg(long, requires = "name")]
        folder: Option<PathBuf>,
        /// Your user name in the shared folder.
        #[arg(long)]
        name: Option<String>,
    },
    /// Record a clip into a new draft (Ctrl-C stops cleanly).
    Record(RecordArgs),
    /// Send a draft.
    Send {
        /// The draft's id (or the start of it), see `pigeon drafts`.
        draft: String,
        #[command(flatten)]
        compose: ComposeArgs,
        /// Recipients, comma separated.
        #[arg(long, value_delimiter = ',', required = true)]
        to: Vec<String>,
        #[arg(long)]
        subject: String,
    },
    /// List received messages, what is due first on top.
    Inbox,
    /// Show one received message.
    Show { message: String },
    /// Download a received message's clip and attachments.
    Fetch { message: String },
    /// Answer a received message with a new clip.
    Reply {
        message: String,
        #[command(flatten)]
        record: RecordArgs,
        #[command(flatten)]
        compose: ComposeArgs,
        /// Send this existing draft instead of recording a new clip.
        #[arg(long)]
        draft: Option<String>,
    },
    /// Mark a received message done without replying.
    Done { message: String },
    /// Who has viewed and answered a message you sent; without an id, every message
    /// sent from here.
    Status { message: Option<String> },
    /// Deliver queued messages and pull new ones (and their posters; under
    /// `pigeon config download background`, their clips and attachments too).
    Sync {
        /// Wait up to this many seconds for new messages before syncing.
        #[arg(long)]
        wait: Option<u64>,
    },
    /// List drafts and messages that are not delivered yet.
    Drafts,
    /// Show the settings, or change one.
    Config {
        #[command(subcommand)]
        setting: Option<ConfigSetting>,
    },
}

#[derive(Subcommand)]
enum ConfigSetting {
    /// When received clips and attachments are downloaded: on-demand (at `pigeon fetch`,
    /// the default) or background (at every `pigeon sync`).
    Download {
        #[arg(value_parser = ["on-demand", "background"])]
        policy: String,
    },
}

#[derive(clap::Args, Clone)]
struct RecordArgs {
    /// camera, synthetic (a test pattern and tone), or a media file.
    #[arg(long, default_value = "camera")]
    source: String,
    /// Stop after this many seconds (default: at Ctrl-C, at most 5 minutes).
    #[arg(long)]
    seconds: Option<f64>,
    /// 480p, 720p or 1080p.
    #[arg(long, default_value = "720p")]
    quality: String,
}

#[derive(clap::Args, Clone)]
struct ComposeArgs {
    /// When an answer is expected: 4h, 24h, 48h, next-working-day, 2026-12-01T17:00 ...
    #[arg(long, default_value = "24h")]
    respond_by: String,
    /// A note that goes with the clip.
    #[arg(long)]
    text: Option<String>,
    /// Files to attach (repeat the option for several).
    #[arg(long)]
    attach: Vec<PathBuf>,
}

struct App {
    home: PigeonHome,
    settings: Settings,
    library: Arc<Library>,
    json: bool,
}

fn main() {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PIGEON_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: could not start: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(cli)) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    let home = PigeonHome::from_env()?;
    let settings = Settings::load_or_default(&home)?;
    let library = Arc::new(Library::open(&home)?);
    for draft in recover_unfinished(&library)? {
        if !cli.json {
            eprintln!(
                "recovered draft {} from an interrupted recording ({:.1} s)",
                short(&draft.id),
                draft.duration.unwrap_or_default().as_secs_f64()
            );
        }
    }
    let app = App {
        home,
        settings,
        library,
        json: cli.json,
    };
    match cli.command {
        Command::Login {
            hub,
            token,
            folder,
            name,
        } => app.login(hub, token, folder, name).await,
        Command::Record(args) => {
            let draft = app.record(&args).await?;
            app.print_draft(&draft);
            Ok(())
        }
        Command::Send {
            draft,
            compose,
            to,
            subject,
        } => {
            let draft = app.library.draft(&draft)?;
            let recipients = to
                .iter()
                .map(|n| {
                    UserName::parse(n.trim().to_lowercase())
                        .with_context(|| format!("{n:?} is not a user name"))
                })
                .collect::<Result<Vec<_>>>()?;
            app.send(&draft, recipients, subject, &compose, None).await
        }
        Command::Inbox => app.inbox(),
        Command::Show { message } => app.show(&message),
        Command::Fetch { message } => app.fetch(&message).await,
        Command::Reply {
            message,
            record,
            compose,
            draft,
        } => {
            let original = app.library.received(&message)?;
            let draft = match draft {
                Some(d) => app.library.draft(&d)?,
                None => app.record(&record).await?,
            };
            let subject = if original.message.subject.starts_with("Re: ") {
                original.message.subject.clone()
            } else {
                format!("Re: {}", original.message.subject)
            };
            app.send(
                &draft,
                vec![original.message.sender.clone()],
                subject,
                &compose,
                Some(original.message.id.clone()),
            )
            .await
        }
        Command::Done { message } => {
            let received = app.library.received(&message)?;
            let inbox = app.inbox_over_store().await?;
            inbox.done(&received.message.id, Utc::now()).await?;
            app.say(
                json!({"message": received.message.id, "done": true}),
                format!("marked {} done", short(received.message.id.as_str())),
            );
            Ok(())
        }
        Command::Status { message } => match message {
            Some(message) => app.status(&message).await,
            None => app.sent_list(),
        },
        Command::Sync { wait } => app.sync(wait).await,
        Command::Drafts => app.drafts(),
        Command::Config { setting } => app.config(setting),
    }
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn spinner(json: bool) -> Option<ProgressBar> {
    if json {
        return None;
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Some(bar)
}

impl App {
    fn say(&self, value: serde_json::Value, text: String) {
        if self.json {
            println!("{value}");
        } else {
            println!("{text}");
        }
    }

    fn zone(&self) -> chrono_tz::Tz {
        local_time_zone()
    }

    async fn outbox(&self) -> Result<Outbox> {
        let connected = connect(&self.settings, self.zone().name()).await?;
        Ok(Outbox::new(self.library.clone(), connected.store))
    }

    async fn inbox_over_store(&self) -> Result<Inbox> {
        let connected = connect(&self.settings, self.zone().name()).await?;
        Ok(Inbox::new(
            self.library.clone(),
            connected.store,
            connected.incremental,
        ))
    }

    async fn login(
        &self,
        hub: Option<String>,
        token: Option<String>,
        folder: Option<PathBuf>,
        name: Option<String>,
    ) -> Result<()> {
        let mut settings = self.settings.clone();
        match (hub, token, folder, name) {
            (Some(url), Some(token), None, _) => {
                settings.store = StoreSettings::Hub { url, token };
                let connected = connect(&settings, self.zone().name()).await?;
                let me = connected.store.me().await.context(
                    "the hub did not accept the token: check the address and ask for a new token (`pigeon-hub user add`)",
                )?;
                settings.user = me.name.to_string();
            }
            (None, _, Some(path), Some(name)) => {
                let path = std::path::absolute(&path)
                    .with_context(|| format!("{} is not a usable folder", path.display()))?;
                settings.store = StoreSettings::Folder { path };
                settings.user = UserName::parse(name.to_lowercase())?.to_string();
                let connected = connect(&settings, self.zone().name()).await?;
                connected.store.me().await?;
            }
            _ => bail!(
                "say which store to use: `pigeon login --hub URL --token TOKEN` or `pigeon login --folder PATH --name NAME`"
            ),
        }
        settings.save(&self.home)?;
        let store = store_text(&settings.store);
        self.say(
            json!({"user": settings.user, "store": store}),
            format!("logged in as {} at {store}", settings.user),
        );
        Ok(())
    }

    /// Records a clip into a new draft, uploading it while it is recorded.
    async fn record(&self, args: &RecordArgs) -> Result<Draft> {
        let Some(quality) = QualityPreset::from_label(&args.quality) else {
            bail!(
                "unknown quality {:?}: use 480p, 720p or 1080p",
                args.quality
            );
        };
        if let Some(s) = args.seconds {
            if !(s > 0.0 && s <= 300.0) {
                bail!("--seconds {s} is out of range: give a length between 0 and 300 seconds");
            }
        }
        let sources = sources_for(&args.source)?;
        // Uploading needs the store; offline, the clip is simply sent later.
        let outbox = match self.outbox().await {
            Ok(outbox) => Some(outbox),
            Err(e) => {
                tracing::info!(error = %e, "recording offline");
                None
            }
        };
        let options = RecordingOptions {
            quality,
            ..RecordingOptions::default()
        };
        let recording = Recording::start(self.library.clone(), outbox, &sources, &options)
            .context("the recording could not start")?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        // A second Ctrl-C cannot be handled again: set once, checked below.
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
        if !self.json {
            eprintln!(
                "recording draft {} ({}){}",
                short(recording.draft_id()),
                args.source,
                if args.seconds.is_some() {
                    ""
                } else {
                    ", Ctrl-C stops"
                }
            );
        }
        let started = Instant::now();
        let limit = args.seconds.map(Duration::from_secs_f64);
        while !stop.load(Ordering::SeqCst)
            && !recording.recorder().is_finished()
            && limit.is_none_or(|l| started.elapsed() < l)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let recorded = recording.stop().await.context("the recording failed")?;
        Ok(recorded.draft)
    }

    fn print_draft(&self, draft: &Draft) {
        let seconds = draft.duration.unwrap_or_default().as_secs_f64();
        self.say(
            json!({
                "draft": draft.id,
                "duration_seconds": seconds,
                "state": draft.state.as_str(),
                "recovered": draft.recovered,
                "uploaded": draft.clip_sealed.is_some(),
                "clip": draft.clip_path,
            }),
            format!(
                "draft {}  {seconds:.1} s  {}{}",
                draft.id,
                draft.state.as_str(),
                if draft.recovered { "  (recovered)" } else { "" }
            ),
        );
    }

    async fn send(
        &self,
        draft: &Draft,
        recipients: Vec<UserName>,
        subject: String,
        compose: &ComposeArgs,
        in_reply_to: Option<MessageId>,
    ) -> Result<()> {
        let zone = self.zone();
        let now = Utc::now();
        let respond_by = ResponseBy::parse(&compose.respond_by, now, zone)?;
        let attachments = compose
            .attach
            .iter()
            .map(|path| Ok(Attachment::from_path(path)?.into_queued()))
            .collect::<Result<Vec<_>>>()
            .context("check the files given to --attach")?;
        let entry = self.library.queue(
            &NewOutgoing {
                draft_id: draft.id.clone(),
                recipients,
                subject,
                text: compose.text.clone(),
                respond_by: respond_by.instant(),
                respond_by_tz: zone.name().to_owned(),
                in_reply_to,
                attachments,
            },
            now,
        )?;
        let delivery = match self.outbox().await {
            Ok(outbox) => {
                let bar = spinner(self.json);
                let outbox = match &bar {
                    Some(bar) => {
                        let bar = bar.clone();
                        bar.set_message("uploading");
                        outbox.with_progress(Arc::new(move |p| {
                            if let Some(total) = p.total {
                                bar.set_length(total);
                            }
                            bar.set_position(p.acknowledged);
                        }))
                    }
                    None => outbox,
                };
                let d = outbox.deliver(&entry.message_id).await?;
                if let Some(bar) = bar {
                    bar.finish_and_clear();
                }
                d
            }
            Err(e) => Delivery::Queued {
                error: format!("{e:#}"),
            },
        };
        self.report_delivery(&entry.message_id, &delivery, &respond_by)
    }

    fn report_delivery(
        &self,
        id: &MessageId,
        delivery: &Delivery,
        respond_by: &ResponseBy,
    ) -> Result<()> {
        match delivery {
            Delivery::Sent(_) => {
                self.say(
                    json!({"message": id, "state": "sent", "respond_by": respond_by.instant()}),
                    format!(
                        "sent {id}, respond by {}",
                        respond_by.display_in(self.zone())
                    ),
                );
                Ok(())
            }
            Delivery::Queued { error } => {
                self.say(
                    json!({"message": id, "state": "queued", "error": error}),
                    format!("queued {id}: not delivered yet ({error}); `pigeon sync` tries again"),
                );
                Ok(())
            }
            Delivery::Failed { reason } => {
                bail!("message {id} was not sent: {reason}. Fix it and send the draft again")
            }
        }
    }

    fn inbox(&self) -> Result<()> {
        let now = Utc::now();
        let mut messages = self.library.received_all()?;
        messages.sort_by_key(|m| std::cmp::Reverse(m.message.sent_at));
        pigeon_library::inbox_order::sort(&mut messages, now, |m| {
            (
                ResponseBy::from_instant(m.message.respond_by),
                m.responded_at.is_some(),
            )
        });
        if self.json {
            let list: Vec<_> = messages
                .iter()
                .map(|m| {
                    json!({
                        "id": m.message.id,
                        "sender": m.message.sender,
                        "subject": m.message.subject,
                        "respond_by": m.message.respond_by,
                        "viewed": m.viewed_at.is_some(),
                        "responded": m.responded_at.is_some(),
                        "in_reply_to": m.message.in_reply_to,
                        "poster": m.poster_path,
                        "downloaded": m.downloaded_at.is_some(),
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(list));
            return Ok(());
        }
        if messages.is_empty() {
            println!("the inbox is empty (`pigeon sync` pulls new messages)");
        }
        for m in &messages {
            let due = ResponseBy::from_instant(m.message.respond_by).due(now);
            let state = if m.responded_at.is_some() {
                "answered".to_owned()
            } else {
                due.to_string()
            };
            println!(
                "{}  {:<12} {:<40} {}",
                short(m.message.id.as_str()),
                m.message.sender.as_str(),
                m.message.subject,
                state
            );
        }
        Ok(())
    }

    fn show(&self, id: &str) -> Result<()> {
        let m = self.library.received(id)?;
        let respond_by = ResponseBy::from_instant(m.message.respond_by);
        if self.json {
            println!("{}", serde_json::to_string(&m)?);
            return Ok(());
        }
        println!("{}", m.message.subject);
        println!("from       {}", m.message.sender);
        println!(
            "respond by {} ({})",
            respond_by.display_in(self.zone()),
            respond_by.due(Utc::now())
        );
        if let Some(text) = &m.message.text {
            println!("\n{text}\n");
        }
        if let Some(poster) = &m.poster_path {
            println!("poster     {}", poster.display());
        }
        match &m.playable_path {
            Some(p) => println!("clip       {}", p.display()),
            None => println!(
                "clip       {} bytes, not downloaded (`pigeon fetch {}`)",
                m.message.clip.size,
                short(m.message.id.as_str())
            ),
        }
        for (a, path) in m.message.attachments.iter().zip(&m.attachment_paths) {
            match path {
                Some(p) => println!("attached   {}  {}", a.name, p.display()),
                None => println!("attached   {}  ({} bytes)", a.name, a.blob.size),
            }
        }
        Ok(())
    }

    async fn fetch(&self, id: &str) -> Result<()> {
        let m = self.library.received(id)?;
        let inbox = self.inbox_over_store().await?;
        let bar = spinner(self.json);
        let progress = bar.clone().map(|bar| {
            bar.set_message("downloading");
            Arc::new(move |p: &pigeon_store::UploadProgress| {
                if let Some(total) = p.total {
                    bar.set_length(total);
                }
                bar.set_position(p.acknowledged);
            }) as pigeon_library::inbox::DownloadProgress
        });
        let fetched = inbox.fetch(&m.message.id, progress, Utc::now()).await?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let attachments: Vec<_> = fetched.attachment_paths.iter().flatten().collect();
        self.say(
            json!({
                "message": fetched.message.id,
                "clip": fetched.clip_path,
                "playable": fetched.playable_path,
                "poster": fetched.poster_path,
                "attachments": attachments,
            }),
            format!(
                "clip: {}\n{}",
                fetched
                    .playable_path
                    .as_deref()
                    .map(Path::display)
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                attachments
                    .iter()
                    .map(|p| format!("attachment: {}", p.display()))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        );
        Ok(())
    }

    async fn status(&self, id: &str) -> Result<()> {
        let entry = match self.library.sent_from_here(id) {
            Ok(entry) => entry,
            Err(not_here @ LibraryError::NotSentHere(_)) => {
                // A whole id may name a message this user sent from another library:
                // the store knows its receipts.
                let Ok(full) = MessageId::parse(id) else {
                    return Err(not_here.into());
                };
                let connected = connect(&self.settings, self.zone().name()).await?;
                return match connected.store.message_status(&full).await {
                    Ok(status) => {
                        self.print_receipts(&full, "(sent from elsewhere)", &status.receipts)
                    }
                    Err(e) if e.code() == Some(pigeon_store::protocol::ErrorCode::NotFound) => {
                        Err(not_here.into())
                    }
                    Err(e) => Err(anyhow::Error::new(e).context(not_here.to_string())),
                };
            }
            Err(e) => return Err(e.into()),
        };
        if entry.state != pigeon_library::OutboxState::Sent {
            let why = entry
                .failure
                .or(entry.last_error)
                .unwrap_or_else(|| "not tried yet".into());
            self.say(
                json!({"message": entry.message_id, "state": entry.state.as_str(), "error": why}),
                format!("{} is {}: {why}", entry.message_id, entry.state.as_str()),
            );
            return Ok(());
        }
        let inbox = self.inbox_over_store().await?;
        let receipts = inbox.status(&entry.message_id).await?;
        self.print_receipts(&entry.message_id, &entry.subject, &receipts)
    }

    fn print_receipts(
        &self,
        id: &MessageId,
        subject: &str,
        receipts: &[pigeon_store::protocol::Receipt],
    ) -> Result<()> {
        if self.json {
            let list: Vec<_> = receipts
                .iter()
                .map(|r| {
                    json!({
                        "recipient": r.recipient,
                        "state": r.state(),
                        "viewed_at": r.viewed_at,
                        "responded_at": r.responded_at,
                        "response": r.response,
                    })
                })
                .collect();
            println!(
                "{}",
                json!({"message": id, "state": "sent", "recipients": list})
            );
            return Ok(());
        }
        println!("{id}  {subject}");
        for r in receipts {
            let state = match r.state() {
                pigeon_store::protocol::RecipientState::Responded => "responded",
                pigeon_store::protocol::RecipientState::Viewed => "viewed, pending",
                pigeon_store::protocol::RecipientState::Delivered => "delivered, pending",
                pigeon_store::protocol::RecipientState::Sent => "pending",
            };
            println!("  {:<16} {state}", r.recipient.as_str());
        }
        Ok(())
    }

    /// Every message sent from this library, newest first, with each recipient's state
    /// as last synced (`pigeon status MSG` asks the store afresh).
    fn sent_list(&self) -> Result<()> {
        let mut list = Vec::new();
        for entry in self.library.outbox()? {
            let receipts = self
                .library
                .sent_message(&entry.message_id)?
                .map(|s| s.receipts)
                .unwrap_or_default();
            list.push((entry, receipts));
        }
        if self.json {
            let list: Vec<_> = list
                .iter()
                .map(|(e, receipts)| {
                    let recipients: Vec<_> = receipts
                        .iter()
                        .map(|r| json!({"recipient": r.recipient, "state": r.state()}))
                        .collect();
                    json!({
                        "message": e.message_id,
                        "subject": e.subject,
                        "state": e.state.as_str(),
                        "recipients": recipients,
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(list));
            return Ok(());
        }
        if list.is_empty() {
            println!("nothing was sent from here yet (`pigeon send` sends a draft)");
        }
        for (e, receipts) in &list {
            let answered = receipts.iter().filter(|r| r.response.is_some()).count();
            println!(
                "{}  {:<40} {}  {answered}/{} answered",
                short(e.message_id.as_str()),
                e.subject,
                e.state.as_str(),
                e.recipients.len()
            );
        }
        Ok(())
    }

    fn config(&self, setting: Option<ConfigSetting>) -> Result<()> {
        let mut settings = self.settings.clone();
        if let Some(ConfigSetting::Download { policy }) = setting {
            settings.downloads = DownloadPolicy::parse(&policy)?;
            settings.save(&self.home)?;
        }
        let store = store_text(&settings.store);
        self.say(
            json!({"user": settings.user, "store": store, "download": settings.downloads.as_str()}),
            format!(
                "user      {}\nstore     {store}\ndownload  {}",
                settings.user,
                settings.downloads.as_str()
            ),
        );
        Ok(())
    }

    async fn sync(&self, wait: Option<u64>) -> Result<()> {
        let outbox = self.outbox().await?;
        let deliveries = outbox.deliver_queued().await?;
        let bar = match self.settings.downloads {
            DownloadPolicy::Background => spinner(self.json),
            DownloadPolicy::OnDemand => None,
        };
        let mut inbox = self
            .inbox_over_store()
            .await?
            .with_downloads(self.settings.downloads);
        if let Some(bar) = bar.clone() {
            bar.set_message("downloading");
            inbox = inbox.with_progress(Arc::new(move |p: &pigeon_store::UploadProgress| {
                if let Some(total) = p.total {
                    bar.set_length(total);
                }
                bar.set_position(p.acknowledged);
            }));
        }
        let report = match wait {
            Some(s) => {
                inbox
                    .wait_and_sync(Duration::from_secs(s), Utc::now())
                    .await?
            }
            None => inbox.sync(Utc::now()).await?,
        };
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let reminders = pigeon_library::reminders::give_reminders(
            &self.library,
            Utc::now(),
            self.settings.reminders,
        )?;
        if !self.json {
            for r in &reminders {
                println!("{}", reminder_text(r, self.zone()));
            }
        }
        let delivered: Vec<_> = deliveries
            .iter()
            .map(|(id, d)| {
                let state = match d {
                    Delivery::Sent(_) => "sent".to_owned(),
                    Delivery::Queued { error } => format!("queued ({error})"),
                    Delivery::Failed { reason } => format!("failed: {reason}"),
                };
                json!({"message": id, "state": state})
            })
            .collect();
        self.say(
            json!({
                "outbox": delivered,
                "new_messages": report.new_messages,
                "posters": report.posters,
                "downloaded": report.downloaded,
                "deferred": report.deferred,
                "reminders": reminders,
            }),
            format!(
                "{} new message(s), {} downloaded{}; outbox: {}",
                report.new_messages.len(),
                report.downloaded.len(),
                report
                    .deferred
                    .as_deref()
                    .map(|d| format!(" (left for the next sync: {d})"))
                    .unwrap_or_default(),
                if delivered.is_empty() {
                    "empty".to_owned()
                } else {
                    delivered
                        .iter()
                        .map(|d| format!("{} {}", d["message"], d["state"]))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        );
        Ok(())
    }

    fn drafts(&self) -> Result<()> {
        let drafts = self.library.drafts()?;
        let pending: Vec<_> = self
            .library
            .outbox()?
            .into_iter()
            .filter(|e| e.state != pigeon_library::OutboxState::Sent)
            .collect();
        if self.json {
            println!("{}", json!({"drafts": drafts, "outbox": pending}));
            return Ok(());
        }
        for d in &drafts {
            self.print_draft(d);
        }
        for e in &pending {
            println!(
                "message {}  {:?} to {}  {}{}",
                e.message_id,
                e.subject,
                e.recipients
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                e.state.as_str(),
                e.failure
                    .as_deref()
                    .or(e.last_error.as_deref())
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
        }
        if drafts.is_empty() && pending.is_empty() {
            println!("no drafts (`pigeon record` makes one)");
        }
        Ok(())
    }
}

/// The store as the user named it: a hub's address or a folder's path.
fn store_text(store: &StoreSettings) -> String {
    match store {
        StoreSettings::Hub { url, .. } => url.clone(),
        StoreSettings::Folder { path } => path.display().to_string(),
    }
}

fn reminder_text(r: &pigeon_library::reminders::ReminderEvent, zone: chrono_tz::Tz) -> String {
    use pigeon_library::reminders::ReminderEvent;
    match r {
        ReminderEvent::DueSoon {
            message,
            subject,
            respond_by,
        } => format!(
            "reminder: {subject:?} ({}) is due soon, by {}",
            short(message.as_str()),
            ResponseBy::from_instant(*respond_by).display_in(zone)
        ),
        ReminderEvent::Overdue {
            message, subject, ..
        } => format!(
            "reminder: {subject:?} ({}) is overdue: answer with `pigeon reply` or `pigeon done`",
            short(message.as_str())
        ),
        ReminderEvent::DeadlinePassed {
            message,
            subject,
            answered,
            unanswered,
        } => format!(
            "deadline passed for {subject:?} ({}): {answered} answered, waiting for {}",
            short(message.as_str()),
            unanswered
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The sources `--source` names: camera (with the default microphone), synthetic, or a file.
fn sources_for(source: &str) -> Result<Sources> {
    Ok(match source {
        "synthetic" => Sources::synthetic(),
        "camera" => Sources::Devices {
            video: VideoChoice::Camera { id: "0".into() },
            audio: AudioChoice::Microphone { id: None },
        },
        path => {
            if !Path::new(path).is_file() {
                bail!("--source {path}: no such file; use camera, synthetic or the path of a media file");
            }
            Sources::File(PathBuf::from(path))
        }
    })
}
