import { draftFilmstrip, errorMessage, trimDraft, type DraftView, type FilmstripFrame } from "../api";
import { h, mount } from "../dom";
import { formatClipTime } from "../format";
import { button, problem } from "./screen";

/** The part of the clip to keep, in milliseconds. */
export interface TrimRange {
  startMs: number;
  endMs: number;
}

export type Handle = "start" | "end";

/** The handles never cross: what is kept is at least this long. */
export const MIN_KEPT_MS = 500;
/** An arrow key moves a handle a tenth of a second; with Shift (or Page keys) a second. */
const FINE_STEP_MS = 100;
const COARSE_STEP_MS = 1000;
/** Pictures in the scrubber. */
const FILMSTRIP_COUNT = 10;

/** Puts one handle at `ms`, kept inside the clip and clear of the other handle. */
export function placeHandle(range: TrimRange, handle: Handle, ms: number, durationMs: number): TrimRange {
  const gap = Math.min(MIN_KEPT_MS, durationMs);
  const at = Math.round(ms);
  if (handle === "start") return { ...range, startMs: Math.min(Math.max(0, at), range.endMs - gap) };
  return { ...range, endMs: Math.max(Math.min(durationMs, at), range.startMs + gap) };
}

/** Where a key press moves a handle, or null for a key the handle ignores. */
export function keyMove(range: TrimRange, handle: Handle, key: string, shift: boolean, durationMs: number): TrimRange | null {
  const current = handle === "start" ? range.startMs : range.endMs;
  const step = shift ? COARSE_STEP_MS : FINE_STEP_MS;
  const target: Record<string, number> = {
    ArrowLeft: current - step,
    ArrowDown: current - step,
    ArrowRight: current + step,
    ArrowUp: current + step,
    PageDown: current - COARSE_STEP_MS,
    PageUp: current + COARSE_STEP_MS,
    Home: 0,
    End: durationMs,
  };
  if (!(key in target)) return null;
  return placeHandle(range, handle, target[key] ?? current, durationMs);
}

/** Whether the range cuts anything off. */
export function cutsSomething(range: TrimRange, durationMs: number): boolean {
  return range.startMs > 0 || range.endMs < durationMs;
}

/** "Start 0:01.0 · End 0:04.5 · Length 0:03.5" */
export function describeRange(range: TrimRange): string {
  return `Start ${formatClipTime(range.startMs)} · End ${formatClipTime(range.endMs)} · Length ${formatClipTime(range.endMs - range.startMs)}`;
}

export interface Trimmer {
  el: HTMLElement;
  /** Shows a draft (again): a new clip gets a new filmstrip and the whole range. */
  show(draft: DraftView): void;
  dispose(): void;
}

/**
 * The trim card of Compose: the clip's pictures in a scrubber with two handles
 * (drag them, or focus one and use the arrow keys), the kept start, end and length,
 * and Trim. `seek` shows the picture under a handle that moved; `trimmed` gets the
 * draft once its clip is cut.
 */
export function trimmer(draftId: string, seek: (ms: number) => void, trimmed: (draft: DraftView) => void): Trimmer {
  let durationMs = 0;
  let range: TrimRange = { startMs: 0, endMs: 0 };
  let shownClip: string | null = null;
  let urls: string[] = [];
  let busy = false;

  const strip = h("div", { class: "filmstrip", "data-testid": "trim-filmstrip", "aria-hidden": "true" });
  const shadeStart = h("div", { class: "trim-shade" });
  const shadeEnd = h("div", { class: "trim-shade" });
  const slider = (handle: Handle, label: string) =>
    h("div", {
      class: `trim-handle ${handle}`,
      role: "slider",
      tabindex: "0",
      "aria-label": label,
      "aria-valuemin": "0",
      "data-testid": `trim-${handle}`,
    });
  const startHandle = slider("start", "Start of the kept clip");
  const endHandle = slider("end", "End of the kept clip");
  const scrubber = h("div", { class: "scrubber", "data-testid": "trim-scrubber" }, strip, shadeStart, shadeEnd, startHandle, endHandle);
  const summary = h("p", { class: "muted", role: "status", "data-testid": "trim-summary" }, "Loading the clip's pictures…");
  const feedback = h("div", { "aria-live": "polite", "data-testid": "trim-feedback" });
  const trimButton = button("Trim", "trim-button", () => void trim());
  const resetButton = button("Keep everything", "trim-reset", () => {
    range = { startMs: 0, endMs: durationMs };
    render();
  });
  const el = h(
    "section",
    { class: "card trim", "aria-label": "Trim", "data-testid": "trim" },
    h("h2", {}, "Trim"),
    h("p", { class: "muted" }, "Drag the handles, or focus one and use the arrow keys (Shift or Page Up/Down for whole seconds), to cut off the start or the end."),
    scrubber,
    summary,
    h("div", { class: "row" }, trimButton, resetButton),
    feedback,
  );

  function render(): void {
    const percent = (ms: number) => (durationMs ? (ms / durationMs) * 100 : 0);
    startHandle.style.left = `${percent(range.startMs)}%`;
    endHandle.style.left = `${percent(range.endMs)}%`;
    shadeStart.style.left = "0";
    shadeStart.style.width = `${percent(range.startMs)}%`;
    shadeEnd.style.left = `${percent(range.endMs)}%`;
    shadeEnd.style.width = `${100 - percent(range.endMs)}%`;
    for (const [handle, ms] of [
      [startHandle, range.startMs],
      [endHandle, range.endMs],
    ] as const) {
      handle.setAttribute("aria-valuemax", String(durationMs));
      handle.setAttribute("aria-valuenow", String(ms));
      handle.setAttribute("aria-valuetext", formatClipTime(ms));
    }
    summary.textContent = durationMs ? describeRange(range) : "The clip's length is not known yet.";
    const ready = durationMs > 0 && !busy;
    trimButton.disabled = !ready || !cutsSomething(range, durationMs);
    resetButton.disabled = !ready || !cutsSomething(range, durationMs);
  }

  const moved = (handle: Handle, next: TrimRange) => {
    range = next;
    render();
    seek(handle === "start" ? range.startMs : range.endMs);
  };
  for (const [handle, node] of [
    ["start", startHandle],
    ["end", endHandle],
  ] as const) {
    node.addEventListener("keydown", (event) => {
      if (busy || !durationMs) return;
      const next = keyMove(range, handle, event.key, event.shiftKey, durationMs);
      if (!next) return;
      event.preventDefault();
      moved(handle, next);
    });
    node.addEventListener("pointerdown", (event) => {
      if (busy || !durationMs) return;
      event.preventDefault();
      node.focus();
      node.setPointerCapture?.(event.pointerId);
      const follow = (e: PointerEvent) => {
        const box = scrubber.getBoundingClientRect();
        const fraction = box.width ? (e.clientX - box.left) / box.width : 0;
        moved(handle, placeHandle(range, handle, fraction * durationMs, durationMs));
      };
      const done = () => {
        node.removeEventListener("pointermove", follow);
        node.removeEventListener("pointerup", done);
        node.removeEventListener("pointercancel", done);
      };
      node.addEventListener("pointermove", follow);
      node.addEventListener("pointerup", done);
      node.addEventListener("pointercancel", done);
    });
  }

  const releaseUrls = () => {
    urls.forEach((u) => URL.revokeObjectURL(u));
    urls = [];
  };
  const loadFilmstrip = () => {
    draftFilmstrip(draftId, FILMSTRIP_COUNT)
      .then((frames: FilmstripFrame[]) => {
        releaseUrls();
        urls = frames.map((f) => f.url);
        mount(strip, ...frames.map((f) => h("img", { src: f.url, alt: "", "data-at-ms": String(f.atMs) })));
      })
      .catch((error: unknown) => mount(feedback, problem(`The clip's pictures are not available: ${errorMessage(error)}`, "trim-error")));
  };

  async function trim(): Promise<void> {
    if (busy || !cutsSomething(range, durationMs)) return;
    busy = true;
    render();
    el.setAttribute("aria-busy", "true");
    mount(feedback, h("p", { class: "muted", role: "status", "data-testid": "trim-progress" }, `Trimming to ${formatClipTime(range.endMs - range.startMs)}…`));
    try {
      const draft = await trimDraft(draftId, range.startMs, range.endMs);
      mount(feedback, h("p", { class: "muted", role: "status", "data-testid": "trim-done" }, "Trimmed: the clip now starts and ends where you chose."));
      busy = false;
      trimmed(draft);
    } catch (error) {
      busy = false;
      mount(feedback, problem(errorMessage(error), "trim-error"));
    } finally {
      el.removeAttribute("aria-busy");
      render();
    }
  }

  render();
  return {
    el,
    show(draft: DraftView) {
      const length = Math.round((draft.durationSeconds ?? 0) * 1000);
      // The same clip (an upload progress poll) keeps the handles where they are.
      const clip = `${draft.playUrl ?? ""}|${length}`;
      if (clip === shownClip) return;
      shownClip = clip;
      durationMs = length;
      range = { startMs: 0, endMs: durationMs };
      render();
      if (durationMs > 0) loadFilmstrip();
    },
    dispose: releaseUrls,
  };
}
