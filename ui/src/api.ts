// Typed wrappers for every command and event the Rust shell offers. Views call
// these, never `invoke`/`listen` directly, so the contract lives in one place
// and mirrors src-tauri/src/commands.rs and trigger.rs.

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

export interface ShortcutStatus {
  accelerator: string;
  registered: boolean;
  problem: string | null;
}

export interface ShellStatus {
  version: string;
  quickRecordShortcut: ShortcutStatus;
}

/** Mirrors `SettingsView` in src-tauri/src/commands.rs. */
export interface SettingsView {
  user: string;
  storeKind: "folder" | "hub";
  storeLocation: string;
  dataDir: string;
  dueSoonMinutes: number;
  quickRecordShortcut: ShortcutStatus;
}

/** Every command rejects with this shape: one sentence that says what to do. */
export interface CommandError {
  message: string;
}

/** The user-facing sentence of a rejected command (or of anything else thrown). */
export function errorMessage(error: unknown): string {
  if (typeof error === "object" && error !== null && "message" in error) {
    return String((error as CommandError).message);
  }
  return String(error);
}

/** Mirrors `TriggerSource` in src-tauri/src/trigger.rs. */
export type TriggerSource = "global-shortcut" | "tray-menu";

export interface QuickRecordRequest {
  source: TriggerSource;
}

export const QUICK_RECORD_EVENT = "quick-record";

export function shellStatus(): Promise<ShellStatus> {
  return invoke<ShellStatus>("shell_status");
}

export function settings(): Promise<SettingsView> {
  return invoke<SettingsView>("settings");
}

/** Rejects (with a CommandError) when the combination is invalid or taken; the old one then stays. */
export function setQuickRecordShortcut(accelerator: string): Promise<SettingsView> {
  return invoke<SettingsView>("set_quick_record_shortcut", { accelerator });
}

export function setDueSoonMinutes(minutes: number): Promise<SettingsView> {
  return invoke<SettingsView>("set_due_soon_minutes", { minutes });
}

export function onQuickRecord(handler: (request: QuickRecordRequest) => void): Promise<UnlistenFn> {
  return listen<QuickRecordRequest>(QUICK_RECORD_EVENT, (event) => handler(event.payload));
}
