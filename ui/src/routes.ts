// Screens are addressed by the URL hash so the back/forward keys and reloads
// keep the user where they were.

export type Route =
  | { screen: "inbox" }
  | { screen: "sent" }
  | { screen: "drafts" }
  | { screen: "settings" }
  | { screen: "record"; origin: RecordOrigin; replyTo: string | null }
  | { screen: "compose"; draft: string; replyTo: string | null }
  | { screen: "message"; id: string; atMs?: number }
  | { screen: "meeting"; id: string }
  | { screen: "search"; words: string }
  | { screen: "quick" };

/** Why the Record screen opened. */
export type RecordOrigin = "button" | "global-shortcut" | "tray-menu";

const ORIGINS: readonly RecordOrigin[] = ["button", "global-shortcut", "tray-menu"];

export function parseRoute(hash: string): Route {
  const [path, query = ""] = hash.replace(/^#\/?/, "").split("?", 2);
  const params = new URLSearchParams(query);
  switch (path) {
    case "record": {
      const origin = params.get("from");
      return {
        screen: "record",
        origin: ORIGINS.includes(origin as RecordOrigin) ? (origin as RecordOrigin) : "button",
        replyTo: params.get("reply"),
      };
    }
    case "compose": {
      const draft = params.get("draft");
      return draft ? { screen: "compose", draft, replyTo: params.get("reply") } : { screen: "drafts" };
    }
    case "message": {
      const id = params.get("id");
      if (!id) return { screen: "inbox" };
      // `t` is where to start playing, in milliseconds (a search hit's moment).
      const t = params.get("t") ?? "";
      return /^\d{1,12}$/.test(t) ? { screen: "message", id, atMs: Number(t) } : { screen: "message", id };
    }
    case "meeting": {
      const id = params.get("id");
      return id ? { screen: "meeting", id } : { screen: "sent" };
    }
    case "search":
      return { screen: "search", words: params.get("q") ?? "" };
    case "sent":
    case "drafts":
    case "settings":
    case "quick":
      return { screen: path };
    default:
      return { screen: "inbox" };
  }
}

export function routeHash(route: Route): string {
  switch (route.screen) {
    case "record": {
      const params = new URLSearchParams();
      if (route.origin !== "button") params.set("from", route.origin);
      if (route.replyTo) params.set("reply", route.replyTo);
      const query = params.toString();
      return query ? `#/record?${query}` : "#/record";
    }
    case "compose": {
      const params = new URLSearchParams({ draft: route.draft });
      if (route.replyTo) params.set("reply", route.replyTo);
      return `#/compose?${params.toString()}`;
    }
    case "message": {
      const params = new URLSearchParams({ id: route.id });
      if (route.atMs !== undefined) params.set("t", String(Math.max(0, Math.round(route.atMs))));
      return `#/message?${params.toString()}`;
    }
    case "meeting":
      return `#/meeting?${new URLSearchParams({ id: route.id }).toString()}`;
    case "search":
      return `#/search?${new URLSearchParams({ q: route.words }).toString()}`;
    default:
      return `#/${route.screen}`;
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
