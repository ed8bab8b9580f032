import { describe, expect, it, vi } from "vitest";
import type { ChapterMark } from "../api";
import { nextItem, typingIn, type NextItemApi } from "./next_item";

function mark(number: number, title: string, label: string): ChapterMark {
  return { number, title, startMs: number * 2000, at: `0:0${number * 2}`, label };
}

/** A stand-in for the shell that answers each "next" with the following mark, or refuses. */
function fakeApi(answers: (ChapterMark | Error)[]) {
  let onChapter: ((c: ChapterMark) => void) | null = null;
  const api: NextItemApi = {
    next: vi.fn(() => {
      const answer = answers.shift();
      return answer instanceof Error || !answer ? Promise.reject({ message: answer?.message ?? "nothing left" }) : Promise.resolve(answer);
    }),
    onChapter: (handler) => {
      onChapter = handler;
      return Promise.resolve(() => (onChapter = null));
    },
  };
  return { api, emit: (c: ChapterMark) => onChapter?.(c) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function press(key: string, target: EventTarget = document.body, extra: KeyboardEventInit = {}): KeyboardEvent {
  const event = new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...extra });
  target.dispatchEvent(event);
  return event;
}

describe("Next item", () => {
  it("the button and the N key start the next chapter and show it", async () => {
    const { api } = fakeApi([mark(2, "Hiring", "Item 2 of 3: Hiring"), mark(3, "Q3", "Item 3 of 3: Q3")]);
    const feedback = document.createElement("div");
    const next = nextItem("record", feedback, () => true, api);
    document.body.append(next.line, next.button);
    expect(next.button.textContent).toBe("Next item");
    expect(next.button.getAttribute("aria-keyshortcuts")).toBe("N");
    expect(next.line.getAttribute("aria-live")).toBe("polite");

    next.button.click();
    await settle();
    expect(next.line.textContent).toBe("Item 2 of 3: Hiring");

    const event = press("n");
    expect(event.defaultPrevented).toBe(true);
    await settle();
    expect(next.line.textContent).toBe("Item 3 of 3: Q3");
    expect(api.next).toHaveBeenCalledTimes(2);
    next.dispose();
    next.line.remove();
    next.button.remove();
  });

  it("N is a letter in a text field, with a modifier, or when nothing records", async () => {
    const { api } = fakeApi([]);
    let recording = false;
    const next = nextItem("quick", document.createElement("div"), () => recording, api);
    press("n");
    recording = true;
    const field = document.createElement("textarea");
    document.body.append(field);
    expect(press("n", field).defaultPrevented).toBe(false);
    press("n", document.body, { ctrlKey: true });
    press("m");
    await settle();
    expect(api.next).not.toHaveBeenCalled();
    next.dispose();
    press("n");
    await settle();
    expect(api.next).not.toHaveBeenCalled();
    field.remove();
  });

  it("a refused mark says why, and marks from the other window show here", async () => {
    const { api, emit } = fakeApi([new Error("Chapter 1 at 0:00: Budget began just now: give the item a moment before marking the next one")]);
    const feedback = document.createElement("div");
    const next = nextItem("record", feedback, () => true, api);
    next.button.click();
    await settle();
    expect(feedback.querySelector("[role=alert]")?.textContent).toContain("give the item a moment");
    emit(mark(2, "Hiring", "Item 2 of 3: Hiring"));
    expect(next.line.textContent).toBe("Item 2 of 3: Hiring");
    expect(next.line.dataset.number).toBe("2");
    next.show(null);
    expect(next.line.textContent).toBe("");
    next.dispose();
  });

  it("knows which targets are text fields", () => {
    const input = (type: string) => Object.assign(document.createElement("input"), { type });
    expect(typingIn(input("text"))).toBe(true);
    expect(typingIn(input("checkbox"))).toBe(false);
    expect(typingIn(document.createElement("select"))).toBe(true);
    expect(typingIn(document.createElement("button"))).toBe(false);
    expect(typingIn(null)).toBe(false);
  });
});
