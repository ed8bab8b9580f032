import { chooseDevices, devices, errorMessage, type DevicesView } from "../api";
import { h, mount } from "../dom";
import { button, problem } from "./screen";

const MAX_LENGTHS = [60, 120, 300, 600];

/**
 * Camera, microphone, quality and longest-clip pickers, remembered on change. With
 * no camera it says so plainly and offers audio only or the test pattern.
 * `rendered` runs after each render (the Record screen disables them while recording).
 */
export function devicePicker(box: HTMLElement, feedback: HTMLElement, rendered: () => void = () => {}): void {
  const render = (d: DevicesView) => {
    const option = (value: string, label: string, selected: string) => h("option", { value, selected: value === selected }, label);
    const camera = h(
      "select",
      { id: "camera", "data-testid": "camera-select" },
      d.camera === "" ? h("option", { value: "", selected: true, disabled: true }, "No camera found — choose below") : null,
      ...d.cameras.map((c) => option(c.id, c.name, d.camera)),
      option("test-pattern", "Test pattern (checks the microphone)", d.camera),
      option("none", "No camera — audio only", d.camera),
    );
    const microphone = h(
      "select",
      { id: "microphone", "data-testid": "microphone-select" },
      d.microphones.length ? option("default", "System default microphone", d.microphone) : null,
      ...d.microphones.map((m) => option(m.id, m.name, d.microphone)),
      option("none", "No microphone — video only", d.microphone),
    );
    const quality = h("select", { id: "quality", "data-testid": "quality-select" }, ...d.qualities.map((q) => option(q, q, d.quality)));
    const length = h(
      "select",
      { id: "max-length", "data-testid": "max-length-select" },
      ...MAX_LENGTHS.map((s) => option(String(s), `${s / 60} min`, String(d.maxClipSeconds))),
    );
    const save = () =>
      chooseDevices(camera.value, microphone.value, quality.value, Number(length.value))
        .then(render)
        .catch((error: unknown) => mount(feedback, problem(errorMessage(error))));
    [camera, microphone, quality, length].forEach((s) => s.addEventListener("change", () => void save()));
    const noCamera = d.cameras.length === 0 && d.cameraProblem;
    const chosenStandIn = d.camera === "test-pattern" || d.camera === "none";
    mount(
      box,
      noCamera && !chosenStandIn
        ? h(
            "div",
            { class: "notice warning", role: "alert", "data-testid": "no-camera" },
            h("p", {}, d.cameraProblem),
            h(
              "div",
              { class: "row" },
              button("Record audio only", "use-audio-only", () => {
                camera.value = "none";
                void save();
              }),
              button("Use the test pattern", "use-test-pattern", () => {
                camera.value = "test-pattern";
                void save();
              }),
            ),
          )
        : noCamera
          ? h("p", { class: "muted", "data-testid": "no-camera-note" }, d.cameraProblem)
          : null,
      d.microphoneProblem ? h("p", { class: "notice warning", role: "alert", "data-testid": "no-microphone" }, d.microphoneProblem) : null,
      h(
        "div",
        { class: "device-grid" },
        h("label", { for: "camera" }, "Camera"),
        camera,
        h("label", { for: "microphone" }, "Microphone"),
        microphone,
        h("label", { for: "quality" }, "Quality"),
        quality,
        h("label", { for: "max-length" }, "Longest clip"),
        length,
      ),
    );
    rendered();
  };
  devices()
    .then(render)
    .catch((error: unknown) => mount(box, problem(errorMessage(error))));
}
