// The Player's "More time" section. A recipient sees their own deadline, asks for
// more time (a proposed time and a note) and sees what the sender decided; the
// sender sees every request, and grants or declines the pending ones with a note.
// Who may ask, the rules and every sentence come from Rust.

import { answerMoreTime, askMoreTime, errorMessage, moreTime, type ExtensionView, type MoreTimeView } from "../api";
import { h, mount } from "../dom";
import { button } from "./screen";

/** The commands the section uses; tests pass their own. */
export interface MoreTimeApi {
  load(id: string): Promise<MoreTimeView>;
  ask(id: string, until: string, note: string): Promise<MoreTimeView>;
  answer(id: string, request: string, granted: boolean, note: string): Promise<MoreTimeView>;
}

const shellApi: MoreTimeApi = { load: moreTime, ask: askMoreTime, answer: answerMoreTime };

export interface MoreTimePanel {
  el: HTMLElement;
  /** Fetches the state again (a sync brought a request or a decision). */
  refresh(): Promise<void>;
}

const STATE_WORDS: Record<ExtensionView["state"], string> = { asked: "waiting for an answer", granted: "granted", declined: "declined" };

function extensionLine(e: ExtensionView, decide: HTMLElement | null): HTMLElement {
  return h(
    "li",
    { class: `extension state-${e.state}`, "data-testid": "extension", "data-state": e.state, "data-request": e.request },
    h("span", { class: "extension-summary" }, e.summary),
    e.note ? h("span", { class: "muted" }, `“${e.note}”`) : null,
    h("span", { class: `chip extension-state state-${e.state === "asked" ? "pending" : e.state === "granted" ? "responded" : "overdue"}` }, STATE_WORDS[e.state]),
    e.decisionNote ? h("span", { class: "muted", "data-testid": "extension-decision-note" }, `“${e.decisionNote}”`) : null,
    decide,
  );
}

/** Grant / Decline with a note, for one pending request (the sender's side). */
function decision(e: ExtensionView, answer: (granted: boolean, note: string) => void): HTMLElement {
  const note = h("input", { type: "text", maxlength: "500", placeholder: "A note (optional)", "aria-label": `A note to ${e.recipient}`, "data-testid": "extension-answer-note" });
  return h(
    "span",
    { class: "row extension-decide" },
    note,
    button("Grant", "extension-grant", () => answer(true, note.value.trim()), true),
    button("Decline", "extension-decline", () => answer(false, note.value.trim())),
  );
}

/** The Player's "More time" section for message `id`. */
export function moreTimePanel(id: string, api: MoreTimeApi = shellApi): MoreTimePanel {
  const el = h("section", { class: "card more-time", "aria-labelledby": "more-time-title", "data-testid": "more-time", hidden: true });
  const feedback = h("p", { class: "feedback", role: "status", "aria-live": "polite", "data-testid": "more-time-feedback" });
  let busy = false;

  const say = (text: string, ok: boolean) => {
    feedback.textContent = text;
    feedback.classList.toggle("ok", ok);
    feedback.classList.toggle("error", !ok);
    feedback.setAttribute("role", ok ? "status" : "alert");
  };

  const act = (work: Promise<MoreTimeView>, done: string) => {
    if (busy) return;
    busy = true;
    work.then(
      (view) => {
        busy = false;
        render(view);
        say(done, true);
      },
      (e: unknown) => {
        busy = false;
        say(errorMessage(e), false);
      },
    );
  };

  const askForm = (view: MoreTimeView): HTMLElement => {
    const until = h("input", { id: "more-time-until", type: "datetime-local", required: true, "data-testid": "more-time-until" });
    until.value = view.suggested ?? "";
    const note = h("input", { id: "more-time-note", type: "text", maxlength: "500", placeholder: "Why, in a few words", "data-testid": "more-time-note" });
    const form = h(
      "form",
      { class: "more-time-form", "data-testid": "more-time-form", hidden: true },
      h("label", { for: "more-time-until" }, "Until (your time)"),
      until,
      h("label", { for: "more-time-note" }, "Note"),
      note,
      h("div", { class: "row" }, h("button", { type: "submit", class: "button primary", "data-testid": "more-time-send" }, "Send request")),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!until.value) return say("Choose until when you need the time.", false);
      act(api.ask(id, until.value, note.value.trim()), "Asked for more time.");
    });
    const open = button("Ask for more time", "more-time-ask", () => {
      form.hidden = false;
      open.hidden = true;
      until.focus();
    });
    return h("div", {}, open, form);
  };

  const render = (view: MoreTimeView) => {
    const mine = view.mine;
    const requests = view.extensions;
    // The sender sees the section only once someone asked.
    el.hidden = mine && requests.length === 0 && !view.closed;
    mount(
      el,
      h("h2", { id: "more-time-title" }, mine ? "Requests for more time" : "More time"),
      view.myDeadline
        ? h(
            "p",
            { class: `due-line ${view.myDeadline.section}`, "data-testid": "more-time-deadline" },
            `Your deadline: ${view.myDeadline.local} (${view.myDeadline.relative})`,
          )
        : null,
      view.closed ? h("p", { class: "muted", "data-testid": "more-time-closed" }, view.closed) : null,
      requests.length
        ? h(
            "ul",
            { class: "extensions" },
            ...requests.map((e) =>
              extensionLine(
                e,
                mine && e.state === "asked" && !view.closed
                  ? decision(e, (granted, note) =>
                      act(api.answer(id, e.request, granted, note), granted ? `Gave ${e.recipient} more time.` : `Declined ${e.recipient}'s request.`),
                    )
                  : null,
              ),
            ),
          )
        : null,
      !mine && view.cannotAsk ? h("p", { class: "muted", "data-testid": "more-time-cannot" }, view.cannotAsk) : null,
      !mine && !view.cannotAsk ? askForm(view) : null,
      feedback,
    );
  };

  const refresh = () =>
    api.load(id).then(render, (e: unknown) => {
      el.hidden = false;
      say(errorMessage(e), false);
    });
  return { el, refresh };
}
