// "Next item" while recording: one control for the Record screen and the small
// recorder window (the button, the N key, and the chapter being recorded).

import { errorMessage, nextChapter, onRecordingChapter, type ChapterMark } from "../api";
import { h, mount } from "../dom";
import { problem } from "./screen";

/** What "Next item" needs from the shell; the tests give a stand-in. */
export interface NextItemApi {
  next(): Promise<ChapterMark>;
  onChapter(handler: (chapter: ChapterMark) => void): Promise<() => void>;
}

const shellApi: NextItemApi = { next: nextChapter, onChapter: onRecordingChapter };

/** The "Next item" button, the chapter being recorded, and the N key that presses the button. */
export interface NextItem {
  button: HTMLButtonElement;
  /** "Item 2 of 3: Hiring", announced to screen readers as it changes. */
  line: HTMLElement;
  show(chapter: ChapterMark | null): void;
  dispose(): void;
}

/** Whether a key press belongs to a text field (N is then a letter, not "Next item"). */
export function typingIn(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) return !["button", "checkbox", "radio", "range", "submit", "reset"].includes(target.type);
  return false;
}

/**
 * "Next item" while recording, for the Record screen and the small recorder window:
 * the button, and N anywhere in the window when no text field has the focus (no global
 * shortcut: it works in the window that has the focus). `recording()` says whether
 * the recorder runs; `feedback` shows why a mark was refused. The chapter line follows
 * marks made in any window.
 */
export function nextItem(prefix: string, feedback: HTMLElement, recording: () => boolean, api: NextItemApi = shellApi): NextItem {
  const line = h("p", { class: "chapter-now", "aria-live": "polite", "data-testid": `${prefix}-chapter` });
  const button = h(
    "button",
    {
      type: "button",
      class: "button",
      "aria-keyshortcuts": "N",
      title: "Start the next agenda item (N)",
      "data-testid": `${prefix}-next`,
      onclick: () => void press(),
    },
    "Next item",
  );
  let pending = false;
  const show = (chapter: ChapterMark | null) => {
    line.textContent = chapter ? chapter.label : "";
    line.dataset.number = chapter ? String(chapter.number) : "";
  };
  async function press(): Promise<void> {
    if (pending || !recording()) return;
    pending = true;
    try {
      show(await api.next());
      mount(feedback);
    } catch (error) {
      mount(feedback, problem(errorMessage(error), `${prefix}-next-error`));
    } finally {
      pending = false;
    }
  }
  const onKey = (event: KeyboardEvent) => {
    if (event.key !== "n" && event.key !== "N") return;
    if (event.ctrlKey || event.altKey || event.metaKey || event.repeat || typingIn(event.target)) return;
    if (!recording()) return;
    event.preventDefault();
    void press();
  };
  document.addEventListener("keydown", onKey);
  const unlisten = api.onChapter(show);
  return {
    button,
    line,
    show,
    dispose: () => {
      document.removeEventListener("keydown", onKey);
      void unlisten.then((stop) => stop()).catch(() => {});
    },
  };
}
