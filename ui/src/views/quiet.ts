// Settings › Quiet hours: whether notifications wait now (outside my working hours,
// or "do not disturb"), and the switch for "do not disturb" for a while. What holds
// and every sentence come from Rust.

import { errorMessage, quietState, setDoNotDisturb, type QuietView } from "../api";
import { h, mount } from "../dom";
import { button } from "./screen";

/** The commands the section uses; tests pass their own. */
export interface QuietApi {
  load(): Promise<QuietView>;
  set(minutes: number | null): Promise<QuietView>;
}

const shellApi: QuietApi = { load: quietState, set: setDoNotDisturb };

const FOR: [number, string][] = [
  [30, "30 minutes"],
  [60, "1 hour"],
  [4 * 60, "4 hours"],
  [12 * 60, "12 hours"],
];

export function quietSection(api: QuietApi = shellApi): HTMLElement {
  const state = h("p", { "data-testid": "quiet-state", role: "status", "aria-live": "polite" });
  const feedback = h("p", { class: "feedback", role: "status", "data-testid": "quiet-feedback" });
  const length = h("select", { id: "dnd-length", "data-testid": "dnd-length" }, ...FOR.map(([m, label]) => h("option", { value: String(m) }, label)));
  length.value = "60";
  const controls = h("div", { class: "row" });
  const render = (view: QuietView) => {
    state.textContent =
      view.text ??
      (view.knowsMyHours
        ? "Notifications reach you now. Outside your working hours they wait, and come summed up when your day starts."
        : "Notifications reach you now. Give your working hours above and they wait outside them.");
    state.classList.toggle("notice", view.holds);
    mount(
      controls,
      ...(view.doNotDisturb
        ? [button("Turn off do not disturb", "dnd-off", () => change(null, "Do not disturb is off."))]
        : [h("label", { for: "dnd-length" }, "Do not disturb for"), length, button("Turn on", "dnd-on", () => change(Number(length.value), "Do not disturb is on."))]),
    );
  };
  const change = (minutes: number | null, done: string) =>
    api.set(minutes).then(
      (view) => {
        render(view);
        feedback.textContent = done;
        feedback.className = "feedback ok";
      },
      (e: unknown) => {
        feedback.textContent = errorMessage(e);
        feedback.className = "feedback error";
      },
    );
  api.load().then(render, (e: unknown) => (state.textContent = errorMessage(e)));
  return h("section", { class: "card", "aria-labelledby": "quiet-title", "data-testid": "quiet" }, h("h2", { id: "quiet-title" }, "Quiet hours"), state, controls, feedback);
}
