// The sidebar's search: a box in the sidebar and the results screen. Matching,
// ranking, snippets and the moment ("at 0:03") come from Rust; this only shows
// them, the matched words as <mark> text (never markup from data).

import type { SearchHitView, SnippetPart } from "../api";
import { h } from "../dom";
import { screen, type Screen } from "./screen";

export interface SearchActions {
  /** Opens the message, at `atMs` when the words are spoken in its clip. */
  open(id: string, atMs: number | null): void;
}

/** How long typing pauses before the results follow it. */
const TYPING_PAUSE_MS = 300;

/**
 * The search box at the top of the sidebar: Enter searches (`live` false); a pause
 * in typing searches too (`live` true), so the results follow the words.
 */
export function searchBox(initial: string, search: (words: string, live: boolean) => void): HTMLFormElement {
  const input = h("input", {
    type: "search",
    class: "sidebar-search-input",
    placeholder: "Search",
    "aria-label": "Search messages, notes, attachments and what was said",
    autocomplete: "off",
    spellcheck: "false",
    value: initial,
    "data-testid": "sidebar-search",
  });
  const form = h("form", { class: "sidebar-search", role: "search" }, input);
  let timer: number | undefined;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    window.clearTimeout(timer);
    search(input.value.trim(), false);
  });
  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => search(input.value.trim(), true), TYPING_PAUSE_MS);
  });
  return form;
}

/** A snippet as text with its matched words marked. */
export function snippet(parts: SnippetPart[]): HTMLElement {
  return h(
    "p",
    { class: "search-snippet", "data-testid": "search-snippet" },
    ...parts.map((part) => (part.hit ? h("mark", {}, part.text) : part.text)),
  );
}

function where(hit: SearchHitView): string {
  return hit.atText ? `${hit.fieldLabel} at ${hit.atText}` : hit.fieldLabel;
}

function result(hit: SearchHitView, actions: SearchActions): HTMLElement {
  const label = `${hit.subject}, from ${hit.mine ? "you" : hit.sender}, ${where(hit)}`;
  return h(
    "li",
    {},
    h(
      "button",
      {
        type: "button",
        class: "search-hit",
        "aria-label": label,
        "data-testid": "search-hit",
        "data-field": hit.field,
        onclick: () => actions.open(hit.id, hit.atMs),
      },
      h(
        "span",
        { class: "search-hit-top" },
        h("strong", { class: "search-hit-subject", "data-testid": "search-hit-subject" }, hit.subject),
        h("span", { class: "search-hit-sender" }, hit.mine ? "You" : hit.sender),
      ),
      h("span", { class: "search-hit-where", "data-testid": "search-hit-where" }, where(hit)),
      snippet(hit.snippet),
    ),
  );
}

/** The results of a search, best first; each opens its message (at the moment). */
export function searchView(words: string, hits: SearchHitView[], actions: SearchActions): Screen {
  const count = hits.length === 1 ? "1 result" : `${hits.length} results`;
  const root = screen("search", "Search", words ? `${count} for “${words}”` : null);
  if (!words) {
    root.append(
      h(
        "p",
        { class: "empty", "data-testid": "search-empty" },
        "Type words in the search box to find them in subjects, notes, senders, attachment names and in what was said in the clips.",
      ),
    );
  } else if (hits.length === 0) {
    root.append(
      h("p", { class: "empty", "data-testid": "search-empty" }, `Nothing matches “${words}”. Try fewer or other words.`),
    );
  } else {
    root.append(h("ul", { class: "search-results", "data-testid": "search-results" }, ...hits.map((hit) => result(hit, actions))));
  }
  return { el: root };
}
