import { describe, expect, it } from "vitest";
import type { QuietView } from "../api";
import { quietSection, type QuietApi } from "./quiet";

const flush = () => new Promise((r) => setTimeout(r, 0));

function fake(start: QuietView): { api: QuietApi; asked: (number | null)[] } {
  const asked: (number | null)[] = [];
  let now = start;
  return {
    asked,
    api: {
      load: () => Promise.resolve(now),
      set: (minutes) => {
        asked.push(minutes);
        now = minutes === null
          ? { ...now, holds: false, text: null, doNotDisturb: false }
          : { ...now, holds: true, text: "Do not disturb until Tue 12:00", doNotDisturb: true };
        return Promise.resolve(now);
      },
    },
  };
}

describe("Settings › Quiet hours", () => {
  it("says whether notifications wait, and switches do not disturb on and off", async () => {
    const { api, asked } = fake({ holds: false, text: null, doNotDisturb: false, knowsMyHours: true });
    const section = quietSection(api);
    document.body.append(section);
    await flush();
    expect(section.querySelector("[data-testid=quiet-state]")?.textContent).toMatch(/^Notifications reach you now\. Outside your working hours/);
    section.querySelector<HTMLSelectElement>("[data-testid=dnd-length]")!.value = "240";
    section.querySelector<HTMLButtonElement>("[data-testid=dnd-on]")?.click();
    await flush();
    expect(asked).toEqual([240]);
    expect(section.querySelector("[data-testid=quiet-state]")?.textContent).toBe("Do not disturb until Tue 12:00");
    expect(section.querySelector("[data-testid=quiet-feedback]")?.textContent).toBe("Do not disturb is on.");
    section.querySelector<HTMLButtonElement>("[data-testid=dnd-off]")?.click();
    await flush();
    expect(asked).toEqual([240, null]);
    expect(section.querySelector("[data-testid=dnd-on]")).not.toBeNull();
    section.remove();
  });

  it("without my working hours it says how to get quiet hours", async () => {
    const { api } = fake({ holds: false, text: null, doNotDisturb: false, knowsMyHours: false });
    const section = quietSection(api);
    await flush();
    expect(section.querySelector("[data-testid=quiet-state]")?.textContent).toContain("Give your working hours above");
  });
});
