import { h } from "../dom";
import { describeOrigin, type RecordOrigin } from "../routes";

/** The Record screen. */
export function recordView(origin: RecordOrigin, shortcut: string | null, onBack: () => void): HTMLElement {
  const note = describeOrigin(origin, shortcut);
  return h(
    "section",
    { class: "screen", "aria-labelledby": "record-title", "data-testid": "record" },
    h(
      "header",
      { class: "screen-header" },
      h("div", {}, h("h1", { id: "record-title" }, origin === "button" ? "Record a message" : "Quick record")),
      h("button", { class: "button", type: "button", onclick: onBack, "data-testid": "back-to-inbox" }, "Back to inbox"),
    ),
    note && h("p", { class: "notice", role: "status", "data-testid": "record-origin" }, note),
    h(
      "div",
      { class: "stage", "aria-label": "Camera preview" },
      h(
        "p",
        { class: "stage-message" },
        "Recording is not available in this version of Pigeon yet. The camera preview and controls will appear here.",
      ),
    ),
  );
}
