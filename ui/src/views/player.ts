import {
  captionsOn,
  conversation as loadConversation,
  downloadModel,
  errorMessage,
  markDone,
  message as loadMessage,
  messageTranscript,
  modelStatus,
  onDownload,
  onLibraryChanged,
  onModelDownload,
  onTranscriptChanged,
  openAttachment,
  play,
  react,
  saveAttachment,
  sendTextReply,
  setCaptionsOn,
  skipRanges,
  transcribeMessage,
  transcriptLinesMatching,
  type ConversationView,
  type MessageView,
} from "../api";
import { h, mount } from "../dom";
import { fileKind, formatBytes, formatDuration } from "../format";
import { routeHash } from "../routes";
import { conversationPanel } from "./conversation";
import { moreTimePanel } from "./more_time";
import { captionsTrack, playbackControls } from "./playback_controls";
import { button, problem, screen, type Screen } from "./screen";
import { seekBar } from "./seekbar";
import { followPlayback, transcriptPanel } from "./transcript";

export interface PlayerActions {
  back(): void;
  reply(id: string): void;
  open(id: string): void;
  /** The meeting grid of a message sent to several people (by default its route). */
  meeting?(id: string): void;
  /** Settings, where the transcription model is chosen (by default the settings route). */
  settings?(): void;
}

/**
 * The Player: the clip with play/pause, a seek bar with chapter ticks and comment
 * markers, speed, volume and keyboard shortcuts, captions, skip silence and the
 * transcript beside it; under the clip a text answer box and the reactions; the
 * chapters, the attachments and the whole conversation; Reply with video and Mark
 * done. `startAtMs` (a search hit's or a comment's moment) is where it starts playing.
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
    talk.follow(ms);
  };
  const playFrom = (ms: number) => {
    seekTo(ms);
    video.play().catch(() => {});
  };
  const bar = seekBar({ seek: seekTo });
  let clipless = false;
  const talk = conversationPanel({
    load: () => loadConversation(id),
    sendTextReply,
    react,
    currentMs: () => video.currentTime * 1000,
    playFrom,
    open: (other, atMs) =>
      other === id && atMs !== undefined
        ? playFrom(atMs)
        : (window.location.hash = routeHash(atMs === undefined ? { screen: "message", id: other } : { screen: "message", id: other, atMs })),
    loaded: (view: ConversationView) => {
      bar.setChapters(view.chapters);
      bar.setMarkers(view.markers);
      const shown = view.entries.find((e) => e.current);
      // A text answer has no clip: nothing to play, the conversation is the message.
      clipless = shown !== undefined && !shown.hasClip;
      root.querySelector<HTMLElement>(".player-clip")?.toggleAttribute("hidden", clipless);
      transcript.el.hidden = clipless;
    },
  });
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
  // Asking for more time (a recipient) and deciding requests (the sender).
  const moreTime = moreTimePanel(id);
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
  const seek = bar.range;
  const time = h("span", { class: "timer", "data-testid": "player-time" }, "0:00");
  const volume = h("input", { type: "range", min: "0", max: "1", step: "0.05", value: "1", "aria-label": "Volume", "data-testid": "player-volume" });
  const download = h("progress", { max: "1", value: "0", hidden: true, "aria-label": "Download", "data-testid": "player-download" });

  const length = () => (Number.isFinite(video.duration) && video.duration > 0 ? video.duration : total);
  const showTime = () => {
    bar.show(video.currentTime, length());
    talk.follow(video.currentTime * 1000);
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
  volume.addEventListener("input", () => (video.volume = Number(volume.value)));
  video.addEventListener("click", toggle);

  const onKey = (event: KeyboardEvent) => {
    const target = event.target as HTMLElement | null;
    if (target && ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName) && target !== seek && target !== volume) return;
    // Space presses the focused button (a comment marker, a reaction, a chapter), as everywhere.
    if (event.key === " " && target?.tagName === "BUTTON") return;
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
    if (m.meeting)
      actionsRow.append(
        button("Meeting", "player-meeting", () => (actions.meeting ? actions.meeting(m.id) : (window.location.hash = routeHash({ screen: "meeting", id: m.id })))),
      );
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
          h(
            "div",
            { class: "player-clip", hidden: clipless },
            video,
            h("div", { class: "player-controls" }, playButton, bar.el, time),
            h("div", { class: "player-controls" }, h("label", { class: "volume" }, "Volume", volume), controls.el),
            download,
          ),
          talk.replyBox,
          talk.reactionBar,
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
      moreTime.el,
      talk.chapters,
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
      talk.thread,
      feedback,
    ));
    mount(root, header);
    showTime();
  };

  // "due in 3 h" comes from Rust: re-fetch it every minute so it moves on; the
  // conversation too, for reactions that arrived without a new message.
  const dueTimer = window.setInterval(() => {
    void talk.refresh();
    void moreTime.refresh();
    loadMessage(id).then((m) => {
      const line = root.querySelector("[data-testid=player-due]");
      if (disposed || !line?.firstChild) return;
      line.className = `due-line ${m.respondBy.section}`;
      line.firstChild.textContent = `Respond by ${m.respondBy.local} (${m.respondBy.relative})`;
    }, () => {});
  }, 60_000);

  // A sync may bring a comment, a reply or a reaction: show it where it belongs.
  const stopLibraryEvents = onLibraryChanged(() => {
    if (disposed) return;
    void talk.refresh();
    void moreTime.refresh();
  });

  loadMessage(id)
    .then((m) => {
      render(m);
      void moreTime.refresh();
      return talk.refresh();
    })
    .then(() => (clipless || disposed ? null : play(id)))
    .then((p) => {
      if (disposed || !p) return;
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
      talk.dispose();
      controls.dispose();
      video.pause();
      video.removeAttribute("src");
      video.load();
      for (const stop of [unlisten, stopTranscriptEvents, stopModelEvents, stopLibraryEvents]) void stop.then((f) => f());
    },
  };
}

