import { describe, expect, it } from "vitest";
import type { WorkingHoursForm, WorkingHoursView } from "../api";
import { workingHoursSection, type WorkingHoursApi } from "./working_hours";

const tokyo: WorkingHoursView = {
  timeZone: "Asia/Tokyo",
  hasHours: true,
  days: ["mon", "tue", "wed", "thu", "fri"],
  spans: "10:00-18:00",
  daysOff: ["2026-12-24"],
  localNow: "Wed 2 Dec 14:00",
  availability: "working now, until 18:00",
};

/** Records what the section sent; `refusal` makes Save fail as the shell does. */
function fakeApi(initial: WorkingHoursView, refusal: string | null = null) {
  const sent: WorkingHoursForm[] = [];
  const api: WorkingHoursApi = {
    load: () => Promise.resolve(initial),
    save: (form) => {
      sent.push(form);
      return refusal ? Promise.reject({ message: refusal }) : Promise.resolve({ ...initial, ...form, hasHours: form.days.length > 0 });
    },
  };
  return { api, sent };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const field = (el: HTMLElement, testid: string) => el.querySelector<HTMLInputElement>(`[data-testid=${testid}]`)!;

describe("working hours in Settings", () => {
  it("shows my hours and sends what was typed and ticked", async () => {
    const { api, sent } = fakeApi(tokyo);
    const el = workingHoursSection(api);
    document.body.append(el);
    await settle();
    expect(field(el, "working-zone").value).toBe("Asia/Tokyo");
    expect(field(el, "working-day-fri").checked).toBe(true);
    expect(field(el, "working-day-sat").checked).toBe(false);
    expect(field(el, "working-now").textContent).toBe("Your clock: Wed 2 Dec 14:00 — working now, until 18:00");

    field(el, "working-day-fri").checked = false;
    field(el, "working-spans").value = "09:00-12:00, 13:00-17:00";
    field(el, "working-days-off").value = "2026-12-24, 2026-12-31 ";
    field(el, "working-hours-save").click();
    await settle();
    expect(sent).toEqual([
      { timeZone: "Asia/Tokyo", days: ["mon", "tue", "wed", "thu"], spans: "09:00-12:00, 13:00-17:00", daysOff: ["2026-12-24", "2026-12-31"] },
    ]);
    expect(field(el, "working-hours-feedback").textContent).toBe("Saved: people who write to you see your working hours.");
    el.remove();
  });

  it("shows a refusal as its one sentence", async () => {
    const { api } = fakeApi(tokyo, "working_hours.spans: 18:00-10:00 ends before it starts; nothing was saved");
    const el = workingHoursSection(api);
    await settle();
    field(el, "working-hours-save").click();
    await settle();
    const feedback = field(el, "working-hours-feedback");
    expect(feedback.textContent).toBe("working_hours.spans: 18:00-10:00 ends before it starts; nothing was saved");
    expect(feedback.classList.contains("error")).toBe(true);
  });

  it("labels every control", () => {
    const el = workingHoursSection(fakeApi(tokyo).api);
    for (const input of el.querySelectorAll("input")) {
      const labelled = input.getAttribute("aria-label") || el.querySelector(`label[for="${input.id}"]`);
      expect(labelled, input.id).toBeTruthy();
    }
  });
});
