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

/** Mirrors `TriggerSource` in src-tauri/src/trigger.rs. */
export type TriggerSource = "global-shortcut" | "tray-menu";

export interface QuickRecordRequest {
  source: TriggerSource;
}

export const QUICK_RECORD_EVENT = "quick-record";

export function shellStatus(): Promise<ShellStatus> {
  return invoke<ShellStatus>("shell_status");
}

export function onQuickRecord(handler: (request: QuickRecordRequest) => void): Promise<UnlistenFn> {
  return listen<QuickRecordRequest>(QUICK_RECORD_EVENT, (event) => handler(event.payload));
}
