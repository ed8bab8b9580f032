//! The command line as clap reads it: every command, its arguments and their help.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "pigeon",
    version,
    about = "Asynchronous video messages with a respond-by time"
)]
pub struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
        /// Ask for no more than a 👍 or ✅: a recipient's ✅ (`pigeon react MSG check`)
        /// counts as their answer.
        #[arg(long)]
        acknowledge_only: bool,
    },
    /// List received messages, what is due first on top.
    Inbox,
    /// Show one received message, with its chapters.
    Show { message: String },
    /// Download a received message's clip and attachments.
    Fetch { message: String },
    /// Answer a message in its thread, to its sender and other recipients: `--text`
    /// alone sends text only; otherwise a new clip is recorded (`--record` records one
    /// beside `--text`) or `--draft` is sent.
    Reply {
        /// A received message, or one you sent (to add to your own thread).
        message: String,
        #[command(flatten)]
        record: RecordArgs,
        #[command(flatten)]
        compose: ComposeArgs,
        /// Send this existing draft instead of recording a new clip.
        #[arg(long)]
        draft: Option<String>,
        /// Record a clip to go with --text (without it, --text sends text only).
        #[arg(long = "record", requires = "text", conflicts_with = "draft")]
        record_clip: bool,
        #[command(flatten)]
        about: AnswerAbout,
    },
    /// React to a message: 👍 ✅ ❓ 👀 🎉 ❤️, or by name: thumbsup, check, question,
    /// eyes, party, heart. Each person has one of each on a message; --remove takes
    /// yours back.
    React {
        /// A received message, or one you sent.
        message: String,
        emoji: String,
        /// Take your reaction back.
        #[arg(long)]
        remove: bool,
    },
    /// The whole conversation of a message's thread, oldest first: messages, replies,
    /// comments at their moments, reactions and who gave them.
    Thread {
        /// Any message of the thread, received or sent.
        message: String,
    },
    /// Mark a received message done without replying.
    Done { message: String },
    /// The meeting of a message sent to several people: each participant by agenda
    /// item (answered, commented, pending, overdue), their deadlines, and whether it
    /// closed; --markdown prints a summary to keep or share.
    Meeting {
        /// A message you sent or received.
        message: String,
        /// The summary in Markdown: items, who said what with links to the moments,
        /// transcript lines, what is still open.
        #[arg(long)]
        markdown: bool,
    },
    /// Ask the sender for more time (--until), or see the requests and their answers.
    MoreTime {
        /// A message you received.
        message: String,
        /// Your proposed deadline: 2026-12-10T12:00 on your clock, or 2d from now.
        #[arg(long)]
        until: Option<String>,
        /// Why you need it.
        #[arg(long, requires = "until")]
        note: Option<String>,
    },
    /// Grant a recipient's request for more time on a message you sent.
    Grant {
        message: String,
        /// Whose request (needed when several wait).
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Decline a recipient's request for more time on a message you sent.
    Decline {
        message: String,
        /// Whose request (needed when several wait).
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Nudge the recipients of a message you sent who have not answered (once per
    /// deadline).
    Nudge { message: String },
    /// Close the meeting of a message you sent: no more requests for more time.
    Close { message: String },
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
    /// Keep only part of a draft's clip before sending it, to the frame: times as
    /// seconds (80, 3.2), m:ss (1:20, 0:03.2) or h:mm:ss. What is cut off is never
    /// sent.
    Trim {
        /// The draft's id (or the start of it), see `pigeon drafts`.
        draft: String,
        /// Where the kept part starts (default: the clip's start).
        #[arg(long, value_name = "TIME")]
        start: Option<String>,
        /// Where the kept part ends (default: the clip's end).
        #[arg(long, value_name = "TIME")]
        end: Option<String>,
    },
    /// List what `pigeon record --screen` can record: the screen, each monitor and
    /// each window, with their ids and sizes.
    Screens,
    /// Show the settings, or change them.
    Config {
        #[command(flatten)]
        transcription: TranscriptionFlags,
        #[command(subcommand)]
        setting: Option<ConfigSetting>,
    },
    /// Print a message's or a draft's transcript: as timed lines, or as WebVTT, SRT or
    /// plain text for captions and notes.
    Transcript {
        /// A received or sent message, or a draft: its id or the start of it.
        id: String,
        #[command(flatten)]
        format: CaptionFormat,
    },
    /// Search every message here (subject, note, sender, attachment names and
    /// transcripts); a transcript hit says when the words are spoken.
    Search {
        /// The words to look for.
        #[arg(required = true)]
        words: Vec<String>,
        /// Show at most this many hits.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Make a message's or a draft's transcript here, now (a received clip not
    /// downloaded yet is downloaded first). Also makes it again.
    Transcribe {
        /// A received or sent message, or a draft: its id or the start of it.
        id: String,
    },
    /// The speech models transcripts are made with: which are downloaded, their
    /// sizes, which is used.
    Models {
        #[command(subcommand)]
        action: Option<ModelsAction>,
    },
    /// Your time zone and working hours, which the people you write to see; or
    /// someone else's (`--of NAME`) with their local time now and whether they work.
    Profile(ProfileArgs),
}

/// `pigeon profile`: without flags it shows yours; the flags change it.
#[derive(clap::Args, Debug, Default)]
pub struct ProfileArgs {
    /// Show this user's profile instead of yours.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["tz", "hours", "days", "off", "no_hours"])]
    pub of: Option<String>,
    /// Your time zone, an IANA name such as Asia/Tokyo (your working hours move with it).
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Your daily working spans in local time, e.g. 10:00-18:00 or 09:00-12:00,13:00-17:00.
    #[arg(long, value_name = "SPANS")]
    pub hours: Option<String>,
    /// The days you work, e.g. mon-fri or mon,tue,thu.
    #[arg(long, value_name = "DAYS")]
    pub days: Option<String>,
    /// Dated days off, YYYY-MM-DD, comma separated or repeated; they replace the ones
    /// given before (`--off none` clears them).
    #[arg(long, value_name = "DATE", value_delimiter = ',')]
    pub off: Option<Vec<String>>,
    /// Remove your working hours.
    #[arg(long, conflicts_with_all = ["hours", "days", "off"])]
    pub no_hours: bool,
}

#[derive(Subcommand)]
pub enum ModelsAction {
    /// Download a model (default: the one the settings use), with its checksum
    /// checked. Ctrl-C stops it; running it again continues where it stopped.
    Download {
        /// The model's key as `pigeon models` lists it, e.g. base.en.
        key: Option<String>,
    },
}

/// How `pigeon transcript` prints: at most one of these (default: timed lines).
#[derive(clap::Args, Clone, Copy, Default)]
#[group(multiple = false)]
pub struct CaptionFormat {
    /// WebVTT captions.
    #[arg(long)]
    pub vtt: bool,
    /// SubRip (SRT) captions.
    #[arg(long)]
    pub srt: bool,
    /// The words only, without times.
    #[arg(long)]
    pub text: bool,
}

/// `pigeon config` flags for transcripts.
#[derive(clap::Args, Clone, Default)]
pub struct TranscriptionFlags {
    /// Make a transcript of every clip recorded here, after Stop (on, the default)
    /// or not (off).
    #[arg(long, value_parser = ["on", "off"])]
    pub transcription: Option<String>,
    /// The speech model, by its key in `pigeon models` (e.g. tiny.en, base.en, base).
    #[arg(long, value_name = "KEY", conflicts_with = "model_path")]
    pub model: Option<String>,
    /// Use a whisper.cpp model file already on disk instead of a downloaded one.
    #[arg(long, value_name = "FILE")]
    pub model_path: Option<PathBuf>,
    /// The spoken language as a code (en, de, fr, ...) or auto to detect it (needs a
    /// multilingual model).
    #[arg(long, value_name = "CODE|auto")]
    pub language: Option<String>,
}

impl TranscriptionFlags {
    /// Whether any of them was given.
    pub fn any(&self) -> bool {
        self.transcription.is_some()
            || self.model.is_some()
            || self.model_path.is_some()
            || self.language.is_some()
    }
}

#[derive(Subcommand)]
pub enum ConfigSetting {
    /// When received clips and attachments are downloaded: on-demand (at `pigeon fetch`,
    /// the default) or background (at every `pigeon sync`).
    Download {
        #[arg(value_parser = ["on-demand", "background"])]
        policy: String,
    },
}

#[derive(clap::Args, Clone)]
#[command(group = clap::ArgGroup::new("screen_target").multiple(true).args(["screen", "window", "monitor"]))]
pub struct RecordArgs {
    /// camera, synthetic (a test pattern and tone), or a media file. With --screen,
    /// only the sound is taken from it: the microphone (camera) or the tone (synthetic).
    #[arg(long, default_value = "camera")]
    pub source: String,
    /// Stop after this many seconds (default: at Ctrl-C, at most 5 minutes).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// 480p, 720p or 1080p (a screen is always recorded at up to 1080p).
    #[arg(long, default_value = "720p")]
    pub quality: String,
    /// Record the whole screen instead of the camera.
    #[arg(long)]
    pub screen: bool,
    /// Record one window: its id as `pigeon screens` prints it (hex or decimal).
    #[arg(long, value_name = "ID", conflicts_with = "monitor")]
    pub window: Option<String>,
    /// Record one monitor: its number as `pigeon screens` prints it.
    #[arg(long, value_name = "N")]
    pub monitor: Option<u32>,
    /// Show a camera in a bubble over the screen: camera (the chosen or first
    /// camera) or synthetic (the test pattern).
    #[arg(long, value_parser = ["camera", "synthetic"], requires = "screen_target")]
    pub bubble: Option<String>,
    /// Also record what the computer plays, mixed with the sound.
    #[arg(long)]
    pub computer_sound: bool,
    /// The agenda, one chapter per item, comma separated ("Budget,Hiring,Q3"). While
    /// recording, `n` starts the next item (a line `n` when the input is not a terminal).
    #[arg(long, value_name = "TITLES")]
    pub chapters: Option<String>,
}

/// What part of the answered message a reply is about.
#[derive(clap::Args, Clone, Default)]
pub struct AnswerAbout {
    /// A comment at a moment of the message's clip: 1:23, 0:03.2, or seconds (80). A
    /// comment does not count as an answer.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// The message's chapter this is about, numbered from 1 as `pigeon show` lists
    /// them.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub chapter: Option<u32>,
}

#[derive(clap::Args, Clone)]
pub struct ComposeArgs {
    /// When an answer is expected: 4h, 24h, 48h, next-working-day, 2026-12-01T17:00 ...,
    /// or 8wh for 8 working hours each (every recipient by their own working hours).
    #[arg(long, default_value = "24h")]
    pub respond_by: String,
    /// A note that goes with the clip.
    #[arg(long)]
    pub text: Option<String>,
    /// Files to attach (repeat the option for several).
    #[arg(long)]
    pub attach: Vec<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn recipients_are_comma_separated() {
        let cli = Cli::parse_from([
            "pigeon",
            "send",
            "d1",
            "--to",
            "bob,carol",
            "--subject",
            "x",
        ]);
        let Command::Send { to, .. } = cli.command else {
            panic!("send");
        };
        assert_eq!(to, ["bob", "carol"]);
    }

    fn record_args(args: &[&str]) -> Result<RecordArgs, clap::Error> {
        let cli = Cli::try_parse_from(["pigeon", "record"].iter().chain(args))?;
        let Command::Record(args) = cli.command else {
            panic!("record");
        };
        Ok(args)
    }

    #[test]
    fn a_screen_recording_takes_its_target_bubble_and_computer_sound() {
        let args = record_args(&["--window", "0x2a00007", "--bubble", "synthetic"]).unwrap();
        assert!(!args.screen);
        assert_eq!(args.window.as_deref(), Some("0x2a00007"));
        assert_eq!(args.bubble.as_deref(), Some("synthetic"));
        let args = record_args(&["--screen", "--computer-sound"]).unwrap();
        assert!(args.screen && args.computer_sound);
        assert_eq!(record_args(&["--monitor", "1"]).unwrap().monitor, Some(1));
        let args = record_args(&["--chapters", "Budget, Hiring,Q3"]).unwrap();
        assert_eq!(args.chapters.as_deref(), Some("Budget, Hiring,Q3"));
    }

    #[test]
    fn a_bubble_needs_a_screen_and_one_target_is_recorded() {
        let error = record_args(&["--bubble", "camera"]).err().unwrap();
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
        let error = record_args(&["--window", "7", "--monitor", "0"])
            .err()
            .unwrap();
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
        let error = record_args(&["--screen", "--bubble", "face"])
            .err()
            .unwrap();
        assert_eq!(error.kind(), clap::error::ErrorKind::InvalidValue);
    }

    #[test]
    fn a_transcript_prints_in_one_format_and_a_search_needs_words() {
        let cli = Cli::parse_from(["pigeon", "transcript", "0123abcd", "--srt"]);
        let Command::Transcript { id, format } = cli.command else {
            panic!("transcript");
        };
        assert_eq!(id, "0123abcd");
        assert!(format.srt && !format.vtt && !format.text);
        let error = Cli::try_parse_from(["pigeon", "transcript", "x", "--vtt", "--text"])
            .err()
            .unwrap();
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
        let cli = Cli::parse_from(["pigeon", "search", "budget", "plan"]);
        let Command::Search { words, limit } = cli.command else {
            panic!("search");
        };
        assert_eq!((words, limit), (vec!["budget".into(), "plan".into()], 20));
        let error = Cli::try_parse_from(["pigeon", "search"]).err().unwrap();
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn a_reply_is_text_only_a_comment_or_a_clip_and_a_reaction_may_be_taken_back() {
        let cli = Cli::parse_from([
            "pigeon",
            "reply",
            "m1",
            "--text",
            "which quarter?",
            "--at",
            "0:03",
            "--chapter",
            "2",
        ]);
        let Command::Reply {
            compose,
            draft,
            record_clip,
            about,
            ..
        } = cli.command
        else {
            panic!("reply");
        };
        assert_eq!(compose.text.as_deref(), Some("which quarter?"));
        assert!(draft.is_none() && !record_clip);
        assert_eq!(
            (about.at.as_deref(), about.chapter),
            (Some("0:03"), Some(2))
        );
        let cli = Cli::parse_from(["pigeon", "reply", "m1", "--record", "--text", "see it"]);
        assert!(matches!(
            cli.command,
            Command::Reply {
                record_clip: true,
                ..
            }
        ));
        for (args, kind) in [
            (
                &["--record"][..],
                clap::error::ErrorKind::MissingRequiredArgument,
            ),
            (
                &["--text", "t", "--record", "--draft", "d1"][..],
                clap::error::ErrorKind::ArgumentConflict,
            ),
            (
                &["--chapter", "0"][..],
                clap::error::ErrorKind::ValueValidation,
            ),
        ] {
            let error = Cli::try_parse_from(["pigeon", "reply", "m1"].iter().chain(args))
                .err()
                .unwrap();
            assert_eq!(error.kind(), kind, "{args:?}");
        }
        let cli = Cli::parse_from(["pigeon", "react", "m1", "check", "--remove"]);
        let Command::React {
            message,
            emoji,
            remove,
        } = cli.command
        else {
            panic!("react");
        };
        assert_eq!(
            (message.as_str(), emoji.as_str(), remove),
            ("m1", "check", true)
        );
        let cli = Cli::parse_from(["pigeon", "--json", "thread", "m1"]);
        assert!(cli.json && matches!(cli.command, Command::Thread { .. }));
        let cli = Cli::parse_from([
            "pigeon",
            "send",
            "d1",
            "--to",
            "bob",
            "--subject",
            "x",
            "--acknowledge-only",
        ]);
        assert!(matches!(
            cli.command,
            Command::Send {
                acknowledge_only: true,
                ..
            }
        ));
    }

    #[test]
    fn config_takes_transcription_flags_beside_its_settings() {
        let cli = Cli::parse_from([
            "pigeon",
            "config",
            "--transcription",
            "off",
            "--language",
            "de",
            "download",
            "background",
        ]);
        let Command::Config {
            transcription,
            setting,
        } = cli.command
        else {
            panic!("config");
        };
        assert_eq!(transcription.transcription.as_deref(), Some("off"));
        assert_eq!(transcription.language.as_deref(), Some("de"));
        assert!(matches!(setting, Some(ConfigSetting::Download { .. })));
        let error = Cli::try_parse_from([
            "pigeon",
            "config",
            "--model",
            "tiny.en",
            "--model-path",
            "/m.bin",
        ])
        .err()
        .unwrap();
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
        let cli = Cli::parse_from(["pigeon", "models", "download"]);
        assert!(matches!(
            cli.command,
            Command::Models {
                action: Some(ModelsAction::Download { key: None })
            }
        ));
    }

    #[test]
    fn profile_flags_parse() {
        let typed = "pigeon profile --tz Asia/Tokyo --hours 10:00-18:00 --days mon-fri \
                     --off 2026-12-24,2026-12-31 --off 2027-01-01";
        let cli = Cli::try_parse_from(typed.split_whitespace()).unwrap();
        let Command::Profile(args) = cli.command else {
            panic!("not profile")
        };
        assert_eq!(args.tz.as_deref(), Some("Asia/Tokyo"));
        assert_eq!(args.off.unwrap().len(), 3);
        assert!(Cli::try_parse_from(["pigeon", "profile", "--of", "bob", "--tz", "UTC"]).is_err());
        assert!(Cli::try_parse_from(["pigeon", "profile", "--no-hours", "--days", "mon"]).is_err());
    }
}
