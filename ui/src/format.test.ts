import { describe, expect, it } from "vitest";
import { fileKind, formatBytes, formatDuration, formatLevel, groupBySection, levelPercent, toLocalInput } from "./format";

describe("sizes and lengths", () => {
  it("formats bytes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(25 * 1024 * 1024)).toBe("25 MB");
  });
  it("formats durations", () => {
    expect(formatDuration(5.2)).toBe("0:05");
    expect(formatDuration(75.4)).toBe("1:15");
    expect(formatDuration(3700)).toBe("1:01:40");
  });
  it("names file kinds", () => {
    expect(fileKind("application/pdf", "agenda.pdf")).toBe("PDF");
    expect(fileKind("application/octet-stream", "notes.key")).toBe("KEY");
    expect(fileKind("application/octet-stream", "README")).toBe("FILE");
  });
  it("writes datetime-local values on the local clock", () => {
    expect(toLocalInput(new Date(2026, 11, 1, 17, 5))).toBe("2026-12-01T17:05");
  });
});

describe("groupBySection", () => {
  it("keeps the given order and starts a group at each change", () => {
    const items = [
      { id: 1, s: "open" as const },
      { id: 2, s: "open" as const },
      { id: 3, s: "overdue" as const },
      { id: 4, s: "answered" as const },
    ];
    const groups = groupBySection(items, (i) => i.s);
    expect(groups.map((g) => [g.section, g.items.map((i) => i.id)])).toEqual([
      ["open", [1, 2]],
      ["overdue", [3]],
      ["answered", [4]],
    ]);
  });
});

describe("mix levels", () => {
  it("shows gains as whole percents within the sliders' range", () => {
    expect(levelPercent(1)).toBe(100);
    expect(levelPercent(0.254)).toBe(25);
    expect(levelPercent(0)).toBe(0);
    expect(levelPercent(4)).toBe(200);
    expect(levelPercent(-1)).toBe(0);
    expect(formatLevel(1.5)).toBe("150 %");
    expect(formatLevel(0)).toBe("0 %");
  });
});
