import { describe, expect, it } from "vitest";
import { acceleratorFromKeyPress, type KeyPress } from "./shortcut";

const press = (code: string, mods: Partial<KeyPress> = {}): KeyPress => ({
  code,
  key: "",
  ctrlKey: false,
  shiftKey: false,
  altKey: false,
  metaKey: false,
  ...mods,
});

describe("acceleratorFromKeyPress", () => {
  it("writes modifiers in a fixed order with short key names", () => {
    expect(acceleratorFromKeyPress(press("KeyR", { altKey: true, ctrlKey: true, shiftKey: true }))).toBe(
      "Ctrl+Shift+Alt+R",
    );
    expect(acceleratorFromKeyPress(press("Digit1", { metaKey: true }))).toBe("Super+1");
    expect(acceleratorFromKeyPress(press("F9", { ctrlKey: true }))).toBe("Ctrl+F9");
    expect(acceleratorFromKeyPress(press("Space", { altKey: true }))).toBe("Alt+Space");
  });

  it("waits while only modifiers are held", () => {
    expect(acceleratorFromKeyPress(press("ControlLeft", { ctrlKey: true }))).toBeNull();
    expect(acceleratorFromKeyPress(press("ShiftRight", { shiftKey: true }))).toBeNull();
  });

  it("falls back to the key when the browser gives no code", () => {
    expect(acceleratorFromKeyPress(press("", { key: "p", ctrlKey: true, altKey: true }))).toBe("Ctrl+Alt+P");
    expect(acceleratorFromKeyPress(press("Unidentified", { key: "p", ctrlKey: true }))).toBe("Ctrl+P");
    expect(acceleratorFromKeyPress(press("", { key: "Control", ctrlKey: true }))).toBeNull();
    expect(acceleratorFromKeyPress(press("Unidentified", { key: "Unidentified" }))).toBeNull();
  });

  it("passes a bare key through so the app can explain why it needs a modifier", () => {
    expect(acceleratorFromKeyPress(press("KeyP"))).toBe("P");
  });
});
