import { errorMessage, type DraftView, type NudgeView, type SentItem } from "../api";
import { h } from "../dom";
import { formatDuration } from "../format";
import { button, screen } from "./screen";

const STATE_LABELS = { responded: "responded", viewed: "viewed", pending: "pending", overdue: "overdue" } as const;

/** What a Sent line offers besides opening it. */
export interface SentActions {
  /** Opens the meeting grid of a message sent to several people. */
  meeting(id: string): void;
  /** Nudges its pending recipients; the list is fetched again after. */
  nudge(id: string): Promise<NudgeView>;
}

/** "Meeting" and "Nudge pending" under a line, with what a nudge did. */
function lineActions(item: SentItem, actions: SentActions): HTMLElement | null {
  const pending = item.recipients.some((r) => r.state === "pending" || r.state === "overdue" || r.state === "viewed");
  if (!item.meeting && !pending) return null;
  const said = h("span", { class: "feedback ok", role: "status", "data-testid": "sent-nudged" });
  const row = h("div", { class: "row sent-actions" });
  if (item.meeting) row.append(button("Meeting", "sent-meeting", () => actions.meeting(item.id)));
  if (pending && item.delivery === "sent") {
    const nudgeButton = button("Nudge pending", "sent-nudge", () => {
      nudgeButton.disabled = true;
      actions.nudge(item.id).then(
        (result) => (said.textContent = result.text),
        (e: unknown) => {
          nudgeButton.disabled = false;
          said.textContent = errorMessage(e);
          said.className = "feedback error";
          said.setAttribute("role", "alert");
        },
      );
    });
    nudgeButton.disabled = item.toNudge.length === 0;
    nudgeButton.title = item.toNudge.length ? `Reminds ${item.toNudge.join(", ")}` : "Everyone pending was nudged for their deadline";
    row.append(nudgeButton);
  }
  row.append(said);
  return row;
}

/** Sent: every message that left (or is leaving), with each recipient's state. */
export function sentView(items: SentItem[], open: (id: string) => void, actions?: SentActions): HTMLElement {
  const root = screen("sent", "Sent", "Who has watched and answered what you sent.");
  if (items.length === 0) {
    root.append(h("p", { class: "empty-state muted", "data-testid": "sent-empty" }, "Nothing sent yet."));
    return root;
  }
  root.append(
    h(
      "ul",
      { class: "message-list" },
      ...items.map((item) =>
        h(
          "li",
          { class: "sent-line" },
          h(
            "button",
            { type: "button", class: "message-row", "data-testid": "sent-item", "data-id": item.id, onclick: () => open(item.id) },
            h(
              "span",
              { class: "message-main" },
              h("span", { class: "message-top" }, h("span", { class: "subject" }, item.subject)),
              h(
                "span",
                { class: "chips" },
                ...item.recipients.map((r) =>
                  h("span", { class: `chip state-${r.state}`, "data-testid": `recipient-state-${r.name}`, "data-state": r.state }, `${r.name}: ${STATE_LABELS[r.state]}`),
                ),
              ),
              item.problem
                ? h("span", { class: item.delivery === "failed" ? "feedback error" : "muted", "data-testid": "sent-problem" }, item.delivery === "failed" ? `Not sent: ${item.problem}` : `Waiting to send: ${item.problem}`)
                : null,
            ),
            h(
              "span",
              { class: `due delivery-${item.delivery} ${item.respondBy.section}`, "data-testid": "sent-delivery", "data-delivery": item.delivery },
              item.delivery === "failed"
                ? "not sent"
                : item.delivery === "sending"
                  ? "sending…"
                  : item.respondBy.section === "answered"
                    ? "all answered"
                    : item.respondBy.relative,
            ),
          ),
          actions ? lineActions(item, actions) : null,
        ),
      ),
    ),
  );
  return root;
}

export interface DraftActions {
  compose(id: string): void;
  discard(id: string): void;
  record(): void;
}

/** Drafts: recorded clips not sent yet, including those recovered after a crash. */
export function draftsView(items: DraftView[], actions: DraftActions): HTMLElement {
  const root = screen("drafts", "Drafts", "Recorded clips you have not sent yet.", button("Record", "drafts-record", actions.record, true));
  if (items.length === 0) {
    root.append(h("p", { class: "empty-state muted", "data-testid": "drafts-empty" }, "No drafts."));
    return root;
  }
  root.append(
    h(
      "ul",
      { class: "message-list" },
      ...items.map((d) =>
        h(
          "li",
          { class: "message-row static", "data-testid": "draft-item", "data-id": d.id },
          h(
            "span",
            { class: "message-main" },
            h("span", { class: "message-top" }, `Recorded ${new Date(d.createdAt).toLocaleString()}`, d.recovered ? h("span", { class: "chip state-overdue" }, "recovered after a crash") : null),
            h("span", { class: "muted" }, d.durationSeconds !== null ? formatDuration(d.durationSeconds) : "length unknown"),
          ),
          h("span", { class: "row" }, button("Compose", "draft-compose", () => actions.compose(d.id), true), button("Discard", "draft-discard", () => actions.discard(d.id))),
        ),
      ),
    ),
  );
  return root;
}
