// Screens are addressed by the URL hash so the back/forward keys and reloads
// keep the user where they were.

export type Route = { screen: "inbox" } | { screen: "settings" } | { screen: "record"; origin: RecordOrigin };

/** Why the Record screen opened. */
export type RecordOrigin = "button" | "global-shortcut" | "tray-menu";

const ORIGINS: readonly RecordOrigin[] = ["button", "global-shortcut", "tray-menu"];

export function parseRoute(hash: string): Route {
  const [path, query = ""] = hash.replace(/^#\/?/, "").split("?", 2);
  if (path === "record") {
    const origin = new URLSearchParams(query).get("from");
    return {
      screen: "record",
      origin: ORIGINS.includes(origin as RecordOrigin) ? (origin as RecordOrigin) : "button",
    };
  }
  if (path === "settings") return { screen: "settings" };
  return { screen: "inbox" };
}

export function routeHash(route: Route): string {
  switch (route.screen) {
    case "inbox":
      return "#/inbox";
    case "settings":
      return "#/settings";
    case "record":
      return route.origin === "button" ? "#/record" : `#/record?from=${route.origin}`;
  }
}

/** A sentence telling the user how the recorder was opened, or null for the button. */
export function describeOrigin(origin: RecordOrigin, shortcut: string | null): string | null {
  switch (origin) {
    case "button":
      return null;
    case "global-shortcut":
      return shortcut
        ? `Opened with the global shortcut ${shortcut}.`
        : "Opened with the global shortcut.";
    case "tray-menu":
      return "Opened from Quick record in the tray menu.";
  }
}
