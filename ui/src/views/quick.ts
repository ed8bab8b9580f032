import {
  currentRecording,
  discardRecording,
  errorMessage,
  onQuickWindowShown,
  pauseRecording,
  setBubbleCorner,
  setMixLevels,
  stopRecording,
  watchRecording,
  type RecordingView,
} from "../api";
import { h, mount } from "../dom";
import { formatDuration, labelWords } from "../format";
import { levelSliders } from "./layout";
import { nextItem } from "./next_item";
import { button, drawFrame, meterFraction, problem, showNotice } from "./screen";

/** The bubble's corners, in the order a 2×2 grid shows them. */
export const CORNER_GRID = ["top-left", "top-right", "bottom-left", "bottom-right"] as const;

/**
 * The small always-on-top recorder (the global shortcut, the tray, and every screen
 * recording open it): the recording is already running when it appears, with Stop,
 * Pause, "Next item" (button or N) and the chapter being recorded, the timer, the level
 * and, with a camera bubble, the bubble's corner. Stop goes on to Compose in the main window.
 */
export function quickView(): HTMLElement {
  const canvas = h("canvas", { class: "preview", width: "320", height: "180", "aria-label": "Preview of the recording", "data-testid": "quick-preview" });
  const timer = h("span", { class: "timer", "data-testid": "quick-elapsed" }, "0:00");
  const left = h("span", { class: "muted" });
  const meterFill = h("div", { class: "meter-fill" });
  const meter = h("div", { class: "meter", role: "meter", "aria-label": "Microphone level", "aria-valuemin": "-60", "aria-valuemax": "0", "data-testid": "quick-meter" }, meterFill);
  const feedback = h("div", { "aria-live": "polite" });
  const notices = h("div", { class: "notices", "aria-live": "polite", "data-testid": "recording-notices" });
  const recDot = h("span", { class: "rec-dot" }, "REC");
  let paused = false;
  // The window lives as long as the app: "Next item" works while a recording runs in it.
  let running = false;
  const chapters = nextItem("quick", feedback, () => running);
  const stop = button("Stop", "quick-stop", () => {
    stop.disabled = true;
    running = false;
    stopRecording().catch((e: unknown) => {
      stop.disabled = false;
      mount(feedback, problem(errorMessage(e)));
    });
  }, true);
  const pause = button("Pause", "quick-pause", () => {
    pauseRecording(!paused).catch((e: unknown) => mount(feedback, problem(errorMessage(e))));
  });
  const discard = button("Discard", "quick-discard", () => {
    running = false;
    discardRecording().catch((e: unknown) => mount(feedback, problem(errorMessage(e))));
  });

  const corners = h("div", { class: "corner-grid", role: "group", "aria-label": "Bubble position", "data-testid": "bubble-corners", hidden: true });
  const showCorner = (corner: string | null) => {
    corners.hidden = corner === null;
    corners.dataset.corner = corner ?? "";
    mount(
      corners,
      ...CORNER_GRID.map((c) =>
        h(
          "button",
          {
            type: "button",
            class: `button small corner ${c}`,
            "aria-pressed": String(c === corner),
            "aria-label": `Move the bubble to the ${labelWords(c).toLowerCase()} corner`,
            title: labelWords(c),
            "data-testid": `bubble-corner-${c}`,
            onclick: () => {
              setBubbleCorner(c)
                .then(() => showCorner(c))
                .catch((e: unknown) => mount(feedback, problem(errorMessage(e))));
            },
          },
          h("span", { class: "corner-dot", "aria-hidden": "true" }),
        ),
      ),
    );
  };

  // The mix's levels, while the microphone and computer sound are recorded together.
  const levels = h("div", { class: "device-grid quick-levels", "data-testid": "quick-levels", hidden: true });
  const showLevels = (current: RecordingView["levels"]) => {
    levels.hidden = current === null;
    if (current === null) return mount(levels);
    mount(
      levels,
      ...levelSliders("quick", current, (microphone, computer) => {
        setMixLevels(microphone, computer).catch((e: unknown) => mount(feedback, problem(errorMessage(e))));
      }, true),
    );
  };

  const root = h(
    "section",
    { class: "quick", "aria-label": "Recorder", "data-testid": "quick" },
    canvas,
    h("div", { class: "record-bar" }, recDot, timer, left, meter),
    chapters.line,
    h("div", { class: "row" }, stop, chapters.button, pause, discard, corners),
    levels,
    notices,
    feedback,
  );
  const attach = (current: RecordingView) => {
    stop.disabled = false;
    running = true;
    chapters.show(current.chapter);
    paused = false;
    pause.textContent = "Pause";
    mount(feedback);
    mount(notices);
    showCorner(current.bubbleCorner);
    showLevels(current.levels);
    void watchRecording(
      (frame) => drawFrame(canvas, frame),
      (p) => {
        if (p.kind === "Progress") {
          timer.textContent = formatDuration(p.elapsedMs / 1000);
          left.textContent = `${formatDuration(p.remainingMs / 1000)} left`;
          meterFill.style.width = `${Math.round(meterFraction(p.rmsDbfs) * 100)}%`;
          meter.setAttribute("aria-valuenow", String(Math.round(p.rmsDbfs)));
          paused = p.paused;
          pause.textContent = p.paused ? "Resume" : "Pause";
          recDot.classList.toggle("paused", p.paused);
        } else if (p.kind === "Notice") {
          showNotice(notices, p.text);
        } else {
          running = false;
          mount(feedback, h("p", { class: "notice" }, `Recording ended: ${p.reason}.`));
          stopRecording().catch(() => {});
        }
      },
    );
  };
  const pickUp = () =>
    currentRecording()
      .then((current) => {
        running = current !== null;
        if (current) attach(current);
        else mount(feedback, problem("Nothing is being recorded."));
      })
      .catch((e: unknown) => mount(feedback, problem(errorMessage(e))));
  void pickUp();
  // The window is reused: each new recording shows it again.
  void onQuickWindowShown(() => {
    timer.textContent = "0:00";
    void pickUp();
  });
  return root;
}
