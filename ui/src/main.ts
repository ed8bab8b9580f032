import "./styles.css";
import {
  errorMessage,
  onQuickRecord,
  setDueSoonMinutes,
  setQuickRecordShortcut,
  settings,
  shellStatus,
  type SettingsView,
  type ShellStatus,
} from "./api";
import { h, mount } from "./dom";
import { parseRoute, routeHash, type Route } from "./routes";
import { inboxView } from "./views/inbox";
import { recordView } from "./views/record";
import { settingsView } from "./views/settings";

const root = document.getElementById("app");
if (!root) throw new Error("index.html has no #app element");

let status: ShellStatus | null = null;
const view = h("main", { class: "view", id: "view" });
const identityCard = h("div", { class: "identity", "data-testid": "identity" });
const statusLine = h("p", { class: "statusbar", role: "status", "data-testid": "statusbar" }, "Starting…");
const navLinks = {
  inbox: h("a", { href: "#/inbox", class: "nav-link", "data-testid": "nav-inbox" }, "Inbox"),
  settings: h("a", { href: "#/settings", class: "nav-link", "data-testid": "nav-settings" }, "Settings"),
};

mount(
  root,
  h(
    "nav",
    { class: "sidebar", "aria-label": "Sections" },
    h("div", { class: "brand" }, h("img", { src: "/pigeon.svg", alt: "", width: "28", height: "28" }), "Pigeon"),
    navLinks.inbox,
    navLinks.settings,
    identityCard,
  ),
  view,
  statusLine,
);

function navigate(route: Route): void {
  const hash = routeHash(route);
  // Setting the same hash fires no event, yet a repeated quick record must still react.
  if (window.location.hash === hash) render();
  else window.location.hash = hash;
}

function render(): void {
  const route = parseRoute(window.location.hash);
  const inbox = () => navigate({ screen: "inbox" });
  const record = () => navigate({ screen: "record", origin: "button" });
  navLinks.inbox.toggleAttribute("aria-current", route.screen === "inbox");
  navLinks.settings.toggleAttribute("aria-current", route.screen === "settings");
  switch (route.screen) {
    case "inbox":
      mount(view, inboxView(record));
      break;
    case "record":
      mount(view, recordView(route.origin, shortcutLabel(), inbox));
      break;
    case "settings":
      mount(view, h("p", { class: "muted" }, "Loading settings…"));
      settings()
        .then((current) => {
          showIdentity(current);
          mount(
            view,
            settingsView(current, {
              changeShortcut: (accelerator) => setQuickRecordShortcut(accelerator).then(afterChange),
              changeDueSoon: (minutes) => setDueSoonMinutes(minutes).then(afterChange),
            }),
          );
        })
        .catch((error: unknown) => mount(view, h("p", { class: "feedback error", role: "alert" }, errorMessage(error))));
      break;
  }
  view.querySelector("h1")?.setAttribute("tabindex", "-1");
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
  statusLine.textContent = shortcut.registered
    ? `Quick record: ${shortcut.accelerator} from anywhere, or from the tray menu. Pigeon ${status.version}`
    : `Quick record shortcut unavailable: ${shortcut.problem ?? "unknown reason"} Change it in Settings, or use the tray menu.`;
  statusLine.classList.toggle("warning", !shortcut.registered);
}

function showIdentity(me: SettingsView): void {
  mount(
    identityCard,
    h("span", { class: "identity-user" }, me.user),
    h(
      "span",
      { class: "identity-store", title: me.storeLocation },
      me.storeKind === "hub" ? `Hub · ${me.storeLocation}` : "Folder store (no server)",
    ),
  );
}

window.addEventListener("hashchange", render);
render();

void onQuickRecord((request) => navigate({ screen: "record", origin: request.source }));
settings()
  .then(showIdentity)
  .catch((error: unknown) => {
    mount(identityCard, h("span", { class: "identity-problem", role: "alert" }, errorMessage(error)));
  });
shellStatus()
  .then((s) => {
    status = s;
    renderStatus();
    render();
  })
  .catch((error: unknown) => {
    statusLine.textContent = `Pigeon's shell did not answer (${errorMessage(error)}). Restart Pigeon; if it persists, run it from a terminal to see its log.`;
    statusLine.classList.add("warning");
  });
