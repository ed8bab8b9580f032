import { describe, expect, it, vi } from "vitest";
import type { SearchHitView } from "../api";
import { searchBox, searchView } from "./search";

function hit(extra: Partial<SearchHitView> = {}): SearchHitView {
  return {
    id: "m1",
    mine: false,
    subject: "Budget review",
    sender: "alice",
    sentAt: "2026-12-01T10:00:00Z",
    field: "transcript",
    fieldLabel: "Transcript",
    atMs: 3200,
    atText: "0:03",
    snippet: [
      { text: "so the ", hit: false },
      { text: "budget", hit: true },
      { text: " is ready", hit: false },
    ],
    ...extra,
  };
}

describe("search results", () => {
  it("lists subject, sender, where the words are and the snippet with the matched words marked", () => {
    const view = searchView("budget", [hit(), hit({ id: "m2", field: "subject", fieldLabel: "Subject", atMs: null, atText: null, mine: true })], {
      open: vi.fn(),
    });
    expect(view.el.querySelector("header")?.textContent).toContain("2 results for “budget”");
    const hits = [...view.el.querySelectorAll<HTMLButtonElement>("[data-testid=search-hit]")];
    expect(hits).toHaveLength(2);
    expect(hits[0]?.querySelector("[data-testid=search-hit-subject]")?.textContent).toBe("Budget review");
    expect(hits[0]?.querySelector("[data-testid=search-hit-where]")?.textContent).toBe("Transcript at 0:03");
    expect(hits[0]?.getAttribute("aria-label")).toBe("Budget review, from alice, Transcript at 0:03");
    expect(hits[1]?.querySelector("[data-testid=search-hit-where]")?.textContent).toBe("Subject");
    expect(hits[1]?.textContent).toContain("You");
    const marks = [...(hits[0]?.querySelectorAll("mark") ?? [])].map((m) => m.textContent);
    expect(marks).toEqual(["budget"]);
    expect(hits[0]?.querySelector("[data-testid=search-snippet]")?.textContent).toBe("so the budget is ready");
  });

  it("opens the message at the moment the words are spoken, or at the start", () => {
    const open = vi.fn();
    const view = searchView("budget", [hit(), hit({ id: "m2", atMs: null, atText: null, field: "note", fieldLabel: "Note" })], { open });
    const [first, second] = view.el.querySelectorAll<HTMLButtonElement>("[data-testid=search-hit]");
    first?.click();
    second?.click();
    expect(open.mock.calls).toEqual([
      ["m1", 3200],
      ["m2", null],
    ]);
  });

  it("shows markup in the data as text, never as elements", () => {
    const view = searchView("x", [hit({ subject: "<b>bold</b>", snippet: [{ text: "<img src=x onerror=alert(1)>", hit: true }] })], { open: vi.fn() });
    expect(view.el.querySelector("img")).toBeNull();
    expect(view.el.querySelector("b")).toBeNull();
    expect(view.el.querySelector("mark")?.textContent).toBe("<img src=x onerror=alert(1)>");
    expect(view.el.querySelector("[data-testid=search-hit-subject]")?.textContent).toBe("<b>bold</b>");
  });

  it("says when nothing matches and what to do without words", () => {
    expect(searchView("zebra", [], { open: vi.fn() }).el.querySelector("[data-testid=search-empty]")?.textContent).toContain(
      "Nothing matches “zebra”",
    );
    expect(searchView("", [], { open: vi.fn() }).el.querySelector("[data-testid=search-empty]")?.textContent).toContain("Type words");
  });
});

describe("sidebar search box", () => {
  it("searches the trimmed words on Enter, and again after a pause in typing", () => {
    vi.useFakeTimers();
    try {
      const search = vi.fn();
      const form = searchBox("", search);
      document.body.append(form);
      const input = form.querySelector("input");
      if (!input) throw new Error("no input");
      input.value = "  budget ";
      form.dispatchEvent(new Event("submit", { cancelable: true }));
      expect(search).toHaveBeenLastCalledWith("budget", false);
      input.value = "budget plan";
      input.dispatchEvent(new Event("input"));
      expect(search).toHaveBeenCalledTimes(1);
      vi.advanceTimersByTime(350);
      expect(search).toHaveBeenLastCalledWith("budget plan", true);
      form.remove();
    } finally {
      vi.useRealTimers();
    }
  });
});
