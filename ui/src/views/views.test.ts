import { describe, expect, it, vi } from "vitest";
import type { DraftView, DueView, InboxItem, SentItem } from "../api";
import { inboxView } from "./inbox";
import { draftsView, sentView } from "./sent";

function item(
  id: string,
  subject: string,
  due: Pick<DueView, "section" | "urgency" | "relative">,
  extra: Partial<InboxItem> = {},
): InboxItem {
  const section = due.section;
  return {
    id,
    sender: "alice",
    subject,
    respondBy: { at: "2026-11-24T13:00:00Z", local: "Tue 24 Nov 2026, 14:00 CET", ...due },
    unread: true,
    responded: section === "answered",
    attachmentCount: 0,
    clipBytes: 1000,
    durationSeconds: null,
    posterUrl: null,
    isReply: false,
    sentAt: "2026-11-24T10:00:00Z",
    ...extra,
  };
}

describe("inbox view", () => {
  it("shows the empty state and a Record button that starts recording", () => {
    const record = vi.fn();
    const view = inboxView([], { record, open: vi.fn() });
    expect(view.querySelector("[data-testid=inbox-empty]")?.textContent).toContain("Nothing waiting for you");
    const button = view.querySelector<HTMLButtonElement>("[data-testid=record-button]");
    expect(button?.textContent).toBe("Record");
    button?.click();
    expect(record).toHaveBeenCalledOnce();
  });

  it("keeps the given order in sections, showing Rust's due text and urgency", () => {
    const items = [
      item("a", "Budget", { section: "open", urgency: "soon", relative: "due in 1 h" }, { attachmentCount: 2, durationSeconds: 65 }),
      item("b", "Roadmap", { section: "open", urgency: "later", relative: "due in 2 d" }, { unread: false }),
      item("c", "Hiring", { section: "overdue", urgency: "overdue", relative: "overdue by 24 h" }),
      item("d", "Offsite", { section: "answered", urgency: "answered", relative: "answered" }),
    ];
    const open = vi.fn();
    const view = inboxView(items, { record: vi.fn(), open });
    const subjects = [...view.querySelectorAll("[data-testid=inbox-subject]")].map((e) => e.textContent);
    expect(subjects).toEqual(["Budget", "Roadmap", "Hiring", "Offsite"]);
    const dues = [...view.querySelectorAll<HTMLElement>("[data-testid=inbox-due]")];
    expect(dues.map((d) => d.textContent)).toEqual(["due in 1 h", "due in 2 d", "overdue by 24 h", "answered"]);
    expect(dues.map((d) => d.className)).toEqual(["due soon", "due later", "due overdue", "due answered"]);
    expect(dues[0]?.title).toBe("Tue 24 Nov 2026, 14:00 CET");
    expect(view.querySelectorAll(".unread-dot")).toHaveLength(3);
    expect(view.querySelector("[data-testid=inbox-item]")?.textContent).toContain("1:05 · 2 attachments");
    view.querySelector<HTMLButtonElement>("[data-testid=inbox-item]")?.click();
    expect(open).toHaveBeenCalledWith("a");
  });
});

describe("sent and drafts views", () => {
  it("shows each recipient's state and why a message is not sent", () => {
    const items: SentItem[] = [
      {
        id: "m1",
        subject: "Plan",
        recipients: [
          { name: "bob", state: "responded" },
          { name: "carol", state: "pending" },
        ],
        respondBy: { at: "2026-11-25T12:00:00Z", local: "", section: "open", urgency: "later", relative: "due in 24 h" },
        createdAt: "2026-11-24T11:00:00Z",
        delivery: "sent",
        problem: null,
        isReply: false,
        meeting: true,
        toNudge: ["carol"],
      },
      {
        id: "m2",
        subject: "Later",
        recipients: [{ name: "bob", state: "pending" }],
        respondBy: { at: "2026-11-25T12:00:00Z", local: "", section: "open", urgency: "later", relative: "due in 24 h" },
        createdAt: "2026-11-24T11:30:00Z",
        delivery: "sending",
        problem: "the hub cannot be reached",
        isReply: false,
        meeting: false,
        toNudge: [],
      },
    ];
    const view = sentView(items, vi.fn());
    expect(view.querySelector("[data-testid=recipient-state-bob]")?.getAttribute("data-state")).toBe("responded");
    expect(view.querySelector("[data-testid=recipient-state-carol]")?.textContent).toBe("carol: pending");
    const delivery = [...view.querySelectorAll("[data-testid=sent-delivery]")].map((e) => e.textContent);
    expect(delivery).toEqual(["due in 24 h", "sending…"]);
    expect(view.querySelector("[data-testid=sent-problem]")?.textContent).toContain("the hub cannot be reached");
  });

  it("offers the meeting grid and a nudge of the pending, saying whom it nudged", async () => {
    const line = (extra: Partial<SentItem>): SentItem => ({
      id: "m1",
      subject: "Plan",
      recipients: [
        { name: "bob", state: "responded" },
        { name: "carol", state: "pending" },
      ],
      respondBy: { at: "2026-11-25T12:00:00Z", local: "", section: "open", urgency: "later", relative: "due in 24 h" },
      createdAt: "2026-11-24T11:00:00Z",
      delivery: "sent",
      problem: null,
      isReply: false,
      meeting: true,
      toNudge: ["carol"],
      ...extra,
    });
    const meeting = vi.fn();
    const nudge = vi.fn(() => Promise.resolve({ nudged: ["carol"], text: "Nudged carol." }));
    const view = sentView([line({}), line({ id: "m2", meeting: false, toNudge: [], recipients: [{ name: "bob", state: "viewed" }] })], vi.fn(), { meeting, nudge });
    const [first, second] = [...view.querySelectorAll<HTMLElement>(".sent-line")];
    first?.querySelector<HTMLButtonElement>("[data-testid=sent-meeting]")?.click();
    expect(meeting).toHaveBeenCalledWith("m1");
    const button = first?.querySelector<HTMLButtonElement>("[data-testid=sent-nudge]");
    expect(button?.title).toBe("Reminds carol");
    button?.click();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(nudge).toHaveBeenCalledWith("m1");
    expect(first?.querySelector("[data-testid=sent-nudged]")?.textContent).toBe("Nudged carol.");
    // One recipient: no grid; everyone pending already nudged for their deadline: nothing to press.
    expect(second?.querySelector("[data-testid=sent-meeting]")).toBeNull();
    expect(second?.querySelector<HTMLButtonElement>("[data-testid=sent-nudge]")?.disabled).toBe(true);
  });

  it("marks recovered drafts", () => {
    const d: DraftView = {
      id: "d1",
      createdAt: "2026-11-24T11:00:00Z",
      durationSeconds: 4.2,
      state: "ready",
      recovered: true,
      uploadedBytes: 0,
      clipBytes: 10,
      uploaded: false,
      playUrl: null,
      posterUrl: null,
    };
    const compose = vi.fn();
    const view = draftsView([d], { compose, discard: vi.fn(), record: vi.fn() });
    expect(view.textContent).toContain("recovered after a crash");
    expect(view.textContent).toContain("0:04");
    view.querySelector<HTMLButtonElement>("[data-testid=draft-compose]")?.click();
    expect(compose).toHaveBeenCalledWith("d1");
  });
});
