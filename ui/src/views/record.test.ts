import { afterEach, describe, expect, it, vi } from "vitest";
import type { RecordingView } from "../api";

// The Record screen against a stand-in shell: the agenda each recording starts with is recorded.
const shell = vi.hoisted(() => ({ agendas: [] as (string | null)[] }));

vi.mock("../api", async (original) => {
  const never = () => new Promise<never>(() => {});
  const started: RecordingView = { draftId: "d7", maxMs: 300_000, bubbleCorner: null, screen: true, levels: null, chapter: null };
  return {
    ...(await original<typeof import("../api")>()),
    startRecording: (agenda: string | null) => {
      shell.agendas.push(agenda);
      return Promise.resolve(started);
    },
    currentRecording: () => Promise.resolve(null),
    onRecordingChanged: () => Promise.resolve(() => {}),
    onRecordingChapter: () => Promise.resolve(() => {}),
    devices: never,
    recordingLayout: never,
    listScreens: never,
  };
});

const { recordView } = await import("./record");

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe("the Record screen's agenda", () => {
  afterEach(() => {
    vi.useRealTimers();
    shell.agendas.length = 0;
  });

  it("starts from the agenda kept for a new take and tells which draft was recorded along it", async () => {
    vi.useFakeTimers();
    const actions = { back: vi.fn(), recorded: vi.fn(), started: vi.fn() };
    const view = recordView("button", null, null, actions, "Budget\nHiring\nQ3");
    document.body.replaceChildren(view.el);
    const agenda = document.querySelector<HTMLTextAreaElement>("[data-testid=agenda-input]");
    expect(agenda?.value).toBe("Budget\nHiring\nQ3");
    expect(document.querySelector("label[for=agenda]")?.textContent).toBe("Agenda (optional)");

    // Edited before recording: the take follows what is typed now.
    if (agenda) agenda.value = "Budget, Hiring";
    document.querySelector<HTMLButtonElement>("[data-testid=record-start]")?.click();
    await vi.advanceTimersByTimeAsync(3000);
    await settle();
    expect(shell.agendas).toEqual(["Budget, Hiring"]);
    expect(actions.started).toHaveBeenCalledWith("d7", "Budget, Hiring");
    view.dispose?.();
  });

  it("starts empty for a new message", () => {
    const view = recordView("button", null, null, { back: vi.fn(), recorded: vi.fn() });
    document.body.replaceChildren(view.el);
    expect(document.querySelector<HTMLTextAreaElement>("[data-testid=agenda-input]")?.value).toBe("");
    view.dispose?.();
  });
});
