//! `pigeon`: Pigeon without a window. Record a clip into a draft, send it with
//! attachments and a respond-by, sync the inbox, fetch, reply, mark done, and see who
//! answered. Human output by default, `--json` for scripts.
//!
//! This binary is a thin face over `pigeon-library` (state, outbox, inbox) and
//! `pigeon-media` (recording): it holds no rules of its own, only argument parsing,
//! progress bars and wording. `PIGEON_HOME=DIR` relocates all of a user's state.
//!
//! - [`flags`]: the commands and their arguments (clap);
//! - [`output`]: human or JSON output, progress bars, advice added to library errors;
//! - [`drafts`]: `record` (camera, file or screen), `drafts`;
//! - [`chapter_keys`]: the key that starts the next chapter while recording;
//! - [`screens`]: `screens`, what a screen recording can show;
//! - [`sent`]: `send`, `reply`, `status`;
//! - [`conversation`]: `react`, `thread`, and what `reply` is about (a moment, a
//!   chapter);
//! - [`inbox`]: `inbox`, `show`, `fetch`, `done`, `sync`;
//! - [`meeting`]: `meeting` (the grid, or its Markdown), `more-time`, `grant`,
//!   `decline`, `nudge`, `close`;
//! - [`profile`]: `profile`, my time zone and working hours, or another's;
//! - [`account`]: `login`, `config`;
//! - [`transcripts`]: `transcript`, `search`, `transcribe`, and the transcription
//!   `send` and `sync` run after delivering;
//! - [`models`]: `models`, the speech models and their download;
//! - [`interrupt`]: the one Ctrl-C handler every command shares.

mod account;
mod chapter_keys;
mod conversation;
mod drafts;
mod flags;
mod inbox;
mod interrupt;
mod meeting;
mod models;
mod output;
mod profile;
mod screens;
mod sent;
mod transcripts;

use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::Parser as _;
use pigeon_library::connect::{connect, recover_unfinished, Connected};
use pigeon_library::respond_by::local_time_zone;
use pigeon_library::{Clock, Inbox, Library, Outbox, PigeonHome, Settings};

use crate::flags::{Cli, Command, ModelsAction};
use crate::output::{short, Output};

/// One run of the CLI: the user's home, settings and library.
struct App {
    home: PigeonHome,
    settings: Settings,
    library: Arc<Library>,
    out: Output,
    clock: Arc<dyn Clock>,
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
        eprintln!("error: {}", output::error_text(&e));
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
        out: Output { json: cli.json },
        // PIGEON_TEST_CLOCK fixes "now" for this run (end-to-end tests).
        clock: pigeon_library::clock::from_env()?.clock,
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
            acknowledge_only,
        } => {
            app.send_draft(&draft, &to, subject, &compose, acknowledge_only)
                .await
        }
        Command::Inbox => app.inbox(),
        Command::Show { message } => app.show(&message),
        Command::Fetch { message } => app.fetch(&message).await,
        Command::Reply {
            message,
            record,
            compose,
            draft,
            record_clip,
            about,
        } => {
            app.reply(
                &message,
                &record,
                &compose,
                draft.as_deref(),
                record_clip,
                &about,
            )
            .await
        }
        Command::React {
            message,
            emoji,
            remove,
        } => app.react(&message, &emoji, remove).await,
        Command::Thread { message } => app.thread(&message),
        Command::Done { message } => app.done(&message).await,
        Command::Meeting { message, markdown } => app.meeting(&message, markdown),
        Command::MoreTime {
            message,
            until,
            note,
        } => {
            app.more_time(&message, until.as_deref(), note.as_deref())
                .await
        }
        Command::Grant { message, to, note } => {
            app.answer_more_time(&message, to.as_deref(), true, note.as_deref())
                .await
        }
        Command::Decline { message, to, note } => {
            app.answer_more_time(&message, to.as_deref(), false, note.as_deref())
                .await
        }
        Command::Nudge { message } => app.nudge(&message).await,
        Command::Close { message } => app.close(&message).await,
        Command::Status { message } => match message {
            Some(message) => app.status(&message).await,
            None => app.sent_list(),
        },
        Command::Sync { wait } => app.sync(wait).await,
        Command::Drafts => app.drafts(),
        Command::Trim { draft, start, end } => {
            app.trim(&draft, start.as_deref(), end.as_deref()).await
        }
        Command::Screens => app.screens().await,
        Command::Config {
            transcription,
            setting,
        } => app.config(setting, &transcription),
        Command::Transcript { id, format } => app.transcript(&id, format),
        Command::Search { words, limit } => app.search(&words, limit),
        Command::Transcribe { id } => app.transcribe(&id).await,
        Command::Models { action } => match action {
            None => app.models(),
            Some(ModelsAction::Download { key }) => app.download_model(key.as_deref()).await,
        },
        Command::Profile(args) => app.profile(args).await,
    }
}

impl App {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn zone(&self) -> chrono_tz::Tz {
        local_time_zone()
    }

    async fn connect(&self) -> Result<Connected> {
        Ok(connect(&self.settings, self.zone().name()).await?)
    }

    async fn outbox(&self) -> Result<Outbox> {
        Ok(Outbox::new(
            self.library.clone(),
            self.connect().await?.store,
        ))
    }

    async fn inbox_over_store(&self) -> Result<Inbox> {
        let connected = self.connect().await?;
        Ok(Inbox::new(
            self.library.clone(),
            connected.store,
            connected.incremental,
        ))
    }
}
