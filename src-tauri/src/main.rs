//! Pigeon's desktop app.
//!
//! A thin Tauri 2 shell: it opens the window that hosts the UI in `ui/`, puts
//! Pigeon in the system tray, registers the global quick-record shortcut, and
//! turns each of those into an event the UI reacts to. Capabilities (recording,
//! the store, the local library) live in the crates under `crates/`; this
//! binary only wires them to the window.

// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod background;
mod blocking;
mod commands;
mod compose;
mod conversation;
mod error;
mod meeting;
mod messages;
mod models;
mod more_time;
mod profile;
mod quiet;
mod recording;
mod screen;
mod search;
mod session;
mod shortcut;
mod supervise;
mod test_clock;
mod transcripts;
mod tray;
mod trigger;
mod trim;
mod windows;

use anyhow::Context as _;
use tauri::Manager as _;

use pigeon_library::{DesktopSettings, PigeonHome};
use pigeon_playback::{Options, PlaybackServer};

use crate::session::Session;
use crate::shortcut::ShortcutState;

fn main() -> anyhow::Result<()> {
    commands::note_start();
    init_logging();
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "starting Pigeon");

    let home = PigeonHome::from_env().context("could not find where to keep Pigeon's files")?;
    home.create()?;
    tracing::info!(data = %home.data_dir().display(), "using Pigeon home");

    let session = Session::open(home)?;

    tauri::Builder::default()
        .plugin(shortcut::plugin())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .manage(ShortcutState::default())
        .manage(session)
        .manage(recording::RecorderSlot::default())
        .manage(messages::downloads::Downloads::default())
        .manage(background::LastConnection::default())
        .manage(models::ModelDownloads::default())
        .manage(profile::ProfileCache::default())
        .invoke_handler(tauri::generate_handler![
            commands::shell_status,
            commands::ui_ready,
            commands::settings,
            commands::about,
            commands::set_quick_record_shortcut,
            commands::set_due_soon_minutes,
            commands::set_download_policy,
            commands::test_store,
            commands::set_store,
            background::connection,
            recording::devices,
            recording::choose_devices,
            recording::start_recording,
            recording::current_recording,
            recording::watch_recording,
            recording::pause_recording,
            recording::stop_recording,
            recording::discard_recording,
            recording::next_chapter,
            screen::recording_layout,
            screen::choose_layout,
            screen::list_screens,
            screen::screen_thumbnail,
            screen::set_bubble_corner,
            screen::set_bubble_style,
            screen::set_mix_levels,
            trim::draft_filmstrip,
            trim::trim_draft,
            messages::inbox::inbox,
            messages::sent::sent,
            messages::drafts::drafts,
            messages::drafts::draft,
            messages::drafts::discard_draft,
            messages::player::message,
            messages::player::play,
            messages::player::mark_done,
            conversation::conversation,
            conversation::send_text_reply,
            conversation::react,
            meeting::meeting,
            meeting::meeting_markdown,
            meeting::save_meeting_markdown,
            meeting::nudge,
            meeting::close_meeting,
            more_time::more_time,
            more_time::ask_more_time,
            more_time::answer_more_time,
            messages::attachments::open_attachment,
            messages::attachments::save_attachment,
            compose::users,
            compose::respond_by_choices,
            compose::respond_by_at,
            compose::describe_attachments,
            compose::pick_attachments,
            compose::send_message,
            compose::draft_chapters,
            compose::set_draft_chapters,
            compose::add_draft_chapter,
            compose::recipient_clocks,
            profile::forget_profiles,
            profile::my_working_hours,
            profile::set_my_working_hours,
            quiet::quiet_state,
            quiet::set_do_not_disturb,
            transcripts::message_transcript,
            transcripts::transcribe_message,
            transcripts::skip_ranges,
            transcripts::transcript_lines_matching,
            transcripts::captions_on,
            transcripts::set_captions_on,
            search::search,
            models::transcription_settings,
            models::set_transcription_settings,
            models::pick_model_file,
            models::model_status,
            models::model_catalog,
            models::download_model,
            models::cancel_model_download,
            test_clock::test_set_clock,
        ])
        .on_window_event(|window, event| {
            // Closing the main window keeps Pigeon in the tray; Quit is in the tray menu.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                if window.label() == windows::MAIN_WINDOW {
                    api.prevent_close();
                    windows::hide(window);
                }
            }
        })
        .setup(|app| {
            let server = PlaybackServer::start_with(tauri::async_runtime::handle().inner(), Options::default())
                .context("could not start the local player")?;
            app.manage(server);
            tray::install(app.handle()).context("could not create the tray icon")?;
            let session = app.state::<Session>();
            background::spawn(app.handle().clone());
            background::spawn_transcriber(app.handle().clone());
            // Read once before the window shows; the sync loop keeps the tray current.
            let accelerator = match session.settings_blocking() {
                Ok(settings) => settings.desktop.quick_record_shortcut,
                Err(error) => {
                    // The settings screen shows the same error; the app still starts.
                    tracing::error!(%error, "could not read the settings; using the default shortcut");
                    DesktopSettings::default().quick_record_shortcut
                }
            };
            let state = app.state::<ShortcutState>();
            shortcut::register_at_start(app.handle(), &state, &accelerator);
            Ok(())
        })
        .run(tauri::generate_context!())
        .context("the desktop app stopped with an error")
}

/// Logs go to stderr; `RUST_LOG` (e.g. `RUST_LOG=pigeon_desktop=debug`) tunes them.
fn init_logging() {
    use std::io::IsTerminal as _;
    use tracing_subscriber::EnvFilter;
    // whisper.cpp narrates every model load at INFO (some 30 lines); its warnings stay.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tao=warn,whisper_rs=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    // A panic anywhere (a short-lived task, a thread) reaches the log at ERROR,
    // not only stderr; supervised tasks are also restarted (see `supervise`).
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(panic = %info, "Pigeon panicked");
        default_hook(info);
    }));
}
