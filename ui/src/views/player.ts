import {
  captionsOn,
  downloadModel,
  errorMessage,
  markDone,
  message as loadMessage,
  messageTranscript,
  modelStatus,
  onDownload,
  onModelDownload,
  onTranscriptChanged,
  openAttachment,
  play,
  saveAttachment,
  setCaptionsOn,
  skipRanges,
  transcribeMessage,
  transcriptLinesMatching,
  type MessageView,
} from "../api";
import { h, mount } from "../dom";
import { fileKind, formatBytes, formatDuration } from "../format";
import { routeHash } from "../routes";
import { captionsTrack, playbackControls } from "./playback_controls";
import { button, problem, screen, type Screen } from "./screen";
import { followPlayback, transcriptPanel } from "./transcript";

export interface PlayerActions {
  back(): void;
  reply(id: string): void;
  open(id: string): void;
  /** Settings, where the transcription model is chosen (by default the settings route). */
  settings?(): void;
}

/**
 * The Player: the clip with play/pause, seek, speed, volume and keyboard shortcuts,
 * captions, skip silence and the transcript beside it; the attachments; the thread;
 * Reply with video and Mark done. `startAtMs` (a search hit's moment) is where it
 * starts playing.
 */
export function playerView(id: string, actions: PlayerActions, startAtMs?: number): Screen {
  const root = h("div", { class: "screen-wrap" }, h("p", { class: "muted" }, "Loading…"));
  const feedback = h("div", { "aria-live": "polite", "data-testid": "player-feedback" });
  const video = h("video", { class: "playback", preload: "auto", "data-testid": "player-video" });
  let disposed = false;
  let total = 0;
  const report = (text: string) => mount(feedback, problem(text));

  const captions = captionsTrack(video);
  const controls = playbackControls(video, {
    captionsOn: false,
    rememberCaptions: (on) => void setCaptionsOn(on).catch((e: unknown) => report(errorMessage(e))),
    showCaptions: (on) => captions.show(on),
    skipRanges: () => skipRanges(id),
    report,
  });
  // The remembered choice arrives after the first paint; until then captions stay off.
  captionsOn().then((on) => !disposed && controls.setCaptionsOn(on), () => {});

  const seekTo = (ms: number) => {
    video.currentTime = ms / 1000;
    transcript.follow(ms);
  };
  const transcript = transcriptPanel({
    load: () => messageTranscript(id),
    modelStatus,
    transcribe: () => transcribeMessage(id),
    linesMatching: (words) => transcriptLinesMatching(id, words),
    downloadModel,
    openSettings: () => (actions.settings ? actions.settings() : (window.location.hash = routeHash({ screen: "settings" }))),
    seek: seekTo,
    loaded: (view) => {
      captions.use(view);
      controls.setCaptionsAvailable(captions.available());
    },
  });
  const stopFollowing = followPlayback(transcript, video);
  const stopTranscriptEvents = onTranscriptChanged((change) => {
    if (change.id !== id || disposed) return;
    transcript.refresh();
    // The pauses are found from the finished transcript: progress does not move them.
    if (change.state !== "running" && change.state !== "queued") controls.invalidateSkipRanges();
  });
  const stopModelEvents = onModelDownload((progress) => transcript.modelProgress(progress));

  if (startAtMs !== undefined) {
    // Once: a later load (the clip's download finishing) must not jump back.
    video.addEventListener(
      "loadedmetadata",
      () => {
        seekTo(startAtMs);
        video.play().catch(() => {});
      },
      { once: true },
    );
  }

  const playButton = button("Play", "player-play", () => toggle(), true);
  playButton.setAttribute("aria-keyshortcuts", "Space");
  const seek = h("input", { type: "range", min: "0", max: "0", step: "0.1", value: "0", "aria-label": "Position", "data-testid": "player-seek" });
  const time = h("span", { class: "timer", "data-testid": "player-time" }, "0:00");
  const volume = h("input", { type: "range", min: "0", max: "1", step: "0.05", value: "1", "aria-label": "Volume", "data-testid": "player-volume" });
  const download = h("progress", { max: "1", value: "0", hidden: true, "aria-label": "Download", "data-testid": "player-download" });

  const length = () => (Number.isFinite(video.duration) && video.duration > 0 ? video.duration : total);
  const showTime = () => {
    seek.max = String(length());
    seek.value = String(video.currentTime);
    time.textContent = `${formatDuration(video.currentTime)} / ${formatDuration(length())}`;
  };
  function toggle(): void {
    if (video.paused) video.play().catch((e: unknown) => mount(feedback, problem(`The clip cannot play: ${errorMessage(e)}`)));
    else video.pause();
  }
  video.addEventListener("play", () => (playButton.textContent = "Pause"));
  video.addEventListener("pause", () => (playButton.textContent = "Play"));
  video.addEventListener("timeupdate", showTime);
  video.addEventListener("loadedmetadata", showTime);
  video.addEventListener("error", () => mount(feedback, problem("The clip could not be played. Check the connection and open the message again.", "player-error")));
  seek.addEventListener("input", () => (video.currentTime = Number(seek.value)));
  volume.addEventListener("input", () => (video.volume = Number(volume.value)));
  video.addEventListener("click", toggle);

  const onKey = (event: KeyboardEvent) => {
    const target = event.target as HTMLElement | null;
    if (target && ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName) && target !== seek && target !== volume) return;
    if (event.key === " ") {
      event.preventDefault();
      toggle();
    } else if (event.key === "ArrowRight") {
      video.currentTime = Math.min(length(), video.currentTime + 5);
    } else if (event.key === "ArrowLeft") {
      video.currentTime = Math.max(0, video.currentTime - 5);
    } else if (event.key === "ArrowUp") {
      video.volume = Math.min(1, video.volume + 0.1);
      volume.value = String(video.volume);
    } else if (event.key === "ArrowDown") {
      video.volume = Math.max(0, video.volume - 0.1);
      volume.value = String(video.volume);
    } else if (event.key === "c" && !event.ctrlKey && !event.altKey && !event.metaKey) {
      controls.toggleCaptions();
    } else return;
    event.preventDefault();
  };
  document.addEventListener("keydown", onKey);

  const unlisten = onDownload((d) => {
    if (d.message !== id || disposed) return;
    download.hidden = d.finished;
    download.value = d.total ? d.done / d.total : 0;
    if (d.error) mount(feedback, problem(d.error, "download-error"));
  });

  const render = (m: MessageView) => {
    total = m.durationSeconds ?? 0;
    const header = screen(
      "player",
      m.subject,
      m.mine ? `To ${m.recipients.map((r) => r.name).join(", ")}` : `From ${m.sender}`,
      button("Back", "player-back", actions.back),
    );
    const actionsRow = h("div", { class: "row" });
    if (!m.mine) {
      actionsRow.append(button("Reply with video", "player-reply", () => actions.reply(m.id), true));
      if (!m.responded)
        actionsRow.append(
          button("Mark done", "player-done", () => {
            markDone(m.id)
              .then(() => loadMessage(id))
              .then(render, (e: unknown) => mount(feedback, problem(errorMessage(e))));
          }),
        );
    }
    header.classList.add("player-screen");
    header.append(h("div", { class: "player-body" },
      h(
        "div",
        { class: "player-stage" },
        h(
          "div",
          { class: "player" },
          video,
          h("div", { class: "player-controls" }, playButton, seek, time),
          h("div", { class: "player-controls" }, h("label", { class: "volume" }, "Volume", volume), controls.el),
          download,
        ),
        transcript.el,
      ),
      h(
        "p",
        { class: `due-line ${m.respondBy.section}`, "data-testid": "player-due" },
        `Respond by ${m.respondBy.local} (${m.respondBy.relative})`,
        m.respondBySenderLocal ? h("span", { class: "muted" }, ` — ${m.sender}'s time: ${m.respondBySenderLocal}`) : null,
      ),
      m.text ? h("p", { class: "message-text" }, m.text) : null,
      m.mine
        ? h(
            "div",
            { class: "chips" },
            ...m.recipients.map((r) => h("span", { class: `chip state-${r.state}`, "data-testid": `recipient-state-${r.name}` }, `${r.name}: ${r.state}`)),
          )
        : null,
      actionsRow,
      m.attachments.length
        ? h(
            "section",
            { class: "card", "aria-label": "Attachments" },
            h("h2", {}, "Attachments"),
            h(
              "ul",
              { class: "attachments" },
              ...m.attachments.map((a) =>
                h(
                  "li",
                  { class: "attachment", "data-testid": "player-attachment" },
                  h("span", { class: "file-kind", "aria-hidden": "true" }, fileKind(a.contentType, a.name)),
                  h("span", { class: "attachment-name" }, a.name),
                  h("span", { class: "muted" }, formatBytes(a.size)),
                  button("Open", "attachment-open", () =>
                    openAttachment(m.id, a.position).catch((e: unknown) => mount(feedback, problem(errorMessage(e)))),
                  ),
                  button("Save as…", "attachment-save", () =>
                    saveAttachment(m.id, a.position).then(
                      (path) => path && mount(feedback, h("p", { class: "feedback ok", role: "status" }, `Saved to ${path}`)),
                      (e: unknown) => mount(feedback, problem(errorMessage(e))),
                    ),
                  ),
                ),
              ),
            ),
          )
        : null,
      m.thread.length > 1
        ? h(
            "section",
            { class: "card", "aria-label": "Thread" },
            h("h2", {}, "Conversation"),
            h(
              "ol",
              { class: "thread" },
              ...m.thread.map((t) =>
                h(
                  "li",
                  { "data-testid": "thread-item" },
                  t.current
                    ? h("strong", {}, `${t.sender}: ${t.subject}`)
                    : h("button", { type: "button", class: "link", onclick: () => actions.open(t.id) }, `${t.sender}: ${t.subject}`),
                  h("span", { class: "muted" }, ` · ${new Date(t.sentAt).toLocaleString()}`),
                ),
              ),
            ),
          )
        : null,
      feedback,
    ));
    mount(root, header);
    showTime();
  };

  // "due in 3 h" comes from Rust: re-fetch it every minute so it moves on.
  const dueTimer = window.setInterval(() => {
    loadMessage(id).then((m) => {
      const line = root.querySelector("[data-testid=player-due]");
      if (disposed || !line?.firstChild) return;
      line.className = `due-line ${m.respondBy.section}`;
      line.firstChild.textContent = `Respond by ${m.respondBy.local} (${m.respondBy.relative})`;
    }, () => {});
  }, 60_000);

  loadMessage(id)
    .then((m) => {
      render(m);
      return play(id);
    })
    .then((p) => {
      if (disposed) return;
      download.hidden = p.complete;
      video.src = p.url;
    })
    .catch((error: unknown) => mount(root, problem(errorMessage(error), "player-error")));

  return {
    el: root,
    dispose: () => {
      disposed = true;
      window.clearInterval(dueTimer);
      document.removeEventListener("keydown", onKey);
      stopFollowing();
      transcript.dispose();
      controls.dispose();
      video.pause();
      video.removeAttribute("src");
      video.load();
      for (const stop of [unlisten, stopTranscriptEvents, stopModelEvents]) void stop.then((f) => f());
    },
  };
}

