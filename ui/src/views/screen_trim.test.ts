import { describe, expect, it } from "vitest";
import { decodeFilmstrip, type LayoutView } from "../api";
import { formatClipTime, labelWords } from "../format";
import { idleText, withChange } from "./layout";
import { showNotice } from "./screen";
import { cutsSomething, describeRange, keyMove, MIN_KEPT_MS, placeHandle } from "./trim";

describe("trim handles", () => {
  const whole = { startMs: 0, endMs: 10_000 };

  it("move a tenth of a second per arrow key, a second with Shift or the page keys", () => {
    expect(keyMove(whole, "start", "ArrowRight", false, 10_000)).toEqual({ startMs: 100, endMs: 10_000 });
    expect(keyMove(whole, "start", "ArrowUp", true, 10_000)).toEqual({ startMs: 1000, endMs: 10_000 });
    expect(keyMove(whole, "end", "PageDown", false, 10_000)).toEqual({ startMs: 0, endMs: 9000 });
    expect(keyMove(whole, "end", "ArrowLeft", false, 10_000)).toEqual({ startMs: 0, endMs: 9900 });
    expect(keyMove(whole, "start", "Enter", false, 10_000)).toBeNull();
  });

  it("stay inside the clip and never cross", () => {
    expect(keyMove(whole, "start", "ArrowLeft", false, 10_000)).toEqual(whole);
    expect(keyMove(whole, "end", "ArrowRight", true, 10_000)).toEqual(whole);
    expect(keyMove(whole, "start", "End", false, 10_000)).toEqual({ startMs: 10_000 - MIN_KEPT_MS, endMs: 10_000 });
    const narrow = { startMs: 4000, endMs: 4600 };
    expect(placeHandle(narrow, "end", 3000, 10_000)).toEqual({ startMs: 4000, endMs: 4000 + MIN_KEPT_MS });
    expect(keyMove(narrow, "end", "Home", false, 10_000)).toEqual({ startMs: 4000, endMs: 4000 + MIN_KEPT_MS });
    expect(placeHandle(whole, "end", 12_345.6, 10_000)).toEqual(whole);
    expect(placeHandle(whole, "start", 1234.4, 10_000)).toEqual({ startMs: 1234, endMs: 10_000 });
  });

  it("say whether anything is cut and what is kept", () => {
    expect(cutsSomething(whole, 10_000)).toBe(false);
    expect(cutsSomething({ startMs: 0, endMs: 9000 }, 10_000)).toBe(true);
    expect(describeRange({ startMs: 1000, endMs: 4500 })).toBe("Start 0:01.0 · End 0:04.5 · Length 0:03.5");
  });
});

describe("clip times and words", () => {
  it("formats cut points to the tenth", () => {
    expect(formatClipTime(3200)).toBe("0:03.2");
    expect(formatClipTime(80_000)).toBe("1:20.0");
    expect(formatClipTime(3_723_040)).toBe("1:02:03.0");
    expect(formatClipTime(59_960)).toBe("1:00.0");
    expect(formatClipTime(-5)).toBe("0:00.0");
  });
  it("words settings names", () => {
    expect(labelWords("rounded-square")).toBe("Rounded square");
    expect(labelWords("top-left")).toBe("Top left");
    expect(labelWords("small")).toBe("Small");
  });
});

describe("layout choice", () => {
  const view: LayoutView = {
    layout: "screen-camera",
    screen: "monitor:0",
    bubbleShape: "circle",
    bubbleSize: "medium",
    bubbleCorner: "bottom-right",
    computerSound: false,
    microphoneLevel: 1,
    computerLevel: 1,
    maxLevel: 4,
    shapes: ["circle", "rounded-square"],
    sizes: ["small", "medium", "large"],
    corners: ["top-left", "top-right", "bottom-left", "bottom-right"],
  };
  it("changes one field and keeps the rest", () => {
    expect(withChange(view, { bubbleCorner: "top-left" })).toEqual({
      layout: "screen-camera",
      screen: "monitor:0",
      bubbleShape: "circle",
      bubbleSize: "medium",
      bubbleCorner: "top-left",
      computerSound: false,
    });
  });
  it("tells the user the window steps aside for a screen recording", () => {
    expect(idleText("camera")).toContain("camera and microphone");
    expect(idleText("screen")).toContain("steps aside");
  });
});

describe("recorder notices", () => {
  it("show the newest first and keep three", () => {
    const box = document.createElement("div");
    for (const n of [1, 2, 3, 4]) showNotice(box, `notice ${n}`);
    expect([...box.children].map((c) => c.textContent)).toEqual(["notice 4", "notice 3", "notice 2"]);
    expect(box.firstElementChild?.getAttribute("role")).toBe("status");
  });
});

describe("filmstrip", () => {
  const encode = (frames: [number, number[]][]) => {
    const size = 4 + frames.reduce((n, [, b]) => n + 12 + b.length, 0);
    const buffer = new ArrayBuffer(size);
    const view = new DataView(buffer);
    view.setUint32(0, frames.length, true);
    let at = 4;
    for (const [ms, bytes] of frames) {
      view.setBigUint64(at, BigInt(ms), true);
      view.setUint32(at + 8, bytes.length, true);
      new Uint8Array(buffer, at + 12, bytes.length).set(bytes);
      at += 12 + bytes.length;
    }
    return buffer;
  };
  it("reads each picture's time and JPEG bytes", () => {
    const frames = decodeFilmstrip(encode([[0, [0xff, 0xd8]], [1500, [1, 2, 3]]]));
    expect(frames?.map((f) => [f.atMs, [...f.jpeg]])).toEqual([[0, [0xff, 0xd8]], [1500, [1, 2, 3]]]);
  });
  it("refuses a cut-off or padded answer", () => {
    const good = encode([[0, [1, 2, 3]]]);
    expect(decodeFilmstrip(good.slice(0, good.byteLength - 1))).toBeNull();
    const padded = new Uint8Array(good.byteLength + 1);
    padded.set(new Uint8Array(good));
    expect(decodeFilmstrip(padded.buffer)).toBeNull();
    expect(decodeFilmstrip(new ArrayBuffer(2))).toBeNull();
  });
});
