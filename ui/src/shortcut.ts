// Turns a key press into the accelerator text the Rust side parses
// (e.g. "Ctrl+Shift+Alt+R"). Pure, so it is unit-tested.

export interface KeyPress {
  code: string;
  key: string;
  ctrlKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  metaKey: boolean;
}

const MODIFIER_CODES = /^(Control|Shift|Alt|Meta|OS)(Left|Right)?$/;

/** The accelerator for a press, or null while only modifiers are held. */
export function acceleratorFromKeyPress(press: KeyPress): string | null {
  if (MODIFIER_CODES.test(press.code) || MODIFIER_CODES.test(press.key)) return null;
  // Synthetic events (and some layouts) carry no physical code: use the key.
  const hasCode = press.code !== "" && press.code !== "Unidentified";
  const name = hasCode ? keyName(press.code) : press.key.length === 1 ? press.key.toUpperCase() : press.key;
  if (!name || name === "Unidentified") return null;
  const parts: string[] = [];
  if (press.ctrlKey) parts.push("Ctrl");
  if (press.shiftKey) parts.push("Shift");
  if (press.altKey) parts.push("Alt");
  if (press.metaKey) parts.push("Super");
  parts.push(name);
  return parts.join("+");
}

function keyName(code: string): string {
  const letter = /^Key([A-Z])$/.exec(code);
  if (letter?.[1]) return letter[1];
  const digit = /^Digit([0-9])$/.exec(code);
  if (digit?.[1]) return digit[1];
  return code;
}
