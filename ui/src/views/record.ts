import {
  currentRecording,
  discardRecording,
  errorMessage,
  onRecordingChanged,
  pauseRecording,
  startRecording,
  stopRecording,
  watchRecording,
  type DraftView,
  type RecordingProgress,
} from "../api";
import { h, mount } from "../dom";
import { formatDuration } from "../format";
import { describeOrigin, type RecordOrigin } from "../routes";
import { devicePicker } from "./devices";
import { idleText, layoutPicker } from "./layout";
import { nextItem } from "./next_item";
import { button, drawFrame, meterFraction, problem, screen, showNotice, type Screen } from "./screen";

export interface RecordActions {
  back(): void;
  /** After a stop: go on to Compose with the new draft. */
  recorded(draft: DraftView): void;
  /** A recording began into the draft `draftId` along `agenda`, as typed (for "Re-record" to keep). */
  started?(draftId: string, agenda: string): void;
}

/**
 * The Record screen: what to record (camera, screen, screen + camera), device pickers, the agenda (the chapters' titles), a 3-2-1
 * countdown, the live preview and level meter, elapsed and remaining time, the chapter being recorded and "Next item" (button or N),
 * pause/resume, stop and discard.
 */
export function recordView(
  origin: RecordOrigin,
  shortcut: string | null,
  replyTo: string | null,
  actions: RecordActions,
  /** The agenda to start from: what was typed for the take that "Re-record" discarded. */
  typedAgenda = "",
): Screen {
  const note = describeOrigin(origin, shortcut);
  const root = screen(
    "record",
    replyTo ? "Reply with video" : origin === "button" ? "Record a message" : "Quick record",
    null,
    button("Back", "back-to-inbox", () => {
      if (state === "idle") actions.back();
      else void discard().then(actions.back);
    }),
  );
  let state: "idle" | "countdown" | "recording" | "stopping" = "idle";
  let disposed = false;
  let countdownTimer: number | undefined;

  const layoutBox = h("div", { class: "card layout", "data-testid": "layout" }, h("p", { class: "muted" }, "Reading what you recorded last…"));
  const devicesBox = h("div", { class: "card devices", "data-testid": "devices" }, h("p", { class: "muted" }, "Looking for cameras and microphones…"));
  const agenda = h("textarea", {
    id: "agenda",
    rows: "3",
    maxlength: "6000",
    placeholder: "Budget\nHiring\nQ3 plans",
    "aria-describedby": "agenda-hint",
    "data-testid": "agenda-input",
  });
  agenda.value = typedAgenda;
  const agendaBox = h(
    "div",
    { class: "card agenda", "data-testid": "agenda" },
    h("label", { for: "agenda" }, "Agenda (optional)"),
    agenda,
    h("p", { id: "agenda-hint", class: "muted" }, "One item per line, or separated by commas. While recording, “Next item” (or the N key) starts the next one."),
  );
  const canvas = h("canvas", { class: "preview", width: "320", height: "180", "aria-label": "Preview of the recording", "data-testid": "preview" });
  const overlay = h("div", { class: "countdown", "aria-live": "assertive", "data-testid": "countdown" });
  const idleNote = h("p", { class: "stage-message", "data-testid": "stage-idle" }, idleText("camera"));
  const notices = h("div", { class: "notices", "aria-live": "polite", "data-testid": "recording-notices" });
  const stage = h("div", { class: "stage", "aria-label": "Recording" }, canvas, overlay, idleNote);
  const elapsed = h("span", { class: "timer", "data-testid": "elapsed" }, "0:00");
  const remaining = h("span", { class: "muted", "data-testid": "remaining" }, "");
  const meterFill = h("div", { class: "meter-fill" });
  const meter = h("div", { class: "meter", role: "meter", "aria-label": "Microphone level", "aria-valuemin": "-60", "aria-valuemax": "0", "data-testid": "meter" }, meterFill);
  const recDot = h("span", { class: "rec-dot", hidden: true }, "REC");
  const feedback = h("div", { "aria-live": "polite" });
  const recordButton = button("Record", "record-start", () => countdown(), true);
  const pauseButton = button("Pause", "record-pause", () => togglePause());
  const stopButton = button("Stop", "record-stop", () => void stop(), true);
  const discardButton = button("Discard", "record-discard", () => void discard());
  let paused = false;
  const chapters = nextItem("record", feedback, () => state === "recording");
  const nextButton = chapters.button;
  const showChapter = chapters.show;

  const setState = (next: typeof state) => {
    state = next;
    recordButton.hidden = next !== "idle";
    pauseButton.hidden = stopButton.hidden = discardButton.hidden = nextButton.hidden = next !== "recording";
    recDot.hidden = next !== "recording";
    idleNote.hidden = next !== "idle";
    if (next === "idle") showChapter(null);
    for (const box of [layoutBox, devicesBox, agendaBox]) {
      box.querySelectorAll("select, button, input, textarea").forEach((el) => ((el as HTMLInputElement).disabled = next !== "idle"));
    }
  };

  root.append(
    note ? h("p", { class: "notice", role: "status", "data-testid": "record-origin" }, note) : "",
    layoutBox,
    devicesBox,
    agendaBox,
    notices,
    stage,
    h("div", { class: "record-bar" }, recDot, elapsed, remaining, meter),
    chapters.line,
    h("div", { class: "row" }, recordButton, nextButton, pauseButton, stopButton, discardButton),
    feedback,
  );
  setState("idle");

  const onProgress = (p: RecordingProgress) => {
    if (p.kind === "Progress") {
      elapsed.textContent = formatDuration(p.elapsedMs / 1000);
      remaining.textContent = `${formatDuration(p.remainingMs / 1000)} left`;
      meterFill.style.width = `${Math.round(meterFraction(p.rmsDbfs) * 100)}%`;
      meter.setAttribute("aria-valuenow", String(Math.round(p.rmsDbfs)));
      paused = p.paused;
      pauseButton.textContent = p.paused ? "Resume" : "Pause";
    } else if (p.kind === "Notice") {
      showNotice(notices, p.text);
    } else {
      mount(feedback, h("p", { class: "notice", role: "status" }, `Recording ended: ${p.reason}.`));
      void stop();
    }
  };
  const attach = () =>
    watchRecording((frame) => {
      if (disposed) return;
      drawFrame(canvas, frame);
      // Counted for the desktop tests' frame-rate check.
      canvas.dataset.frames = String(Number(canvas.dataset.frames ?? 0) + 1);
    }, onProgress);

  function countdown(): void {
    mount(feedback);
    mount(notices);
    setState("countdown");
    let n = 3;
    overlay.textContent = String(n);
    countdownTimer = window.setInterval(() => {
      n -= 1;
      if (n > 0) {
        overlay.textContent = String(n);
        return;
      }
      window.clearInterval(countdownTimer);
      overlay.textContent = "";
      startRecording(agenda.value.trim() || null)
        // A screen recording is watched by the small recorder window, not this one.
        .then((started) => {
          actions.started?.(started.draftId, agenda.value);
          showChapter(started.chapter);
          return started.screen ? true : attach();
        })
        .then(() => setState("recording"))
        .catch((error: unknown) => {
          setState("idle");
          mount(feedback, problem(errorMessage(error), "record-error"));
        });
    }, 1000);
  }

  function togglePause(): void {
    pauseRecording(!paused).catch((error: unknown) => mount(feedback, problem(errorMessage(error))));
  }

  async function stop(): Promise<void> {
    if (state !== "recording") return;
    setState("stopping");
    mount(feedback, h("p", { class: "muted", role: "status" }, "Finishing the clip…"));
    try {
      const draft = await stopRecording();
      actions.recorded(draft);
    } catch (error) {
      setState("idle");
      mount(feedback, problem(errorMessage(error), "record-error"));
    }
  }

  async function discard(): Promise<void> {
    window.clearInterval(countdownTimer);
    try {
      await discardRecording();
    } catch (error) {
      mount(feedback, problem(errorMessage(error)));
    }
    overlay.textContent = "";
    elapsed.textContent = "0:00";
    remaining.textContent = "";
    setState("idle");
  }

  layoutPicker(layoutBox, feedback, (layout) => {
    idleNote.textContent = idleText(layout);
    setState(state);
  });
  devicePicker(devicesBox, feedback, () => setState(state));

  // A recording stopped or discarded in the small recorder window ends here too.
  const unlisten = onRecordingChanged((recording) => {
    if (!recording && state === "recording" && !disposed) {
      elapsed.textContent = "0:00";
      remaining.textContent = "";
      setState("idle");
    }
  });

  // A recording started elsewhere (the quick recorder) is picked up, not restarted.
  currentRecording()
    .then((current) => {
      if (current && !current.screen && state === "idle") {
        return attach().then((ok) => {
          if (!ok) return;
          setState("recording");
          showChapter(current.chapter);
        });
      }
    })
    .catch(() => {});

  return {
    el: root,
    dispose: () => {
      disposed = true;
      chapters.dispose();
      window.clearInterval(countdownTimer);
      void unlisten.then((stop) => stop());
    },
  };
}
