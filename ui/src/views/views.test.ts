import { describe, expect, it, vi } from "vitest";
import { inboxView } from "./inbox";
import { recordView } from "./record";

describe("inbox view", () => {
  it("shows the empty state and a Record button that starts recording", () => {
    const onRecord = vi.fn();
    const view = inboxView(onRecord);
    expect(view.querySelector("[data-testid=inbox-empty]")?.textContent).toContain("Nothing waiting for you");
    const button = view.querySelector<HTMLButtonElement>("[data-testid=record-button]");
    expect(button?.textContent).toBe("Record");
    button?.click();
    expect(onRecord).toHaveBeenCalledOnce();
  });
});

describe("record view", () => {
  it("says how a quick record was opened", () => {
    const view = recordView("tray-menu", "Ctrl+Shift+Alt+R", () => {});
    expect(view.querySelector("#record-title")?.textContent).toBe("Quick record");
    expect(view.querySelector("[data-testid=record-origin]")?.textContent).toContain("tray menu");
  });

  it("has no origin note when opened with the Record button", () => {
    const view = recordView("button", null, () => {});
    expect(view.querySelector("#record-title")?.textContent).toBe("Record a message");
    expect(view.querySelector("[data-testid=record-origin]")).toBeNull();
  });

  it("goes back to the inbox", () => {
    const onBack = vi.fn();
    recordView("button", null, onBack).querySelector<HTMLButtonElement>("[data-testid=back-to-inbox]")?.click();
    expect(onBack).toHaveBeenCalledOnce();
  });
});
