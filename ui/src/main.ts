import "./styles.css";
import {
  connection,
  drafts,
  discardDraft,
  errorMessage,
  inbox,
  nudge,
  onComposeDraft,
  onConnection,
  onLibraryChanged,
  onOpenMessage,
  onQuickRecord,
  onTranscriptChanged,
  search,
  sent,
  uiReady,
  setDueSoonMinutes,
  setQuickRecordShortcut,
  settings,
  shellStatus,
  type ConnectionView,
  type SettingsView,
  type ShellStatus,
} from "./api";
import { h, mount } from "./dom";
import { parseRoute, routeHash, type Route } from "./routes";
import { composeView } from "./views/compose";
import { inboxView } from "./views/inbox";
import { meetingView } from "./views/meeting";
import { playerView } from "./views/player";
import { quickView } from "./views/quick";
import { recordView } from "./views/record";
import { problem, type Screen } from "./views/screen";
import { searchBox, searchView } from "./views/search";
import { draftsView, sentView } from "./views/sent";
import { settingsView } from "./views/settings";

const root = document.getElementById("app");
if (!root) throw new Error("index.html has no #app element");

let status: ShellStatus | null = null;
let online: ConnectionView | null = null;
let notice: string | null = null;
let current: Screen | null = null;
/** A section of the next screen to bring into view (the Player's "Transcription settings"). */
let scrollTo: string | null = null;
/** The agenda typed before recording each draft (while the app runs), for "Re-record" to keep. */
const typedAgendas = new Map<string, string>();
/** The agenda the next Record screen starts with: the one "Re-record" kept. */
let agendaToKeep = "";
const view = h("main", { class: "view", id: "view" });
const identityCard = h("div", { class: "identity", "data-testid": "identity" });
const statusLine = h("p", { class: "statusbar", role: "status", "data-testid": "statusbar" }, "Starting…");
const link = (screen: string, label: string) => h("a", { href: `#/${screen}`, class: "nav-link", "data-testid": `nav-${screen}` }, label);
const sidebarSearch = searchBox(initialSearchWords(), (words, live) => {
  const route = { screen: "search", words } as const;
  // While typing, the results screen follows in place instead of stacking history.
  if (live && parseRoute(window.location.hash).screen === "search") window.location.replace(routeHash(route));
  else navigate(route);
});
const navLinks = {
  inbox: link("inbox", "Inbox"),
  sent: link("sent", "Sent"),
  drafts: link("drafts", "Drafts"),
  settings: link("settings", "Settings"),
};

if (parseRoute(window.location.hash).screen === "quick") {
  // The quick recorder window: only the recorder, no navigation.
  document.body.classList.add("quick-window");
  mount(root, quickView());
} else {
  mount(
    root,
    h(
      "nav",
      { class: "sidebar", "aria-label": "Sections" },
      h("div", { class: "brand" }, h("img", { src: "/pigeon.svg", alt: "", width: "28", height: "28" }), "Pigeon"),
      sidebarSearch,
      navLinks.inbox,
      navLinks.sent,
      navLinks.drafts,
      navLinks.settings,
      identityCard,
    ),
    view,
    statusLine,
  );
  startMainWindow();
}

function initialSearchWords(): string {
  const route = parseRoute(window.location.hash);
  return route.screen === "search" ? route.words : "";
}

function navigate(route: Route): void {
  const hash = routeHash(route);
  // Setting the same hash fires no event, yet a repeated request must still react.
  if (window.location.hash === hash) render();
  else window.location.hash = hash;
}

function show(screen: Screen | HTMLElement): void {
  current?.dispose?.();
  current = screen instanceof HTMLElement ? { el: screen } : screen;
  mount(view, current.el);
  view.querySelector("h1")?.setAttribute("tabindex", "-1");
}

function loading(what: string): void {
  show(h("p", { class: "muted" }, `Loading ${what}…`));
}

function failed(error: unknown): void {
  show(problem(errorMessage(error)));
}

function render(): void {
  const route = parseRoute(window.location.hash);
  for (const [name, el] of Object.entries(navLinks)) el.toggleAttribute("aria-current", route.screen === name);
  const record = () => navigate({ screen: "record", origin: "button", replyTo: null });
  const openMessage = (id: string) => navigate({ screen: "message", id });
  switch (route.screen) {
    case "inbox":
      if (!current || current.el.dataset.testid !== "inbox") loading("the inbox");
      inbox().then((items) => {
        if (parseRoute(window.location.hash).screen !== "inbox") return;
        show(inboxView(items, { record, open: openMessage }));
        void uiReady();
      }, failed);
      break;
    case "sent":
      if (!current || current.el.dataset.testid !== "sent") loading("sent messages");
      sent().then((items) => {
        if (parseRoute(window.location.hash).screen !== "sent") return;
        show(
          sentView(items, openMessage, {
            meeting: (id) => navigate({ screen: "meeting", id }),
            nudge: (id) => nudge(id),
          }),
        );
      }, failed);
      break;
    case "drafts":
      drafts().then((items) => {
        if (parseRoute(window.location.hash).screen !== "drafts") return;
        show(
          draftsView(items, {
            record,
            compose: (draft) => navigate({ screen: "compose", draft, replyTo: null }),
            discard: (id) => discardDraft(id).then(render, failed),
          }),
        );
      }, failed);
      break;
    case "record":
      show(
        recordView(
          route.origin,
          shortcutLabel(),
          route.replyTo,
          {
            back: () => history.back(),
            recorded: (draft) => navigate({ screen: "compose", draft: draft.id, replyTo: route.replyTo }),
            // Also a screen recording, which the small recorder window stops.
            started: (draftId, agenda) => {
              if (agenda.trim()) typedAgendas.set(draftId, agenda);
            },
          },
          agendaToKeep,
        ),
      );
      agendaToKeep = "";
      if (notice) {
        current?.el.querySelector("header")?.after(problem(notice, "quick-record-problem"));
        notice = null;
      }
      break;
    case "compose":
      show(
        composeView(route.draft, route.replyTo, {
          sent: () => navigate({ screen: "sent" }),
          rerecord: () => {
            // The new take follows the agenda typed for the discarded one.
            agendaToKeep = typedAgendas.get(route.draft) ?? "";
            typedAgendas.delete(route.draft);
            navigate({ screen: "record", origin: "button", replyTo: route.replyTo });
          },
          cancel: () => navigate({ screen: "drafts" }),
        }),
      );
      break;
    case "message":
      show(
        playerView(
          route.id,
          {
            back: () => history.back(),
            reply: (id) => navigate({ screen: "record", origin: "button", replyTo: id }),
            open: openMessage,
            meeting: (id) => navigate({ screen: "meeting", id }),
            settings: () => {
              scrollTo = "transcription-settings";
              navigate({ screen: "settings" });
            },
          },
          route.atMs,
        ),
      );
      break;
    case "meeting":
      show(
        meetingView(route.id, {
          back: () => history.back(),
          open: (id, atMs) => navigate(atMs === null ? { screen: "message", id } : { screen: "message", id, atMs }),
        }),
      );
      break;
    case "search": {
      const words = route.words;
      if (searchInput().value.trim() !== words) searchInput().value = words;
      if (!words) {
        show(searchView("", [], { open: () => {} }));
        break;
      }
      if (!current || current.el.dataset.testid !== "search") loading("results");
      search(words).then((hits) => {
        const now = parseRoute(window.location.hash);
        // A newer search (the user kept typing) owns the screen.
        if (now.screen !== "search" || now.words !== words) return;
        show(
          searchView(words, hits, {
            open: (id, atMs) => navigate(atMs === null ? { screen: "message", id } : { screen: "message", id, atMs }),
          }),
        );
      }, failed);
      break;
    }
    case "settings":
      loading("settings");
      settings()
        .then((me) => {
          showIdentity(me);
          show(
            settingsView(me, {
              changeShortcut: (accelerator) => setQuickRecordShortcut(accelerator).then(afterChange),
              changeDueSoon: (minutes) => setDueSoonMinutes(minutes).then(afterChange),
            }),
          );
          if (scrollTo) current?.el.querySelector(`[data-testid=${scrollTo}]`)?.scrollIntoView({ block: "start" });
          scrollTo = null;
        }, failed);
      break;
    case "quick":
      navigate({ screen: "inbox" });
      break;
  }
}

function searchInput(): HTMLInputElement {
  const input = sidebarSearch.querySelector("input");
  if (!input) throw new Error("the sidebar's search form has no input");
  return input;
}

function afterChange(next: SettingsView): SettingsView {
  if (status) {
    status = { ...status, quickRecordShortcut: next.quickRecordShortcut };
    renderStatus();
  }
  showIdentity(next);
  return next;
}

function shortcutLabel(): string | null {
  const shortcut = status?.quickRecordShortcut;
  return shortcut?.registered ? shortcut.accelerator : null;
}

function renderStatus(): void {
  const shortcut = status?.quickRecordShortcut;
  if (!status || !shortcut) return;
  const parts: string[] = [];
  let warning = false;
  if (online && !online.online) {
    warning = true;
    parts.push(`Offline: ${online.problem ?? "the store cannot be reached."}${online.queued ? ` ${online.queued} message(s) waiting to send.` : ""}`);
  } else if (online?.queued) {
    parts.push(`${online.queued} message(s) sending.`);
  }
  if (shortcut.registered) parts.push(`Quick record: ${shortcut.accelerator} from anywhere, or from the tray menu.`);
  else {
    warning = true;
    const why = (shortcut.problem ?? "unknown reason").replace(/[.\s]*$/, ".");
    parts.push(`Quick record shortcut unavailable: ${why} Change it in Settings, or use the tray menu.`);
  }
  statusLine.textContent = parts.join(" ");
  statusLine.classList.toggle("warning", warning);
  statusLine.dataset.online = online ? String(online.online) : "unknown";
}

function showIdentity(me: SettingsView): void {
  mount(
    identityCard,
    h("span", { class: "identity-user" }, me.user),
    h("span", { class: "identity-store", title: me.storeLocation }, me.storeKind === "hub" ? `Hub · ${me.storeLocation}` : "Folder store (no server)"),
  );
}

function startMainWindow(): void {
  window.addEventListener("hashchange", render);
  render();
  void onLibraryChanged(() => {
    const screen = parseRoute(window.location.hash).screen;
    if (screen === "inbox" || screen === "sent" || screen === "drafts" || screen === "search") render();
  });
  // Search results follow transcripts as they are made or arrive.
  void onTranscriptChanged((change) => {
    if (change.state === "done" && parseRoute(window.location.hash).screen === "search") render();
  });
  void onConnection((c) => {
    online = c;
    renderStatus();
  });
  void onComposeDraft((draft) => navigate({ screen: "compose", draft, replyTo: null }));
  void onOpenMessage((id) => navigate({ screen: "message", id }));
  void onQuickRecord((request) => {
    if (request.problem) {
      notice = request.problem;
      navigate({ screen: "record", origin: request.source, replyTo: null });
    }
  });
  // Relative due times and urgency come from Rust: re-fetch the lists to move them on.
  window.setInterval(() => {
    const screen = parseRoute(window.location.hash).screen;
    if (screen === "inbox" || screen === "sent") render();
  }, 60_000);
  settings().then(showIdentity, (error: unknown) => {
    mount(identityCard, h("span", { class: "identity-problem", role: "alert" }, errorMessage(error)));
  });
  connection().then((c) => {
    online = c;
    renderStatus();
  }, () => {});
  shellStatus()
    .then((s) => {
      status = s;
      renderStatus();
    })
    .catch((error: unknown) => {
      statusLine.textContent = `Pigeon's shell did not answer (${errorMessage(error)}). Restart Pigeon; if it persists, run it from a terminal to see its log.`;
      statusLine.classList.add("warning");
    });
}
