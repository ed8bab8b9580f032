import { describe, expect, it } from "vitest";
import { describeOrigin, parseRoute, routeHash, type Route } from "./routes";

describe("routes", () => {
  it("falls back to the inbox for empty or unknown hashes", () => {
    expect(parseRoute("")).toEqual({ screen: "inbox" });
    expect(parseRoute("#/nowhere")).toEqual({ screen: "inbox" });
    expect(parseRoute("#/message")).toEqual({ screen: "inbox" });
    expect(parseRoute("#/compose")).toEqual({ screen: "drafts" });
    expect(parseRoute("#/meeting")).toEqual({ screen: "sent" });
  });

  it("round-trips every route through its hash", () => {
    const routes: Route[] = [
      { screen: "inbox" },
      { screen: "sent" },
      { screen: "drafts" },
      { screen: "settings" },
      { screen: "quick" },
      { screen: "record", origin: "button", replyTo: null },
      { screen: "record", origin: "global-shortcut", replyTo: null },
      { screen: "record", origin: "tray-menu", replyTo: null },
      { screen: "record", origin: "button", replyTo: "0193ab-cd" },
      { screen: "compose", draft: "d1", replyTo: null },
      { screen: "compose", draft: "d1", replyTo: "m 2&x" },
      { screen: "message", id: "m-1" },
      { screen: "message", id: "m-1", atMs: 3200 },
      { screen: "message", id: "m-1", atMs: 0 },
      { screen: "meeting", id: "m-1" },
      { screen: "search", words: "budget & plan?" },
      { screen: "search", words: "" },
    ];
    for (const route of routes) {
      expect(parseRoute(routeHash(route))).toEqual(route);
    }
  });

  it("opens a message at a moment only for a whole, non-negative number of milliseconds", () => {
    expect(routeHash({ screen: "message", id: "m-1", atMs: 3200 })).toBe("#/message?id=m-1&t=3200");
    expect(parseRoute("#/message?id=m-1&t=-5")).toEqual({ screen: "message", id: "m-1" });
    expect(parseRoute("#/message?id=m-1&t=soon")).toEqual({ screen: "message", id: "m-1" });
    expect(parseRoute("#/message?id=m-1&t=")).toEqual({ screen: "message", id: "m-1" });
  });

  it("ignores an origin it does not know", () => {
    expect(parseRoute("#/record?from=evil")).toEqual({ screen: "record", origin: "button", replyTo: null });
  });

  it("names the shortcut when it is known", () => {
    expect(describeOrigin("global-shortcut", "Ctrl+Shift+Alt+R")).toBe(
      "Opened with the global shortcut Ctrl+Shift+Alt+R.",
    );
    expect(describeOrigin("tray-menu", null)).toContain("tray menu");
    expect(describeOrigin("button", "Ctrl+Shift+Alt+R")).toBeNull();
  });
});
