import { describe, expect, it, vi } from "vitest";
import type { DueView, MeetingCellView, MeetingView, NudgeView } from "../api";
import { meetingView, type MeetingApi } from "./meeting";

const due = (relative: string, section: DueView["section"] = "open"): DueView => ({
  at: "2026-12-03T16:00:00Z",
  local: "Thu 3 Dec 2026, 17:00 CET",
  section,
  urgency: section === "overdue" ? "overdue" : "later",
  relative,
});

const answered: MeetingCellView = {
  state: "answered",
  label: "answered",
  entries: [{ id: "reply-bob", atMs: null, at: null, text: "Agreed, see page 3." }],
  open: { id: "reply-bob", atMs: null },
};
const commented: MeetingCellView = {
  state: "commented",
  label: "commented",
  entries: [{ id: "comment-carol", atMs: 3000, at: "0:03", text: "which quarter?" }],
  open: { id: "original", atMs: 3000 },
};
const pending: MeetingCellView = { state: "pending", label: "pending", entries: [], open: null };
const overdue: MeetingCellView = { state: "overdue", label: "overdue", entries: [], open: null };

function view(extra: Partial<MeetingView> = {}): MeetingView {
  return {
    message: "original",
    subject: "Budget review",
    sender: "alice",
    mine: true,
    items: [
      { index: 0, label: "1. Budget", title: "Budget", startMs: 0, at: "0:00" },
      { index: 1, label: "2. Hiring", title: "Hiring", startMs: 3000, at: "0:03" },
    ],
    participants: [
      { name: "bob", deadline: due("due in 3 h"), theirClock: "Thu 11:00 for bob", extended: false, nudged: false, cells: [answered, answered] },
      { name: "carol", deadline: due("overdue by 1 h", "overdue"), theirClock: null, extended: true, nudged: false, cells: [commented, overdue] },
    ],
    closed: null,
    lastDeadline: due("due in 3 h"),
    toNudge: ["carol"],
    ...extra,
  };
}

/** A grid over fake commands; what they were asked is recorded. */
function fakeApi(initial: MeetingView, overrides: Partial<MeetingApi> = {}) {
  let current = initial;
  const copied: string[] = [];
  const nudged: string[] = [];
  let changed: (() => void) | null = null;
  const api: MeetingApi = {
    load: () => Promise.resolve(current),
    markdown: () => Promise.resolve("# Budget review\n"),
    saveMarkdown: () => Promise.resolve("/home/alice/Budget review.md"),
    nudge: (id): Promise<NudgeView> => {
      nudged.push(id);
      current = { ...current, toNudge: [], participants: current.participants.map((p) => (p.name === "carol" ? { ...p, nudged: true } : p)) };
      return Promise.resolve({ nudged: ["carol"], text: "Nudged carol." });
    },
    close: () => {
      current = { ...current, closed: { reason: "closed-by-sender", text: "Closed by alice." } };
      return Promise.resolve(current);
    },
    copy: (text) => {
      copied.push(text);
      return Promise.resolve();
    },
    changed: (handler) => {
      changed = handler;
      return Promise.resolve(() => (changed = null));
    },
    ...overrides,
  };
  return {
    api,
    copied,
    nudged,
    set: (next: MeetingView) => (current = next),
    sync: () => changed?.(),
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const q = <T extends Element = HTMLElement>(el: Element, selector: string) => el.querySelector<T>(selector);
const all = (el: Element, selector: string) => [...el.querySelectorAll<HTMLElement>(selector)];

describe("the meeting grid", () => {
  it("lays out participants by item, each cell saying its state in words and opening the answer", async () => {
    const open = vi.fn();
    const screen = meetingView("original", { back: vi.fn(), open }, fakeApi(view()).api);
    await settle();
    const el = screen.el;
    expect(all(el, "[data-testid=meeting-item]").map((t) => t.textContent)).toEqual(["1. Budget at 0:00", "2. Hiring at 0:03"]);
    expect(all(el, "[data-testid=meeting-row]").map((r) => r.dataset.name)).toEqual(["bob", "carol"]);
    const carol = all(el, "[data-testid=meeting-cell-carol]");
    expect(carol.map((c) => c.dataset.state)).toEqual(["commented", "overdue"]);
    // Not colour alone: the word is in the cell, and the button says what it opens.
    expect(carol[1]?.textContent).toContain("overdue");
    const comment = q<HTMLButtonElement>(carol[0]!, "button")!;
    expect(comment.getAttribute("aria-label")).toBe("carol, 1. Budget: commented: which quarter?. Open it");
    comment.click();
    expect(open).toHaveBeenCalledWith("original", 3000);
    q<HTMLButtonElement>(all(el, "[data-testid=meeting-cell-bob]")[1]!, "button")!.click();
    expect(open).toHaveBeenLastCalledWith("reply-bob", null);
    // Nothing to open where nothing was said.
    expect(q(carol[1]!, "button")).toBeNull();
  });

  it("shows each participant's deadline on my clock and on theirs", async () => {
    const screen = meetingView("original", { back: vi.fn(), open: vi.fn() }, fakeApi(view()).api);
    await settle();
    const el = screen.el;
    expect(q(el, "[data-testid=meeting-deadline-bob]")?.textContent).toBe("Due Thu 3 Dec 2026, 17:00 CET (due in 3 h)");
    expect(q(el, "[data-testid=meeting-their-clock-bob]")?.textContent).toBe("Their clock: Thu 11:00 for bob");
    expect(q(el, "[data-testid=meeting-their-clock-carol]")).toBeNull();
    expect(q(el, "[data-testid=meeting-deadline-carol]")?.classList.contains("overdue")).toBe(true);
    expect(q(el, "[data-testid=meeting-participant-carol]")?.textContent).toContain("more time given");
    expect(q(el, "[data-testid=meeting-open]")?.textContent).toBe("Open until Thu 3 Dec 2026, 17:00 CET (due in 3 h), or until everyone answered.");
  });

  it("nudges the pending, says whom, and is disabled once all of them were nudged", async () => {
    const fake = fakeApi(view());
    const screen = meetingView("original", { back: vi.fn(), open: vi.fn() }, fake.api);
    await settle();
    const nudgeButton = () => q<HTMLButtonElement>(screen.el, "[data-testid=meeting-nudge]")!;
    expect(nudgeButton().disabled).toBe(false);
    expect(nudgeButton().title).toBe("Reminds carol");
    nudgeButton().click();
    await settle();
    await settle();
    expect(fake.nudged).toEqual(["original"]);
    expect(q(screen.el, "[data-testid=meeting-feedback]")?.textContent).toBe("Nudged carol.");
    expect(nudgeButton().disabled).toBe(true);
    expect(q(screen.el, "[data-testid=meeting-participant-carol]")?.textContent).toContain("nudged");
  });

  it("closes the meeting and says why it is closed", async () => {
    const screen = meetingView("original", { back: vi.fn(), open: vi.fn() }, fakeApi(view()).api);
    await settle();
    q<HTMLButtonElement>(screen.el, "[data-testid=meeting-close]")!.click();
    await settle();
    const closed = q(screen.el, "[data-testid=meeting-closed]");
    expect(closed?.textContent).toBe("Closed by alice.");
    expect(closed?.dataset.reason).toBe("closed-by-sender");
    // Nothing more to nudge or close.
    expect(q(screen.el, "[data-testid=meeting-nudge]")).toBeNull();
    expect(q(screen.el, "[data-testid=meeting-close]")).toBeNull();
  });

  it("offers no nudge or close to a participant", async () => {
    const screen = meetingView("original", { back: vi.fn(), open: vi.fn() }, fakeApi(view({ mine: false })).api);
    await settle();
    expect(q(screen.el, "[data-testid=meeting-nudge]")).toBeNull();
    expect(q(screen.el, "[data-testid=meeting-copy]")).not.toBeNull();
  });

  it("copies and saves the Markdown summary", async () => {
    const fake = fakeApi(view());
    const screen = meetingView("original", { back: vi.fn(), open: vi.fn() }, fake.api);
    await settle();
    q<HTMLButtonElement>(screen.el, "[data-testid=meeting-copy]")!.click();
    await settle();
    expect(fake.copied).toEqual(["# Budget review\n"]);
    expect(q(screen.el, "[data-testid=meeting-feedback]")?.textContent).toBe("The summary is on the clipboard, in Markdown.");
    q<HTMLButtonElement>(screen.el, "[data-testid=meeting-save]")!.click();
    await settle();
    expect(q(screen.el, "[data-testid=meeting-feedback]")?.textContent).toBe("Saved to /home/alice/Budget review.md");
  });

  it("follows a sync, and shows a refusal as its one sentence", async () => {
    const fake = fakeApi(view(), { nudge: () => Promise.reject({ message: "the store cannot be reached: check Settings › Store" }) });
    const screen = meetingView("original", { back: vi.fn(), open: vi.fn() }, fake.api);
    await settle();
    fake.set(view({ participants: view().participants.map((p) => (p.name === "carol" ? { ...p, cells: [answered, answered] } : p)), closed: { reason: "everyone-answered", text: "Closed: everyone answered." } }));
    fake.sync();
    await settle();
    expect(all(screen.el, "[data-testid=meeting-cell-carol]").map((c) => c.dataset.state)).toEqual(["answered", "answered"]);
    expect(q(screen.el, "[data-testid=meeting-closed]")?.textContent).toBe("Closed: everyone answered.");

    fake.set(view());
    fake.sync();
    await settle();
    q<HTMLButtonElement>(screen.el, "[data-testid=meeting-nudge]")!.click();
    await settle();
    const feedback = q(screen.el, "[data-testid=meeting-feedback]")!;
    expect(feedback.textContent).toBe("the store cannot be reached: check Settings › Store");
    expect(feedback.getAttribute("role")).toBe("alert");
    expect(q<HTMLButtonElement>(screen.el, "[data-testid=meeting-nudge]")!.disabled).toBe(false);
    screen.dispose?.();
  });

  it("shows a meeting that cannot be loaded as its sentence", async () => {
    const fake = fakeApi(view(), { load: () => Promise.reject({ message: "message x is not in this library; it may have been removed" }) });
    const screen = meetingView("x", { back: vi.fn(), open: vi.fn() }, fake.api);
    await settle();
    expect(q(screen.el, "[data-testid=meeting-error]")?.textContent).toBe("message x is not in this library; it may have been removed");
  });
});

describe("a pending cell", () => {
  it("is words, not a button", async () => {
    const v = view();
    v.participants[0]!.cells = [pending, answered];
    const screen = meetingView("original", { back: vi.fn(), open: vi.fn() }, fakeApi(v).api);
    await settle();
    const cells = all(screen.el, "[data-testid=meeting-cell-bob]");
    expect(cells[0]?.textContent).toContain("pending");
    expect(q(cells[0]!, "button")).toBeNull();
  });
});
