// Typed wrappers for every command and event the Rust shell offers. Views call
// these, never `invoke`/`listen` directly, so the contract lives in one place
// and mirrors src-tauri/src/commands.rs and trigger.rs.

import { Channel, invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

export interface ShortcutStatus {
  accelerator: string;
  registered: boolean;
  problem: string | null;
}

export interface ShellStatus {
  version: string;
  quickRecordShortcut: ShortcutStatus;
}

/** Mirrors `SettingsView` in src-tauri/src/commands.rs. */
export interface SettingsView {
  user: string;
  storeKind: "folder" | "hub";
  storeLocation: string;
  dataDir: string;
  dueSoonMinutes: number;
  downloadPolicy: "on-demand" | "background";
  quickRecordShortcut: ShortcutStatus;
}

/** Every command rejects with this shape: one sentence that says what to do. */
export interface CommandError {
  message: string;
}

/** The user-facing sentence of a rejected command (or of anything else thrown). */
export function errorMessage(error: unknown): string {
  if (typeof error === "object" && error !== null && "message" in error) {
    return String((error as CommandError).message);
  }
  return String(error);
}

/** Mirrors `TriggerSource` in src-tauri/src/trigger.rs. */
export type TriggerSource = "global-shortcut" | "tray-menu";

export interface QuickRecordRequest {
  source: TriggerSource;
  /** Why the recording could not start; absent when it runs. */
  problem?: string;
}

export const QUICK_RECORD_EVENT = "quick-record";

export function shellStatus(): Promise<ShellStatus> {
  return invoke<ShellStatus>("shell_status");
}

/** Tells the shell the inbox is on screen and usable (it logs the cold-start time). */
export function uiReady(): Promise<void> {
  return invoke<void>("ui_ready");
}

export function settings(): Promise<SettingsView> {
  return invoke<SettingsView>("settings");
}

/** Mirrors `AboutView` in src-tauri/src/commands.rs. */
export interface AboutView {
  version: string;
  protocol: number;
  /** How the app and its hub get along, in one sentence; null with a folder store. */
  hub: string | null;
}

export function about(): Promise<AboutView> {
  return invoke<AboutView>("about");
}

/** Rejects (with a CommandError) when the combination is invalid or taken; the old one then stays. */
export function setQuickRecordShortcut(accelerator: string): Promise<SettingsView> {
  return invoke<SettingsView>("set_quick_record_shortcut", { accelerator });
}

export function setDueSoonMinutes(minutes: number): Promise<SettingsView> {
  return invoke<SettingsView>("set_due_soon_minutes", { minutes });
}

export function setDownloadPolicy(policy: "on-demand" | "background"): Promise<SettingsView> {
  return invoke<SettingsView>("set_download_policy", { policy });
}

export function onQuickRecord(handler: (request: QuickRecordRequest) => void): Promise<UnlistenFn> {
  return listen<QuickRecordRequest>(QUICK_RECORD_EVENT, (event) => handler(event.payload));
}

// ---- Recording (src-tauri/src/recording.rs) ----

export interface DeviceView {
  id: string;
  name: string;
}

export interface DevicesView {
  cameras: DeviceView[];
  microphones: DeviceView[];
  /** A camera id, "test-pattern" or "none". */
  camera: string;
  /** A microphone id, "default" or "none". */
  microphone: string;
  quality: string;
  qualities: string[];
  maxClipSeconds: number;
  cameraProblem: string | null;
  microphoneProblem: string | null;
}

export interface RecordingView {
  draftId: string;
  maxMs: number;
  /** The bubble's corner while the screen is recorded with the camera; null without a bubble. */
  bubbleCorner: string | null;
  /** The screen is being recorded (the main window steps aside). */
  screen: boolean;
  /** The mix's gains while the microphone and computer sound are recorded together; null otherwise. */
  levels: MixLevelsView | null;
  /** The chapter being recorded now; null until the first "Next item" without an agenda. */
  chapter: ChapterMark | null;
}

/** Mirrors `ChapterMark` in src-tauri/src/recording.rs: a chapter marked while recording. */
export interface ChapterMark {
  /** 1-based, as the user counts. */
  number: number;
  title: string;
  startMs: number;
  /** `startMs` as "0:14". */
  at: string;
  /** What the recorder shows: "Item 2 of 3: Hiring". */
  label: string;
}

/** The microphone's and the computer sound's gains: 1 is as they come, 0 muted. */
export interface MixLevelsView {
  microphone: number;
  computer: number;
}

/** What is recorded: the camera alone, the screen alone, or the screen with the camera in a bubble. */
export type Layout = "camera" | "screen" | "screen-camera";

/** Mirrors `LayoutView` in src-tauri/src/screen.rs: the remembered layout and what can be chosen. */
export interface LayoutView {
  layout: Layout;
  /** A screen target id: "screen", "monitor:N" or "window:0xHEX". */
  screen: string;
  bubbleShape: string;
  bubbleSize: string;
  bubbleCorner: string;
  computerSound: boolean;
  /** The mix's gains when computer sound is on (1 is as they come). */
  microphoneLevel: number;
  computerLevel: number;
  /** The most a level can be. */
  maxLevel: number;
  shapes: string[];
  sizes: string[];
  corners: string[];
}

export interface LayoutChoice {
  layout: Layout;
  screen: string;
  bubbleShape: string;
  bubbleSize: string;
  bubbleCorner: string;
  computerSound: boolean;
}

/** One screen, monitor or window that can be recorded (`list_screens`). */
export interface ScreenView {
  id: string;
  name: string;
  width: number;
  height: number;
}

/** One picture of a clip for the trim scrubber: when it is, and an image URL for it. */
export interface FilmstripFrame {
  atMs: number;
  url: string;
}

export type RecordingProgress =
  | { kind: "Progress"; elapsedMs: number; remainingMs: number; paused: boolean; rmsDbfs: number; peakDbfs: number }
  | { kind: "Ended"; reason: string }
  | { kind: "Notice"; text: string };

/** A preview frame: width and height (u32 little-endian) then RGBA pixels. */
export interface PreviewFrame {
  width: number;
  height: number;
  pixels: Uint8ClampedArray;
}

export function decodePreview(buffer: ArrayBuffer): PreviewFrame | null {
  if (buffer.byteLength < 8) return null;
  const header = new DataView(buffer, 0, 8);
  const width = header.getUint32(0, true);
  const height = header.getUint32(4, true);
  if (buffer.byteLength !== 8 + width * height * 4) return null;
  return { width, height, pixels: new Uint8ClampedArray(buffer, 8) };
}

/**
 * Reads a filmstrip as `draft_filmstrip` sends it: a u32 count, then per picture a
 * u64 time in ms, a u32 length and that many JPEG bytes (all little-endian).
 */
export function decodeFilmstrip(buffer: ArrayBuffer): { atMs: number; jpeg: Uint8Array }[] | null {
  const view = new DataView(buffer);
  if (buffer.byteLength < 4) return null;
  const count = view.getUint32(0, true);
  const frames: { atMs: number; jpeg: Uint8Array }[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + 12 > buffer.byteLength) return null;
    const atMs = Number(view.getBigUint64(at, true));
    const length = view.getUint32(at + 8, true);
    at += 12;
    if (at + length > buffer.byteLength) return null;
    frames.push({ atMs, jpeg: new Uint8Array(buffer, at, length) });
    at += length;
  }
  return at === buffer.byteLength ? frames : null;
}

export function devices(): Promise<DevicesView> {
  return invoke<DevicesView>("devices");
}

export function chooseDevices(
  camera: string,
  microphone: string,
  quality: string,
  maxClipSeconds: number,
): Promise<DevicesView> {
  return invoke<DevicesView>("choose_devices", { camera, microphone, quality, maxClipSeconds });
}

export function recordingLayout(): Promise<LayoutView> {
  return invoke<LayoutView>("recording_layout");
}

/** Remembers the layout, screen, bubble and computer sound for the next recordings. */
export function chooseLayout(choice: LayoutChoice): Promise<LayoutView> {
  return invoke<LayoutView>("choose_layout", { ...choice });
}

export function listScreens(): Promise<ScreenView[]> {
  return invoke<ScreenView[]>("list_screens");
}

/** One picture of a screen or window for the picker, or null if it came back malformed. */
export async function screenThumbnail(id: string, maxWidth: number): Promise<PreviewFrame | null> {
  return decodePreview(await invoke<ArrayBuffer>("screen_thumbnail", { id, maxWidth }));
}

/** Moves the running recording's bubble (and remembers the corner). */
export function setBubbleCorner(corner: string): Promise<void> {
  return invoke<void>("set_bubble_corner", { corner });
}

/** Changes the running recording's mix levels, if it mixes computer sound, and remembers them. */
export function setMixLevels(microphone: number, computer: number): Promise<LayoutView> {
  return invoke<LayoutView>("set_mix_levels", { microphone, computer });
}

export function setBubbleStyle(shape: string, size: string, corner: string): Promise<void> {
  return invoke<void>("set_bubble_style", { shape, size, corner });
}

/**
 * Starts recording with the remembered layout and devices (the same rule as the global shortcut);
 * `agenda` (one item per line, or comma separated) names the chapters "Next item" starts.
 */
export function startRecording(agenda: string | null = null): Promise<RecordingView> {
  return invoke<RecordingView>("start_recording", { agenda });
}

/** Starts the next chapter of the running recording, now; rejects with why (too soon after the last). */
export function nextChapter(): Promise<ChapterMark> {
  return invoke<ChapterMark>("next_chapter");
}

/** Emitted to every window when a chapter starts, whichever window asked. */
export function onRecordingChapter(handler: (chapter: ChapterMark) => void): Promise<UnlistenFn> {
  return listen<ChapterMark>("recording-chapter", (event) => handler(event.payload));
}

export function currentRecording(): Promise<RecordingView | null> {
  return invoke<RecordingView | null>("current_recording");
}

/** Streams the running recording's preview and progress; false when nothing records. */
export function watchRecording(
  onFrame: (frame: PreviewFrame) => void,
  onProgress: (progress: RecordingProgress) => void,
): Promise<boolean> {
  const preview = new Channel<ArrayBuffer>();
  preview.onmessage = (buffer) => {
    const frame = decodePreview(buffer);
    if (frame) onFrame(frame);
  };
  const progress = new Channel<RecordingProgress>();
  progress.onmessage = onProgress;
  return invoke<boolean>("watch_recording", { preview, progress });
}

export function pauseRecording(paused: boolean): Promise<void> {
  return invoke<void>("pause_recording", { paused });
}

export function stopRecording(): Promise<DraftView> {
  return invoke<DraftView>("stop_recording");
}

export function discardRecording(): Promise<void> {
  return invoke<void>("discard_recording");
}

/** Emitted when a recording starts (its view) or ends (null), to every window. */
export function onRecordingChanged(handler: (recording: RecordingView | null) => void): Promise<UnlistenFn> {
  return listen<RecordingView | null>("recording-changed", (event) => handler(event.payload));
}

// ---- Trim (src-tauri/src/trim.rs) ----

/** `count` pictures spread over the draft's clip, as blob URLs (revoke them when done). */
export async function draftFilmstrip(draftId: string, count: number): Promise<FilmstripFrame[]> {
  const frames = decodeFilmstrip(await invoke<ArrayBuffer>("draft_filmstrip", { draftId, count, maxWidth: 160 }));
  if (!frames) throw { message: "The clip's pictures came back damaged; reopen the draft to try again." } satisfies CommandError;
  return frames.map((f) => ({ atMs: f.atMs, url: URL.createObjectURL(new Blob([f.jpeg.slice()], { type: "image/jpeg" })) }));
}

/** Cuts the draft's clip to [startMs, endMs]; resolves to the trimmed draft. */
export function trimDraft(draftId: string, startMs: number, endMs: number): Promise<DraftView> {
  return invoke<DraftView>("trim_draft", { draftId, startMs, endMs });
}

// ---- Messages (src-tauri/src/messages.rs) ----

export type Section = "open" | "overdue" | "answered";

export type Urgency = "soon" | "later" | "overdue" | "answered";

/** A respond-by as Rust words it: the UI shows these, it computes none of them. */
export interface DueView {
  /** RFC 3339 instant. */
  at: string;
  /** In the reader's own time zone. */
  local: string;
  section: Section;
  /** "soon" within the user's due-soon reminder setting. */
  urgency: Urgency;
  /** "due in 3 h", "overdue by 2 d", "answered", as of when the view was made. */
  relative: string;
}

export interface DraftView {
  id: string;
  createdAt: string;
  durationSeconds: number | null;
  state: "recording" | "ready" | "queued" | "sent";
  recovered: boolean;
  uploadedBytes: number;
  clipBytes: number;
  uploaded: boolean;
  playUrl: string | null;
  posterUrl: string | null;
}

export interface InboxItem {
  id: string;
  sender: string;
  subject: string;
  respondBy: DueView;
  unread: boolean;
  responded: boolean;
  attachmentCount: number;
  clipBytes: number;
  durationSeconds: number | null;
  posterUrl: string | null;
  isReply: boolean;
  sentAt: string;
}

export type RecipientState = "responded" | "viewed" | "pending" | "overdue";

export interface RecipientView {
  name: string;
  state: RecipientState;
}

export interface SentItem {
  id: string;
  subject: string;
  recipients: RecipientView[];
  respondBy: DueView;
  createdAt: string;
  delivery: "sending" | "sent" | "failed";
  problem: string | null;
  isReply: boolean;
  /** Sent to several people: it has a meeting grid. */
  meeting: boolean;
  /** Who "Nudge pending" reaches now (pending, not nudged for their deadline). */
  toNudge: string[];
}

export interface MessageAttachment {
  position: number;
  name: string;
  size: number;
  contentType: string;
  downloaded: boolean;
}

export interface MessageView {
  id: string;
  mine: boolean;
  sender: string;
  recipients: RecipientView[];
  subject: string;
  /** What a reply's subject starts as ("Re: …"). */
  replySubject: string;
  text: string | null;
  respondBy: DueView;
  respondBySenderLocal: string | null;
  responded: boolean;
  /** Sent to several people: it has a meeting grid, and more time can be asked. */
  meeting: boolean;
  attachments: MessageAttachment[];
  clipBytes: number;
  durationSeconds: number | null;
  posterUrl: string | null;
}

export interface PlayView {
  url: string;
  complete: boolean;
}

export interface DownloadView {
  message: string;
  done: number;
  total: number;
  error: string | null;
  finished: boolean;
}

export function inbox(): Promise<InboxItem[]> {
  return invoke<InboxItem[]>("inbox");
}

export function sent(): Promise<SentItem[]> {
  return invoke<SentItem[]>("sent");
}

export function drafts(): Promise<DraftView[]> {
  return invoke<DraftView[]>("drafts");
}

export function draft(id: string): Promise<DraftView> {
  return invoke<DraftView>("draft", { id });
}

export function discardDraft(id: string): Promise<void> {
  return invoke<void>("discard_draft", { id });
}

export function message(id: string): Promise<MessageView> {
  return invoke<MessageView>("message", { id });
}

export function play(id: string): Promise<PlayView> {
  return invoke<PlayView>("play", { id });
}

export function markDone(id: string): Promise<void> {
  return invoke<void>("mark_done", { id });
}

export function openAttachment(id: string, position: number): Promise<void> {
  return invoke<void>("open_attachment", { id, position });
}

/** The path saved to, or null when the user cancelled. */
export function saveAttachment(id: string, position: number): Promise<string | null> {
  return invoke<string | null>("save_attachment", { id, position });
}

// ---- Conversation (src-tauri/src/conversation.rs) ----

/** One chapter of the shown message; `at` is its start as people write it ("1:23"). */
export interface ChapterView {
  /** 0-based, as a reply names it. */
  index: number;
  /** 1-based, as people count. */
  number: number;
  startMs: number;
  title: string;
  at: string;
}

/** One emoji on a message, who gives it, and whether I am one of them. */
export interface ReactionView {
  emoji: string;
  by: string[];
  mine: boolean;
}

/** A comment on the shown message: a marker on its seek bar. */
export interface MarkerView {
  id: string;
  atMs: number;
  /** "Comment by bob at 1:23: which quarter is this?" */
  label: string;
}

export type EntryKind = "message" | "reply" | "comment";

/** One message of the thread, as the conversation lists it (mirrors `EntryView`). */
export interface ConversationEntryView {
  id: string;
  sender: string;
  mine: boolean;
  kind: EntryKind;
  subject: string;
  text: string | null;
  /** Null while it waits in my outbox. */
  sentAt: string | null;
  /** Why my answer has not gone yet. */
  pending: string | null;
  inReplyTo: string | null;
  atMs: number | null;
  at: string | null;
  chapter: { index: number; number: number; title: string } | null;
  hasClip: boolean;
  duration: string | null;
  posterUrl: string | null;
  reactions: ReactionView[];
  /** The message the Player shows. */
  current: boolean;
}

/** Everything the Player shows around one message's clip. */
export interface ConversationView {
  message: string;
  chapters: ChapterView[];
  /** The comments on the shown message, by moment. */
  markers: MarkerView[];
  /** Every reaction one can give, in order, with who gives it now. */
  reactionBar: ReactionView[];
  /** The whole thread, oldest first. */
  entries: ConversationEntryView[];
}

export interface TextReplyView {
  messageId: string;
  recipients: string[];
}

/** The thread around a message (received or sent), with its chapters, markers and reactions. */
export function conversation(id: string): Promise<ConversationView> {
  return invoke<ConversationView>("conversation", { id });
}

/**
 * Answers `message` with text only: a comment when `atMs` names a moment of its clip;
 * `chapter` (0-based) names the chapter it answers. It goes to everyone else in the thread.
 */
export function sendTextReply(message: string, text: string, atMs: number | null, chapter: number | null): Promise<TextReplyView> {
  return invoke<TextReplyView>("send_text_reply", { message, text, atMs, chapter });
}

/** Gives (or with `removed` takes back) my reaction; resolves to the message's reaction bar now. */
export function react(message: string, emoji: string, removed: boolean): Promise<ReactionView[]> {
  return invoke<ReactionView[]>("react", { message, emoji, removed });
}

// ---- Meeting (src-tauri/src/meeting.rs) ----

/** How far a participant got on one agenda item. */
export type CellState = "answered" | "commented" | "pending" | "overdue";

/** One agenda item: a chapter of the clip, or the whole message when it has none. */
export interface MeetingItemView {
  /** 0-based chapter index; null for "The message". */
  index: number | null;
  /** "1. Budget", or the title alone without chapters. */
  label: string;
  title: string;
  startMs: number | null;
  /** The chapter's start as people write it ("1:23"). */
  at: string | null;
}

/** One answer or comment in a cell. */
export interface CellEntryView {
  id: string;
  /** The moment of the clip it is about, when it names one. */
  atMs: number | null;
  at: string | null;
  /** One line of what was said ("a video answer" when it is only a clip). */
  text: string;
}

/** One participant's state on one agenda item. */
export interface MeetingCellView {
  state: CellState;
  /** The state in words, as the cell shows it beside its colour. */
  label: string;
  entries: CellEntryView[];
  /** What the cell opens: the answer (a comment opens the clip at its moment); null when pending. */
  open: { id: string; atMs: number | null } | null;
}

export interface MeetingParticipantView {
  name: string;
  /** Their own (effective) deadline, on my clock. */
  deadline: DueView;
  /** The deadline on their clock ("Thu 10:00 for bob"); null when their profile is not known. */
  theirClock: string | null;
  /** Their deadline was moved by more time given. */
  extended: boolean;
  /** Nudged already for their current deadline. */
  nudged: boolean;
  cells: MeetingCellView[];
}

export interface MeetingClosedView {
  reason: "everyone-answered" | "deadline-passed" | "closed-by-sender";
  /** "Closed: everyone answered." */
  text: string;
}

/** Mirrors `MeetingView` in src-tauri/src/meeting.rs: participants × agenda items. */
export interface MeetingView {
  message: string;
  subject: string;
  sender: string;
  /** I sent it: I may nudge, give more time and close it. */
  mine: boolean;
  items: MeetingItemView[];
  participants: MeetingParticipantView[];
  closed: MeetingClosedView | null;
  lastDeadline: DueView;
  /** Who "Nudge pending" reaches now (pending, not nudged for their deadline). */
  toNudge: string[];
}

/** What "Nudge pending" did. */
export interface NudgeView {
  nudged: string[];
  /** "Nudged bob and carol." or why nobody was. */
  text: string;
}

export function meeting(id: string): Promise<MeetingView> {
  return invoke<MeetingView>("meeting", { id });
}

/** The meeting's summary in Markdown: items, who said what with links to the moments, what is open. */
export function meetingMarkdown(id: string): Promise<string> {
  return invoke<string>("meeting_markdown", { id });
}

/** Asks where to save the Markdown summary and writes it; resolves to the path, or null when cancelled. */
export function saveMeetingMarkdown(id: string): Promise<string | null> {
  return invoke<string | null>("save_meeting_markdown", { id });
}

// ---- More time, nudges, closing (src-tauri/src/more_time.rs) ----

/** One request for more time and what the sender decided. */
export interface ExtensionView {
  request: string;
  recipient: string;
  /** I asked it. */
  mine: boolean;
  askedAt: string;
  /** The time asked for, RFC 3339, and on my clock. */
  proposedAt: string;
  proposed: string;
  note: string;
  state: "asked" | "granted" | "declined";
  decisionNote: string | null;
  /** "bob asks for more time until Thu 10 Dec 12:00", "alice gave you more time until …". */
  summary: string;
}

/** Mirrors `MoreTimeView`: the Player's "More time" section. */
export interface MoreTimeView {
  message: string;
  /** I sent it (I decide requests); else I am a recipient (I ask). */
  mine: boolean;
  /** My own deadline, as a recipient. */
  myDeadline: DueView | null;
  /** Why I cannot ask now (the meeting is closed, a request waits); null when I can. */
  cannotAsk: string | null;
  /** What the time field starts at: a day after my deadline, "YYYY-MM-DDTHH:MM" on my clock. */
  suggested: string | null;
  /** The sender closed it: "alice closed this meeting." */
  closed: string | null;
  extensions: ExtensionView[];
}

export function moreTime(id: string): Promise<MoreTimeView> {
  return invoke<MoreTimeView>("more_time", { id });
}

/** Asks the sender for more time until `until` ("YYYY-MM-DDTHH:MM" on my clock). */
export function askMoreTime(id: string, until: string, note: string): Promise<MoreTimeView> {
  return invoke<MoreTimeView>("ask_more_time", { id, until, note });
}

/** Grants or declines a request for more time, with a note. */
export function answerMoreTime(id: string, request: string, granted: boolean, note: string): Promise<MoreTimeView> {
  return invoke<MoreTimeView>("answer_more_time", { id, request, granted, note });
}

/** Nudges every pending participant not nudged yet for their deadline. */
export function nudge(id: string): Promise<NudgeView> {
  return invoke<NudgeView>("nudge", { id });
}

/** Closes the meeting: nobody asks for more time any more. */
export function closeMeeting(id: string): Promise<MeetingView> {
  return invoke<MeetingView>("close_meeting", { id });
}

// ---- Compose (src-tauri/src/compose.rs) ----

export interface UserView {
  name: string;
  displayName: string;
  timeZone: string;
}

export interface LocalTime {
  name: string;
  local: string;
}

export interface RespondByView {
  key: string;
  label: string;
  at: string;
  local: string;
  recipients: LocalTime[];
  isDefault: boolean;
}

/** A preset, a time on my clock, or N of each recipient's own working hours. */
export type RespondByChoice = { kind: "Preset"; key: string } | { kind: "At"; local: string } | { kind: "WorkingHoursEach"; hours: number };

export interface AttachmentView {
  path: string;
  name: string;
  size: number;
  contentType: string;
}

export interface SendView {
  messageId: string;
  respondByLocal: string;
}

export interface NewMessage {
  draft: string;
  recipients: string[];
  subject: string;
  text: string;
  respondBy: RespondByChoice;
  attachments: string[];
  inReplyTo: string | null;
  /** The message asks for no more than a ✅: that reaction counts as an answer. */
  acknowledgeOnly: boolean;
}

/** Mirrors `ChapterLine` in src-tauri/src/compose.rs: one of a draft's chapters. */
export interface ChapterLine {
  /** 1-based, as the user counts. */
  number: number;
  startMs: number;
  /** `startMs` as "0:14". */
  at: string;
  title: string;
}

/** A chapter as Compose sends it back, edited. */
export interface ChapterEdit {
  startMs: number;
  title: string;
}

export function users(): Promise<UserView[]> {
  return invoke<UserView[]>("users");
}

export function respondByChoices(recipients: string[]): Promise<RespondByView[]> {
  return invoke<RespondByView[]>("respond_by_choices", { recipients });
}

export function respondByAt(local: string, recipients: string[]): Promise<RespondByView> {
  return invoke<RespondByView>("respond_by_at", { local, recipients });
}

/** Mirrors `RecipientClockView` in src-tauri/src/compose.rs. */
export interface RecipientClockView {
  name: string;
  timeZone: string;
  /** Now on their clock: "Wed 23:00". */
  localNow: string;
  /** null when they gave no working hours. */
  working: boolean | null;
  /** "working now, until 18:00", "off until Tue 09:00". */
  availability: string | null;
  /** The respond-by on their clock: "Wed 02:00". */
  respondBy: string;
  outsideHours: boolean;
  /** "Wed 02:00 for yuki, outside their working hours". */
  respondByPhrase: string;
}

/** A Compose opens: its recipients' profiles are loaded afresh (once per Compose). */
export function forgetProfiles(): Promise<void> {
  return invoke<void>("forget_profiles");
}

/** Each recipient's clock now and at the respond-by `at`; empty when the store is away. */
/** Each recipient's clock now and at `at`, or with `hoursEach`, at their own deadline that many working hours away. */
export function recipientClocks(recipients: string[], at: string, hoursEach: number | null = null): Promise<RecipientClockView[]> {
  return invoke<RecipientClockView[]>("recipient_clocks", { recipients, at, hoursEach });
}

export function describeAttachments(paths: string[]): Promise<AttachmentView[]> {
  return invoke<AttachmentView[]>("describe_attachments", { paths });
}

export function pickAttachments(): Promise<AttachmentView[]> {
  return invoke<AttachmentView[]>("pick_attachments");
}

export function sendMessage(m: NewMessage): Promise<SendView> {
  return invoke<SendView>("send_message", { ...m });
}

/** The draft's chapters, in order. */
export function draftChapters(draft: string): Promise<ChapterLine[]> {
  return invoke<ChapterLine[]>("draft_chapters", { draft });
}

/** Replaces the draft's chapters (checked: sorted, within the clip, titles bounded); resolves to them as saved. */
export function setDraftChapters(draft: string, chapters: ChapterEdit[]): Promise<ChapterLine[]> {
  return invoke<ChapterLine[]>("set_draft_chapters", { draft, chapters });
}

/** Adds a chapter at `atMs` of the draft's clip, titled "Item N" by its place (the first past the start also makes "Item 1" at 0). */
export function addDraftChapter(draft: string, atMs: number): Promise<ChapterLine[]> {
  return invoke<ChapterLine[]>("add_draft_chapter", { draft, atMs });
}

// ---- Store and connection (src-tauri/src/commands.rs, background.rs) ----

export type StoreInput = { kind: "Hub"; url: string; token: string } | { kind: "Folder"; path: string; name: string };

export interface ConnectionView {
  online: boolean;
  problem: string | null;
  queued: number;
}

export function testStore(store: StoreInput): Promise<string> {
  return invoke<string>("test_store", { store });
}

export function setStore(store: StoreInput): Promise<SettingsView> {
  return invoke<SettingsView>("set_store", { store });
}

export function connection(): Promise<ConnectionView> {
  return invoke<ConnectionView>("connection");
}

// ---- Events ----

export function onLibraryChanged(handler: () => void): Promise<UnlistenFn> {
  return listen("library-changed", () => handler());
}

export function onConnection(handler: (c: ConnectionView) => void): Promise<UnlistenFn> {
  return listen<ConnectionView>("connection", (event) => handler(event.payload));
}

export function onDownload(handler: (d: DownloadView) => void): Promise<UnlistenFn> {
  return listen<DownloadView>("download-progress", (event) => handler(event.payload));
}

export function onComposeDraft(handler: (draftId: string) => void): Promise<UnlistenFn> {
  return listen<string>("compose-draft", (event) => handler(event.payload));
}

export function onOpenMessage(handler: (id: string) => void): Promise<UnlistenFn> {
  return listen<string>("open-message", (event) => handler(event.payload));
}

/** Files dropped on the window (Tauri's own drag-and-drop event carries their paths). */
export function onFilesDropped(handler: (paths: string[]) => void): Promise<UnlistenFn> {
  return listen<{ paths: string[] }>("tauri://drag-drop", (event) => handler(event.payload.paths));
}

/** The quick recorder window was shown again for a new recording. */
export function onQuickWindowShown(handler: () => void): Promise<UnlistenFn> {
  return listen("quick-window-shown", () => handler());
}

// ---- Transcripts, captions and skip silence (src-tauri/src/transcripts.rs) ----

/** "none": no transcript yet (offer "Make transcript"); "failed": `problem` says why. */
export type TranscriptState = "none" | "queued" | "running" | "done" | "failed";

export interface TranscriptLine {
  startMs: number;
  endMs: number;
  text: string;
}

/** Mirrors `TranscriptView` in src-tauri/src/transcripts.rs. */
export interface TranscriptView {
  /** The message this is about. */
  id: string;
  state: TranscriptState;
  /** 0..1 while running, else null. */
  progress: number | null;
  /** Why it failed (one sentence), when `state` is "failed". */
  problem: string | null;
  /** The spoken language's code ("en"), once known. */
  language: string | null;
  /** Its name in English ("English"), once known. */
  languageName: string | null;
  /** The model that made it ("base.en"). */
  model: string | null;
  /** "here": made on this machine; "received": it came with the message. */
  origin: "here" | "received" | null;
  lines: TranscriptLine[];
  /** A WebVTT file on the loopback player, for `<track kind="captions">`; null without a transcript. */
  captionsUrl: string | null;
}

/** A stretch the player may jump over (a long pause). */
export interface SkipRange {
  startMs: number;
  endMs: number;
}

/** Emitted whenever a message's transcript is queued, progresses, is done or fails. */
export interface TranscriptChanged {
  /** The message id (or, before it is sent, the draft id). */
  id: string;
  state: TranscriptState;
  progress: number | null;
}

export const TRANSCRIPT_CHANGED_EVENT = "transcript-changed";

export function messageTranscript(id: string): Promise<TranscriptView> {
  return invoke<TranscriptView>("message_transcript", { id });
}

/** Queues the message's transcript to be made (again) on this machine; resolves to its queued view. */
export function transcribeMessage(id: string): Promise<TranscriptView> {
  return invoke<TranscriptView>("transcribe_message", { id });
}

/** The long pauses in the message's clip, from its transcript and its sound levels. */
export function skipRanges(id: string): Promise<SkipRange[]> {
  return invoke<SkipRange[]>("skip_ranges", { id });
}

/** Indexes (into `TranscriptView.lines`) of the lines that contain `words`, by the same rules as search. */
export function transcriptLinesMatching(id: string, words: string): Promise<number[]> {
  return invoke<number[]>("transcript_lines_matching", { id, words });
}

export function onTranscriptChanged(handler: (change: TranscriptChanged) => void): Promise<UnlistenFn> {
  return listen<TranscriptChanged>(TRANSCRIPT_CHANGED_EVENT, (event) => handler(event.payload));
}

/** Whether the Player shows captions (remembered). */
export function captionsOn(): Promise<boolean> {
  return invoke<boolean>("captions_on");
}

export function setCaptionsOn(on: boolean): Promise<boolean> {
  return invoke<boolean>("set_captions_on", { on });
}

// ---- Search (src-tauri/src/search.rs) ----

export type SearchField = "subject" | "note" | "sender" | "attachment" | "transcript";

/** A piece of a snippet; `hit` pieces are the matched words (show them highlighted, as text). */
export interface SnippetPart {
  text: string;
  hit: boolean;
}

/** Mirrors `SearchHitView` in src-tauri/src/search.rs. */
export interface SearchHitView {
  /** The message id: open it with `#/message?id=ID&t=AT_MS`. */
  id: string;
  mine: boolean;
  subject: string;
  sender: string;
  sentAt: string;
  field: SearchField;
  /** "Subject", "Note", "Sender", "Attachment" or "Transcript". */
  fieldLabel: string;
  /** Where in the clip the words are spoken; null outside the transcript. */
  atMs: number | null;
  /** `atMs` as "0:03". */
  atText: string | null;
  snippet: SnippetPart[];
}

/** Everything the user has that contains `words`, best first. */
export function search(words: string): Promise<SearchHitView[]> {
  return invoke<SearchHitView[]>("search", { words });
}

// ---- Transcription settings and models (src-tauri/src/transcripts.rs) ----

/** Whether a transcript can be made now, and if not, what to offer. */
export type ModelStatus =
  | { kind: "ready"; path: string }
  | { kind: "not-downloaded"; key: string; label: string; bytes: number }
  | { kind: "off" }
  | { kind: "broken"; sentence: string };

export interface TranscriptionSettingsView {
  enabled: boolean;
  /** A catalog key ("base.en"). */
  model: string;
  /** A model file on disk used instead of the catalog's; null for the catalog's. */
  modelPath: string | null;
  /** A language code ("de"), or null for automatic (English with an English model). */
  language: string | null;
  status: ModelStatus;
  /** Where downloaded models are kept. */
  modelsDir: string;
}

export interface TranscriptionChoice {
  enabled: boolean;
  model: string;
  modelPath: string | null;
  language: string | null;
}

/** One model of the catalog. */
export interface ModelView {
  key: string;
  label: string;
  bytes: number;
  installed: boolean;
  multilingual: boolean;
  isDefault: boolean;
  /** A download was started and can be continued. */
  partial: boolean;
}

/** Emitted while a model downloads, and once when it stops (`finished`, or `error`, or `cancelled`). */
export interface ModelDownloadView {
  key: string;
  done: number;
  total: number;
  finished: boolean;
  cancelled: boolean;
  error: string | null;
}

export const MODEL_DOWNLOAD_EVENT = "model-download";

export function transcriptionSettings(): Promise<TranscriptionSettingsView> {
  return invoke<TranscriptionSettingsView>("transcription_settings");
}

export function setTranscriptionSettings(choice: TranscriptionChoice): Promise<TranscriptionSettingsView> {
  return invoke<TranscriptionSettingsView>("set_transcription_settings", { choice });
}

/** Opens the file dialog to use a model file already on disk; null when the user cancelled. */
export function pickModelFile(): Promise<TranscriptionSettingsView | null> {
  return invoke<TranscriptionSettingsView | null>("pick_model_file");
}

/** Ready, not downloaded (offer the download, saying its size), off, or broken (one sentence). */
export function modelStatus(): Promise<ModelStatus> {
  return invoke<ModelStatus>("model_status");
}

export function modelCatalog(): Promise<ModelView[]> {
  return invoke<ModelView[]>("model_catalog");
}

/** Downloads (or continues downloading) the model; resolves when it is verified and in place. */
export function downloadModel(key: string): Promise<TranscriptionSettingsView> {
  return invoke<TranscriptionSettingsView>("download_model", { key });
}

/** Stops the model's download; what arrived is kept, so Download continues from there. */
export function cancelModelDownload(key: string): Promise<void> {
  return invoke<void>("cancel_model_download", { key });
}

export function onModelDownload(handler: (progress: ModelDownloadView) => void): Promise<UnlistenFn> {
  return listen<ModelDownloadView>(MODEL_DOWNLOAD_EVENT, (event) => handler(event.payload));
}

/** Mirrors `WorkingHoursView` in src-tauri/src/profile.rs. */
export interface WorkingHoursView {
  timeZone: string;
  hasHours: boolean;
  /** "mon", "tue", … */
  days: string[];
  /** "09:00-12:00,13:00-17:00" */
  spans: string;
  /** YYYY-MM-DD */
  daysOff: string[];
  localNow: string;
  availability: string | null;
}

/** Settings' "Working hours" form: no days and no spans remove the working hours. */
export interface WorkingHoursForm {
  timeZone: string;
  days: string[];
  spans: string;
  daysOff: string[];
}

export function myWorkingHours(): Promise<WorkingHoursView> {
  return invoke<WorkingHoursView>("my_working_hours");
}

/** Saves my zone and working hours; rejects with the one sentence saying what to type. */
export function setMyWorkingHours(form: WorkingHoursForm): Promise<WorkingHoursView> {
  return invoke<WorkingHoursView>("set_my_working_hours", { form });
}

// ---- Quiet hours (src-tauri/src/quiet.rs) ----

/** Mirrors `QuietView`: whether notifications wait now. */
export interface QuietView {
  holds: boolean;
  /** "Do not disturb until Tue 12:00", "Outside working hours: notifications wait until Wed 09:00". */
  text: string | null;
  doNotDisturb: boolean;
  /** My working hours are known: outside them notifications wait. */
  knowsMyHours: boolean;
}

export function quietState(): Promise<QuietView> {
  return invoke<QuietView>("quiet_state");
}

/** Turns "do not disturb" on for `minutes`, or off with null. */
export function setDoNotDisturb(minutes: number | null): Promise<QuietView> {
  return invoke<QuietView>("set_do_not_disturb", { minutes });
}

/**
 * Moves the app's clock to `instant` (RFC 3339). Only for an app started with
 * PIGEON_TEST_CLOCK (end-to-end tests); otherwise it rejects with one sentence.
 */
export function testSetClock(instant: string): Promise<void> {
  return invoke<void>("test_set_clock", { instant });
}
