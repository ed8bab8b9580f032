import { describe, expect, it, vi } from "vitest";
import type { SkipRange, TranscriptView } from "../api";
import { captionsTrack, playbackControls, skipTarget, SPEEDS } from "./playback_controls";

const RANGES: SkipRange[] = [
  { startMs: 2400, endMs: 4100 },
  { startMs: 9000, endMs: 12_500 },
];

describe("skip silence", () => {
  it("jumps to the end of the range playback is in, and nowhere outside one", () => {
    expect(skipTarget(RANGES, 0)).toBeNull();
    expect(skipTarget(RANGES, 2399)).toBeNull();
    expect(skipTarget(RANGES, 2400)).toBe(4100);
    expect(skipTarget(RANGES, 3000)).toBe(4100);
    // Landing on the end does not jump again.
    expect(skipTarget(RANGES, 4100)).toBeNull();
    expect(skipTarget(RANGES, 6000)).toBeNull();
    expect(skipTarget(RANGES, 12_499.9)).toBe(12_500);
    expect(skipTarget(RANGES, 20_000)).toBeNull();
    expect(skipTarget([], 100)).toBeNull();
  });
});

/** A video element that says it is playing (jsdom cannot play). */
function playingVideo(): HTMLVideoElement {
  const video = document.createElement("video");
  Object.defineProperty(video, "paused", { get: () => false });
  return video;
}

function controls(video: HTMLVideoElement, ranges: SkipRange[] = RANGES) {
  const options = {
    captionsOn: false,
    rememberCaptions: vi.fn(),
    showCaptions: vi.fn(),
    skipRanges: vi.fn(async () => ranges),
    report: vi.fn(),
  };
  return { c: playbackControls(video, options), options };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const q = <T extends HTMLElement>(el: HTMLElement, testid: string) => el.querySelector<T>(`[data-testid=${testid}]`)!;

describe("playback controls", () => {
  it("jumps over a silent range while playing with Skip silence on, and only then", async () => {
    const video = playingVideo();
    const { c, options } = controls(video);
    const skip = q<HTMLButtonElement>(c.el, "player-skip-silence");
    expect(skip.getAttribute("aria-pressed")).toBe("false");

    video.currentTime = 2.5;
    video.dispatchEvent(new Event("timeupdate"));
    expect(video.currentTime).toBe(2.5);
    expect(options.skipRanges).not.toHaveBeenCalled();

    skip.click();
    expect(skip.getAttribute("aria-pressed")).toBe("true");
    await settle();
    expect(options.skipRanges).toHaveBeenCalledOnce();
    video.dispatchEvent(new Event("timeupdate"));
    expect(video.currentTime).toBeCloseTo(4.1);
    video.currentTime = 6;
    video.dispatchEvent(new Event("timeupdate"));
    expect(video.currentTime).toBe(6);
    video.currentTime = 9.2;
    video.dispatchEvent(new Event("timeupdate"));
    expect(video.currentTime).toBeCloseTo(12.5);

    skip.click();
    video.currentTime = 2.5;
    video.dispatchEvent(new Event("timeupdate"));
    expect(video.currentTime).toBe(2.5);
    c.dispose();
  });

  it("leaves a paused video where the user put it", async () => {
    const video = document.createElement("video");
    const { c } = controls(video);
    q<HTMLButtonElement>(c.el, "player-skip-silence").click();
    await settle();
    video.currentTime = 3;
    video.dispatchEvent(new Event("timeupdate"));
    expect(video.currentTime).toBe(3);
  });

  it("asks for the ranges again after the transcript changed", async () => {
    const video = playingVideo();
    const { c, options } = controls(video);
    q<HTMLButtonElement>(c.el, "player-skip-silence").click();
    await settle();
    options.skipRanges.mockResolvedValueOnce([{ startMs: 500, endMs: 1500 }]);
    c.invalidateSkipRanges();
    await settle();
    expect(options.skipRanges).toHaveBeenCalledTimes(2);
    video.currentTime = 0.7;
    video.dispatchEvent(new Event("timeupdate"));
    expect(video.currentTime).toBeCloseTo(1.5);
  });

  it("plays at the chosen speed", () => {
    const video = document.createElement("video");
    const { c } = controls(video);
    const speed = q<HTMLSelectElement>(c.el, "player-speed");
    expect([...speed.options].map((o) => o.textContent)).toEqual(["1×", "1.25×", "1.5×", "2×"]);
    expect(SPEEDS).toEqual([1, 1.25, 1.5, 2]);
    speed.value = "1.5";
    speed.dispatchEvent(new Event("change"));
    expect(video.playbackRate).toBe(1.5);
  });

  it("offers captions once there are some, and turns them on and off, remembering it", () => {
    const video = document.createElement("video");
    const { c, options } = controls(video);
    const captions = q<HTMLButtonElement>(c.el, "player-captions");
    expect(captions.hidden).toBe(true);
    c.toggleCaptions();
    expect(options.rememberCaptions).not.toHaveBeenCalled();

    c.setCaptionsOn(true);
    expect(options.showCaptions).toHaveBeenLastCalledWith(false);
    c.setCaptionsAvailable(true);
    expect(captions.hidden).toBe(false);
    expect(captions.getAttribute("aria-pressed")).toBe("true");
    expect(options.showCaptions).toHaveBeenLastCalledWith(true);

    captions.click();
    expect(captions.getAttribute("aria-pressed")).toBe("false");
    expect(options.showCaptions).toHaveBeenLastCalledWith(false);
    expect(options.rememberCaptions).toHaveBeenLastCalledWith(false);
    c.toggleCaptions();
    expect(options.rememberCaptions).toHaveBeenLastCalledWith(true);
    expect(c.captionsOn()).toBe(true);
  });
});

describe("captions track", () => {
  const done: TranscriptView = {
    id: "m1",
    state: "done",
    progress: null,
    problem: null,
    language: "en",
    languageName: "English",
    model: "tiny.en",
    origin: "here",
    lines: [{ startMs: 0, endMs: 1800, text: "Hello." }],
    captionsUrl: "http://127.0.0.1:4000/s/7/captions.vtt",
  };

  it("puts the transcript's WebVTT on the video as captions in its language", () => {
    const video = document.createElement("video");
    const captions = captionsTrack(video);
    captions.use({ ...done, state: "running", progress: 0.5, lines: [], captionsUrl: null });
    expect(captions.available()).toBe(false);
    expect(video.querySelector("track")).toBeNull();

    captions.use(done);
    expect(captions.available()).toBe(true);
    const track = video.querySelector("track")!;
    expect([track.kind, track.getAttribute("src"), track.srclang, track.label]).toEqual([
      "captions",
      "http://127.0.0.1:4000/s/7/captions.vtt",
      "en",
      "English",
    ]);
    expect(video.dataset.captions).toBe("track");
    // The same transcript again keeps the loaded track.
    captions.use({ ...done, lines: [...done.lines] });
    expect(video.querySelector("track")).toBe(track);
  });

  it("takes the captions away when the transcript goes", () => {
    const video = document.createElement("video");
    const captions = captionsTrack(video);
    captions.use(done);
    captions.use({ ...done, state: "queued", lines: [], captionsUrl: null });
    expect(video.querySelector("track")).toBeNull();
    expect(captions.available()).toBe(false);
    expect(video.dataset.captions).toBeUndefined();
  });
});
