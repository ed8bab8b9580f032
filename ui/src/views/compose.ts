import {
  addDraftChapter,
  describeAttachments,
  discardDraft,
  draft as loadDraft,
  draftChapters,
  errorMessage,
  forgetProfiles,
  message as loadMessage,
  onFilesDropped,
  pickAttachments,
  recipientClocks,
  respondByAt,
  respondByChoices,
  sendMessage,
  setDraftChapters,
  users,
  type AttachmentView,
  type ChapterLine,
  type DraftView,
  type RecipientClockView,
  type RespondByChoice,
  type RespondByView,
  type SendView,
  type UserView,
} from "../api";
import { h, mount } from "../dom";
import { fileKind, formatBytes, formatDuration, toLocalInput } from "../format";
import { button, problem, screen, type Screen } from "./screen";
import { trimmer } from "./trim";

export interface ComposeActions {
  sent(result: SendView): void;
  rerecord(): void;
  cancel(): void;
}

/**
 * Compose: play back the clip, pick recipients, subject, text, attachments (dialog
 * or drag-and-drop) and a respond-by, edit the chapters marked while recording, ask
 * for an acknowledgement only, and Send. The clip's upload progress shows while the
 * user writes.
 */
export function composeView(draftId: string, replyTo: string | null, actions: ComposeActions): Screen {
  const root = screen(
    "compose",
    replyTo ? "Send your reply" : "Send your message",
    null,
    button("Re-record", "compose-rerecord", () => {
      discardDraft(draftId).then(actions.rerecord, (e: unknown) => mount(feedback, problem(errorMessage(e))));
    }),
    button("Keep as draft", "compose-cancel", actions.cancel),
  );
  const feedback = h("div", { "aria-live": "polite", "data-testid": "compose-feedback" });
  const video = h("video", { class: "playback", controls: true, preload: "metadata", "data-testid": "compose-video" });
  const upload = h("p", { class: "muted", role: "status", "data-testid": "upload-status" }, "Checking the upload…");
  const uploadBar = h("progress", { max: "1", value: "0", "aria-label": "Clip upload" });

  const recipients: string[] = [];
  let people: UserView[] = [];
  const chips = h("div", { class: "chips", "data-testid": "recipient-chips" });
  const peopleList = h("datalist", { id: "people" });
  const recipientInput = h("input", {
    id: "recipient",
    type: "text",
    list: "people",
    autocomplete: "off",
    placeholder: "Type a name and press Enter",
    "data-testid": "recipient-input",
  });
  const subject = h("input", { id: "subject", type: "text", maxlength: "200", "data-testid": "subject-input" });
  const text = h("textarea", { id: "text", rows: "3", maxlength: "4000", "data-testid": "text-input" });

  const attachments: AttachmentView[] = [];
  const attachmentList = h("ul", { class: "attachments", "data-testid": "attachment-list" });
  const dropZone = h(
    "div",
    { class: "drop-zone", "data-testid": "drop-zone" },
    h("p", { class: "muted" }, "Drop agenda documents anywhere on this window, or "),
    button("Add files…", "attach-button", () => {
      pickAttachments().then(addAttachments, (e: unknown) => mount(feedback, problem(errorMessage(e))));
    }),
  );

  let choices: RespondByView[] = [];
  // The default preset (24 h) is known once the choices load.
  let choice: RespondByChoice | null = null;
  const respondBox = h("div", { class: "respond-by", role: "radiogroup", "aria-label": "Respond by", "data-testid": "respond-by" });
  const custom = h("input", { id: "respond-at", type: "datetime-local", "data-testid": "respond-by-at" });
  const workingHours = h("input", {
    type: "number",
    min: "1",
    max: "200",
    value: "8",
    class: "hours-each",
    "aria-label": "Working hours each",
    "data-testid": "respond-by-hours-each",
  });
  const whenLine = h("p", { class: "muted", "data-testid": "respond-by-summary" });
  const sendButton = button("Send", "send-button", () => void send(), true);
  const acknowledgeOnly = h("input", { id: "acknowledge-only", type: "checkbox", "aria-describedby": "acknowledge-only-hint", "data-testid": "acknowledge-only" });

  // The chapters "Next item" marked; titles are edited (and chapters removed) here, saved at each change.
  let chapters: ChapterLine[] = [];
  const chapterList = h("ol", { class: "draft-chapters", "data-testid": "draft-chapter-list" });
  const chapterFeedback = h("div", { "aria-live": "polite" });
  const chapterNote = h("p", { class: "muted", "data-testid": "draft-chapters-note" });
  const chapterHeading = h("h2", { id: "draft-chapters-title", tabindex: "-1" }, "Chapters");
  const addChapter = h(
    "button",
    {
      type: "button",
      class: "button small",
      "aria-describedby": "draft-chapter-add-hint",
      "data-testid": "draft-chapter-add",
      onclick: () => void addChapterHere(),
    },
    "Add a chapter here",
  );
  const addHint = h("span", { id: "draft-chapter-add-hint", class: "muted" }, "Starts a chapter where the clip is now; then type its title.");
  interface ChapterRow {
    at: HTMLButtonElement;
    title: HTMLInputElement;
    remove: HTMLButtonElement;
  }
  let rows: ChapterRow[] = [];
  const edits = () => chapters.map((c, i) => ({ startMs: c.startMs, title: rows[i]?.title.value ?? c.title }));
  const chapterRow = (index: number): ChapterRow => ({
    at: h("button", { type: "button", class: "button small chapter-at", "data-testid": "draft-chapter-at", onclick: () => seek(chapters[index]?.startMs ?? 0) }),
    title: h("input", {
      type: "text",
      maxlength: "120",
      "data-testid": "draft-chapter-title",
      onchange: () => void saveChapters(edits()),
    }),
    remove: h(
      "button",
      {
        type: "button",
        class: "button small",
        "data-testid": "draft-chapter-remove",
        onclick: () => void saveChapters(edits().filter((_, i) => i !== index), index),
      },
      "Remove",
    ),
  });
  // Rows are rebuilt only when their number changes, so a save never takes the focus
  // (or what is being typed) away from the next title.
  const renderChapters = () => {
    chapterNote.textContent = chapters.length
      ? "Recipients see these on the seek bar and can answer one of them."
      : "No chapters: press “Next item” (or N) while recording to mark the agenda's items, or add them here.";
    if (rows.length !== chapters.length) {
      rows = chapters.map((_, i) => chapterRow(i));
      mount(chapterList, ...rows.map((r) => h("li", { class: "draft-chapter", "data-testid": "draft-chapter" }, r.at, r.title, r.remove)));
    }
    chapters.forEach((c, i) => {
      const row = rows[i];
      if (!row) return;
      row.at.textContent = c.at;
      row.at.setAttribute("aria-label", `Play from ${c.at}`);
      if (document.activeElement !== row.title) row.title.value = c.title;
      row.title.setAttribute("aria-label", `Title of chapter ${c.number}, at ${c.at}`);
      row.remove.setAttribute("aria-label", `Remove chapter ${c.number}, ${c.title}`);
    });
  };
  const showChapters = (lines: ChapterLine[]) => {
    chapters = lines;
    renderChapters();
  };
  /** Saves the edited chapters; after a removal (of the `removed`th) the focus goes to the row now in its place. */
  async function saveChapters(edited: { startMs: number; title: string }[], removed: number | null = null): Promise<void> {
    try {
      showChapters(await setDraftChapters(draftId, edited));
      mount(chapterFeedback);
      if (removed !== null) (rows[Math.min(removed, rows.length - 1)]?.title ?? chapterHeading).focus();
    } catch (error) {
      // What was typed stays, to be corrected; the draft keeps what was saved before.
      mount(chapterFeedback, problem(errorMessage(error), "draft-chapter-error"));
    }
  }
  /** A new chapter at the clip's current moment, its title focused to be typed. */
  async function addChapterHere(): Promise<void> {
    const atMs = Math.round(video.currentTime * 1000);
    try {
      showChapters(await addDraftChapter(draftId, atMs));
      mount(chapterFeedback);
      const added = rows[chapters.findIndex((c) => c.startMs === atMs)]?.title;
      added?.focus();
      added?.select();
    } catch (error) {
      mount(chapterFeedback, problem(errorMessage(error), "draft-chapter-error"));
    }
  }
  const loadChapters = () =>
    draftChapters(draftId)
      .then(showChapters)
      .catch((error: unknown) => mount(chapterFeedback, problem(errorMessage(error), "draft-chapter-error")));
  const seek = (ms: number) => {
    video.currentTime = ms / 1000;
    void video.play().catch(() => {});
  };

  const renderChips = () => {
    mount(
      chips,
      ...recipients.map((name) =>
        h(
          "span",
          { class: "chip", "data-testid": `recipient-${name}` },
          name,
          h("button", { type: "button", class: "chip-remove", "aria-label": `Remove ${name}`, onclick: () => removeRecipient(name) }, "×"),
        ),
      ),
    );
  };
  const addRecipient = (raw: string) => {
    const name = raw.trim().toLowerCase();
    if (!name || recipients.includes(name)) return;
    if (people.length && !people.some((p) => p.name === name)) {
      mount(feedback, problem(`Nobody called “${name}” uses this store. Pick someone from the list.`, "recipient-error"));
      return;
    }
    mount(feedback);
    recipients.push(name);
    renderChips();
    void refreshChoices();
  };
  const removeRecipient = (name: string) => {
    recipients.splice(recipients.indexOf(name), 1);
    renderChips();
    void refreshChoices();
  };
  recipientInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === ",") {
      event.preventDefault();
      addRecipient(recipientInput.value);
      recipientInput.value = "";
    }
  });
  recipientInput.addEventListener("change", () => {
    if (people.some((p) => p.name === recipientInput.value.trim().toLowerCase())) {
      addRecipient(recipientInput.value);
      recipientInput.value = "";
    }
  });

  function addAttachments(added: AttachmentView[]): void {
    for (const a of added) if (!attachments.some((b) => b.path === a.path)) attachments.push(a);
    mount(
      attachmentList,
      ...attachments.map((a) =>
        h(
          "li",
          { class: "attachment", "data-testid": "attachment" },
          h("span", { class: "file-kind", "aria-hidden": "true" }, fileKind(a.contentType, a.name)),
          h("span", { class: "attachment-name" }, a.name),
          h("span", { class: "muted" }, formatBytes(a.size)),
          h(
            "button",
            {
              type: "button",
              class: "button small",
              "aria-label": `Remove ${a.name}`,
              onclick: () => {
                attachments.splice(attachments.indexOf(a), 1);
                addAttachments([]);
              },
            },
            "Remove",
          ),
        ),
      ),
    );
  }

  // Each recipient's clock now and at the chosen respond-by; only the latest request is shown.
  const clockList = h("ul", { class: "recipient-clocks", "aria-label": "Recipients' clocks", "data-testid": "recipient-clocks" });
  let clockRequest = 0;
  const clockItem = (c: RecipientClockView) =>
    h(
      "li",
      { class: c.outsideHours ? "recipient-clock outside-hours" : "recipient-clock", "data-testid": `recipient-clock-${c.name}` },
      h("strong", {}, c.name),
      h("span", { "data-testid": "clock-local-now" }, ` ${c.localNow} their time (${c.timeZone})`),
      c.availability ? h("span", { class: "muted", "data-testid": "clock-availability" }, ` · ${c.availability}`) : "",
      " · ",
      c.outsideHours ? h("span", { class: "flag", "aria-hidden": "true" }, "⚠ ") : "",
      h("span", { class: c.outsideHours ? "flag" : "", "data-testid": "clock-respond-by" }, `respond by ${c.respondByPhrase}`),
    );
  async function showClocks(at: string, hoursEach: number | null = null): Promise<void> {
    const request = ++clockRequest;
    const names = [...recipients];
    // A store that is away shows nothing extra: Compose works without the clocks.
    const clocks = names.length ? await recipientClocks(names, at, hoursEach).catch(() => []) : [];
    if (request !== clockRequest) return;
    mount(clockList, ...clocks.map(clockItem));
    // Whom the list is for, so one can tell "no clocks" from "not answered yet".
    clockList.dataset.recipients = names.join(",");
  }
  const describeChoice = (view: RespondByView | undefined) => {
    if (!view) return;
    const others = view.recipients.map((r) => `${r.name}: ${r.local}`).join(" · ");
    whenLine.textContent = `Respond by ${view.local}${others ? ` — ${others}` : ""}`;
    void showClocks(view.at);
  };
  async function refreshChoices(): Promise<void> {
    try {
      choices = await respondByChoices(recipients);
    } catch (error) {
      mount(respondBox, problem(errorMessage(error)));
      return;
    }
    if (!choice) {
      const preferred = choices.find((c) => c.isDefault) ?? choices[0];
      if (preferred) choice = { kind: "Preset", key: preferred.key };
    }
    const current = !choice ? "" : choice.kind === "Preset" ? choice.key : choice.kind === "At" ? "at" : "working-hours";
    mount(
      respondBox,
      ...choices.map((c) =>
        h(
          "label",
          { class: "choice" },
          h("input", {
            type: "radio",
            name: "respond-by",
            value: c.key,
            checked: c.key === current,
            "data-testid": `respond-by-${c.key}`,
            onchange: () => {
              choice = { kind: "Preset", key: c.key };
              describeChoice(c);
            },
          }),
          h("span", {}, c.label),
          h("span", { class: "muted" }, c.local),
        ),
      ),
      h(
        "label",
        { class: "choice" },
        h("input", {
          type: "radio",
          name: "respond-by",
          value: "at",
          checked: current === "at",
          "data-testid": "respond-by-custom",
          onchange: () => void pickCustom(),
        }),
        h("span", {}, "On a date"),
        custom,
      ),
      h(
        "label",
        { class: "choice" },
        h("input", {
          type: "radio",
          name: "respond-by",
          value: "working-hours",
          checked: current === "working-hours",
          "data-testid": "respond-by-working-hours",
          onchange: () => pickWorkingHours(),
        }),
        workingHours,
        h("span", {}, "working hours each, by their own hours"),
      ),
    );
    if (choice?.kind === "Preset") {
      const key = choice.key;
      describeChoice(choices.find((c) => c.key === key));
    } else if (choice?.kind === "WorkingHoursEach") pickWorkingHours();
    else void pickCustom();
  }
  function pickWorkingHours(): void {
    const radio = respondBox.querySelector<HTMLInputElement>("[data-testid=respond-by-working-hours]");
    if (radio) radio.checked = true;
    const hours = Number(workingHours.value);
    choice = { kind: "WorkingHoursEach", hours };
    whenLine.textContent = `Each recipient gets ${hours} hours of their own working time, counted from when it reaches their working day.`;
    void showClocks(new Date().toISOString(), hours);
  }
  workingHours.addEventListener("change", () => pickWorkingHours());
  async function pickCustom(): Promise<void> {
    if (!custom.value) custom.value = toLocalInput(new Date(Date.now() + 24 * 3600 * 1000));
    const radio = respondBox.querySelector<HTMLInputElement>("[data-testid=respond-by-custom]");
    if (radio) radio.checked = true;
    try {
      const view = await respondByAt(custom.value, recipients);
      choice = { kind: "At", local: custom.value };
      describeChoice(view);
    } catch (error) {
      whenLine.textContent = errorMessage(error);
    }
  }
  custom.addEventListener("change", () => void pickCustom());

  async function send(): Promise<void> {
    if (recipientInput.value.trim()) {
      addRecipient(recipientInput.value);
      recipientInput.value = "";
    }
    if (!choice) {
      mount(feedback, problem("Pick when you need an answer.", "send-error"));
      return;
    }
    sendButton.disabled = true;
    mount(feedback, h("p", { class: "muted", role: "status" }, "Sending…"));
    try {
      const result = await sendMessage({
        draft: draftId,
        recipients,
        subject: subject.value,
        text: text.value,
        respondBy: choice,
        attachments: attachments.map((a) => a.path),
        inReplyTo: replyTo,
        acknowledgeOnly: acknowledgeOnly.checked,
      });
      actions.sent(result);
    } catch (error) {
      sendButton.disabled = false;
      mount(feedback, problem(errorMessage(error), "send-error"));
    }
  }

  const showDraft = (d: DraftView) => {
    if (d.playUrl && video.getAttribute("src") !== d.playUrl) video.src = d.playUrl;
    if (d.posterUrl && video.getAttribute("poster") !== d.posterUrl) video.poster = d.posterUrl;
    video.dataset.durationMs = String(Math.round((d.durationSeconds ?? 0) * 1000));
    trim.show(d);
    const fraction = d.clipBytes ? d.uploadedBytes / d.clipBytes : 0;
    uploadBar.value = d.uploaded ? 1 : fraction;
    upload.textContent = d.uploaded
      ? `Clip uploaded (${formatBytes(d.clipBytes)}${d.durationSeconds ? `, ${formatDuration(d.durationSeconds)}` : ""}): Send is immediate.`
      : d.uploadedBytes > 0
        ? `Uploading the clip: ${Math.round(fraction * 100)}% of ${formatBytes(d.clipBytes)}`
        : `The clip (${formatBytes(d.clipBytes)}) uploads when the store is reachable; you can send now, it waits in the outbox.`;
    return d.uploaded;
  };
  let poll: number | undefined;
  const watchUpload = () => {
    window.clearInterval(poll);
    poll = window.setInterval(() => {
      loadDraft(draftId)
        .then((d) => {
          if (showDraft(d)) window.clearInterval(poll);
        })
        .catch(() => {});
    }, 700);
  };
  const trim = trimmer(
    draftId,
    (ms) => {
      video.pause();
      video.currentTime = ms / 1000;
    },
    (d) => {
      // The trimmed clip may sit at the same address: load it afresh.
      video.removeAttribute("src");
      video.removeAttribute("poster");
      showDraft(d);
      video.load();
      // The trim moved (or cut) the chapters with the clip.
      void loadChapters();
      // The trimmed clip uploads again: the status follows it until it is on the store.
      watchUpload();
    },
  );
  watchUpload();
  void loadChapters();
  loadDraft(draftId)
    .then(showDraft)
    .catch((error: unknown) => mount(feedback, problem(errorMessage(error))));
  users()
    .then((list) => {
      people = list;
      mount(peopleList, ...list.map((u) => h("option", { value: u.name }, `${u.displayName} (${u.timeZone})`)));
    })
    .catch((error: unknown) =>
      mount(feedback, problem(`The list of people is not available: ${errorMessage(error)} You can still type names.`)),
    );
  if (replyTo) {
    loadMessage(replyTo)
      .then((m) => {
        subject.value = m.replySubject;
        addRecipient(m.sender);
      })
      .catch(() => {});
  }
  // Profiles are loaded once for this Compose, then refreshChoices shows the clocks.
  void forgetProfiles()
    .catch(() => {})
    .then(refreshChoices);
  const unlisten = onFilesDropped((paths) => {
    describeAttachments(paths).then(addAttachments, (e: unknown) => mount(feedback, problem(errorMessage(e))));
  });

  root.append(
    h("div", { class: "compose-grid" },
      h("div", { class: "compose-media" }, video, uploadBar, upload, trim.el),
      h(
        "div",
        { class: "compose-form" },
        h("label", { for: "recipient" }, "To"),
        chips,
        recipientInput,
        peopleList,
        h("label", { for: "subject" }, "Subject"),
        subject,
        h("label", { for: "text" }, "Note (optional)"),
        text,
      ),
    ),
    h("section", { class: "card", "aria-label": "Attachments" }, h("h2", {}, "Agenda documents"), attachmentList, dropZone),
    h("section", { class: "card", "aria-labelledby": "draft-chapters-title" }, chapterHeading, chapterNote, chapterList, h("div", { class: "row" }, addChapter, addHint), chapterFeedback),
    h("section", { class: "card", "aria-label": "Respond by" }, h("h2", {}, "Respond by"), respondBox, whenLine, clockList),
    h(
      "div",
      { class: "row acknowledge" },
      h("label", { class: "choice", for: "acknowledge-only" }, acknowledgeOnly, h("span", {}, "Acknowledge only")),
      h("span", { id: "acknowledge-only-hint", class: "muted" }, "Ask for no more than a ✅: that reaction counts as the answer."),
    ),
    h("div", { class: "row" }, sendButton),
    feedback,
  );
  return {
    el: root,
    dispose: () => {
      window.clearInterval(poll);
      trim.dispose();
      video.pause();
      void unlisten.then((stop) => stop());
    },
  };
}
