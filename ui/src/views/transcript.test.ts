import { describe, expect, it, vi } from "vitest";
import type { ModelStatus, TranscriptView } from "../api";
import { describeTranscript, followPlayback, lineAt, transcriptPanel, type TranscriptSource } from "./transcript";

const LINES = [
  { startMs: 0, endMs: 2400, text: "Hello team, a quick update." },
  { startMs: 2600, endMs: 5200, text: "The budget is ready for review." },
  { startMs: 8000, endMs: 11_000, text: "Please look at the agenda." },
  { startMs: 11_200, endMs: 14_000, text: "Review it before Friday." },
];

function view(extra: Partial<TranscriptView> = {}): TranscriptView {
  return {
    id: "m1",
    state: "done",
    progress: null,
    problem: null,
    language: "en",
    languageName: "English",
    model: "tiny.en",
    origin: "received",
    lines: LINES,
    captionsUrl: "http://127.0.0.1:4000/secret/3/captions.vtt",
    ...extra,
  };
}

/** A stand-in for the Rust side: answers with what the test says, records what is asked. */
function source(first: TranscriptView, model: ModelStatus = { kind: "ready", path: "/m/ggml-tiny.en.bin" }) {
  const views = [first];
  const s = {
    load: vi.fn(async () => views[0]!),
    modelStatus: vi.fn(async () => model),
    transcribe: vi.fn(async () => view({ state: "queued", lines: [], language: null, languageName: null, model: null, captionsUrl: null })),
    linesMatching: vi.fn(async (_words: string) => [1, 3]),
    downloadModel: vi.fn(async (_key: string) => undefined),
    openSettings: vi.fn(),
    seek: vi.fn(),
    loaded: vi.fn(),
    next(v: TranscriptView) {
      views[0] = v;
    },
  } satisfies TranscriptSource & { next(v: TranscriptView): void };
  return s;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const lines = (el: HTMLElement) => [...el.querySelectorAll<HTMLButtonElement>("[data-testid=transcript-line]")];
const q = <T extends HTMLElement = HTMLElement>(el: HTMLElement, testid: string) => el.querySelector<T>(`[data-testid=${testid}]`);

describe("the line being spoken", () => {
  it("is the last one started, none before the first", () => {
    expect(lineAt(LINES, -1)).toBe(-1);
    expect(lineAt(LINES, 0)).toBe(0);
    expect(lineAt(LINES, 2599)).toBe(0);
    expect(lineAt(LINES, 2600)).toBe(1);
    expect(lineAt(LINES, 7000)).toBe(1);
    expect(lineAt(LINES, 99_000)).toBe(3);
    expect(lineAt([], 500)).toBe(-1);
  });

  it("names the language and the model", () => {
    expect(describeTranscript(view())).toBe("English · tiny.en");
    expect(describeTranscript(view({ languageName: null }))).toBe("en · tiny.en");
    expect(describeTranscript(view({ language: null, languageName: null, model: null }))).toBeNull();
  });
});

describe("transcript panel", () => {
  it("shows the lines with their times, the language and the model", async () => {
    const s = source(view());
    const panel = transcriptPanel(s);
    await settle();
    const items = lines(panel.el);
    expect(items.map((l) => l.querySelector(".line-time")?.textContent)).toEqual(["0:00", "0:02", "0:08", "0:11"]);
    expect(items[1]?.querySelector(".line-text")?.textContent).toBe("The budget is ready for review.");
    expect(q(panel.el, "transcript-meta")?.textContent).toBe("English · tiny.en");
    expect(s.loaded).toHaveBeenCalledWith(expect.objectContaining({ state: "done" }));
    // One tab stop for the whole list.
    expect(items.map((l) => l.tabIndex)).toEqual([0, -1, -1, -1]);
  });

  it("marks the current line as the video plays and keeps it in view without taking the focus", async () => {
    const panel = transcriptPanel(source(view()));
    document.body.append(panel.el);
    const video = document.createElement("video");
    followPlayback(panel, video);
    await settle();
    const search = q<HTMLInputElement>(panel.el, "transcript-search")!;
    search.focus();
    const items = lines(panel.el);

    video.currentTime = 3.1;
    video.dispatchEvent(new Event("timeupdate"));
    expect(items.map((l) => l.getAttribute("aria-current"))).toEqual([null, "time", null, null]);
    expect(items[1]?.classList.contains("current")).toBe(true);

    video.currentTime = 12;
    video.dispatchEvent(new Event("timeupdate"));
    expect(items.map((l) => l.getAttribute("aria-current"))).toEqual([null, null, null, "time"]);
    expect(items[1]?.classList.contains("current")).toBe(false);
    // Tab now lands on the line being spoken; the focus stayed in the search box.
    expect(items[3]?.tabIndex).toBe(0);
    expect(document.activeElement).toBe(search);
    panel.el.remove();
  });

  it("seeks to a line that is clicked, and moves between lines with the arrow keys", async () => {
    const s = source(view());
    const panel = transcriptPanel(s);
    document.body.append(panel.el);
    await settle();
    const items = lines(panel.el);
    items[2]?.click();
    expect(s.seek).toHaveBeenCalledWith(8000);

    items[0]?.focus();
    const down = new KeyboardEvent("keydown", { key: "ArrowDown", bubbles: true, cancelable: true });
    const onDocument = vi.fn();
    document.addEventListener("keydown", onDocument);
    items[0]?.dispatchEvent(down);
    document.removeEventListener("keydown", onDocument);
    expect(document.activeElement).toBe(items[1]);
    expect(down.defaultPrevented).toBe(true);
    // The Player's own arrow keys (volume) do not also act on it.
    expect(onDocument).not.toHaveBeenCalled();
    items[1]?.dispatchEvent(new KeyboardEvent("keydown", { key: "End", bubbles: true }));
    expect(document.activeElement).toBe(items[3]);
    panel.el.remove();
  });

  it("highlights the lines that match the search and steps through them", async () => {
    const s = source(view());
    const panel = transcriptPanel(s);
    await settle();
    const search = q<HTMLInputElement>(panel.el, "transcript-search")!;
    expect(search.closest<HTMLElement>("[role=search]")?.hidden).toBe(false);
    search.value = "review";
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await settle();
    expect(s.linesMatching).toHaveBeenCalledWith("review");
    const items = lines(panel.el);
    expect(items.map((l) => l.classList.contains("match"))).toEqual([false, true, false, true]);
    expect(items[1]?.classList.contains("match-active")).toBe(true);
    expect(q(panel.el, "transcript-matches")?.textContent).toBe("1 of 2");

    q<HTMLButtonElement>(panel.el, "transcript-next")?.click();
    expect(q(panel.el, "transcript-matches")?.textContent).toBe("2 of 2");
    expect(items[3]?.classList.contains("match-active")).toBe(true);
    expect(s.seek).toHaveBeenLastCalledWith(11_200);
    // Enter again moves on (wrapping around), Shift+Enter goes back.
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(s.seek).toHaveBeenLastCalledWith(2600);
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", shiftKey: true }));
    expect(s.seek).toHaveBeenLastCalledWith(11_200);

    s.linesMatching.mockResolvedValueOnce([]);
    search.value = "nothing like it";
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await settle();
    expect(q(panel.el, "transcript-matches")?.textContent).toBe("No lines match");
    expect(items.some((l) => l.classList.contains("match"))).toBe(false);
    expect(q<HTMLButtonElement>(panel.el, "transcript-next")?.disabled).toBe(true);
  });

  it("offers to make a transcript when there is none, and shows it queued", async () => {
    const s = source(view({ state: "none", lines: [], language: null, languageName: null, model: null, captionsUrl: null }));
    const panel = transcriptPanel(s);
    await settle();
    await settle();
    expect(lines(panel.el)).toHaveLength(0);
    expect(q(panel.el, "transcript-none")?.textContent).toContain("no transcript");
    q<HTMLButtonElement>(panel.el, "transcript-make")?.click();
    await settle();
    expect(s.transcribe).toHaveBeenCalledOnce();
    expect(q(panel.el, "transcript-status")?.textContent).toContain("Waiting to make the transcript");

    s.next(view({ state: "running", progress: 0.4, lines: [], captionsUrl: null }));
    panel.refresh();
    await settle();
    expect(q(panel.el, "transcript-status")?.textContent).toContain("Making the transcript… 40 %");
    expect(q<HTMLProgressElement>(panel.el, "transcript-progress")?.value).toBeCloseTo(0.4);

    s.next(view());
    panel.refresh();
    await settle();
    expect(lines(panel.el)).toHaveLength(4);
    expect(q(panel.el, "transcript-status")?.textContent).toBe("");
  });

  it("says why it failed and tries again", async () => {
    const s = source(view({ state: "failed", problem: "The clip has no sound to transcribe.", lines: [] }));
    const panel = transcriptPanel(s);
    await settle();
    expect(q(panel.el, "transcript-problem")?.textContent).toBe("The clip has no sound to transcribe.");
    q<HTMLButtonElement>(panel.el, "transcript-retry")?.click();
    await settle();
    expect(s.transcribe).toHaveBeenCalledOnce();
  });

  it("offers the model's download with its size, then makes the transcript", async () => {
    const s = source(view({ state: "none", lines: [], captionsUrl: null }), {
      kind: "not-downloaded",
      key: "base.en",
      label: "Base (English)",
      bytes: 147_964_211,
    });
    const panel = transcriptPanel(s);
    await settle();
    await settle();
    expect(q(panel.el, "transcript-model-offer")?.textContent).toContain("Base (English) model (141 MB)");
    const download = q<HTMLButtonElement>(panel.el, "transcript-download-model")!;
    expect(download.textContent).toBe("Download the model (141 MB)");
    download.click();
    expect(s.downloadModel).toHaveBeenCalledWith("base.en");
    panel.modelProgress({ key: "base.en", done: 74_000_000, total: 147_964_211, finished: false, cancelled: false, error: null });
    expect(q<HTMLProgressElement>(panel.el, "transcript-model-progress")?.value).toBeCloseTo(0.5, 2);
    // Another model's progress is not this panel's.
    panel.modelProgress({ key: "small", done: 1, total: 1, finished: true, cancelled: false, error: null });
    expect(s.transcribe).not.toHaveBeenCalled();
    panel.modelProgress({ key: "base.en", done: 147_964_211, total: 147_964_211, finished: true, cancelled: false, error: null });
    await settle();
    expect(s.transcribe).toHaveBeenCalledOnce();
    expect(q(panel.el, "transcript-status")?.textContent).toContain("Waiting to make the transcript");
  });

  it("sends the user to Settings when transcription is off or the model is broken", async () => {
    const off = source(view({ state: "none", lines: [] }), { kind: "off" });
    const panel = transcriptPanel(off);
    await settle();
    await settle();
    expect(q(panel.el, "transcript-status")?.textContent).toContain("turned off in Settings");
    q<HTMLButtonElement>(panel.el, "transcript-settings")?.click();
    expect(off.openSettings).toHaveBeenCalledOnce();

    const broken = transcriptPanel(
      source(view({ state: "none", lines: [] }), { kind: "broken", sentence: "The model file is cut short: download it again in Settings." }),
    );
    await settle();
    await settle();
    expect(q(broken.el, "transcript-problem")?.textContent).toBe("The model file is cut short: download it again in Settings.");
  });
});
