import { describe, expect, it, vi } from "vitest";
import type { ModelDownloadView, ModelView, TranscriptionChoice, TranscriptionSettingsView } from "../api";
import { aboutSection, modelLabel, transcriptionSection, type TranscriptionApi } from "./settings";

const MB = 1024 * 1024;

const catalog: ModelView[] = [
  { key: "tiny.en", label: "Tiny (English)", bytes: 75 * MB, installed: true, multilingual: false, isDefault: false, partial: false },
  { key: "base.en", label: "Base (English)", bytes: 141 * MB, installed: false, multilingual: false, isDefault: true, partial: false },
  { key: "base", label: "Base (multilingual)", bytes: 141 * MB, installed: false, multilingual: true, isDefault: false, partial: true },
];

function settings(extra: Partial<TranscriptionSettingsView> = {}): TranscriptionSettingsView {
  return {
    enabled: true,
    model: "base.en",
    modelPath: null,
    language: null,
    status: { kind: "not-downloaded", key: "base.en", label: "Base (English)", bytes: 141 * MB },
    modelsDir: "/home/u/.local/share/pigeon/models",
    ...extra,
  };
}

/** A stand-in for the Rust commands that records what the section asked for. */
function fakeApi(initial: TranscriptionSettingsView) {
  let progress: ((p: ModelDownloadView) => void) | null = null;
  let finishDownload: ((v: TranscriptionSettingsView) => void) | null = null;
  const saved: TranscriptionChoice[] = [];
  const api: TranscriptionApi = {
    settings: () => Promise.resolve(initial),
    catalog: () => Promise.resolve(catalog),
    save: (choice) => {
      saved.push(choice);
      return Promise.resolve({ ...initial, ...choice });
    },
    pickFile: () => Promise.resolve(null),
    download: vi.fn(() => new Promise<TranscriptionSettingsView>((resolve) => (finishDownload = resolve))),
    cancel: vi.fn(() => Promise.resolve()),
    onProgress: (handler) => {
      progress = handler;
      return Promise.resolve(() => {});
    },
  };
  return { api, saved, progress: (p: ModelDownloadView) => progress?.(p), finish: (v: TranscriptionSettingsView) => finishDownload?.(v) };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe("settings › transcription", () => {
  it("lists the catalog with sizes and offers the chosen model's download, saying its size", async () => {
    const { api } = fakeApi(settings());
    const section = transcriptionSection(api);
    document.body.append(section);
    await settle();
    const options = [...section.querySelectorAll("[data-testid=transcription-model] option")].map((o) => o.textContent);
    expect(options).toEqual([
      "Tiny (English), 75 MB — downloaded · English only",
      "Base (English), 141 MB · English only",
      "Base (multilingual), 141 MB — partly downloaded",
    ]);
    expect(section.querySelector<HTMLSelectElement>("[data-testid=transcription-model]")?.value).toBe("base.en");
    expect(section.querySelector("[data-testid=model-status]")?.textContent).toBe(
      "Base (English) is not on this computer yet: download it (141 MB) to make transcripts.",
    );
    expect(section.querySelector("[data-testid=model-download]")?.textContent).toBe("Download Base (English) (141 MB)");
    expect(modelLabel(catalog[1] as ModelView)).toBe("Base (English), 141 MB");
    section.remove();
  });

  it("shows the download's progress, cancels it, and says when it is done", async () => {
    const fake = fakeApi(settings());
    const section = transcriptionSection(fake.api);
    document.body.append(section);
    await settle();
    section.querySelector<HTMLButtonElement>("[data-testid=model-download]")?.click();
    expect(fake.api.download).toHaveBeenCalledWith("base.en");
    fake.progress({ key: "base.en", done: 47 * MB, total: 141 * MB, finished: false, cancelled: false, error: null });
    const bar = section.querySelector<HTMLProgressElement>("[data-testid=model-progress]");
    expect(bar?.closest<HTMLElement>(".model-download")?.hidden).toBe(false);
    expect(bar?.value).toBe(47 * MB);
    expect(section.querySelector("[data-testid=model-progress-text]")?.textContent).toBe("Base (English): 47 MB of 141 MB");
    section.querySelector<HTMLButtonElement>("[data-testid=model-cancel]")?.click();
    expect(fake.api.cancel).toHaveBeenCalledWith("base.en");
    fake.finish(settings({ status: { kind: "ready", path: "/m/ggml-base.en.bin" } }));
    await settle();
    await settle();
    expect(section.querySelector("[data-testid=transcription-feedback]")?.textContent).toBe("Base (English) is downloaded and checked.");
    expect(section.querySelector("[data-testid=model-status]")?.textContent).toBe(
      "Ready: transcripts are made on this computer with Base (English).",
    );
    section.remove();
  });

  it("a broken model is one sentence, and choices are saved as they change", async () => {
    const fake = fakeApi(
      settings({ modelPath: "/opt/models/x.bin", status: { kind: "broken", sentence: "The model file /opt/models/x.bin is not a Whisper model: choose another file." } }),
    );
    const section = transcriptionSection(fake.api);
    document.body.append(section);
    await settle();
    const status = section.querySelector("[data-testid=model-status]");
    expect(status?.getAttribute("role")).toBe("alert");
    expect(status?.textContent).toBe("The model file /opt/models/x.bin is not a Whisper model: choose another file.");
    // A model file on disk is used instead of the catalog's: no download is offered.
    expect(section.querySelector("[data-testid=model-download]")).toBeNull();
    section.querySelector<HTMLButtonElement>("[data-testid=model-unpick]")?.click();
    await settle();
    const language = section.querySelector<HTMLInputElement>("[data-testid=transcription-language]");
    if (!language) throw new Error("no language field");
    language.value = " de ";
    language.dispatchEvent(new Event("change"));
    await settle();
    const on = section.querySelector<HTMLInputElement>("[data-testid=transcription-on]");
    if (!on) throw new Error("no switch");
    on.checked = false;
    on.dispatchEvent(new Event("change"));
    await settle();
    expect(fake.saved).toEqual([
      { enabled: true, model: "base.en", modelPath: null, language: null },
      { enabled: true, model: "base.en", modelPath: null, language: "de" },
      { enabled: false, model: "base.en", modelPath: null, language: "de" },
    ]);
    section.remove();
  });
});

describe("about", () => {
  it("shows the release, the protocol and what the hub said", async () => {
    const section = aboutSection(() =>
      Promise.resolve({ version: "0.1.0", protocol: 1, hub: "The hub runs Pigeon 0.1.0 (protocol 1): this app (0.1.0, protocol 1) speaks it." }),
    );
    await vi.waitFor(() => expect(section.querySelector("[data-testid=about-version]")?.textContent).toBe("Pigeon 0.1.0 (protocol 1)"));
    expect(section.querySelector("[data-testid=about-hub]")?.textContent).toContain("The hub runs Pigeon 0.1.0");
  });

  it("says there is no hub with a folder store, and the error when asking failed", async () => {
    const folder = aboutSection(() => Promise.resolve({ version: "0.1.0", protocol: 1, hub: null }));
    await vi.waitFor(() => expect(folder.querySelector("[data-testid=about-hub]")?.textContent).toContain("shared folder"));
    const failed = aboutSection(() => Promise.reject(new Error("the app could not be asked")));
    await vi.waitFor(() => expect(failed.querySelector("[data-testid=about-version]")?.textContent).toBe("unknown"));
  });
});
