// Formatting shared by the screens: sizes, lengths, and the grouping of
// already-ordered lists into sections. Order, urgency and the relative due text
// ("due in 3 h") come from Rust with each view; the screens re-fetch to move on.

import type { Section } from "./api";

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** 75.4 -> "1:15"; 3700 -> "1:01:40". */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export const SECTION_TITLES: Record<Section, string> = {
  open: "Waiting for your answer",
  overdue: "Overdue",
  answered: "Answered",
};

/** Splits an ordered list into its sections, keeping the order inside each. */
export function groupBySection<T>(items: T[], section: (item: T) => Section): { section: Section; items: T[] }[] {
  const groups: { section: Section; items: T[] }[] = [];
  for (const item of items) {
    const s = section(item);
    const last = groups[groups.length - 1];
    if (last && last.section === s) last.items.push(item);
    else groups.push({ section: s, items: [item] });
  }
  return groups;
}

/** A short label for a MIME type, shown as the file's type icon. */
export function fileKind(contentType: string, name: string): string {
  const ext = name.includes(".") ? name.split(".").pop()!.toUpperCase() : "";
  if (contentType === "application/pdf") return "PDF";
  if (contentType.startsWith("image/")) return "IMG";
  if (contentType.startsWith("video/")) return "VID";
  if (contentType.startsWith("text/")) return "TXT";
  return ext.slice(0, 4) || "FILE";
}

/** A `datetime-local` value ("2026-12-01T17:00") for a Date, on the local clock. */
export function toLocalInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** 3200 ms -> "0:03.2"; 80000 -> "1:20.0": a cut point, to the tenth of a second. */
export function formatClipTime(ms: number): string {
  const tenths = Math.max(0, Math.round(ms / 100));
  return `${formatDuration(Math.floor(tenths / 10))}.${tenths % 10}`;
}

/** A settings name as words: "rounded-square" -> "Rounded square", "top-left" -> "Top left". */
export function labelWords(name: string): string {
  const words = name.replace(/-/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The sliders' range for a mix level, in percent: muted to twice as loud. */
export const LEVEL_PERCENT_MAX = 200;

/** A gain as a slider's percent: 1 -> 100, 0.25 -> 25 (whole percents, at most LEVEL_PERCENT_MAX). */
export function levelPercent(gain: number): number {
  return Math.min(LEVEL_PERCENT_MAX, Math.max(0, Math.round(gain * 100)));
}

/** 1.5 -> "150 %": a mix level as the slider shows it. */
export function formatLevel(gain: number): string {
  return `${levelPercent(gain)} %`;
}
