// The Player's conversation around the clip: the reply box right under it (text, "at
// this moment", the chapter it answers; Ctrl+Enter sends), the reaction bar, the
// chapter list and the whole thread in order (video replies with posters, text
// replies, comments with a time that plays from there, reactions with who). The
// thread, its order and its words come from Rust; this module shows them and wires
// the buttons.

import {
  errorMessage,
  type ChapterView,
  type ConversationEntryView,
  type ConversationView,
  type ReactionView,
  type TextReplyView,
} from "../api";
import { h, mount } from "../dom";
import { formatDuration } from "../format";
import { chapterAt, keepingFocus } from "./seekbar";
import { button, problem } from "./screen";

/** What the conversation asks of the Player (and through it, of Rust). */
export interface ConversationSource {
  load(): Promise<ConversationView>;
  sendTextReply(message: string, text: string, atMs: number | null, chapter: number | null): Promise<TextReplyView>;
  react(message: string, emoji: string, removed: boolean): Promise<ReactionView[]>;
  /** Where the shown clip is now, in milliseconds ("at this moment"). */
  currentMs(): number;
  /** Plays the shown clip from `ms`. */
  playFrom(ms: number): void;
  /** Opens another message of the thread, at `atMs` when given. */
  open(id: string, atMs?: number): void;
  /** Every view shown, so the Player can put chapters and markers on its seek bar. */
  loaded?(view: ConversationView): void;
}

export interface ConversationPanel {
  /** Text, moment, chapter and Send: right under the clip. */
  replyBox: HTMLElement;
  reactionBar: HTMLElement;
  chapters: HTMLElement;
  thread: HTMLElement;
  /** Fetches the conversation again (a sync brought something, an answer was sent). */
  refresh(): Promise<void>;
  /** Keeps the moment in "At this moment" and the chapter being played on `ms`. */
  follow(ms: number): void;
  /** The Player left: answers still on their way are dropped. */
  dispose(): void;
}

/** "bob, carol" or "nobody yet". */
function who(by: readonly string[]): string {
  return by.length ? by.join(", ") : "nobody yet";
}

/** What an entry's heading says it is. */
export function describeEntry(entry: Pick<ConversationEntryView, "kind" | "hasClip" | "current" | "mine">): string {
  switch (entry.kind) {
    case "comment":
      return "commented at";
    case "reply":
      return entry.hasClip ? "replied with a video" : "replied";
    case "message":
      return entry.hasClip ? "sent a video" : "wrote";
  }
}

export function conversationPanel(source: ConversationSource): ConversationPanel {
  let view: ConversationView | null = null;
  let disposed = false;
  let loadAsked = 0;
  let sending = false;

  // ---- reply box ----

  const text = h("textarea", {
    class: "reply-text",
    rows: "2",
    placeholder: "Write an answer (Ctrl+Enter sends)",
    "aria-label": "Answer in text",
    "aria-keyshortcuts": "Control+Enter",
    "data-testid": "reply-text",
  });
  const atMoment = h("input", { type: "checkbox", "data-testid": "reply-at-moment" });
  const momentText = h("span", { "data-testid": "reply-moment" }, "At this moment (0:00)");
  const atLabel = h("label", { class: "choice" }, atMoment, momentText);
  const chapter = h("select", { "aria-label": "Chapter it answers", "data-testid": "reply-chapter" });
  const chapterLabel = h("label", { class: "choice" }, "About", chapter);
  const send = button("Send answer", "reply-send", () => void submit(), true);
  const replyFeedback = h("div", { "aria-live": "polite", "data-testid": "reply-feedback" });
  const replyBox = h(
    "form",
    { class: "reply-box", "aria-label": "Answer without recording", "data-testid": "reply-box" },
    text,
    h("div", { class: "row reply-options" }, atLabel, chapterLabel, send),
    replyFeedback,
  );
  replyBox.addEventListener("submit", (event) => {
    event.preventDefault();
    void submit();
  });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      void submit();
    }
  });
  atMoment.addEventListener("change", () => {
    send.textContent = atMoment.checked ? "Comment at this moment" : "Send answer";
    // A moment lies in a chapter: name it unless one was chosen already.
    const playing = view && atMoment.checked && chapter.value === "" ? view.chapters[chapterAt(view.chapters, source.currentMs())] : undefined;
    if (playing) chapter.value = String(playing.index);
  });

  const renderChapterChoice = (chapters: readonly ChapterView[]) => {
    const chosen = chapter.value;
    mount(
      chapter,
      h("option", { value: "" }, "The whole message"),
      ...chapters.map((c) => h("option", { value: String(c.index) }, `${c.number}. ${c.title}`)),
    );
    chapter.value = chapters.some((c) => String(c.index) === chosen) ? chosen : "";
    chapterLabel.hidden = chapters.length === 0;
  };

  async function submit(): Promise<void> {
    if (!view || sending) return;
    const words = text.value.trim();
    if (!words) {
      mount(replyFeedback, problem("Type the answer first.", "reply-problem"));
      text.focus();
      return;
    }
    const atMs = atMoment.checked ? Math.round(source.currentMs()) : null;
    const chosen = chapter.value === "" ? null : Number(chapter.value);
    sending = true;
    send.disabled = true;
    try {
      const sent = await source.sendTextReply(view.message, words, atMs, chosen);
      text.value = "";
      atMoment.checked = false;
      send.textContent = "Send answer";
      mount(replyFeedback, h("p", { class: "feedback ok", role: "status", "data-testid": "reply-sent" }, `Sending to ${sent.recipients.join(", ")}`));
      await refresh();
    } catch (e: unknown) {
      mount(replyFeedback, problem(errorMessage(e), "reply-problem"));
    } finally {
      sending = false;
      send.disabled = false;
    }
  }

  // ---- reactions ----

  const reactionBar = h("div", { class: "reaction-bar", role: "group", "aria-label": "Reactions", "data-testid": "reaction-bar" });
  const reactionFeedback = h("div", { "aria-live": "polite" });
  const renderReactions = (reactions: readonly ReactionView[]) =>
    keepingFocus(reactionBar, () => mount(
      reactionBar,
      ...reactions.map((r) => {
        const label = `${r.emoji} ${r.mine ? "(yours) " : ""}from ${who(r.by)}`;
        return h(
          "button",
          {
            type: "button",
            class: "reaction",
            "aria-pressed": String(r.mine),
            "aria-label": label,
            title: label,
            "data-testid": "reaction",
            "data-emoji": r.emoji,
            onclick: () => void toggleReaction(r),
          },
          h("span", { "aria-hidden": "true" }, r.emoji),
          r.by.length ? h("span", { class: "reaction-count", "aria-hidden": "true" }, String(r.by.length)) : null,
        );
      }),
      reactionFeedback,
    ));
  async function toggleReaction(r: ReactionView): Promise<void> {
    if (!view) return;
    try {
      renderReactions(await source.react(view.message, r.emoji, r.mine));
      // The thread shows reactions too: keep it in step.
      void refresh();
    } catch (e: unknown) {
      mount(reactionFeedback, problem(errorMessage(e), "reaction-problem"));
    }
  }

  // ---- chapters ----

  const chapterList = h("ol", { class: "chapter-list", "data-testid": "chapter-list" });
  const chapters = h(
    "section",
    { class: "card chapters", "aria-labelledby": "chapters-title", hidden: true, "data-testid": "chapters" },
    h("h2", { id: "chapters-title" }, "Chapters"),
    chapterList,
  );
  let chapterButtons: HTMLButtonElement[] = [];
  let playing = -1;
  const renderChapters = (list: readonly ChapterView[]) => {
    playing = -1;
    chapterButtons = list.map((c) =>
      h(
        "button",
        { type: "button", class: "chapter-item", "data-testid": "chapter-item", "data-start-ms": String(c.startMs), onclick: () => source.playFrom(c.startMs) },
        h("span", { class: "line-time" }, c.at),
        " ",
        h("span", {}, `${c.number}. ${c.title}`),
      ),
    );
    keepingFocus(chapterList, () => mount(chapterList, ...chapterButtons.map((b) => h("li", {}, b))));
    chapters.hidden = list.length === 0;
  };

  // ---- thread ----

  const entryList = h("ol", { class: "conversation", "data-testid": "conversation" });
  const thread = h(
    "section",
    { class: "card", "aria-labelledby": "conversation-title", "data-testid": "conversation-section" },
    h("h2", { id: "conversation-title" }, "Conversation"),
    entryList,
  );

  const momentButton = (entry: ConversationEntryView, shown: string) => {
    const at = entry.atMs ?? 0;
    const here = entry.inReplyTo === shown;
    return h(
      "button",
      {
        type: "button",
        class: "link moment",
        "aria-label": here ? `Play from ${entry.at}` : `Open the clip at ${entry.at}`,
        "data-testid": "entry-moment",
        onclick: () => (here ? source.playFrom(at) : entry.inReplyTo && source.open(entry.inReplyTo, at)),
      },
      entry.at ?? "",
    );
  };

  const entryItem = (entry: ConversationEntryView, shown: string) => {
    const name = entry.mine ? "You" : entry.sender;
    const when = entry.pending ?? (entry.sentAt ? new Date(entry.sentAt).toLocaleString() : "");
    const head = h(
      "div",
      { class: "entry-head" },
      h("strong", {}, name),
      ` ${describeEntry(entry)} `,
      entry.kind === "comment" && entry.at ? momentButton(entry, shown) : null,
      entry.chapter ? h("span", { class: "entry-chapter" }, ` on ${entry.chapter.number}. ${entry.chapter.title}`) : null,
      entry.current ? h("span", { class: "muted" }, entry.hasClip ? " · playing now" : " · open here") : null,
      h("span", { class: entry.pending ? "entry-pending" : "muted" }, ` · ${when}`),
      // A text entry opens here too, to react to it or answer it on its own.
      !entry.current && !entry.hasClip
        ? h(
            "button",
            {
              type: "button",
              class: "link entry-open",
              "aria-label": `Open ${name === "You" ? "your" : `${name}'s`} ${entry.kind === "comment" ? "comment" : "answer"}`,
              "data-testid": "entry-open",
              onclick: () => source.open(entry.id),
            },
            "Open",
          )
        : null,
    );
    const clip =
      entry.hasClip && !entry.current
        ? h(
            "button",
            {
              type: "button",
              class: "entry-clip",
              "aria-label": `Play ${name === "You" ? "your" : `${name}'s`} video${entry.duration ? ` (${entry.duration})` : ""}: ${entry.subject}`,
              "data-testid": "entry-clip",
              onclick: () => source.open(entry.id),
            },
            entry.posterUrl ? h("img", { src: entry.posterUrl, alt: "" }) : h("span", { class: "entry-clip-none" }, "▶"),
            entry.duration ? h("span", { class: "entry-clip-length" }, entry.duration) : null,
          )
        : null;
    return h(
      "li",
      {
        class: `entry entry-${entry.kind}${entry.current ? " current" : ""}${entry.mine ? " mine" : ""}`,
        "data-testid": "conversation-entry",
        "data-kind": entry.kind,
        "data-id": entry.id,
        "aria-current": entry.current ? "true" : undefined,
      },
      head,
      clip,
      entry.text ? h("p", { class: "entry-text", "data-testid": "entry-text" }, entry.text) : null,
      entry.reactions.length
        ? h(
            "ul",
            { class: "chips entry-reactions", "aria-label": "Reactions" },
            ...entry.reactions.map((r) => h("li", { class: "chip", "data-testid": "entry-reaction" }, `${r.emoji} ${who(r.by)}`)),
          )
        : null,
    );
  };

  const render = (next: ConversationView) => {
    view = next;
    // A moment needs a clip: a text message has none.
    const clip = next.entries.find((e) => e.current)?.hasClip ?? true;
    atLabel.hidden = !clip;
    if (!clip) atMoment.checked = false;
    renderChapterChoice(next.chapters);
    renderReactions(next.reactionBar);
    renderChapters(next.chapters);
    keepingFocus(entryList, () => mount(entryList, ...next.entries.map((e) => entryItem(e, next.message))));
    // The chapter list was drawn anew: mark the one playing again.
    follow(lastMs);
    source.loaded?.(next);
  };

  async function refresh(): Promise<void> {
    const asked = ++loadAsked;
    try {
      const next = await source.load();
      // Only the newest answer counts: an older one may arrive after it.
      if (!disposed && asked === loadAsked) render(next);
    } catch (e: unknown) {
      if (!disposed && asked === loadAsked) mount(entryList, h("li", {}, problem(errorMessage(e), "conversation-problem")));
    }
  }

  let lastMs = 0;
  const follow = (ms: number) => {
    lastMs = ms;
    momentText.textContent = `At this moment (${formatDuration(ms / 1000)})`;
    const now = view ? chapterAt(view.chapters, ms) : -1;
    if (now === playing) return;
    chapterButtons[playing]?.classList.remove("current");
    chapterButtons[playing]?.removeAttribute("aria-current");
    playing = now;
    chapterButtons[now]?.classList.add("current");
    chapterButtons[now]?.setAttribute("aria-current", "true");
  };

  return { replyBox, reactionBar, chapters, thread, refresh, follow, dispose: () => (disposed = true) };
}
