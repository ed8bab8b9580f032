// The Player's seek bar: the position slider, a tick where each chapter starts and a
// marker button for each comment at a moment (Enter or a click seeks there). The
// chapters, the comments and their words come from Rust; this module places them.

import type { ChapterView, MarkerView } from "../api";
import { h, mount } from "../dom";
import { formatDuration } from "../format";

export interface SeekBarOptions {
  /** Moves playback to `ms` (the slider, a marker). */
  seek(ms: number): void;
}

export interface SeekBar {
  el: HTMLElement;
  /** The position slider (arrow keys and dragging seek). */
  range: HTMLInputElement;
  /** Shows where playback is, in a clip of `lengthSeconds` (0 while unknown). */
  show(currentSeconds: number, lengthSeconds: number): void;
  setChapters(chapters: readonly ChapterView[]): void;
  setMarkers(markers: readonly MarkerView[]): void;
}

/** Where `ms` lies on a clip of `lengthSeconds`, from 0 to 1; null while the length is unknown. */
export function fractionOf(ms: number, lengthSeconds: number): number | null {
  if (!Number.isFinite(lengthSeconds) || lengthSeconds <= 0) return null;
  return Math.min(1, Math.max(0, ms / (lengthSeconds * 1000)));
}

/** The chapter playing at `ms`: the last one started by then, or -1 before the first (or without any). */
export function chapterAt(chapters: readonly Pick<ChapterView, "startMs">[], ms: number): number {
  let found = -1;
  for (const [index, chapter] of chapters.entries()) {
    if (chapter.startMs <= ms) found = index;
    else break;
  }
  return found;
}

/** "0:14 of 1:23, chapter 2: Hiring": what a screen reader says for the slider. */
export function describePosition(currentSeconds: number, lengthSeconds: number, chapters: readonly ChapterView[]): string {
  const position = lengthSeconds > 0 ? `${formatDuration(currentSeconds)} of ${formatDuration(lengthSeconds)}` : formatDuration(currentSeconds);
  const chapter = chapters[chapterAt(chapters, currentSeconds * 1000)];
  return chapter ? `${position}, chapter ${chapter.number}: ${chapter.title}` : position;
}

/** What tells a control apart from its siblings when a list is drawn anew. */
const focusKey = (el: HTMLElement) =>
  [el.closest<HTMLElement>("[data-id]")?.dataset.id, el.dataset.testid, el.dataset.emoji, el.dataset.startMs].join("|");

/**
 * Runs `draw`, which replaces what is inside `box`, and gives the focus back to the
 * same control drawn anew, so a keyboard user keeps their place when a list refreshes.
 */
export function keepingFocus(box: HTMLElement, draw: () => void): void {
  const focused = document.activeElement;
  if (!(focused instanceof HTMLElement) || !box.contains(focused)) return draw();
  const key = focusKey(focused);
  draw();
  [...box.querySelectorAll<HTMLElement>("[data-testid]")].find((el) => focusKey(el) === key)?.focus();
}

const percent = (fraction: number) => `${(fraction * 100).toFixed(3)}%`;

export function seekBar(options: SeekBarOptions): SeekBar {
  const range = h("input", {
    type: "range",
    min: "0",
    max: "0",
    step: "0.1",
    value: "0",
    class: "seekbar-range",
    "aria-label": "Position",
    "data-testid": "player-seek",
  });
  const ticks = h("div", { class: "seekbar-ticks", "aria-hidden": "true", "data-testid": "chapter-ticks" });
  const markers = h("div", { class: "seekbar-markers", role: "group", "aria-label": "Comments on the clip", "data-testid": "comment-markers" });
  const el = h("div", { class: "seekbar" }, h("div", { class: "seekbar-track" }, range, ticks), markers);

  let chapters: readonly ChapterView[] = [];
  let comments: readonly MarkerView[] = [];
  let length = 0;
  let current = 0;

  range.addEventListener("input", () => options.seek(Number(range.value) * 1000));

  /** Places every tick and marker on the current length; hidden while it is unknown. */
  const place = () => {
    for (const item of [...ticks.children, ...markers.children] as HTMLElement[]) {
      const fraction = fractionOf(Number(item.dataset.atMs), length);
      item.hidden = fraction === null;
      if (fraction !== null) item.style.left = percent(fraction);
    }
  };

  return {
    el,
    range,
    show(currentSeconds, lengthSeconds) {
      current = currentSeconds;
      const lengthChanged = lengthSeconds !== length;
      length = lengthSeconds;
      range.max = String(lengthSeconds);
      range.value = String(currentSeconds);
      range.setAttribute("aria-valuetext", describePosition(current, length, chapters));
      if (lengthChanged) place();
    },
    setChapters(next) {
      chapters = next;
      mount(
        ticks,
        // The first chapter starts at 0: a tick there would only hide the start of the track.
        ...next
          .filter((c) => c.startMs > 0)
          .map((c) =>
            h("span", { class: "chapter-tick", title: `${c.number}. ${c.title} (${c.at})`, "data-at-ms": String(c.startMs), "data-testid": "chapter-tick" }),
          ),
      );
      range.setAttribute("aria-valuetext", describePosition(current, length, chapters));
      place();
    },
    setMarkers(next) {
      comments = next;
      keepingFocus(markers, () => mount(
        markers,
        ...comments.map((m) =>
          h("button", {
            type: "button",
            class: "comment-marker",
            "aria-label": m.label,
            title: m.label,
            "data-at-ms": String(m.atMs),
            "data-id": m.id,
            "data-testid": "comment-marker",
            onclick: () => options.seek(m.atMs),
          }),
        ),
      ));
      markers.hidden = comments.length === 0;
      place();
    },
  };
}
