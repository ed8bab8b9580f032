import { currentRecording, discardRecording, errorMessage, onQuickWindowShown, stopRecording, watchRecording } from "../api";
import { h, mount } from "../dom";
import { formatDuration } from "../format";
import { button, drawFrame, meterFraction, problem } from "./screen";

/**
 * The small always-on-top recorder the global shortcut opens: the recording is
 * already running when it appears; Stop goes on to Compose in the main window.
 */
export function quickView(): HTMLElement {
  const canvas = h("canvas", { class: "preview", width: "320", height: "180", "aria-label": "Camera preview", "data-testid": "quick-preview" });
  const timer = h("span", { class: "timer", "data-testid": "quick-elapsed" }, "0:00");
  const left = h("span", { class: "muted" });
  const meterFill = h("div", { class: "meter-fill" });
  const feedback = h("div", { "aria-live": "polite" });
  const stop = button("Stop", "quick-stop", () => {
    stop.disabled = true;
    stopRecording().catch((e: unknown) => {
      stop.disabled = false;
      mount(feedback, problem(errorMessage(e)));
    });
  }, true);
  const discard = button("Discard", "quick-discard", () => {
    discardRecording().catch((e: unknown) => mount(feedback, problem(errorMessage(e))));
  });
  const root = h(
    "section",
    { class: "quick", "aria-label": "Quick record", "data-testid": "quick" },
    canvas,
    h("div", { class: "record-bar" }, h("span", { class: "rec-dot" }, "REC"), timer, left, h("div", { class: "meter", role: "meter", "aria-label": "Microphone level" }, meterFill)),
    h("div", { class: "row" }, stop, discard),
    feedback,
  );
  const attach = () => {
    stop.disabled = false;
    mount(feedback);
    void watchRecording(
      (frame) => drawFrame(canvas, frame),
      (p) => {
        if (p.kind === "Progress") {
          timer.textContent = formatDuration(p.elapsedMs / 1000);
          left.textContent = `${formatDuration(p.remainingMs / 1000)} left`;
          meterFill.style.width = `${Math.round(meterFraction(p.rmsDbfs) * 100)}%`;
        } else {
          mount(feedback, h("p", { class: "notice" }, `Recording ended: ${p.reason}.`));
          stopRecording().catch(() => {});
        }
      },
    );
  };
  currentRecording()
    .then((current) => (current ? attach() : mount(feedback, problem("Nothing is being recorded."))))
    .catch((e: unknown) => mount(feedback, problem(errorMessage(e))));
  // The window is reused: each new quick recording shows it again.
  void onQuickWindowShown(() => {
    timer.textContent = "0:00";
    attach();
  });
  return root;
}
