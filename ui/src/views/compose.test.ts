import { beforeEach, describe, expect, it, vi } from "vitest";
import type { ChapterEdit, ChapterLine, DraftView, NewMessage } from "../api";

// Compose against a stand-in shell: the chapters it saves and the message it sends are recorded.
const shell = vi.hoisted(() => ({
  saved: [] as ChapterEdit[][],
  added: [] as number[],
  sent: [] as NewMessage[],
  refuse: null as string | null,
}));

function lines(edits: ChapterEdit[]): ChapterLine[] {
  return edits.map((c, i) => ({ number: i + 1, startMs: c.startMs, at: `0:0${c.startMs / 1000}`, title: c.title }));
}

vi.mock("../api", async (original) => {
  const draft: DraftView = {
    id: "d1",
    createdAt: "2026-12-02T10:00:00Z",
    durationSeconds: 9,
    state: "ready",
    recovered: false,
    uploadedBytes: 1000,
    clipBytes: 1000,
    uploaded: true,
    playUrl: null,
    posterUrl: null,
  };
  const never = () => new Promise<never>(() => {});
  return {
    ...(await original<typeof import("../api")>()),
    draft: () => Promise.resolve(draft),
    draftChapters: () =>
      Promise.resolve(
        lines([
          { startMs: 0, title: "Budget" },
          { startMs: 3000, title: "Hiring" },
          { startMs: 6000, title: "Q3" },
        ]),
      ),
    setDraftChapters: (_draft: string, chapters: ChapterEdit[]) => {
      if (shell.refuse) return Promise.reject({ message: shell.refuse });
      shell.saved.push(chapters);
      return Promise.resolve(lines(chapters));
    },
    addDraftChapter: (_draft: string, atMs: number) => {
      shell.added.push(atMs);
      return Promise.resolve(
        lines([
          { startMs: 0, title: "Budget" },
          { startMs: atMs, title: "Item 2" },
          { startMs: 3000, title: "Hiring" },
          { startMs: 6000, title: "Q3" },
        ]),
      );
    },
    sendMessage: (m: NewMessage) => {
      shell.sent.push(m);
      return Promise.resolve({ messageId: "m1", respondByLocal: "Thu 3 Dec 2026, 14:00 CET" });
    },
    users: () => Promise.resolve([]),
    respondByChoices: () =>
      Promise.resolve([{ key: "in24-hours", label: "In 24 hours", at: "2026-12-03T13:00:00Z", local: "Thu 3 Dec", recipients: [], isDefault: true }]),
    draftFilmstrip: never,
    onFilesDropped: () => Promise.resolve(() => {}),
  };
});

const { composeView } = await import("./compose");

// jsdom plays no media; Compose pauses its clip when it is left.
HTMLMediaElement.prototype.pause = () => {};

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
};

function open() {
  const actions = { sent: vi.fn(), rerecord: vi.fn(), cancel: vi.fn() };
  const view = composeView("d1", null, actions);
  document.body.replaceChildren(view.el);
  return { view, actions };
}

const titleInputs = () => [...document.querySelectorAll<HTMLInputElement>("[data-testid=draft-chapter-title]")];

describe("Compose's chapters", () => {
  beforeEach(() => {
    shell.saved.length = 0;
    shell.added.length = 0;
    shell.sent.length = 0;
    shell.refuse = null;
  });

  it("lists the draft's chapters with their times and labelled titles", async () => {
    const { view } = open();
    await settle();
    expect(titleInputs().map((i) => i.value)).toEqual(["Budget", "Hiring", "Q3"]);
    expect(titleInputs()[1]?.getAttribute("aria-label")).toBe("Title of chapter 2, at 0:03");
    const times = [...document.querySelectorAll("[data-testid=draft-chapter-at]")].map((b) => b.textContent);
    expect(times).toEqual(["0:00", "0:03", "0:06"]);
    view.dispose?.();
  });

  it("saves an edited title and keeps the focus on the next one", async () => {
    const { view } = open();
    await settle();
    const [, second, third] = titleInputs();
    if (!second || !third) throw new Error("three titles");
    second.value = "Hiring plans";
    third.focus();
    second.dispatchEvent(new Event("change"));
    await settle();
    expect(shell.saved).toEqual([
      [
        { startMs: 0, title: "Budget" },
        { startMs: 3000, title: "Hiring plans" },
        { startMs: 6000, title: "Q3" },
      ],
    ]);
    expect(document.activeElement).toBe(third);
    expect(document.querySelectorAll("[data-testid=draft-chapter-remove]")[1]?.getAttribute("aria-label")).toBe("Remove chapter 2, Hiring plans");
    view.dispose?.();
  });

  it("removes a chapter and says why a change was refused", async () => {
    const { view } = open();
    await settle();
    document.querySelector<HTMLButtonElement>("[aria-label='Remove chapter 1, Budget']")?.click();
    await settle();
    expect(titleInputs().map((i) => i.value)).toEqual(["Hiring", "Q3"]);
    expect(document.activeElement).toBe(titleInputs()[0]);

    shell.refuse = "a chapter title has at most 120 characters and one has 130: shorten it; the chapters stay as they were";
    const first = titleInputs()[0];
    if (!first) throw new Error("a title");
    first.value = "x".repeat(130);
    first.dispatchEvent(new Event("change"));
    await settle();
    expect(document.querySelector("[data-testid=draft-chapter-error]")?.textContent).toContain("shorten it");
    // What was typed stays, to be corrected.
    expect(titleInputs()[0]?.value).toBe("x".repeat(130));
    view.dispose?.();
  });

  it("adds a chapter where the clip is, its title focused to be typed", async () => {
    const { view } = open();
    await settle();
    const video = document.querySelector<HTMLVideoElement>("[data-testid=compose-video]");
    if (!video) throw new Error("the clip");
    Object.defineProperty(video, "currentTime", { value: 1.5, configurable: true });
    document.querySelector<HTMLButtonElement>("[data-testid=draft-chapter-add]")?.click();
    await settle();
    expect(shell.added).toEqual([1500]);
    expect(titleInputs().map((i) => i.value)).toEqual(["Budget", "Item 2", "Hiring", "Q3"]);
    expect(document.activeElement).toBe(titleInputs()[1]);
    view.dispose?.();
  });

  it("sends acknowledge-only when it is ticked", async () => {
    const { view, actions } = open();
    await settle();
    const box = document.querySelector<HTMLInputElement>("[data-testid=acknowledge-only]");
    expect(document.querySelector("label[for=acknowledge-only]")?.textContent).toContain("Acknowledge only");
    box?.click();
    const subject = document.querySelector<HTMLInputElement>("[data-testid=subject-input]");
    if (subject) subject.value = "Budget review";
    document.querySelector<HTMLButtonElement>("[data-testid=send-button]")?.click();
    await settle();
    expect(shell.sent[0]?.acknowledgeOnly).toBe(true);
    expect(actions.sent).toHaveBeenCalledOnce();
    view.dispose?.();
  });
});
