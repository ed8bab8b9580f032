import {
  about,
  cancelModelDownload,
  downloadModel,
  errorMessage,
  modelCatalog,
  onModelDownload,
  pickModelFile,
  setDownloadPolicy,
  setStore,
  setTranscriptionSettings,
  testStore,
  transcriptionSettings,
  type AboutView,
  type ModelDownloadView,
  type ModelStatus,
  type ModelView,
  type SettingsView,
  type StoreInput,
  type TranscriptionChoice,
  type TranscriptionSettingsView,
} from "../api";
import { h, mount } from "../dom";
import { formatBytes } from "../format";
import { acceleratorFromKeyPress } from "../shortcut";
import { devicePicker } from "./devices";
import { problem } from "./screen";
import { quietSection } from "./quiet";
import { workingHoursSection } from "./working_hours";

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
      workingHoursSection(),
      quietSection(),
      storeSection(view, render),
      devicesSection(),
      transcriptionSection(),
      shortcutSection(view, actions, render),
      remindersSection(view, actions, render),
      downloadsSection(view, render),
      aboutSection(about),
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

/** Settings › About: the app's release and protocol, then what the hub says (asked once shown). */
export function aboutSection(load: () => Promise<AboutView>): HTMLElement {
  const version = h("dd", { "data-testid": "about-version" }, "…");
  const hub = h("p", { class: "hint", "data-testid": "about-hub" });
  const section = h(
    "section",
    { class: "card", "aria-labelledby": "about-title", "data-testid": "about" },
    h("h2", { id: "about-title" }, "About Pigeon"),
    h("dl", { class: "facts" }, h("dt", {}, "Version"), version),
    hub,
  );
  load()
    .then((view) => {
      version.textContent = `Pigeon ${view.version} (protocol ${view.protocol})`;
      hub.textContent = view.hub ?? "Messages travel through a shared folder: no hub to ask.";
    })
    .catch((error) => {
      version.textContent = "unknown";
      hub.textContent = errorMessage(error);
    });
  return section;
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

/** What the Transcription section calls; tests pass their own. */
export interface TranscriptionApi {
  settings(): Promise<TranscriptionSettingsView>;
  catalog(): Promise<ModelView[]>;
  save(choice: TranscriptionChoice): Promise<TranscriptionSettingsView>;
  pickFile(): Promise<TranscriptionSettingsView | null>;
  download(key: string): Promise<TranscriptionSettingsView>;
  cancel(key: string): Promise<void>;
  onProgress(handler: (progress: ModelDownloadView) => void): Promise<() => void>;
}

const transcriptionApi: TranscriptionApi = {
  settings: transcriptionSettings,
  catalog: modelCatalog,
  save: setTranscriptionSettings,
  pickFile: pickModelFile,
  download: downloadModel,
  cancel: cancelModelDownload,
  onProgress: onModelDownload,
};

/** "Base (English), 141 MB". */
export function modelLabel(model: Pick<ModelView, "label" | "bytes">): string {
  return `${model.label}, ${formatBytes(model.bytes)}`;
}

/** One sentence on whether transcripts can be made, as the status says. */
export function modelStatusText(status: ModelStatus, view: TranscriptionSettingsView, catalog: ModelView[]): string {
  switch (status.kind) {
    case "ready": {
      const chosen = catalog.find((m) => m.key === view.model);
      const what = view.modelPath ? `the model file ${view.modelPath}` : chosen ? chosen.label : view.model;
      return `Ready: transcripts are made on this computer with ${what}.`;
    }
    case "not-downloaded":
      return `${status.label} is not on this computer yet: download it (${formatBytes(status.bytes)}) to make transcripts.`;
    case "off":
      return "Transcription is off: new clips get no transcript, captions or spoken-word search.";
    case "broken":
      return status.sentence;
  }
}

/** Languages offered by name; any other code can be typed. */
const LANGUAGES: [string, string][] = [
  ["en", "English"],
  ["de", "German"],
  ["fr", "French"],
  ["es", "Spanish"],
  ["it", "Italian"],
  ["pt", "Portuguese"],
  ["nl", "Dutch"],
  ["pl", "Polish"],
  ["sv", "Swedish"],
  ["ja", "Japanese"],
  ["zh", "Chinese"],
];

/**
 * Settings › Transcription: on or off, the model (from the catalog with its size, or
 * a file on disk), its download (the size said on the button; progress; cancel; it
 * continues where it stopped), and the language.
 */
export function transcriptionSection(api: TranscriptionApi = transcriptionApi): HTMLElement {
  const body = h("div", { class: "transcription" }, h("p", { class: "muted" }, "Loading…"));
  const result = feedback("transcription-feedback");
  const section = h(
    "section",
    { class: "card", "aria-labelledby": "transcription-title", "data-testid": "transcription-settings" },
    h("h2", { id: "transcription-title" }, "Transcription"),
    h("p", { class: "muted" }, "Transcripts, captions and search of what was said are made on this computer; no sound leaves it."),
    body,
    result,
  );
  let view: TranscriptionSettingsView | null = null;
  let catalog: ModelView[] = [];
  let downloading: string | null = null;
  const bar = h("progress", { max: "1", value: "0", "aria-label": "Model download", "data-testid": "model-progress" });
  const barText = h("span", { class: "muted", "data-testid": "model-progress-text" });
  const cancel = h("button", { class: "button", type: "button", "data-testid": "model-cancel" }, "Cancel download");
  const progressBox = h("div", { class: "model-download", hidden: true }, bar, h("div", { class: "row" }, barText, cancel));
  cancel.addEventListener("click", () => {
    if (downloading) void api.cancel(downloading).catch((error: unknown) => report(result, errorMessage(error), false));
  });

  const showProgress = (p: ModelDownloadView) => {
    const label = catalog.find((m) => m.key === p.key)?.label ?? p.key;
    progressBox.hidden = p.finished || p.cancelled || p.error !== null;
    bar.max = Math.max(1, p.total);
    bar.value = p.done;
    barText.textContent = `${label}: ${formatBytes(p.done)} of ${formatBytes(p.total)}`;
  };

  const save = (change: Partial<TranscriptionChoice>) => {
    const before = view;
    if (!before) return;
    const choice: TranscriptionChoice = { enabled: before.enabled, model: before.model, modelPath: before.modelPath, language: before.language, ...change };
    report(result, "Saving…", true);
    api.save(choice).then(
      (next) => {
        report(result, "Saved.", true);
        refresh(next);
      },
      (error: unknown) => {
        report(result, errorMessage(error), false);
        // The controls go back to what is saved.
        refresh(before);
      },
    );
  };

  const startDownload = (model: ModelView) => {
    downloading = model.key;
    report(result, `Downloading ${model.label}…`, true);
    showProgress({ key: model.key, done: 0, total: model.bytes, finished: false, cancelled: false, error: null });
    api.download(model.key).then(
      (next) => {
        downloading = null;
        report(result, `${model.label} is downloaded and checked.`, true);
        void reload(next);
      },
      (error: unknown) => {
        downloading = null;
        progressBox.hidden = true;
        report(result, errorMessage(error), false);
        void reload(null);
      },
    );
  };

  const render = () => {
    if (!view) return;
    const current = view;
    const chosen = catalog.find((m) => m.key === current.model);
    const enabled = h("input", { id: "transcription-on", type: "checkbox", checked: current.enabled, "data-testid": "transcription-on" });
    enabled.addEventListener("change", () => save({ enabled: enabled.checked }));
    const model = h(
      "select",
      { id: "transcription-model", "data-testid": "transcription-model", disabled: current.modelPath !== null },
      ...catalog.map((m) =>
        h(
          "option",
          { value: m.key, selected: m.key === current.model },
          `${modelLabel(m)}${m.installed ? " — downloaded" : m.partial ? " — partly downloaded" : ""}${m.multilingual ? "" : " · English only"}`,
        ),
      ),
    );
    model.addEventListener("change", () => save({ model: model.value }));
    const language = h("input", {
      id: "transcription-language",
      type: "text",
      list: "transcription-languages",
      placeholder: "auto",
      value: current.language ?? "",
      size: "8",
      "data-testid": "transcription-language",
    });
    language.addEventListener("change", () => save({ language: language.value.trim() || null }));
    const languages = h(
      "datalist",
      { id: "transcription-languages" },
      h("option", { value: "auto" }, "Detect it (multilingual models)"),
      ...LANGUAGES.map(([code, name]) => h("option", { value: code }, name)),
    );
    const status = h(
      "p",
      { class: current.status.kind === "broken" ? "model-status broken" : "model-status", role: current.status.kind === "broken" ? "alert" : "status", "data-testid": "model-status" },
      modelStatusText(current.status, current, catalog),
    );
    const needsDownload = !current.modelPath && chosen && !chosen.installed;
    const download = needsDownload
      ? h(
          "button",
          { class: "button primary", type: "button", disabled: downloading !== null, "data-testid": "model-download" },
          `${chosen.partial ? "Continue downloading" : "Download"} ${chosen.label} (${formatBytes(chosen.bytes)})`,
        )
      : null;
    download?.addEventListener("click", () => {
      if (chosen) startDownload(chosen);
    });
    const pick = h("button", { class: "button", type: "button", "data-testid": "model-pick" }, "Use a model file on disk…");
    pick.addEventListener("click", () =>
      api.pickFile().then(
        (next) => {
          if (next) {
            report(result, "Saved.", true);
            refresh(next);
          }
        },
        (error: unknown) => report(result, errorMessage(error), false),
      ),
    );
    const unpick = current.modelPath
      ? h("button", { class: "button", type: "button", "data-testid": "model-unpick" }, "Use the catalog's model instead")
      : null;
    unpick?.addEventListener("click", () => save({ modelPath: null }));
    mount(
      body,
      h("label", { class: "choice" }, enabled, "Make transcripts of my clips, and of received ones when I ask"),
      h(
        "div",
        { class: "transcription-grid" },
        h("label", { for: "transcription-model" }, "Model"),
        model,
        h("span", {}, "Model file"),
        h("span", { class: "model-path", "data-testid": "model-path" }, current.modelPath ?? "the catalog's, in " + current.modelsDir),
        h("label", { for: "transcription-language" }, "Language"),
        h("div", { class: "row" }, language, h("span", { class: "muted" }, "a code such as de, or auto")),
      ),
      languages,
      status,
      h("div", { class: "row" }, download, pick, unpick),
      progressBox,
    );
  };

  const refresh = (next: TranscriptionSettingsView) => {
    view = next;
    render();
  };

  const reload = async (next: TranscriptionSettingsView | null) => {
    try {
      const [settings, models] = await Promise.all([next ? Promise.resolve(next) : api.settings(), api.catalog()]);
      catalog = models;
      refresh(settings);
    } catch (error: unknown) {
      mount(body, problem(errorMessage(error), "transcription-problem"));
    }
  };

  let unlisten: (() => void) | null = null;
  void api
    .onProgress((p) => {
      if (!section.isConnected && unlisten) {
        // The screen was left: this section listens no more.
        unlisten();
        unlisten = null;
        return;
      }
      if (p.finished || p.cancelled || p.error !== null) {
        progressBox.hidden = true;
        return;
      }
      if (!downloading) {
        // A download started before this screen opened (or from the Player).
        downloading = p.key;
        render();
      }
      showProgress(p);
    })
    .then((off) => {
      unlisten = off;
    });
  void reload(null);
  return section;
}
