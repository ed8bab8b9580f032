//! Makes sure the UI the app embeds is built before Tauri's context macro reads it: a
//! plain `cargo build` from a clean clone then works (it builds the UI when its npm
//! packages are installed), or stops with one sentence naming the command that does.

use std::path::Path;
use std::process::Command;

fn main() {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui");
    let index = ui.join("dist/index.html");
    // Rebuilt when the UI's build output changes (scripts/run and scripts/test build it).
    println!("cargo:rerun-if-changed={}", index.display());
    if !index.exists() {
        if let Err(why) = build_ui(&ui) {
            eprintln!(
                "error: the desktop app embeds the UI, which is not built ({why}): run `scripts/setup` once, or `cd ui && npm ci && npm run build`, then build again"
            );
            std::process::exit(1);
        }
    }
    tauri_build::build();
}

/// `npm run build` in `ui/`, when its packages are installed.
fn build_ui(ui: &Path) -> Result<(), String> {
    if !ui.join("node_modules").is_dir() {
        return Err("ui/node_modules is missing".into());
    }
    let status = Command::new("npm")
        .args(["run", "--silent", "build"])
        .current_dir(ui)
        .status()
        .map_err(|e| format!("npm did not start: {e}"))?;
    if !status.success() {
        return Err(format!("`npm run build` in ui/ failed ({status})"));
    }
    Ok(())
}
