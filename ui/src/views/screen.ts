import { h } from "../dom";

/** A mounted screen and what to stop when the user leaves it. */
export interface Screen {
  el: HTMLElement;
  dispose?: () => void;
}

/** The common frame of a screen: a titled section with optional header actions. */
export function screen(testid: string, title: string, subtitle: string | null, ...actions: HTMLElement[]): HTMLElement {
  const id = `${testid}-title`;
  return h(
    "section",
    { class: "screen", "aria-labelledby": id, "data-testid": testid },
    h(
      "header",
      { class: "screen-header" },
      h("div", {}, h("h1", { id }, title), subtitle ? h("p", { class: "muted" }, subtitle) : null),
      actions.length ? h("div", { class: "row" }, ...actions) : null,
    ),
  );
}

export function button(label: string, testid: string, onclick: () => void, primary = false): HTMLButtonElement {
  return h("button", { class: primary ? "button primary" : "button", type: "button", "data-testid": testid, onclick }, label);
}

/** A line that reports errors (role=alert) or progress (role=status). */
export function problem(text: string, testid = "problem"): HTMLElement {
  return h("p", { class: "feedback error", role: "alert", "data-testid": testid }, text);
}

/** Draws a preview frame on a canvas, resizing it to the frame. */
export function drawFrame(canvas: HTMLCanvasElement, frame: { width: number; height: number; pixels: Uint8ClampedArray }): void {
  if (canvas.width !== frame.width || canvas.height !== frame.height) {
    canvas.width = frame.width;
    canvas.height = frame.height;
  }
  const context = canvas.getContext("2d");
  if (!context) return;
  context.putImageData(new ImageData(new Uint8ClampedArray(frame.pixels), frame.width, frame.height), 0, 0);
}

/** Width (0..1) of a level meter for a loudness in dBFS: -60 dB and below is empty. */
export function meterFraction(dbfs: number): number {
  return Math.min(1, Math.max(0, (dbfs + 60) / 60));
}

/**
 * Shows what the recorder says while recording goes on (a window closed, the screen
 * changed size) as a banner on top of `box`; the newest first, the last three kept.
 */
export function showNotice(box: HTMLElement, text: string): void {
  const banner = h("p", { class: "notice toast", role: "status", "data-testid": "recording-notice" }, text);
  box.prepend(banner);
  while (box.children.length > 3) box.lastElementChild?.remove();
}
