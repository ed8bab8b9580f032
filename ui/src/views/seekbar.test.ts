import { describe, expect, it, vi } from "vitest";
import type { ChapterView, MarkerView } from "../api";
import { chapterAt, describePosition, fractionOf, seekBar } from "./seekbar";

const CHAPTERS: ChapterView[] = [
  { index: 0, number: 1, startMs: 0, title: "Budget", at: "0:00" },
  { index: 1, number: 2, startMs: 14_200, title: "Hiring", at: "0:14.2" },
  { index: 2, number: 3, startMs: 60_000, title: "Q3", at: "1:00" },
];

const MARKERS: MarkerView[] = [
  { id: "c1", atMs: 3_000, label: "Comment by bob at 0:03: which quarter is this?" },
  { id: "c2", atMs: 45_000, label: "Comment by carol at 0:45" },
];

const q = <T extends HTMLElement>(el: HTMLElement, selector: string) => [...el.querySelectorAll<T>(selector)];

describe("seek bar positions", () => {
  it("places a moment on the clip's length, clamped, and nowhere while the length is unknown", () => {
    expect(fractionOf(3_000, 120)).toBeCloseTo(0.025);
    expect(fractionOf(0, 120)).toBe(0);
    expect(fractionOf(200_000, 120)).toBe(1);
    expect(fractionOf(-5, 120)).toBe(0);
    expect(fractionOf(3_000, 0)).toBeNull();
    expect(fractionOf(3_000, Number.NaN)).toBeNull();
  });

  it("finds the chapter playing at a moment", () => {
    expect(chapterAt(CHAPTERS, 0)).toBe(0);
    expect(chapterAt(CHAPTERS, 14_199)).toBe(0);
    expect(chapterAt(CHAPTERS, 14_200)).toBe(1);
    expect(chapterAt(CHAPTERS, 90_000)).toBe(2);
    expect(chapterAt(CHAPTERS.slice(1), 1_000)).toBe(-1);
    expect(chapterAt([], 1_000)).toBe(-1);
  });

  it("tells a screen reader the position and the chapter", () => {
    expect(describePosition(20, 120, CHAPTERS)).toBe("0:20 of 2:00, chapter 2: Hiring");
    expect(describePosition(20, 0, [])).toBe("0:20");
  });
});

describe("seek bar", () => {
  it("ticks each chapter after the first and places it once the length is known", () => {
    const bar = seekBar({ seek: vi.fn() });
    bar.setChapters(CHAPTERS);
    const ticks = q(bar.el, "[data-testid=chapter-tick]");
    expect(ticks.map((t) => t.dataset.atMs)).toEqual(["14200", "60000"]);
    expect(ticks.every((t) => t.hidden)).toBe(true);
    expect(ticks[0]?.title).toBe("2. Hiring (0:14.2)");

    bar.show(0, 120);
    expect(ticks.map((t) => t.hidden)).toEqual([false, false]);
    expect(ticks.map((t) => t.style.left)).toEqual(["11.833%", "50%"]);
    expect(bar.range.max).toBe("120");
    expect(bar.range.getAttribute("aria-valuetext")).toBe("0:00 of 2:00, chapter 1: Budget");
  });

  it("shows each comment as a labelled button that seeks to its moment", () => {
    const seek = vi.fn();
    const bar = seekBar({ seek });
    bar.show(0, 60);
    bar.setMarkers(MARKERS);
    const markers = q<HTMLButtonElement>(bar.el, "[data-testid=comment-marker]");
    expect(markers.map((m) => m.getAttribute("aria-label"))).toEqual(MARKERS.map((m) => m.label));
    expect(markers.every((m) => m.tagName === "BUTTON" && m.type === "button")).toBe(true);
    expect(markers.map((m) => m.style.left)).toEqual(["5%", "75%"]);

    markers[0]?.click();
    expect(seek).toHaveBeenCalledWith(3_000);
    // A button: Enter and Space click it, so the keyboard seeks the same way.
    markers[1]?.dispatchEvent(new MouseEvent("click"));
    expect(seek).toHaveBeenLastCalledWith(45_000);
  });

  it("keeps the focus on a marker drawn anew", () => {
    const bar = seekBar({ seek: vi.fn() });
    document.body.append(bar.el);
    bar.show(0, 60);
    bar.setMarkers(MARKERS);
    const second = q<HTMLButtonElement>(bar.el, "[data-testid=comment-marker]")[1]!;
    second.focus();
    bar.setMarkers([...MARKERS, { id: "c3", atMs: 50_000, label: "Comment by dan at 0:50" }]);
    const again = q<HTMLButtonElement>(bar.el, "[data-testid=comment-marker]");
    expect(again).toHaveLength(3);
    expect(document.activeElement).toBe(again[1]);
    expect(again[1]).not.toBe(second);
    bar.el.remove();
  });

  it("hides the comments' row without comments and seeks from the slider", () => {
    const seek = vi.fn();
    const bar = seekBar({ seek });
    bar.setMarkers([]);
    expect(bar.el.querySelector<HTMLElement>("[data-testid=comment-markers]")?.hidden).toBe(true);
    bar.show(0, 30);
    bar.range.value = "12.5";
    bar.range.dispatchEvent(new Event("input"));
    expect(seek).toHaveBeenCalledWith(12_500);
  });
});
