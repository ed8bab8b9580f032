import { type InboxItem } from "../api";
import { h } from "../dom";
import { formatDuration, groupBySection, SECTION_TITLES } from "../format";
import { button, screen } from "./screen";

export interface InboxActions {
  record(): void;
  open(id: string): void;
}

/**
 * The inbox: open messages by respond-by (due soon first), then overdue, then
 * answered. Order, urgency and "due in 3 h" come from Rust; the main window
 * re-fetches the view every minute so they move on.
 */
export function inboxView(items: InboxItem[], actions: InboxActions): HTMLElement {
  const root = screen("inbox", "Inbox", "Ordered by what is due first.", button("Record", "record-button", actions.record, true));
  if (items.length === 0) {
    root.append(
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
    return root;
  }
  for (const group of groupBySection(items, (i) => i.respondBy.section)) {
    root.append(
      h(
        "section",
        { class: `inbox-group ${group.section}`, "aria-label": SECTION_TITLES[group.section] },
        h("h2", { class: "group-title" }, SECTION_TITLES[group.section]),
        h("ul", { class: "message-list", "data-testid": `inbox-${group.section}` }, ...group.items.map((item) => row(item, actions))),
      ),
    );
  }
  return root;
}

function row(item: InboxItem, actions: InboxActions): HTMLElement {
  const meta = [
    item.durationSeconds !== null ? formatDuration(item.durationSeconds) : null,
    item.attachmentCount ? `${item.attachmentCount} attachment${item.attachmentCount > 1 ? "s" : ""}` : null,
    item.isReply ? "reply" : null,
  ].filter(Boolean);
  return h(
    "li",
    {},
    h(
      "button",
      {
        type: "button",
        class: `message-row ${item.unread ? "unread" : ""}`,
        "data-testid": "inbox-item",
        "data-id": item.id,
        onclick: () => actions.open(item.id),
      },
      item.posterUrl
        ? h("img", { class: "poster", src: item.posterUrl, alt: "", width: "96", height: "54" })
        : h("span", { class: "poster placeholder", "aria-hidden": "true" }, "▶"),
      h(
        "span",
        { class: "message-main" },
        h(
          "span",
          { class: "message-top" },
          item.unread ? h("span", { class: "unread-dot", "aria-label": "unread" }) : null,
          h("span", { class: "sender" }, item.sender),
          h("span", { class: "subject", "data-testid": "inbox-subject" }, item.subject),
        ),
        h("span", { class: "muted meta" }, meta.join(" · ")),
      ),
      h(
        "span",
        { class: `due ${item.respondBy.urgency}`, title: item.respondBy.local, "data-testid": "inbox-due" },
        item.respondBy.relative,
      ),
    ),
  );
}
