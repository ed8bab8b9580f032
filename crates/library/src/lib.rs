//! Pigeon's local library: what a user has recorded, sent and received, and the
//! rules that give it order.
//!
//! So far this crate holds the time rules every face of Pigeon shares:
//! - [`respond_by`]: a respond-by is one instant for everyone, picked from presets
//!   or typed by the sender, shown in each reader's own time zone and relative to now;
//! - [`reminders`]: when a received message is due soon or overdue, and when a
//!   sender should hear that a deadline passed with recipients who did not answer;
//! - [`inbox_order`]: open items by respond-by, then overdue, then answered;
//! - [`home`]: where a user's state lives (XDG folders, or all under `PIGEON_HOME`);
//! - [`settings`]: who the user is and which store they use (a folder store by default);
//! - [`clock`]: the one source of "now", replaceable in tests so no test sleeps.
//!
//! It is not a store (messages travel through the shared store crates), not a
//! recorder, and holds no UI text beyond short, translatable-in-one-place phrases
//! such as "due in 3 h".

pub mod clock;
pub mod home;
pub mod inbox_order;
pub mod reminders;
pub mod respond_by;
pub mod settings;

pub use clock::{Clock, ManualClock, SystemClock};
pub use home::{HomeError, PigeonHome};
pub use respond_by::{ResponseBy, ResponseByError, ResponseByPreset};
pub use settings::{DesktopSettings, Settings, SettingsError, StoreSettings};
