import { describe, expect, it } from "vitest";
import type { DueView, ExtensionView, MoreTimeView } from "../api";
import { moreTimePanel, type MoreTimeApi } from "./more_time";

const due: DueView = { at: "2026-12-03T16:00:00Z", local: "Thu 3 Dec 2026, 17:00 CET", section: "open", urgency: "later", relative: "due in 3 h" };

const asked: ExtensionView = {
  request: "r1",
  recipient: "bob",
  mine: true,
  askedAt: "Wed 2 Dec 2026, 10:00 CET",
  proposedAt: "2026-12-04T11:00:00Z",
  proposed: "Fri 4 Dec 2026, 12:00 CET",
  note: "travelling",
  state: "asked",
  decisionNote: null,
  summary: "You asked for more time until Fri 4 Dec 2026, 12:00 CET",
};

const bobsSide = (extra: Partial<MoreTimeView> = {}): MoreTimeView => ({
  message: "m1",
  mine: false,
  myDeadline: due,
  cannotAsk: null,
  suggested: "2026-12-04T17:00",
  closed: null,
  extensions: [],
  ...extra,
});

const alicesSide = (extensions: ExtensionView[]): MoreTimeView => ({
  message: "m1",
  mine: true,
  myDeadline: null,
  cannotAsk: null,
  suggested: null,
  closed: null,
  extensions: extensions.map((e) => ({ ...e, mine: false, summary: "bob asks for more time until Fri 4 Dec 2026, 12:00 CET" })),
});

function fakeApi(initial: MoreTimeView, refusal: string | null = null) {
  let current = initial;
  const asks: [string, string, string][] = [];
  const answers: [string, boolean, string][] = [];
  const api: MoreTimeApi = {
    load: () => Promise.resolve(current),
    ask: (id, until, note) => {
      asks.push([id, until, note]);
      if (refusal) return Promise.reject({ message: refusal });
      current = { ...current, cannotAsk: "Your request waits for alice's answer.", extensions: [asked] };
      return Promise.resolve(current);
    },
    answer: (_, request, granted, note) => {
      answers.push([request, granted, note]);
      current = { ...current, extensions: current.extensions.map((e) => ({ ...e, state: granted ? "granted" : "declined", decisionNote: note || null })) };
      return Promise.resolve(current);
    },
  };
  return { api, asks, answers };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const q = <T extends HTMLElement = HTMLElement>(el: Element, testid: string) => el.querySelector<T>(`[data-testid=${testid}]`);

describe("more time, for a recipient", () => {
  it("shows my deadline and asks for a proposed time with a note", async () => {
    const fake = fakeApi(bobsSide());
    const panel = moreTimePanel("m1", fake.api);
    // A form submits only from the page.
    document.body.append(panel.el);
    await panel.refresh();
    expect(panel.el.hidden).toBe(false);
    expect(q(panel.el, "more-time-deadline")?.textContent).toBe("Your deadline: Thu 3 Dec 2026, 17:00 CET (due in 3 h)");
    expect(q(panel.el, "more-time-form")?.hidden).toBe(true);
    q(panel.el, "more-time-ask")!.click();
    expect(q(panel.el, "more-time-form")?.hidden).toBe(false);
    const until = q<HTMLInputElement>(panel.el, "more-time-until")!;
    expect(until.value).toBe("2026-12-04T17:00");
    until.value = "2026-12-04T12:00";
    q<HTMLInputElement>(panel.el, "more-time-note")!.value = " travelling ";
    q(panel.el, "more-time-send")!.click();
    await settle();
    expect(fake.asks).toEqual([["m1", "2026-12-04T12:00", "travelling"]]);
    expect(q(panel.el, "more-time-feedback")?.textContent).toBe("Asked for more time.");
    const line = q(panel.el, "extension")!;
    expect(line.dataset.state).toBe("asked");
    expect(line.textContent).toContain("You asked for more time until Fri 4 Dec 2026, 12:00 CET");
    expect(line.textContent).toContain("waiting for an answer");
    // One request at a time: the form is gone, and why is said.
    expect(q(panel.el, "more-time-ask")).toBeNull();
    expect(q(panel.el, "more-time-cannot")?.textContent).toBe("Your request waits for alice's answer.");
  });

  it("shows a refusal as its one sentence", async () => {
    const fake = fakeApi(bobsSide(), "the time asked for must be after your deadline (Thu 3 Dec 2026, 17:00 CET): choose a later one");
    const panel = moreTimePanel("m1", fake.api);
    document.body.append(panel.el);
    await panel.refresh();
    q(panel.el, "more-time-ask")!.click();
    q(panel.el, "more-time-send")!.click();
    await settle();
    const feedback = q(panel.el, "more-time-feedback")!;
    expect(feedback.textContent).toBe("the time asked for must be after your deadline (Thu 3 Dec 2026, 17:00 CET): choose a later one");
    expect(feedback.getAttribute("role")).toBe("alert");
  });

  it("says when the meeting is closed, and offers no request", async () => {
    const panel = moreTimePanel("m1", fakeApi(bobsSide({ closed: "alice closed this meeting.", cannotAsk: "alice closed this meeting." })).api);
    await panel.refresh();
    expect(q(panel.el, "more-time-closed")?.textContent).toBe("alice closed this meeting.");
    expect(q(panel.el, "more-time-ask")).toBeNull();
  });

  it("labels every field", async () => {
    const panel = moreTimePanel("m1", fakeApi(bobsSide()).api);
    await panel.refresh();
    for (const input of panel.el.querySelectorAll("input")) {
      const labelled = input.getAttribute("aria-label") || panel.el.querySelector(`label[for="${input.id}"]`);
      expect(labelled, input.id).toBeTruthy();
    }
  });
});

describe("more time, for the sender", () => {
  it("is hidden until someone asks", async () => {
    const panel = moreTimePanel("m1", fakeApi(alicesSide([])).api);
    await panel.refresh();
    expect(panel.el.hidden).toBe(true);
  });

  it("grants a pending request with a note, and shows the decision", async () => {
    const fake = fakeApi(alicesSide([asked]));
    const panel = moreTimePanel("m1", fake.api);
    await panel.refresh();
    expect(panel.el.hidden).toBe(false);
    expect(q(panel.el, "extension")?.textContent).toContain("bob asks for more time until Fri 4 Dec 2026, 12:00 CET");
    expect(q(panel.el, "extension")?.textContent).toContain("“travelling”");
    expect(q(panel.el, "extension-answer-note")?.getAttribute("aria-label")).toBe("A note to bob");
    q<HTMLInputElement>(panel.el, "extension-answer-note")!.value = "fine, safe travels";
    q(panel.el, "extension-grant")!.click();
    await settle();
    expect(fake.answers).toEqual([["r1", true, "fine, safe travels"]]);
    expect(q(panel.el, "extension")?.dataset.state).toBe("granted");
    expect(q(panel.el, "extension-decision-note")?.textContent).toBe("“fine, safe travels”");
    expect(q(panel.el, "extension-grant")).toBeNull();
    expect(q(panel.el, "more-time-feedback")?.textContent).toBe("Gave bob more time.");
  });

  it("declines a pending request", async () => {
    const fake = fakeApi(alicesSide([asked]));
    const panel = moreTimePanel("m1", fake.api);
    await panel.refresh();
    q(panel.el, "extension-decline")!.click();
    await settle();
    expect(fake.answers).toEqual([["r1", false, ""]]);
    expect(q(panel.el, "extension")?.dataset.state).toBe("declined");
    expect(q(panel.el, "more-time-feedback")?.textContent).toBe("Declined bob's request.");
  });
});
