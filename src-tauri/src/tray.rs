//! The tray icon and its menu: Quick record, Open Pigeon, do not disturb (and whether
//! notifications wait now), the most urgent inbox items, Quit.
//!
//! On Linux the tray is an AppIndicator: icon clicks are never delivered, only
//! menu events, so every action lives in the menu.

use pigeon_library::inbox_order;
use pigeon_library::quiet::Quiet;
use pigeon_library::ResponseBy;
use tauri::menu::{IsMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Wry};

use crate::session::Session;
use crate::trigger::{self, TriggerSource};
use crate::windows;

const TRAY_ID: &str = "pigeon";
/// How many inbox items the tray lists.
const RECENT: usize = 5;

/// Stable ids of the tray menu items.
pub mod item {
    pub const QUICK_RECORD: &str = "quick-record";
    pub const OPEN: &str = "open";
    pub const QUIT: &str = "quit";
    pub const QUIET_STATE: &str = "quiet-state";
    pub const DO_NOT_DISTURB_HOUR: &str = "dnd-1h";
    pub const DO_NOT_DISTURB_FOUR_HOURS: &str = "dnd-4h";
    pub const DISTURB_AGAIN: &str = "dnd-off";
    /// Followed by a message id.
    pub const MESSAGE_PREFIX: &str = "message:";
}

/// Creates the tray icon. Without a tray host (a bare X server) this still
/// succeeds; the menu is simply not shown anywhere.
pub fn install(app: &AppHandle) -> tauri::Result<()> {
    let menu = menu(app, &Shown::default())?;
    let mut builder = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("Pigeon")
        .menu(&menu)
        .on_menu_event(on_menu_event);
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    Ok(())
}

/// What the tray shows besides its fixed items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Shown {
    /// (message id, label) of the most urgent inbox items.
    recent: Vec<(String, String)>,
    /// "Do not disturb until Tue 12:00" while notifications wait.
    quiet: Option<String>,
    /// Do not disturb is on (it can be turned off).
    do_not_disturb: bool,
}

static SHOWN: std::sync::Mutex<Option<Shown>> = std::sync::Mutex::new(None);

/// The menu for `shown`.
fn menu(app: &AppHandle, shown: &Shown) -> tauri::Result<Menu<Wry>> {
    let entry = |id: &str, label: &str, enabled: bool| -> tauri::Result<Box<dyn IsMenuItem<Wry>>> {
        Ok(Box::new(MenuItem::with_id(
            app,
            id,
            label,
            enabled,
            None::<&str>,
        )?))
    };
    let mut items: Vec<Box<dyn IsMenuItem<Wry>>> = vec![
        entry(item::QUICK_RECORD, "Quick record", true)?,
        entry(item::OPEN, "Open Pigeon", true)?,
        Box::new(PredefinedMenuItem::separator(app)?),
    ];
    if let Some(quiet) = &shown.quiet {
        items.push(entry(item::QUIET_STATE, quiet, false)?);
    }
    if shown.do_not_disturb {
        items.push(entry(item::DISTURB_AGAIN, "Turn off do not disturb", true)?);
    } else {
        items.push(entry(
            item::DO_NOT_DISTURB_HOUR,
            "Do not disturb for 1 hour",
            true,
        )?);
        items.push(entry(
            item::DO_NOT_DISTURB_FOUR_HOURS,
            "Do not disturb for 4 hours",
            true,
        )?);
    }
    let recent = &shown.recent;
    if !recent.is_empty() {
        items.push(Box::new(PredefinedMenuItem::separator(app)?));
        for (id, label) in recent {
            items.push(Box::new(MenuItem::with_id(
                app,
                format!("{}{id}", item::MESSAGE_PREFIX),
                label,
                true,
                None::<&str>,
            )?));
        }
    }
    items.push(Box::new(PredefinedMenuItem::separator(app)?));
    items.push(Box::new(MenuItem::with_id(
        app,
        item::QUIT,
        "Quit",
        true,
        None::<&str>,
    )?));
    let refs: Vec<&dyn IsMenuItem<Wry>> = items.iter().map(|i| i.as_ref()).collect();
    Menu::with_items(app, &refs)
}

/// The most urgent open inbox items, in the Inbox's own order, as (id, label).
/// Reads the library: only on the blocking pool.
fn most_urgent(session: &Session) -> anyhow::Result<Vec<(String, String)>> {
    let now = session.now();
    let received = inbox_order::most_urgent(&session.library, now, RECENT)?;
    Ok(received
        .iter()
        .map(|r| {
            let due = ResponseBy::from_instant(r.respond_by).due(now);
            (
                r.message.id.to_string(),
                format!("{} — {} ({due})", r.message.sender, r.message.subject),
            )
        })
        .collect())
}

/// Lists the most urgent open inbox items in the tray menu.
pub async fn show_recent(app: &AppHandle) {
    let recent = match crate::session::blocking(app.clone(), |_, session| most_urgent(session))
        .await
    {
        Ok(recent) => recent,
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), "the tray's inbox items could not be read");
            return;
        }
    };
    update(app, |shown| shown.recent = recent);
}

/// Says in the tray whether notifications wait now, why, and until when.
pub fn show_quiet(app: &AppHandle, quiet: Quiet, zone: chrono_tz::Tz) {
    update(app, |shown| {
        shown.quiet = quiet.text(zone);
        shown.do_not_disturb = matches!(quiet, Quiet::DoNotDisturb { .. });
    });
}

/// Changes what the tray shows; rebuilding re-exports the whole menu over D-Bus, so
/// only when it changed.
fn update(app: &AppHandle, change: impl FnOnce(&mut Shown)) {
    let Ok(mut slot) = SHOWN.lock() else {
        return;
    };
    let before = slot.clone();
    let shown = slot.get_or_insert_with(Shown::default);
    change(shown);
    if before.as_ref() == Some(shown) {
        return;
    }
    let shown = shown.clone();
    drop(slot);
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    if let Err(error) = tray.set_tooltip(Some(shown.quiet.as_deref().unwrap_or("Pigeon"))) {
        tracing::debug!(%error, "no tray tooltip");
    }
    match menu(app, &shown) {
        Ok(menu) => {
            if let Err(error) = tray.set_menu(Some(menu)) {
                tracing::warn!(%error, "could not update the tray menu");
            }
            tracing::info!(quiet = ?shown.quiet, "tray menu updated");
        }
        Err(error) => tracing::warn!(%error, "could not build the tray menu"),
    }
}

fn on_menu_event(app: &AppHandle, event: MenuEvent) {
    if let Some(id) = event.id().as_ref().strip_prefix(item::MESSAGE_PREFIX) {
        windows::open_message(app, id);
        return;
    }
    match event.id().as_ref() {
        item::QUICK_RECORD => trigger::request_quick_record(app, TriggerSource::TrayMenu),
        item::OPEN => windows::show_main(app),
        item::DO_NOT_DISTURB_HOUR => crate::quiet::do_not_disturb_from_tray(app, Some(60)),
        item::DO_NOT_DISTURB_FOUR_HOURS => {
            crate::quiet::do_not_disturb_from_tray(app, Some(4 * 60))
        }
        item::DISTURB_AGAIN => crate::quiet::do_not_disturb_from_tray(app, None),
        item::QUIT => {
            tracing::info!("quit from the tray menu");
            app.exit(0);
        }
        other => tracing::warn!(id = other, "unknown tray menu item"),
    }
}
