//! The tray icon and its menu: Quick record, Open Pigeon, the most urgent inbox
//! items, Quit.
//!
//! On Linux the tray is an AppIndicator: icon clicks are never delivered, only
//! menu events, so every action lives in the menu.

use pigeon_library::inbox_order;
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
    /// Followed by a message id.
    pub const MESSAGE_PREFIX: &str = "message:";
}

/// Creates the tray icon. Without a tray host (a bare X server) this still
/// succeeds; the menu is simply not shown anywhere.
pub fn install(app: &AppHandle) -> tauri::Result<()> {
    let menu = menu(app, &[])?;
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

/// The menu with `recent` as (message id, label) under the fixed items.
fn menu(app: &AppHandle, recent: &[(String, String)]) -> tauri::Result<Menu<Wry>> {
    let mut items: Vec<Box<dyn IsMenuItem<Wry>>> = vec![
        Box::new(MenuItem::with_id(
            app,
            item::QUICK_RECORD,
            "Quick record",
            true,
            None::<&str>,
        )?),
        Box::new(MenuItem::with_id(
            app,
            item::OPEN,
            "Open Pigeon",
            true,
            None::<&str>,
        )?),
    ];
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
    // Rebuilding re-exports the whole menu over D-Bus: only when it changed.
    static SHOWN: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());
    let Ok(mut shown) = SHOWN.lock() else {
        return;
    };
    if *shown == recent {
        return;
    }
    *shown = recent.clone();
    drop(shown);
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    match menu(app, &recent) {
        Ok(menu) => {
            if let Err(error) = tray.set_menu(Some(menu)) {
                tracing::warn!(%error, "could not update the tray menu");
            }
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
        item::QUIT => {
            tracing::info!("quit from the tray menu");
            app.exit(0);
        }
        other => tracing::warn!(id = other, "unknown tray menu item"),
    }
}
