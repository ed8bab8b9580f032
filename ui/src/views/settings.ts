import { errorMessage, setDownloadPolicy, setStore, testStore, type SettingsView, type StoreInput } from "../api";
import { h, mount } from "../dom";
import { acceleratorFromKeyPress } from "../shortcut";
import { devicePicker } from "./devices";

export interface SettingsActions {
  changeShortcut(accelerator: string): Promise<SettingsView>;
  changeDueSoon(minutes: number): Promise<SettingsView>;
}

/** The Settings screen. Each section saves on its own and reports where it is. */
export function settingsView(initial: SettingsView, actions: SettingsActions): HTMLElement {
  const root = h("section", { class: "screen", "aria-labelledby": "settings-title", "data-testid": "settings" });
  const render = (view: SettingsView) =>
    mount(
      root,
      h("header", { class: "screen-header" }, h("h1", { id: "settings-title" }, "Settings")),
      profileSection(view),
      storeSection(view, render),
      devicesSection(),
      shortcutSection(view, actions, render),
      remindersSection(view, actions, render),
      downloadsSection(view, render),
    );
  render(initial);
  return root;
}

function profileSection(view: SettingsView): HTMLElement {
  const store = view.storeKind === "hub" ? `Hub at ${view.storeLocation}` : `Folder store at ${view.storeLocation}`;
  return h(
    "section",
    { class: "card", "aria-labelledby": "profile-title" },
    h("h2", { id: "profile-title" }, "You"),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Name"),
      h("dd", { "data-testid": "settings-user" }, view.user),
      h("dt", {}, "Messages travel through"),
      h("dd", {}, store),
      h("dt", {}, "Your files"),
      h("dd", {}, view.dataDir),
    ),
  );
}

function feedback(testid: string): HTMLElement {
  return h("p", { class: "feedback", role: "status", "aria-live": "polite", "data-testid": testid });
}

function report(el: HTMLElement, text: string, ok: boolean): void {
  el.textContent = text;
  el.classList.toggle("error", !ok);
  el.classList.toggle("ok", ok);
}

function shortcutSection(
  view: SettingsView,
  actions: SettingsActions,
  rerender: (view: SettingsView) => void,
): HTMLElement {
  const status = view.quickRecordShortcut;
  let pending: string | null = null;
  const result = feedback("shortcut-feedback");
  const save = h("button", { class: "button primary", type: "button", disabled: true, "data-testid": "shortcut-save" }, "Use this shortcut");
  const capture = h("input", {
    id: "shortcut-capture",
    class: "capture",
    type: "text",
    readonly: true,
    placeholder: "Click here, then press the new combination",
    "data-testid": "shortcut-capture",
  });
  capture.addEventListener("keydown", (event) => {
    if (event.key === "Tab") return; // keep keyboard navigation working
    event.preventDefault();
    const accelerator = acceleratorFromKeyPress(event);
    if (!accelerator) return;
    pending = accelerator;
    capture.value = accelerator;
    save.disabled = false;
  });
  save.addEventListener("click", () => {
    if (!pending) return;
    const wanted = pending;
    save.disabled = true;
    report(result, `Registering ${wanted}…`, true);
    actions
      .changeShortcut(wanted)
      .then((next) => {
        rerender(next);
        const fresh = document.querySelector<HTMLElement>("[data-testid=shortcut-feedback]");
        if (fresh) report(fresh, `Quick record now starts with ${wanted}.`, true);
      })
      .catch((error: unknown) => {
        report(result, errorMessage(error), false);
        save.disabled = false;
      });
  });
  return h(
    "section",
    { class: "card", "aria-labelledby": "shortcut-title" },
    h("h2", { id: "shortcut-title" }, "Quick record shortcut"),
    h(
      "p",
      { "data-testid": "shortcut-current" },
      "Current: ",
      h("kbd", {}, status.accelerator),
      status.registered ? " — works from any app." : ` — not active: ${status.problem ?? "unknown reason"}`,
    ),
    h("label", { for: "shortcut-capture" }, "New combination"),
    h("div", { class: "row" }, capture, save),
    result,
  );
}

function remindersSection(
  view: SettingsView,
  actions: SettingsActions,
  rerender: (view: SettingsView) => void,
): HTMLElement {
  const result = feedback("reminders-feedback");
  const minutes = h("input", {
    id: "due-soon-minutes",
    type: "number",
    min: "5",
    max: "10080",
    step: "5",
    value: String(view.dueSoonMinutes),
    "data-testid": "due-soon-minutes",
  });
  const save = h("button", { class: "button", type: "button", "data-testid": "reminders-save" }, "Save");
  save.addEventListener("click", () => {
    actions
      .changeDueSoon(Number(minutes.value))
      .then((next) => {
        rerender(next);
        const fresh = document.querySelector<HTMLElement>("[data-testid=reminders-feedback]");
        if (fresh) report(fresh, "Saved.", true);
      })
      .catch((error: unknown) => report(result, errorMessage(error), false));
  });
  return h(
    "section",
    { class: "card", "aria-labelledby": "reminders-title" },
    h("h2", { id: "reminders-title" }, "Reminders"),
    h("label", { for: "due-soon-minutes" }, "Remind me this many minutes before an answer is due"),
    h("div", { class: "row" }, minutes, save),
    result,
  );
}

function storeSection(view: SettingsView, rerender: (view: SettingsView) => void): HTMLElement {
  const result = feedback("store-feedback");
  const kind = h(
    "select",
    { id: "store-kind", "data-testid": "store-kind" },
    h("option", { value: "hub", selected: view.storeKind === "hub" }, "A hub server"),
    h("option", { value: "folder", selected: view.storeKind === "folder" }, "A shared folder (no server)"),
  );
  const url = h("input", { id: "hub-url", type: "url", placeholder: "https://pigeon.example.org", value: view.storeKind === "hub" ? view.storeLocation : "", "data-testid": "hub-url" });
  const token = h("input", { id: "hub-token", type: "password", autocomplete: "off", placeholder: "The token your hub administrator gave you", "data-testid": "hub-token" });
  const folder = h("input", { id: "folder-path", type: "text", placeholder: "/mnt/team/pigeon", value: view.storeKind === "folder" ? view.storeLocation : "", "data-testid": "folder-path" });
  const name = h("input", { id: "folder-name", type: "text", value: view.user, "data-testid": "folder-name" });
  const hubFields = h("div", { class: "device-grid" }, h("label", { for: "hub-url" }, "Hub address"), url, h("label", { for: "hub-token" }, "Access token"), token);
  const folderFields = h("div", { class: "device-grid" }, h("label", { for: "folder-path" }, "Folder"), folder, h("label", { for: "folder-name" }, "Your name"), name);
  const showFields = () => {
    hubFields.hidden = kind.value !== "hub";
    folderFields.hidden = kind.value !== "folder";
  };
  kind.addEventListener("change", showFields);
  showFields();
  const input = (): StoreInput =>
    kind.value === "hub" ? { kind: "Hub", url: url.value, token: token.value } : { kind: "Folder", path: folder.value, name: name.value };
  const test = h("button", { class: "button", type: "button", "data-testid": "store-test" }, "Test connection");
  const save = h("button", { class: "button primary", type: "button", "data-testid": "store-save" }, "Use this store");
  test.addEventListener("click", () => {
    report(result, "Connecting…", true);
    testStore(input()).then(
      (text) => report(result, text, true),
      (error: unknown) => report(result, errorMessage(error), false),
    );
  });
  save.addEventListener("click", () => {
    report(result, "Connecting…", true);
    setStore(input()).then(
      (next) => {
        rerender(next);
        const fresh = document.querySelector<HTMLElement>("[data-testid=store-feedback]");
        if (fresh) report(fresh, `Messages now travel through ${next.storeLocation}.`, true);
      },
      (error: unknown) => report(result, errorMessage(error), false),
    );
  });
  return h(
    "section",
    { class: "card", "aria-labelledby": "store-title" },
    h("h2", { id: "store-title" }, "Store"),
    h("label", { for: "store-kind" }, "Messages travel through"),
    kind,
    hubFields,
    folderFields,
    h("div", { class: "row" }, test, save),
    result,
  );
}

function devicesSection(): HTMLElement {
  const box = h("div", {});
  const result = feedback("devices-feedback");
  devicePicker(box, result);
  return h("section", { class: "card", "aria-labelledby": "devices-title" }, h("h2", { id: "devices-title" }, "Recording"), box, result);
}

function downloadsSection(view: SettingsView, rerender: (view: SettingsView) => void): HTMLElement {
  const result = feedback("downloads-feedback");
  const choice = (value: SettingsView["downloadPolicy"], label: string) =>
    h(
      "label",
      { class: "choice" },
      h("input", {
        type: "radio",
        name: "download-policy",
        value,
        checked: view.downloadPolicy === value,
        "data-testid": `download-${value}`,
        onchange: () =>
          setDownloadPolicy(value).then(
            (next) => {
              rerender(next);
              const fresh = document.querySelector<HTMLElement>("[data-testid=downloads-feedback]");
              if (fresh) report(fresh, "Saved.", true);
            },
            (error: unknown) => report(result, errorMessage(error), false),
          ),
      }),
      label,
    );
  return h(
    "section",
    { class: "card", "aria-labelledby": "downloads-title" },
    h("h2", { id: "downloads-title" }, "Downloads"),
    h(
      "div",
      { class: "respond-by", role: "radiogroup", "aria-labelledby": "downloads-title" },
      choice("on-demand", "When I open a message (saves data and disk)"),
      choice("background", "As soon as messages arrive (they open at once, offline too)"),
    ),
    result,
  );
}
