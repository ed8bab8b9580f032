import { errorMessage, myWorkingHours, setMyWorkingHours, type WorkingHoursForm, type WorkingHoursView } from "../api";

/** The commands the section uses; tests pass their own. */
export interface WorkingHoursApi {
  load(): Promise<WorkingHoursView>;
  save(form: WorkingHoursForm): Promise<WorkingHoursView>;
}

const shellApi: WorkingHoursApi = { load: myWorkingHours, save: setMyWorkingHours };
import { h } from "../dom";

const DAYS: [string, string][] = [
  ["mon", "Monday"],
  ["tue", "Tuesday"],
  ["wed", "Wednesday"],
  ["thu", "Thursday"],
  ["fri", "Friday"],
  ["sat", "Saturday"],
  ["sun", "Sunday"],
];

/** The zones the web view knows, to pick from while typing; the shell checks what is saved. */
function zoneNames(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  try {
    return intl.supportedValuesOf?.("timeZone") ?? [];
  } catch {
    return [];
  }
}

/**
 * Settings › Working hours: my zone, the days I work, daily spans (several allowed)
 * and days off, saved to the store; a refusal shows as the one sentence saying what
 * to type. Leaving days and spans empty removes the working hours.
 */
export function workingHoursSection(api: WorkingHoursApi = shellApi): HTMLElement {
  const result = h("p", { class: "feedback", role: "status", "aria-live": "polite", "data-testid": "working-hours-feedback" });
  const report = (text: string, ok: boolean) => {
    result.textContent = text;
    result.classList.toggle("error", !ok);
    result.classList.toggle("ok", ok);
  };
  const zones = h("datalist", { id: "working-zones" }, ...zoneNames().map((z) => h("option", { value: z })));
  const zone = h("input", { id: "working-zone", type: "text", list: "working-zones", autocomplete: "off", placeholder: "Europe/Berlin", "data-testid": "working-zone" });
  const dayBoxes = DAYS.map(([key, name]) =>
    h("input", { id: `working-day-${key}`, type: "checkbox", value: key, "aria-label": name, "data-testid": `working-day-${key}` }),
  );
  const days = h(
    "fieldset",
    { class: "working-days", "data-testid": "working-days" },
    h("legend", {}, "Days I work"),
    ...dayBoxes.map((box, i) => h("label", { class: "choice", for: box.id }, box, h("span", { "aria-hidden": "true" }, (DAYS[i]?.[1] ?? "").slice(0, 3)))),
  );
  const spans = h("input", {
    id: "working-spans",
    type: "text",
    placeholder: "09:00-12:00, 13:00-17:00",
    "aria-describedby": "working-spans-hint",
    "data-testid": "working-spans",
  });
  const daysOff = h("input", {
    id: "working-days-off",
    type: "text",
    placeholder: "2026-12-24, 2026-12-31",
    "aria-describedby": "working-days-off-hint",
    "data-testid": "working-days-off",
  });
  const now = h("p", { class: "muted", "data-testid": "working-now" });
  const save = h("button", { class: "button primary", type: "button", "data-testid": "working-hours-save" }, "Save working hours");

  const show = (view: WorkingHoursView) => {
    zone.value = view.timeZone;
    for (const box of dayBoxes) box.checked = view.days.includes(box.value);
    spans.value = view.spans;
    daysOff.value = view.daysOff.join(", ");
    now.textContent = `Your clock: ${view.localNow}${view.availability ? ` — ${view.availability}` : " — no working hours given"}`;
  };
  save.addEventListener("click", () => {
    save.disabled = true;
    report("Saving…", true);
    api
      .save({
      timeZone: zone.value.trim(),
      days: dayBoxes.filter((b) => b.checked).map((b) => b.value),
      spans: spans.value,
      daysOff: daysOff.value.split(/[\s,]+/).filter((d) => d !== ""),
    })
      .then((view) => {
        show(view);
        report(view.hasHours ? "Saved: people who write to you see your working hours." : "Saved: no working hours.", true);
      })
      .catch((error: unknown) => report(errorMessage(error), false))
      .finally(() => {
        save.disabled = false;
      });
  });
  api.load().then(show, (error: unknown) => report(errorMessage(error), false));

  const section = h(
    "section",
    { class: "card", "aria-labelledby": "working-hours-title", "data-testid": "working-hours" },
    h("h2", { id: "working-hours-title" }, "Working hours"),
    h("p", { class: "muted" }, "People who write to you see your local time and whether a respond-by falls in your hours."),
    now,
    h(
      "div",
      { class: "device-grid" },
      h("label", { for: "working-zone" }, "Time zone"),
      zone,
      h("label", { for: "working-spans" }, "Daily hours"),
      h("div", {}, spans, h("p", { id: "working-spans-hint", class: "muted" }, "24-hour times; several spans separated by commas.")),
      h("label", { for: "working-days-off" }, "Days off"),
      h("div", {}, daysOff, h("p", { id: "working-days-off-hint", class: "muted" }, "Dates as YYYY-MM-DD, separated by commas.")),
    ),
    days,
    zones,
    h("div", { class: "row" }, save),
    result,
  );
  return section;
}
