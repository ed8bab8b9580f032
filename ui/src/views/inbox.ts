import { h } from "../dom";

/** The inbox. Until messages can arrive it shows its empty state. */
export function inboxView(onRecord: () => void): HTMLElement {
  return h(
    "section",
    { class: "screen", "aria-labelledby": "inbox-title", "data-testid": "inbox" },
    h(
      "header",
      { class: "screen-header" },
      h("div", {}, h("h1", { id: "inbox-title" }, "Inbox"), h("p", { class: "muted" }, "Ordered by what is due first.")),
      h("button", { class: "button primary", type: "button", onclick: onRecord, "data-testid": "record-button" }, "Record"),
    ),
    h(
      "div",
      { class: "empty-state", "data-testid": "inbox-empty" },
      h("div", { class: "empty-illustration", "aria-hidden": "true" }, "✉"),
      h("h2", {}, "Nothing waiting for you"),
      h(
        "p",
        { class: "muted" },
        "Video messages you receive appear here, with the one due soonest on top. Record a message to start a conversation.",
      ),
    ),
  );
}
