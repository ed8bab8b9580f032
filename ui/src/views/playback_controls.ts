// The Player's playback toggles: speed, skip silence and captions. Which stretches
// are silent comes from Rust (`skip_ranges`); this module only jumps over them.

import { errorMessage, type SkipRange, type TranscriptView } from "../api";
import { h } from "../dom";

export const SPEEDS = [1, 1.25, 1.5, 2];

/**
 * Where to jump when playback is at `atMs`: the end of the range it is inside
 * (start included, end excluded, so landing on the end never jumps again), or
 * null outside every range. `ranges` are in order and do not overlap.
 */
export function skipTarget(ranges: readonly SkipRange[], atMs: number): number | null {
  let low = 0;
  let high = ranges.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const range = ranges[mid]!;
    if (atMs < range.startMs) high = mid - 1;
    else if (atMs >= range.endMs) low = mid + 1;
    else return range.endMs;
  }
  return null;
}

export interface PlaybackControlsOptions {
  /** The remembered captions choice. */
  captionsOn: boolean;
  /** Remembers the captions choice (errors are reported by the caller). */
  rememberCaptions(on: boolean): void;
  /** Shows or hides the captions track. */
  showCaptions(on: boolean): void;
  /** The stretches skip silence jumps over, fetched when it is first turned on. */
  skipRanges(): Promise<SkipRange[]>;
  /** Tells the user something went wrong (one sentence). */
  report(text: string): void;
}

export interface PlaybackControls {
  el: HTMLElement;
  /** Offers the captions toggle once there are captions to show (hidden until then). */
  setCaptionsAvailable(available: boolean): void;
  /** The skip ranges changed (a transcript was made): fetch them again when needed. */
  invalidateSkipRanges(): void;
  captionsOn(): boolean;
  /** Sets the remembered choice without remembering it again. */
  setCaptionsOn(on: boolean): void;
  /** The C key: what the Captions button does, when there are captions. */
  toggleCaptions(): void;
  dispose(): void;
}

function toggleButton(label: string, testid: string, pressed: boolean, onclick: () => void): HTMLButtonElement {
  return h(
    "button",
    { class: "button toggle", type: "button", "data-testid": testid, "aria-pressed": String(pressed), onclick },
    label,
  );
}

const pressed = (b: HTMLButtonElement) => b.getAttribute("aria-pressed") === "true";

/** Speed (1× to 2×), Skip silence and Captions for `video`. */
export function playbackControls(video: HTMLVideoElement, options: PlaybackControlsOptions): PlaybackControls {
  const speed = h(
    "select",
    { "aria-label": "Speed", "data-testid": "player-speed" },
    ...SPEEDS.map((s) => h("option", { value: String(s), selected: s === 1 }, `${s}×`)),
  );
  speed.addEventListener("change", () => (video.playbackRate = Number(speed.value)));

  let ranges: SkipRange[] | null = null;
  let fetching: Promise<void> | null = null;
  let generation = 0;
  const loadRanges = () => {
    if (ranges || fetching) return;
    const asked = generation;
    fetching = options
      .skipRanges()
      .then(
        (r) => {
          if (asked === generation) ranges = r;
        },
        (e: unknown) => options.report(errorMessage(e)),
      )
      .finally(() => (fetching = null));
  };

  const skip = toggleButton("Skip silence", "player-skip-silence", false, () => {
    const on = !pressed(skip);
    skip.setAttribute("aria-pressed", String(on));
    if (on) loadRanges();
  });
  skip.title = "Jump over long pauses while playing";

  const onTime = () => {
    if (!pressed(skip) || video.paused || video.seeking || !ranges) return;
    const target = skipTarget(ranges, video.currentTime * 1000);
    if (target !== null) video.currentTime = target / 1000;
  };
  video.addEventListener("timeupdate", onTime);

  const setCaptions = (on: boolean) => {
    captions.setAttribute("aria-pressed", String(on));
    options.showCaptions(on && !captions.hidden);
  };
  const captions = toggleButton("Captions", "player-captions", options.captionsOn, () => {
    const on = !pressed(captions);
    setCaptions(on);
    options.rememberCaptions(on);
  });
  captions.setAttribute("aria-keyshortcuts", "C");
  captions.hidden = true;

  const el = h("div", { class: "playback-toggles", role: "group", "aria-label": "Playback" }, speed, skip, captions);
  return {
    el,
    setCaptionsAvailable: (available) => {
      captions.hidden = !available;
      options.showCaptions(available && pressed(captions));
    },
    invalidateSkipRanges: () => {
      generation += 1;
      ranges = null;
      if (pressed(skip)) loadRanges();
    },
    captionsOn: () => pressed(captions),
    setCaptionsOn: setCaptions,
    toggleCaptions: () => {
      if (!captions.hidden) captions.click();
    },
    dispose: () => video.removeEventListener("timeupdate", onTime),
  };
}

export interface CaptionsTrack {
  /** Captions for this transcript view (none unless it is done and has lines). */
  use(view: TranscriptView): void;
  available(): boolean;
  show(on: boolean): void;
}

/**
 * The captions on the video: a `<track kind="captions">` from the transcript's WebVTT
 * URL. If that fails to load (the playback server stopped offering it, a damaged file),
 * the same lines become cues of a track made here, so captions show either way.
 * `video.dataset.captions` says which: "track" or "cues".
 */
export function captionsTrack(video: HTMLVideoElement): CaptionsTrack {
  let element: HTMLTrackElement | null = null;
  let made: TextTrack | null = null;
  let view: TranscriptView | null = null;
  let on = false;

  const track = (): TextTrack | null => (video.dataset.captions === "cues" ? made : (element?.track ?? null));
  const apply = () => {
    const t = track();
    if (t) t.mode = on ? "showing" : "hidden";
    for (const other of [element?.track, made]) if (other && other !== t) other.mode = "disabled";
  };

  /** Puts the lines in a track of our own (one per Player: a made track cannot be removed). */
  const fromLines = () => {
    if (!view || typeof VTTCue === "undefined") return;
    try {
      made ??= video.addTextTrack("captions", view.languageName ?? "Captions", view.language ?? "");
    } catch {
      return;
    }
    for (const cue of [...(made.cues ?? [])]) made.removeCue(cue);
    for (const line of view.lines) made.addCue(new VTTCue(line.startMs / 1000, Math.max(line.endMs, line.startMs + 1) / 1000, line.text));
    video.dataset.captions = "cues";
    apply();
  };

  return {
    use(next: TranscriptView): void {
      view = next.state === "done" && next.lines.length ? next : null;
      if (!view) {
        element?.remove();
        element = null;
        delete video.dataset.captions;
        apply();
        return;
      }
      // Once the track has failed, or without a URL, the lines are the captions.
      if (video.dataset.captions === "cues" || !view.captionsUrl) {
        fromLines();
        return;
      }
      if (element?.getAttribute("src") === view.captionsUrl) return;
      element?.remove();
      element = h("track", {
        kind: "captions",
        src: view.captionsUrl,
        srclang: view.language ?? "",
        label: view.languageName ?? "Captions",
        "data-testid": "player-captions-track",
      });
      element.addEventListener("error", fromLines, { once: true });
      video.append(element);
      video.dataset.captions = "track";
      apply();
    },
    available: () => view !== null,
    show(next: boolean): void {
      on = next;
      apply();
    },
  };
}
