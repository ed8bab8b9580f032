import { describe, expect, it, vi } from "vitest";
import type { ConversationEntryView, ConversationView, ReactionView } from "../api";
import { conversationPanel, describeEntry, type ConversationSource } from "./conversation";

const BAR: ReactionView[] = ["👍", "✅", "❓", "👀", "🎉", "❤️"].map((emoji) => ({
  emoji,
  by: emoji === "👀" ? ["bob", "alice"] : [],
  mine: emoji === "👀",
}));

function entry(id: string, extra: Partial<ConversationEntryView>): ConversationEntryView {
  return {
    id,
    sender: "bob",
    mine: false,
    kind: "reply",
    subject: "Re: Budget review",
    text: null,
    sentAt: "2026-12-02T10:00:00Z",
    pending: null,
    inReplyTo: "m1",
    atMs: null,
    at: null,
    chapter: null,
    hasClip: false,
    duration: null,
    posterUrl: null,
    reactions: [],
    current: false,
    ...extra,
  };
}

const VIEW: ConversationView = {
  message: "m1",
  chapters: [
    { index: 0, number: 1, startMs: 0, title: "Budget", at: "0:00" },
    { index: 1, number: 2, startMs: 14_000, title: "Hiring", at: "0:14" },
  ],
  markers: [{ id: "c1", atMs: 3_000, label: "Comment by bob at 0:03: which quarter?" }],
  reactionBar: BAR,
  entries: [
    entry("m1", { sender: "alice", mine: true, kind: "message", subject: "Budget review", inReplyTo: null, hasClip: true, current: true, reactions: [BAR[3]!] }),
    entry("c1", { kind: "comment", atMs: 3_000, at: "0:03", text: "which quarter?", chapter: { index: 1, number: 2, title: "Hiring" } }),
    entry("r1", { text: "Agreed." }),
    entry("v1", { sender: "carol", hasClip: true, duration: "0:12", posterUrl: "http://127.0.0.1:1/s/1/poster.jpg" }),
    entry("q1", { sender: "alice", mine: true, text: "Thanks", sentAt: null, pending: "waiting to send" }),
  ],
};

function source(extra: Partial<ConversationSource> = {}) {
  return {
    load: vi.fn(async () => VIEW),
    sendTextReply: vi.fn(async () => ({ messageId: "new", recipients: ["bob", "carol"] })),
    react: vi.fn(async () => BAR.map((r) => (r.emoji === "✅" ? { ...r, by: ["alice"], mine: true } : r))),
    currentMs: vi.fn(() => 3_240),
    playFrom: vi.fn(),
    open: vi.fn(),
    loaded: vi.fn(),
    ...extra,
  } satisfies ConversationSource;
}

const all = <T extends HTMLElement>(el: HTMLElement, testid: string) => [...el.querySelectorAll<T>(`[data-testid=${testid}]`)];
const one = <T extends HTMLElement>(el: HTMLElement, testid: string) => all<T>(el, testid)[0]!;
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("conversation", () => {
  it("lists the whole thread in order with kinds, moments, chapters, posters and reactions", async () => {
    const s = source();
    const panel = conversationPanel(s);
    await panel.refresh();
    expect(s.loaded).toHaveBeenCalledWith(VIEW);
    const entries = all(panel.thread, "conversation-entry");
    expect(entries.map((e) => e.dataset.kind)).toEqual(["message", "comment", "reply", "reply", "reply"]);
    expect(entries[0]?.getAttribute("aria-current")).toBe("true");
    expect(entries[0]?.textContent).toContain("You sent a video");
    expect(entries[0]?.textContent).toContain("👀 bob, alice");
    expect(entries[1]?.textContent).toContain("bob commented at 0:03 on 2. Hiring");
    expect(entries[2]?.textContent).toContain("bob replied");
    expect(entries[2]?.textContent).toContain("Agreed.");
    expect(entries[4]?.textContent).toContain("waiting to send");

    const clip = one<HTMLButtonElement>(entries[3]!, "entry-clip");
    expect(clip.getAttribute("aria-label")).toBe("Play carol's video (0:12): Re: Budget review");
    expect(clip.querySelector("img")?.getAttribute("src")).toBe("http://127.0.0.1:1/s/1/poster.jpg");
    clip.click();
    expect(s.open).toHaveBeenCalledWith("v1");
    // The message being played offers no second way to play it.
    expect(all(entries[0]!, "entry-clip")).toHaveLength(0);

    // Text entries open on their own (to react or answer there); clips open by their poster.
    expect(entries.map((e) => e.querySelector("[data-testid=entry-open]")?.getAttribute("aria-label") ?? null)).toEqual([
      null,
      "Open bob's comment",
      "Open bob's answer",
      null,
      "Open your answer",
    ]);
    one<HTMLButtonElement>(entries[2]!, "entry-open").click();
    expect(s.open).toHaveBeenCalledWith("r1");

    const moment = one<HTMLButtonElement>(entries[1]!, "entry-moment");
    expect(moment.getAttribute("aria-label")).toBe("Play from 0:03");
    moment.click();
    expect(s.playFrom).toHaveBeenCalledWith(3_000);
  });

  it("opens the answered clip at a comment's moment when it is another message", async () => {
    const s = source({
      load: vi.fn(async () => ({ ...VIEW, message: "r1", entries: [entry("c9", { kind: "comment", inReplyTo: "v1", atMs: 1_500, at: "0:01.5" })] })),
    });
    const panel = conversationPanel(s);
    await panel.refresh();
    const moment = one<HTMLButtonElement>(panel.thread, "entry-moment");
    expect(moment.getAttribute("aria-label")).toBe("Open the clip at 0:01.5");
    moment.click();
    expect(s.open).toHaveBeenCalledWith("v1", 1_500);
    expect(s.playFrom).not.toHaveBeenCalled();
  });

  it("lists chapters that play from their start and marks the one playing", async () => {
    const s = source();
    const panel = conversationPanel(s);
    await panel.refresh();
    expect(panel.chapters.hidden).toBe(false);
    const items = all<HTMLButtonElement>(panel.chapters, "chapter-item");
    expect(items.map((i) => i.textContent)).toEqual(["0:00 1. Budget", "0:14 2. Hiring"]);
    items[1]?.click();
    expect(s.playFrom).toHaveBeenCalledWith(14_000);
    panel.follow(15_000);
    expect(items.map((i) => i.getAttribute("aria-current"))).toEqual([null, "true"]);
    panel.follow(2_000);
    expect(items.map((i) => i.getAttribute("aria-current"))).toEqual(["true", null]);
    // Fetched again (a sync brought something): the one playing stays marked.
    panel.follow(20_000);
    await panel.refresh();
    const again = all<HTMLButtonElement>(panel.chapters, "chapter-item");
    expect(again.map((i) => i.getAttribute("aria-current"))).toEqual([null, "true"]);
  });

  it("sends a text comment at the current moment on a chapter with Ctrl+Enter, then shows the thread again", async () => {
    const s = source();
    const panel = conversationPanel(s);
    await panel.refresh();
    const text = one<HTMLTextAreaElement>(panel.replyBox, "reply-text");
    const at = one<HTMLInputElement>(panel.replyBox, "reply-at-moment");
    const chapter = one<HTMLSelectElement>(panel.replyBox, "reply-chapter");
    expect([...chapter.options].map((o) => o.textContent)).toEqual(["The whole message", "1. Budget", "2. Hiring"]);
    panel.follow(3_240);
    expect(one(panel.replyBox, "reply-moment").textContent).toBe("At this moment (0:03)");

    text.value = "  which quarter is this?  ";
    at.checked = true;
    at.dispatchEvent(new Event("change"));
    expect(one(panel.replyBox, "reply-send").textContent).toBe("Comment at this moment");
    chapter.value = "1";
    text.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", ctrlKey: true, bubbles: true }));
    await settle();
    expect(s.sendTextReply).toHaveBeenCalledWith("m1", "which quarter is this?", 3_240, 1);
    expect(text.value).toBe("");
    expect(at.checked).toBe(false);
    expect(one(panel.replyBox, "reply-sent").textContent).toBe("Sending to bob, carol");
    expect(s.load).toHaveBeenCalledTimes(2);
  });

  it("names the chapter playing when the answer is at this moment, unless one was chosen", async () => {
    const s = source({ currentMs: vi.fn(() => 20_000) });
    const panel = conversationPanel(s);
    await panel.refresh();
    const at = one<HTMLInputElement>(panel.replyBox, "reply-at-moment");
    const chapter = one<HTMLSelectElement>(panel.replyBox, "reply-chapter");
    at.checked = true;
    at.dispatchEvent(new Event("change"));
    expect(chapter.value).toBe("1");
    at.checked = false;
    at.dispatchEvent(new Event("change"));
    chapter.value = "0";
    at.checked = true;
    at.dispatchEvent(new Event("change"));
    expect(chapter.value).toBe("0");
  });

  it("sends a plain reply with the button, keeps Enter for new lines and says when there is no text", async () => {
    const s = source();
    const panel = conversationPanel(s);
    await panel.refresh();
    const text = one<HTMLTextAreaElement>(panel.replyBox, "reply-text");
    one<HTMLButtonElement>(panel.replyBox, "reply-send").click();
    await settle();
    expect(one(panel.replyBox, "reply-problem").textContent).toBe("Type the answer first.");
    expect(s.sendTextReply).not.toHaveBeenCalled();

    text.value = "Agreed";
    text.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    await settle();
    expect(s.sendTextReply).not.toHaveBeenCalled();
    one<HTMLButtonElement>(panel.replyBox, "reply-send").click();
    await settle();
    expect(s.sendTextReply).toHaveBeenCalledWith("m1", "Agreed", null, null);
  });

  it("shows what Rust says when an answer is refused and keeps the text", async () => {
    const s = source({ sendTextReply: vi.fn(async () => Promise.reject({ message: "the store refused it: check Settings › Store" })) });
    const panel = conversationPanel(s);
    await panel.refresh();
    const text = one<HTMLTextAreaElement>(panel.replyBox, "reply-text");
    text.value = "Agreed";
    one<HTMLButtonElement>(panel.replyBox, "reply-send").click();
    await settle();
    expect(one(panel.replyBox, "reply-problem").textContent).toBe("the store refused it: check Settings › Store");
    expect(text.value).toBe("Agreed");
  });

  it("offers the six reactions as toggle buttons, pressed for mine, and toggles one", async () => {
    // Rust's state: what `react` changed is what the next load shows.
    let bar = BAR;
    const s = source({
      load: vi.fn(async () => ({ ...VIEW, reactionBar: bar })),
      react: vi.fn(async (_: string, emoji: string, removed: boolean) =>
        (bar = bar.map((r) => (r.emoji === emoji ? { ...r, by: removed ? r.by.filter((u) => u !== "alice") : [...r.by, "alice"], mine: !removed } : r))),
      ),
    });
    const panel = conversationPanel(s);
    await panel.refresh();
    const buttons = all<HTMLButtonElement>(panel.reactionBar, "reaction");
    expect(buttons.map((b) => b.dataset.emoji)).toEqual(["👍", "✅", "❓", "👀", "🎉", "❤️"]);
    expect(buttons.map((b) => b.getAttribute("aria-pressed"))).toEqual(["false", "false", "false", "true", "false", "false"]);
    expect(buttons[3]?.getAttribute("aria-label")).toBe("👀 (yours) from bob, alice");
    expect(buttons[0]?.getAttribute("aria-label")).toBe("👍 from nobody yet");

    buttons[1]?.click();
    await settle();
    expect(s.react).toHaveBeenCalledWith("m1", "✅", false);
    const after = all<HTMLButtonElement>(panel.reactionBar, "reaction");
    expect(after[1]?.getAttribute("aria-pressed")).toBe("true");
    after[3]?.click();
    await settle();
    // Pressing mine again takes it back.
    expect(s.react).toHaveBeenLastCalledWith("m1", "👀", true);
    const last = all<HTMLButtonElement>(panel.reactionBar, "reaction");
    expect(last.map((b) => b.getAttribute("aria-pressed"))).toEqual(["false", "true", "false", "false", "false", "false"]);
    expect(last[3]?.getAttribute("aria-label")).toBe("👀 from bob");
  });

  it("keeps the keyboard's place when the conversation is fetched again", async () => {
    const s = source();
    const panel = conversationPanel(s);
    document.body.append(panel.reactionBar, panel.chapters, panel.thread);
    await panel.refresh();
    const pick = (box: HTMLElement, selector: string) => box.querySelector<HTMLButtonElement>(selector)!;
    for (const [box, selector] of [
      [panel.reactionBar, "[data-emoji='🎉']"],
      [panel.chapters, "[data-start-ms='14000']"],
      [panel.thread, "[data-id=c1] [data-testid=entry-moment]"],
    ] as const) {
      const before = pick(box, selector);
      before.focus();
      await panel.refresh();
      const after = pick(box, selector);
      expect(after).not.toBe(before);
      expect(document.activeElement).toBe(after);
    }
    panel.reactionBar.remove();
    panel.chapters.remove();
    panel.thread.remove();
  });

  it("offers no moment to answer at when the message shown is text", async () => {
    const text: ConversationView = { ...VIEW, message: "r1", chapters: [], markers: [], entries: VIEW.entries.map((e) => ({ ...e, current: e.id === "r1" })) };
    const s = source({ load: vi.fn(async () => text) });
    const panel = conversationPanel(s);
    await panel.refresh();
    expect(one<HTMLInputElement>(panel.replyBox, "reply-at-moment").closest("label")?.hidden).toBe(true);
    expect(one<HTMLSelectElement>(panel.replyBox, "reply-chapter").closest("label")?.hidden).toBe(true);
    expect(all(panel.thread, "conversation-entry")[2]?.textContent).toContain("open here");
    one<HTMLTextAreaElement>(panel.replyBox, "reply-text").value = "Thanks";
    one<HTMLButtonElement>(panel.replyBox, "reply-send").click();
    await settle();
    expect(s.sendTextReply).toHaveBeenCalledWith("r1", "Thanks", null, null);
  });

  it("words each kind of entry", () => {
    expect(describeEntry({ kind: "comment", hasClip: false, current: false, mine: false })).toBe("commented at");
    expect(describeEntry({ kind: "reply", hasClip: true, current: false, mine: false })).toBe("replied with a video");
    expect(describeEntry({ kind: "message", hasClip: false, current: true, mine: true })).toBe("wrote");
  });
});
