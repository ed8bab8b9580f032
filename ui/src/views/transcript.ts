// The Player's transcript panel: the lines with their times, the one being spoken
// marked as playback goes on, a click (or Enter) seeks there, and a search box that
// highlights the lines Rust says match. What a transcript holds, its state and which
// lines match all come from Rust; this module only shows them.

import { errorMessage, type ModelDownloadView, type ModelStatus, type TranscriptLine, type TranscriptView } from "../api";
import { h, mount } from "../dom";
import { formatBytes, formatDuration } from "../format";
import { button, problem } from "./screen";

/** What the panel asks of the Player (and through it, of Rust). */
export interface TranscriptSource {
  load(): Promise<TranscriptView>;
  modelStatus(): Promise<ModelStatus>;
  transcribe(): Promise<TranscriptView>;
  linesMatching(words: string): Promise<number[]>;
  downloadModel(key: string): Promise<unknown>;
  openSettings(): void;
  seek(ms: number): void;
  /** Every view shown, so the Player can offer its captions. */
  loaded?(view: TranscriptView): void;
}

export interface TranscriptPanel {
  el: HTMLElement;
  /** Marks the line spoken at `ms` (from the video's timeupdate). */
  follow(ms: number): void;
  /** Fetches the transcript again (transcript-changed for this message). */
  refresh(): void;
  /** A model-download progress event. */
  modelProgress(progress: ModelDownloadView): void;
  dispose(): void;
}

/** The line being spoken at `ms`: the last one started by then, or -1 before the first. */
export function lineAt(lines: readonly TranscriptLine[], ms: number): number {
  let low = 0;
  let high = lines.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (lines[mid]!.startMs <= ms) {
      found = mid;
      low = mid + 1;
    } else high = mid - 1;
  }
  return found;
}

/** "English · tiny.en", or null when the transcript does not say. */
export function describeTranscript(view: Pick<TranscriptView, "language" | "languageName" | "model">): string | null {
  const language = view.languageName ?? view.language;
  const parts = [language, view.model].filter((p): p is string => !!p);
  return parts.length ? parts.join(" · ") : null;
}

const SEARCH_DELAY_MS = 150;

/** Keeps `panel`'s current line on what `video` plays (and where it was sought to). */
export function followPlayback(panel: Pick<TranscriptPanel, "follow">, video: HTMLMediaElement): () => void {
  const follow = () => panel.follow(video.currentTime * 1000);
  video.addEventListener("timeupdate", follow);
  video.addEventListener("seeked", follow);
  return () => {
    video.removeEventListener("timeupdate", follow);
    video.removeEventListener("seeked", follow);
  };
}

export function transcriptPanel(source: TranscriptSource): TranscriptPanel {
  const meta = h("span", { class: "muted transcript-meta", "data-testid": "transcript-meta" });
  const status = h("div", { class: "transcript-status", "aria-live": "polite", "data-testid": "transcript-status" });
  const list = h("ol", { class: "transcript-lines", "aria-label": "Transcript lines", "data-testid": "transcript-lines" });
  const search = h("input", {
    type: "search",
    placeholder: "Search the transcript",
    "aria-label": "Search the transcript",
    "data-testid": "transcript-search",
  });
  const count = h("span", { class: "muted transcript-count", role: "status", "data-testid": "transcript-matches" });
  const previous = button("↑", "transcript-previous", () => step(-1));
  const next = button("↓", "transcript-next", () => step(1));
  for (const [b, label] of [[previous, "Previous match (Shift+Enter)"], [next, "Next match (Enter)"]] as const) {
    b.classList.add("small");
    b.setAttribute("aria-label", label);
    b.title = label;
  }
  const searchRow = h("div", { class: "transcript-search", role: "search", hidden: true }, search, count, previous, next);
  const el = h(
    "section",
    { class: "transcript card", "aria-labelledby": "transcript-title", "data-testid": "transcript" },
    h("header", { class: "transcript-header" }, h("h2", { id: "transcript-title" }, "Transcript"), meta),
    searchRow,
    status,
    list,
  );

  let lines: TranscriptLine[] = [];
  let items: HTMLButtonElement[] = [];
  let current = -1;
  let matches: number[] = [];
  let active = -1;
  let searchTimer: number | undefined;
  let searchAsked = 0;
  /** The words `matches` are for. */
  let searched = "";
  let loadAsked = 0;
  let disposed = false;
  let downloading: string | null = null;
  /** The user asked for a transcript by downloading the model: make it once the model is in. */
  let transcribeAfterDownload = false;

  const say = (...children: (Node | string | null)[]) => mount(status, ...children);

  // ---- lines ----

  const renderLines = () => {
    current = -1;
    items = lines.map((line, index) =>
      h(
        "button",
        {
          type: "button",
          class: "transcript-line",
          tabindex: index === 0 ? "0" : "-1",
          "data-testid": "transcript-line",
          "data-start-ms": String(line.startMs),
          onclick: () => source.seek(line.startMs),
        },
        h("span", { class: "line-time" }, formatDuration(line.startMs / 1000)),
        // Read as "0:08 Please look…", not "0:08Please…".
        " ",
        h("span", { class: "line-text" }, line.text),
      ),
    );
    mount(list, ...items.map((item) => h("li", {}, item)));
    list.hidden = lines.length === 0;
  };

  /** Keeps the panel's own scroll on `item` without moving the page or the focus. */
  const reveal = (item: HTMLElement) => {
    const top = item.offsetTop;
    const bottom = top + item.offsetHeight;
    if (top < list.scrollTop || bottom > list.scrollTop + list.clientHeight) {
      list.scrollTop = Math.max(0, top - list.clientHeight / 3);
    }
  };

  const roving = (index: number) => {
    items.forEach((item, i) => (item.tabIndex = i === index ? 0 : -1));
  };

  list.addEventListener("keydown", (event) => {
    const at = items.indexOf(event.target as HTMLButtonElement);
    if (at < 0) return;
    const to =
      event.key === "ArrowDown" ? at + 1 : event.key === "ArrowUp" ? at - 1 : event.key === "Home" ? 0 : event.key === "End" ? items.length - 1 : null;
    if (to === null) return;
    // These keys move between lines here; the Player's own shortcuts (volume) must not see them.
    event.preventDefault();
    event.stopPropagation();
    const target = items[Math.max(0, Math.min(items.length - 1, to))];
    if (!target) return;
    roving(items.indexOf(target));
    target.focus();
  });

  const follow = (ms: number) => {
    const index = lineAt(lines, ms);
    if (index === current) return;
    items[current]?.removeAttribute("aria-current");
    items[current]?.classList.remove("current");
    current = index;
    const item = items[index];
    if (!item) return;
    item.setAttribute("aria-current", "time");
    item.classList.add("current");
    // A keyboard user moving through the lines keeps their place.
    if (!list.contains(document.activeElement)) roving(index);
    reveal(item);
  };

  // ---- search ----

  const showMatches = () => {
    const set = new Set(matches);
    items.forEach((item, i) => {
      item.classList.toggle("match", set.has(i));
      item.classList.toggle("match-active", matches[active] === i);
    });
    const words = search.value.trim();
    count.textContent = !words ? "" : matches.length ? `${active + 1} of ${matches.length}` : "No lines match";
    previous.disabled = next.disabled = matches.length === 0;
  };

  const runSearch = () => {
    const words = search.value.trim();
    const asked = ++searchAsked;
    if (!words) {
      searched = "";
      matches = [];
      active = -1;
      showMatches();
      return;
    }
    source.linesMatching(words).then(
      (found) => {
        if (asked !== searchAsked || disposed) return;
        searched = words;
        matches = found.filter((i) => i >= 0 && i < items.length);
        active = matches.length ? 0 : -1;
        showMatches();
        const first = items[matches[0] ?? -1];
        if (first) reveal(first);
      },
      (e: unknown) => {
        if (asked === searchAsked) count.textContent = errorMessage(e);
      },
    );
  };

  /** Goes to the next (1) or previous (-1) match and plays from there. */
  function step(direction: 1 | -1): void {
    if (!matches.length) return;
    active = (active + direction + matches.length) % matches.length;
    showMatches();
    const index = matches[active]!;
    const item = items[index];
    if (item) reveal(item);
    source.seek(lines[index]!.startMs);
  }

  search.addEventListener("input", () => {
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(runSearch, SEARCH_DELAY_MS);
  });
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      window.clearTimeout(searchTimer);
      // Enter right after typing searches first; then it moves on.
      if (search.value.trim() !== searched) runSearch();
      else step(event.shiftKey ? -1 : 1);
    } else if (event.key === "Escape" && search.value) {
      event.preventDefault();
      search.value = "";
      runSearch();
    }
  });

  // ---- states ----

  const makeTranscript = (label: string, testid: string) =>
    button(
      label,
      testid,
      () => {
        say(h("p", { class: "muted" }, "Asking for the transcript…"));
        source.transcribe().then(shown, (e: unknown) => {
          say(problem(errorMessage(e), "transcript-problem"));
        });
      },
      true,
    );

  /** What to offer when the transcript cannot be made yet: the model, or Settings. */
  const offerModel = async (fallback: () => void): Promise<void> => {
    let model: ModelStatus;
    try {
      model = await source.modelStatus();
    } catch (e: unknown) {
      say(problem(errorMessage(e), "transcript-problem"));
      return;
    }
    if (disposed) return;
    const settingsButton = button("Transcription settings", "transcript-settings", () => source.openSettings());
    switch (model.kind) {
      case "ready":
        fallback();
        return;
      case "off":
        say(h("p", {}, "Transcription is turned off in Settings."), h("div", { class: "row" }, settingsButton));
        return;
      case "broken":
        say(problem(model.sentence, "transcript-problem"), h("div", { class: "row" }, settingsButton));
        return;
      case "not-downloaded": {
        const size = formatBytes(model.bytes);
        const download = button(
          `Download the model (${size})`,
          "transcript-download-model",
          () => {
            downloading = model.key;
            transcribeAfterDownload = true;
            download.disabled = true;
            say(
              h("p", {}, `Downloading ${model.label}…`),
              h("progress", { max: "1", value: "0", "aria-label": "Model download", "data-testid": "transcript-model-progress" }),
            );
            source.downloadModel(model.key).catch((e: unknown) => {
              downloading = null;
              say(problem(errorMessage(e), "transcript-problem"), h("div", { class: "row" }, settingsButton));
            });
          },
          true,
        );
        say(
          h(
            "p",
            { "data-testid": "transcript-model-offer" },
            `Transcripts are made on this computer with the ${model.label} model (${size}), which is not downloaded yet.`,
          ),
          h("div", { class: "row" }, download, settingsButton),
        );
        return;
      }
    }
  };

  const show = (view: TranscriptView) => {
    const described = describeTranscript(view);
    meta.textContent = view.state === "done" && described ? described : "";
    const done = view.state === "done";
    lines = done ? view.lines : [];
    renderLines();
    searchRow.hidden = !done || lines.length === 0;
    if (done && search.value.trim()) runSearch();
    else {
      searched = "";
      matches = [];
      showMatches();
    }
    switch (view.state) {
      case "done":
        say(lines.length ? null : h("p", { class: "muted", "data-testid": "transcript-empty" }, "No speech was heard in this clip."));
        break;
      case "queued":
        say(
          h("p", { class: "muted" }, "Waiting to make the transcript…"),
          h("progress", { "aria-label": "Transcript", "data-testid": "transcript-progress" }),
        );
        break;
      case "running": {
        const fraction = Math.max(0, Math.min(1, view.progress ?? 0));
        say(
          h("p", { class: "muted" }, `Making the transcript… ${Math.round(fraction * 100)} %`),
          h("progress", { max: "1", value: String(fraction), "aria-label": "Transcript", "data-testid": "transcript-progress" }),
        );
        break;
      }
      case "failed":
        say(
          problem(view.problem ?? "The transcript could not be made.", "transcript-problem"),
          h("div", { class: "row" }, makeTranscript("Try again", "transcript-retry")),
        );
        break;
      case "none":
        say(h("p", { class: "muted" }, "Checking whether a transcript can be made…"));
        void offerModel(() =>
          say(
            h("p", { class: "muted", "data-testid": "transcript-none" }, "This message has no transcript yet."),
            h("div", { class: "row" }, makeTranscript("Make transcript", "transcript-make")),
          ),
        );
        break;
    }
    source.loaded?.(view);
  };

  /** A view that came back from a command: newer than any load still on its way. */
  function shown(view: TranscriptView): void {
    loadAsked += 1;
    if (!disposed) show(view);
  }

  function refresh(): void {
    const asked = ++loadAsked;
    source.load().then(
      (view) => {
        if (asked === loadAsked && !disposed) show(view);
      },
      (e: unknown) => {
        if (asked === loadAsked && !disposed) say(problem(errorMessage(e), "transcript-problem"));
      },
    );
  }

  say(h("p", { class: "muted" }, "Loading the transcript…"));
  refresh();

  return {
    el,
    follow,
    refresh,
    modelProgress: (p) => {
      if (disposed || p.key !== downloading) return;
      const bar = status.querySelector<HTMLProgressElement>("[data-testid=transcript-model-progress]");
      if (bar) bar.value = p.total ? p.done / p.total : 0;
      if (p.error) {
        downloading = null;
        say(problem(p.error, "transcript-problem"), h("div", { class: "row" }, button("Transcription settings", "transcript-settings", () => source.openSettings())));
      } else if (p.cancelled) {
        downloading = null;
        transcribeAfterDownload = false;
        refresh();
      } else if (p.finished) {
        downloading = null;
        if (transcribeAfterDownload) {
          transcribeAfterDownload = false;
          source.transcribe().then(shown, (e: unknown) => say(problem(errorMessage(e), "transcript-problem")));
        } else refresh();
      }
    },
    dispose: () => {
      disposed = true;
      window.clearTimeout(searchTimer);
    },
  };
}
