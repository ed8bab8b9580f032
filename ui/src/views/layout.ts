import {
  chooseLayout,
  errorMessage,
  listScreens,
  recordingLayout,
  screenThumbnail,
  setMixLevels,
  type Layout,
  type LayoutChoice,
  type LayoutView,
  type ScreenView,
} from "../api";
import { h, mount } from "../dom";
import { formatLevel, labelWords, LEVEL_PERCENT_MAX } from "../format";
import { button, drawFrame, problem } from "./screen";

export const LAYOUTS: { id: Layout; label: string; hint: string }[] = [
  { id: "camera", label: "Camera", hint: "Your face, as before." },
  { id: "screen", label: "Screen", hint: "A screen or one window, without the camera." },
  { id: "screen-camera", label: "Screen + camera", hint: "The screen with your face in a bubble." },
];

/** Thumbnails in the picker are this wide at most. */
const THUMBNAIL_WIDTH = 240;

/** What the Record screen says before Record is pressed, for a layout. */
export function idleText(layout: Layout): string {
  return layout === "camera"
    ? "Press Record: a 3-2-1 countdown starts, then the camera and microphone record."
    : "Press Record: a 3-2-1 countdown starts, then the screen records. Pigeon's window steps aside; the small recorder stays on top with Stop, Pause and the bubble's position.";
}

/** The choice a layout view stands for, with some fields changed. */
export function withChange(view: LayoutView, change: Partial<LayoutChoice>): LayoutChoice {
  return {
    layout: view.layout,
    screen: view.screen,
    bubbleShape: view.bubbleShape,
    bubbleSize: view.bubbleSize,
    bubbleCorner: view.bubbleCorner,
    computerSound: view.computerSound,
    ...change,
  };
}

/**
 * The two mix level sliders (microphone, computer sound), 0–200 %, labelled with
 * their value; `save` gets both gains when either is let go. `prefix` keeps ids apart.
 */
export function levelSliders(
  prefix: string,
  levels: { microphone: number; computer: number },
  save: (microphone: number, computer: number) => void,
  small = false,
): HTMLElement[] {
  const current = { ...levels };
  const slider = (which: "microphone" | "computer", label: string) => {
    const id = `${prefix}-${which}-level`;
    const shown = h("span", { class: "muted", "data-testid": `${id}-value` }, formatLevel(current[which]));
    const input = h("input", {
      id,
      type: "range",
      min: "0",
      max: String(LEVEL_PERCENT_MAX),
      step: "5",
      value: String(Math.round(current[which] * 100)),
      class: small ? "small" : "",
      "data-testid": id,
    }) as HTMLInputElement;
    input.addEventListener("input", () => {
      current[which] = Number(input.value) / 100;
      shown.textContent = formatLevel(current[which]);
    });
    input.addEventListener("change", () => save(current.microphone, current.computer));
    return [h("label", { for: id }, label), h("span", { class: "choice" }, input, shown)];
  };
  return [...slider("microphone", "Microphone level"), ...slider("computer", "Computer sound level")];
}

/** "1920×1080" */
export function describeSize(screen: ScreenView): string {
  return `${screen.width}×${screen.height}`;
}

/**
 * What to record (camera, screen, screen + camera), which screen or window (with
 * thumbnails), the bubble's shape, size and corner, and computer sound; remembered
 * on change. `changed` runs after each render with the layout shown.
 */
export function layoutPicker(box: HTMLElement, feedback: HTMLElement, changed: (layout: Layout) => void = () => {}): void {
  let screens: ScreenView[] | null = null;
  let screensProblem: string | null = null;
  const thumbnails = new Map<string, HTMLCanvasElement>();

  const thumbnail = (id: string) => {
    let canvas = thumbnails.get(id);
    if (!canvas) {
      const made = h("canvas", { class: "screen-thumbnail", width: "160", height: "90", "aria-hidden": "true" });
      canvas = made;
      thumbnails.set(id, made);
      screenThumbnail(id, THUMBNAIL_WIDTH)
        .then((frame) => {
          if (frame) {
            drawFrame(made, frame);
            made.dataset.drawn = "true";
          }
        })
        .catch(() => made.classList.add("missing"));
    }
    return canvas;
  };

  let looking = false;
  const loadScreens = (then: () => void) => {
    if (looking) return;
    looking = true;
    listScreens()
      .then((list) => {
        screens = list;
        screensProblem = null;
      })
      .catch((error: unknown) => {
        screens = [];
        screensProblem = errorMessage(error);
      })
      .finally(() => {
        looking = false;
        then();
      });
  };

  let latest: LayoutView;
  const render = (view: LayoutView) => {
    latest = view;
    const save = (change: Partial<LayoutChoice>) =>
      chooseLayout(withChange(view, change))
        .then(render)
        .catch((error: unknown) => mount(feedback, problem(errorMessage(error))));

    const layouts = h(
      "div",
      { class: "layout-choices", role: "radiogroup", "aria-label": "What to record" },
      ...LAYOUTS.map((l) =>
        h(
          "label",
          { class: "choice layout-choice" },
          h("input", {
            type: "radio",
            name: "layout",
            value: l.id,
            checked: l.id === view.layout,
            "data-testid": `layout-${l.id}`,
            onchange: () => void save({ layout: l.id }),
          }),
          h("span", {}, l.label),
          h("span", { class: "muted" }, l.hint),
        ),
      ),
    );

    const screenPart = () => {
      if (screens === null) return h("p", { class: "muted", "data-testid": "screens-loading" }, "Looking for screens and windows…");
      if (screensProblem) return h("p", { class: "notice warning", role: "alert", "data-testid": "no-screen" }, screensProblem);
      const chosen = screens.some((s) => s.id === view.screen) ? view.screen : (screens[0]?.id ?? "");
      return h(
        "div",
        { class: "screen-picker", role: "group", "aria-label": "Screen or window to record", "data-testid": "screen-picker" },
        ...screens.map((s) =>
          h(
            "button",
            {
              type: "button",
              class: "screen-option",
              "aria-pressed": String(s.id === chosen),
              "data-testid": "screen-option",
              "data-id": s.id,
              title: `${s.name} (${describeSize(s)})`,
              onclick: () => void save({ screen: s.id }),
            },
            thumbnail(s.id),
            h("span", { class: "screen-name" }, s.name),
            h("span", { class: "muted" }, describeSize(s)),
          ),
        ),
        button("Look again", "screens-refresh", () => {
          thumbnails.clear();
          screens = null;
          render(view);
        }),
      );
    };

    const select = (id: string, label: string, values: string[], value: string, change: (v: string) => Partial<LayoutChoice>) => {
      const el = h("select", { id, "data-testid": id }, ...values.map((v) => h("option", { value: v, selected: v === value }, labelWords(v))));
      el.addEventListener("change", () => void save(change(el.value)));
      return [h("label", { for: id }, label), el];
    };

    mount(
      box,
      layouts,
      view.layout !== "camera" ? screenPart() : null,
      h(
        "div",
        { class: "device-grid" },
        ...(view.layout === "screen-camera"
          ? [
              ...select("bubble-shape", "Bubble", view.shapes, view.bubbleShape, (v) => ({ bubbleShape: v })),
              ...select("bubble-size", "Bubble size", view.sizes, view.bubbleSize, (v) => ({ bubbleSize: v })),
              ...select("bubble-corner", "Bubble corner", view.corners, view.bubbleCorner, (v) => ({ bubbleCorner: v })),
            ]
          : []),
        h("label", { for: "computer-sound" }, "Computer sound"),
        h(
          "label",
          { class: "choice" },
          h("input", {
            id: "computer-sound",
            type: "checkbox",
            checked: view.computerSound,
            "data-testid": "computer-sound",
            onchange: (event: Event) => void save({ computerSound: (event.target as HTMLInputElement).checked }),
          }),
          h("span", { class: "muted" }, "Mix what the computer plays with the microphone"),
        ),
        ...(view.computerSound
          ? levelSliders("mix", { microphone: view.microphoneLevel, computer: view.computerLevel }, (microphone, computer) => {
              setMixLevels(microphone, computer)
                .then((saved) => {
                  latest = saved;
                })
                .catch((error: unknown) => mount(feedback, problem(errorMessage(error))));
            })
          : []),
      ),
    );
    changed(view.layout);
    // The list is looked up once a screen layout is shown, not for camera recordings.
    if (view.layout !== "camera" && screens === null) loadScreens(() => render(latest));
  };

  recordingLayout()
    .then(render)
    .catch((error: unknown) => mount(box, problem(errorMessage(error))));
}
