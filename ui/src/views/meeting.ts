// The meeting grid of a message sent to several people: participants by agenda item,
// each cell saying in words (and colour) whether they answered, commented, are
// pending or overdue, and opening the answer; each participant's own deadline on my
// clock and on theirs; the meeting's closed state and why; Markdown export; and for
// the sender, "Nudge pending" and "Close meeting". Every state and sentence comes
// from Rust; this module lays them out and wires the buttons.

import {
  closeMeeting,
  errorMessage,
  meeting,
  meetingMarkdown,
  nudge,
  onLibraryChanged,
  saveMeetingMarkdown,
  type MeetingCellView,
  type MeetingItemView,
  type MeetingParticipantView,
  type MeetingView,
  type NudgeView,
} from "../api";
import { h, mount } from "../dom";
import { button, problem, screen, type Screen } from "./screen";

/** The commands the grid uses; tests pass their own. */
export interface MeetingApi {
  load(id: string): Promise<MeetingView>;
  markdown(id: string): Promise<string>;
  saveMarkdown(id: string): Promise<string | null>;
  nudge(id: string): Promise<NudgeView>;
  close(id: string): Promise<MeetingView>;
  /** Puts text on the clipboard. */
  copy(text: string): Promise<void>;
  /** Calls `handler` when a sync changed the library; resolves to its unsubscribe. */
  changed(handler: () => void): Promise<() => void>;
}

export interface MeetingActions {
  back(): void;
  /** Opens a message in the Player, at `atMs` when given. */
  open(id: string, atMs: number | null): void;
}

/** Copies through the web view's clipboard, else through a selected text field. */
async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // Not offered to this page: the older way below.
  }
  const field = h("textarea", { "aria-hidden": "true", style: "position: fixed; left: -9999px" });
  field.value = text;
  document.body.append(field);
  field.select();
  const copied = document.execCommand("copy");
  field.remove();
  if (!copied) throw new Error("the clipboard cannot be reached: use Save Markdown… instead");
}

const shellApi: MeetingApi = {
  load: meeting,
  markdown: meetingMarkdown,
  saveMarkdown: saveMeetingMarkdown,
  nudge,
  close: closeMeeting,
  copy: copyText,
  changed: onLibraryChanged,
};

/** A mark beside each state's word, so it reads without colour too (the word stays the label). */
const MARKS: Record<MeetingCellView["state"], string> = {
  answered: "✓",
  commented: "💬",
  pending: "…",
  overdue: "!",
};

function itemHeader(item: MeetingItemView): HTMLElement {
  return h(
    "th",
    { scope: "col", "data-testid": "meeting-item" },
    h("span", { class: "meeting-item-title" }, item.label),
    item.at ? h("span", { class: "muted meeting-item-at" }, ` at ${item.at}`) : null,
  );
}

function cell(participant: MeetingParticipantView, item: MeetingItemView, c: MeetingCellView, open: MeetingActions["open"]): HTMLElement {
  const first = c.entries[0];
  const what = first ? first.text : null;
  const content = [
    h("span", { class: "cell-mark", "aria-hidden": "true" }, MARKS[c.state]),
    h("span", { class: "cell-label" }, c.label),
    c.entries.length > 1 ? h("span", { class: "muted" }, ` (${c.entries.length})`) : null,
    what ? h("span", { class: "cell-text" }, what) : null,
  ];
  const attrs = {
    class: `meeting-cell state-${c.state}`,
    "data-testid": `meeting-cell-${participant.name}`,
    "data-state": c.state,
    "data-item": item.index === null ? "" : String(item.index),
  };
  const target = c.open;
  const body = target
    ? h(
        "button",
        {
          type: "button",
          class: "cell-button",
          "aria-label": `${participant.name}, ${item.label}: ${c.label}${what ? `: ${what}` : ""}. Open it`,
          onclick: () => open(target.id, target.atMs),
        },
        ...content,
      )
    : h("span", { class: "cell-button static" }, ...content);
  return h("td", attrs, body);
}

function participantHeader(p: MeetingParticipantView): HTMLElement {
  const notes = [p.extended ? "more time given" : null, p.nudged ? "nudged" : null].filter(Boolean).join(", ");
  return h(
    "th",
    { scope: "row", class: "meeting-participant", "data-testid": `meeting-participant-${p.name}` },
    h("span", { class: "sender" }, p.name),
    h(
      "span",
      { class: `meeting-deadline ${p.deadline.section}`, "data-testid": `meeting-deadline-${p.name}` },
      `Due ${p.deadline.local} (${p.deadline.relative})`,
    ),
    p.theirClock ? h("span", { class: "muted", "data-testid": `meeting-their-clock-${p.name}` }, `Their clock: ${p.theirClock}`) : null,
    notes ? h("span", { class: "muted" }, notes) : null,
  );
}

/** The grid as a table: a caption, one column per item, one row per participant. */
export function meetingGrid(view: MeetingView, open: MeetingActions["open"]): HTMLTableElement {
  return h(
    "table",
    { class: "meeting-grid", "data-testid": "meeting-grid" },
    h("caption", { class: "muted" }, `Who answered what of ${view.subject}`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Participant"), ...view.items.map(itemHeader))),
    h(
      "tbody",
      {},
      ...view.participants.map((p) =>
        h(
          "tr",
          { "data-testid": "meeting-row", "data-name": p.name },
          participantHeader(p),
          ...view.items.map((item, i) => {
            const c = p.cells[i];
            return c ? cell(p, item, c, open) : h("td", {});
          }),
        ),
      ),
    ),
  );
}

/** The meeting screen of message `id` (`#/meeting?id=ID`). */
export function meetingView(id: string, actions: MeetingActions, api: MeetingApi = shellApi): Screen {
  const root = h("div", { class: "screen-wrap" }, h("p", { class: "muted" }, "Loading the meeting…"));
  const feedback = h("p", { class: "feedback", role: "status", "aria-live": "polite", "data-testid": "meeting-feedback" });
  let disposed = false;
  let shown: MeetingView | null = null;

  const say = (text: string, ok = true) => {
    feedback.textContent = text;
    feedback.classList.toggle("ok", ok);
    feedback.classList.toggle("error", !ok);
    feedback.setAttribute("role", ok ? "status" : "alert");
  };
  const failed = (e: unknown) => say(errorMessage(e), false);

  const render = (view: MeetingView) => {
    shown = view;
    const header = screen(
      "meeting",
      view.subject,
      view.mine ? `Your meeting with ${view.participants.map((p) => p.name).join(", ")}` : `${view.sender}'s meeting`,
      button("Back", "meeting-back", actions.back),
    );
    const tools = h("div", { class: "row" });
    tools.append(
      button("Copy Markdown", "meeting-copy", () => {
        api.markdown(id).then(api.copy).then(() => say("The summary is on the clipboard, in Markdown."), failed);
      }),
      button("Save Markdown…", "meeting-save", () => {
        api.saveMarkdown(id).then((path) => path && say(`Saved to ${path}`), failed);
      }),
    );
    if (view.mine && !view.closed) {
      const nudgeButton = button("Nudge pending", "meeting-nudge", () => {
        nudgeButton.disabled = true;
        api.nudge(id).then((result) => {
          say(result.text);
          return refresh();
        }, (e: unknown) => {
          nudgeButton.disabled = false;
          failed(e);
        });
      });
      nudgeButton.disabled = view.toNudge.length === 0;
      nudgeButton.title = view.toNudge.length ? `Reminds ${view.toNudge.join(", ")}` : "Everyone pending was nudged for their deadline";
      const closeButton = button("Close meeting", "meeting-close", () => {
        closeButton.disabled = true;
        api.close(id).then((next) => {
          render(next);
          say("Closed: nobody can ask for more time now.");
        }, (e: unknown) => {
          closeButton.disabled = false;
          failed(e);
        });
      });
      tools.append(nudgeButton, closeButton);
    }
    header.append(
      view.closed
        ? h("p", { class: "notice meeting-closed", role: "status", "data-testid": "meeting-closed", "data-reason": view.closed.reason }, view.closed.text)
        : h(
            "p",
            { class: "muted", "data-testid": "meeting-open" },
            `Open until ${view.lastDeadline.local} (${view.lastDeadline.relative}), or until everyone answered.`,
          ),
      h("div", { class: "meeting-scroll" }, meetingGrid(view, actions.open)),
      tools,
      feedback,
    );
    mount(root, header);
  };

  const refresh = () =>
    api.load(id).then(
      (view) => !disposed && render(view),
      (e: unknown) => {
        if (disposed) return;
        if (shown) failed(e);
        else mount(root, problem(errorMessage(e), "meeting-error"));
      },
    );
  void refresh();
  // A sync may bring an answer, a comment or a request: the grid follows.
  const stop = api.changed(() => !disposed && void refresh());
  return {
    el: root,
    dispose: () => {
      disposed = true;
      void stop.then((f) => f());
    },
  };
}
