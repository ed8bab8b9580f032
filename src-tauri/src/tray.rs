//! The tray icon and its menu: Quick record, Open Pigeon, Quit.
//!
//! On Linux the tray is an AppIndicator: icon clicks are never delivered, only
//! menu events, so every action lives in the menu.

use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::AppHandle;

use crate::trigger::{self, TriggerSource};

/// Stable ids of the tray menu items.
pub mod item {
    pub const QUICK_RECORD: &str = "quick-record";
    pub const OPEN: &str = "open";
    pub const QUIT: &str = "quit";
}

/// Creates the tray icon. Without a tray host (a bare X server) this still
/// succeeds; the menu is simply not shown anywhere.
pub fn install(app: &AppHandle) -> tauri::Result<()> {
    let menu = Menu::with_items(
        app,
        &[
            &MenuItem::with_id(app, item::QUICK_RECORD, "Quick record", true, None::<&str>)?,
            &MenuItem::with_id(app, item::OPEN, "Open Pigeon", true, None::<&str>)?,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, item::QUIT, "Quit", true, None::<&str>)?,
        ],
    )?;
    let mut builder = TrayIconBuilder::with_id("pigeon")
        .tooltip("Pigeon")
        .menu(&menu)
        .on_menu_event(on_menu_event);
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    Ok(())
}

fn on_menu_event(app: &AppHandle, event: MenuEvent) {
    match event.id().as_ref() {
        item::QUICK_RECORD => trigger::request_quick_record(app, TriggerSource::TrayMenu),
        item::OPEN => trigger::show_main_window(app),
        item::QUIT => {
            tracing::info!("quit from the tray menu");
            app.exit(0);
        }
        other => tracing::warn!(id = other, "unknown tray menu item"),
    }
}
