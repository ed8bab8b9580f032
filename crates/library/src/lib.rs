//! Pigeon's local library: what a user has recorded, sent and received, and the
//! rules that give it order.
//!
//! - [`db`]: the [`Library`], one SQLite file (WAL, numbered migrations) with drafts,
//!   the outbox, sent messages with per-recipient receipts, received messages, threads
//!   (by thread id), reaction records seen and mine waiting to be shared, reminders
//!   already given and the inbox sync cursor;
//! - [`recording`]: a recording into a new draft from the sources a user chose,
//!   uploaded while it is recorded (the CLI and the desktop app both use it);
//! - [`chapters`]: a clip's agenda, marked while recording, edited before sending, kept
//!   through a trim;
//! - [`attachment`]: files checked and typed before they are queued, and the safe
//!   names a received attachment is stored and saved under;
//! - [`received_files`]: where a received message's clip, poster and attachments are
//!   kept (the inbox downloads there, the faces play and save from there);
//! - [`outbox`]: uploads a clip while it is recorded (and its poster at the stop) and
//!   delivers each message exactly once (the message id is stored before the first
//!   commit attempt), a text answer without a clip, and shares my reactions in the
//!   order given;
//! - [`inbox`]: incremental inbox sync with posters at once, receipts of sent messages,
//!   downloads on demand or in the background;
//! - [`connect`]: opens the store the settings name; brings back crashed recordings;
//! - [`transcripts`]: one transcript per clip (an own draft's or a received message's),
//!   queued at Stop, shared after the message as a blob plus a record, received at sync;
//! - [`transcription`]: the [`Transcriber`], which makes queued transcripts here, one at
//!   a time on a low-priority thread, with the model the settings name;
//! - [`respond_by`]: a respond-by is one instant for everyone, picked from presets
//!   or typed by the sender, shown in each reader's own time zone and relative to now;
//! - [`fair_deadlines`]: "N working hours each", every recipient's own deadline by
//!   their working hours, fixed when the message is queued;
//! - [`reminders`]: when a received message is halfway, due soon or overdue, and when a
//!   sender should hear that the last deadline passed with recipients who did not
//!   answer; the [`Urgency`] a screen shows, by the same due-soon window;
//! - [`quiet`]: quiet hours (outside my working hours, do not disturb) that hold
//!   notifications, and the one line that sums up what waited;
//! - [`meeting`]: the grid of a message sent to several people, participants by agenda
//!   item, and its Markdown summary;
//! - [`more_time`]: asking for more time, granting or declining, nudging, closing;
//! - [`availability`], [`recipient_clock`], [`profile`]: someone's clock and working
//!   state, a recipient's clock at the respond-by, a change of my working hours;
//! - [`inbox_order`]: open items by respond-by, then overdue, then answered; the
//!   inbox as every face lists it and its most urgent head (the tray);
//! - [`sent`]: the sent list, each recipient's [`RecipientState`] and each message's
//!   delivery;
//! - [`search`]: search across every sent and received message and its transcript
//!   (FTS5, kept up to date by triggers), and the Player's search inside one transcript;
//! - [`thread`]: a thread's messages by their stored thread id, and a reply's subject;
//! - [`conversation`]: a thread as a conversation around its clips (replies, comments at
//!   a moment, chapters named, reactions, my queued answers), and a clip's comments;
//! - [`announce`]: the words that tell a user what arrived (messages, replies, comments,
//!   reactions), each told once;
//! - [`people`]: user names as typed, a message's recipients, whom one can send to;
//! - [`home`]: where a user's state lives (XDG folders, or all under `PIGEON_HOME`);
//! - [`settings`]: who the user is and which store they use (a folder store by default);
//! - [`clock`]: the one source of "now", replaceable in tests so no test sleeps.
//!
//! It is not a store (messages travel through `pigeon-store`), not a recorder (it
//! drives `pigeon-media`'s), and holds no UI text beyond short phrases such as
//! "due in 3 h" and error messages that say what happened; each face adds what to
//! type or click.

pub mod about;
pub mod announce;
pub mod attachment;
pub mod availability;
pub mod chapters;
pub mod clock;
pub mod connect;
pub mod conversation;
pub mod db;
pub mod error;
pub mod fair_deadlines;
pub mod home;
pub mod inbox;
pub mod inbox_order;
pub mod meeting;
pub mod more_time;
pub mod outbox;
pub mod people;
pub mod profile;
pub mod quiet;
pub mod received_files;
pub mod recipient_clock;
pub mod recording;
pub mod reminders;
pub mod respond_by;
pub mod search;
pub mod sent;
pub mod settings;
#[cfg(test)]
mod test_messages;
#[cfg(test)]
mod test_support;
pub mod thread;
pub mod transcription;
pub mod transcripts;
pub mod trim;

pub use announce::Announcement;
pub use attachment::Attachment;
pub use availability::{availability, Availability};
pub use clock::{Clock, ManualClock, SystemClock};
pub use conversation::{ChapterRef, ConversationEntry, EntryKind};
pub use db::{Draft, DraftState, Library, NewOutgoing, OutboxEntry, OutboxState};
pub use error::LibraryError;
pub use home::{HomeError, PigeonHome};
pub use inbox::{Inbox, SyncReport};
pub use outbox::{Delivery, Outbox};
pub use recording::{
    AudioChoice, Bubble, MixGains, Recorded, Recording, RecordingOptions, Sources, VideoChoice,
};
pub use reminders::Urgency;
pub use respond_by::{ResponseBy, ResponseByChoice, ResponseByError, ResponseByPreset};
pub use search::{transcript_lines_matching, SearchField, SearchHit};
pub use sent::{DeliveryState, RecipientState, SentLine, SentRecipient};
pub use settings::{
    DesktopSettings, DownloadPolicy, Layout, Settings, SettingsError, StoreSettings,
    TranscriptionSettings,
};
pub use thread::ThreadEntry;
pub use transcription::{ModelStatus, Transcriber, TranscriptionEvent};
pub use transcripts::{Origin, StoredTranscript, TranscriptOwner, TranscriptState};
