// Clicks an item of an app's tray menu over D-Bus. On Linux, Tauri's tray is an
// Ayatana AppIndicator whose menu is exported with the com.canonical.dbusmenu
// interface at /org/ayatana/NotificationItem/<id>/Menu, even when no tray host
// is running; Event(id, "clicked") is exactly what a tray host sends on a click.

import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

async function gdbus(dest, objectPath, method, ...args) {
  // "--" keeps arguments such as -1 from being read as options.
  const { stdout } = await run(
    "gdbus",
    ["call", "--session", "--dest", dest, "--object-path", objectPath, "--method", method, "--", ...args],
    { timeout: 10_000 },
  );
  return stdout;
}

async function introspect(dest, objectPath) {
  const { stdout } = await run("gdbus", ["introspect", "--session", "--dest", dest, "--object-path", objectPath, "--only-properties"], {
    timeout: 10_000,
  }).catch(() => ({ stdout: "" }));
  return stdout;
}

/** Every tray menu on the session bus: [{ dest, menuPath }]. */
export async function findTrayMenus() {
  const names = await gdbus("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames");
  const uniqueNames = [...names.matchAll(/'(:[0-9.]+)'/g)].map((m) => m[1]);
  const menus = [];
  for (const dest of uniqueNames) {
    const root = await introspect(dest, "/org/ayatana/NotificationItem");
    for (const [, node] of root.matchAll(/^\s*node ([^/\s]+) \{/gm)) {
      menus.push({ dest, menuPath: `/org/ayatana/NotificationItem/${node}/Menu` });
    }
  }
  return menus;
}

/** The menu's items as [{ id, label }], read with GetLayout. */
export async function menuItems({ dest, menuPath }) {
  const layout = await gdbus(dest, menuPath, "com.canonical.dbusmenu.GetLayout", "0", "-1", "[]");
  return [...layout.matchAll(/\((\d+), \{[^}]*?'label': <'([^']*)'>/g)].map((m) => ({ id: Number(m[1]), label: m[2].replace(/_/g, "") }));
}

/** Clicks the item labelled `label` (a string, or a RegExp) in the first tray menu that has one. */
export async function clickTrayItem(label, { timeoutMs = 15_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let seen = [];
  while (Date.now() < deadline) {
    for (const menu of await findTrayMenus()) {
      const items = await menuItems(menu);
      seen = items.map((i) => i.label);
      const item = items.find((i) => (label instanceof RegExp ? label.test(i.label) : i.label === label));
      if (item) {
        await gdbus(menu.dest, menu.menuPath, "com.canonical.dbusmenu.Event", String(item.id), "clicked", "<int32 0>", "0");
        return;
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no tray menu item "${label}" appeared on the session bus (last items seen: ${seen.join(", ") || "none"})`);
}
