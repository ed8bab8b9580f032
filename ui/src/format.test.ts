import { describe, expect, it } from "vitest";
import { dueUrgency, fileKind, formatBytes, formatDue, formatDuration, groupBySection, toLocalInput } from "./format";

const now = new Date("2026-11-24T12:00:00Z");

describe("formatDue", () => {
  it("speaks in minutes, hours and days like the CLI", () => {
    expect(formatDue("2026-11-24T12:45:00Z", now)).toBe("due in 45 min");
    expect(formatDue("2026-11-24T15:30:00Z", now)).toBe("due in 3 h");
    expect(formatDue("2026-11-25T18:00:00Z", now)).toBe("due in 30 h");
    expect(formatDue("2026-11-28T12:00:00Z", now)).toBe("due in 4 d");
    expect(formatDue("2026-11-24T12:00:30Z", now)).toBe("due now");
    expect(formatDue("2026-11-22T11:00:00Z", now)).toBe("overdue by 2 d");
    expect(formatDue("2026-11-24T11:50:00Z", now)).toBe("overdue by 10 min");
  });

  it("marks overdue and soon", () => {
    expect(dueUrgency("2026-11-24T11:00:00Z", now)).toBe("overdue");
    expect(dueUrgency("2026-11-24T13:00:00Z", now)).toBe("soon");
    expect(dueUrgency("2026-11-25T13:00:00Z", now)).toBe("later");
  });
});

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
