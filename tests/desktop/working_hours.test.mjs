// Working hours, for real: yuki (a CLI user on the same hub) sets her zone and hours
// with `pigeon profile --tz Asia/Tokyo --hours 10:00-18:00 --days mon-fri`; alice's
// app (in Berlin) composes to yuki and bob (New York, no working hours) and shows each
// one's local time, whether yuki works now, and what the chosen respond-by means on
// their clock, flagged in words when it falls outside yuki's hours; it follows the
// recipients and the respond-by as they change. Then alice saves her own working hours
// in Settings (a mistake first: one sentence, nothing stored) and yuki's `pigeon profile
// --of alice` reads them back.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Key } from "selenium-webdriver";
import { launchApp, screenshot } from "./lib/app.mjs";
import { cliUser, hubSettings, pigeon, startHub } from "./lib/hub.mjs";
import { ui, WAIT } from "./lib/ui.mjs";

const ALICE_ZONE = "Europe/Berlin";

/** "Wed 23:00" on `zone`'s clock at `at`, as the app writes a local time now. */
function clockText(zone, at) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", { timeZone: zone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.weekday} ${parts.hour}:${parts.minute}`;
}

/** `YYYY-MM-DD` of the first `weekday` (0 = Sunday) at least 8 days from now: surely ahead on every clock. */
function nextWeekday(weekday) {
  const day = new Date(Date.now() + 8 * 24 * 3600 * 1000);
  while (day.getUTCDay() !== weekday) day.setUTCDate(day.getUTCDate() + 1);
  return day.toISOString().slice(0, 10);
}

/**
 * Waits until the text of `selector` matches `pattern`, looked up afresh at each poll:
 * the clocks are drawn again at each change, so an element found earlier may be gone.
 */
async function waitClockText(driver, selector, pattern) {
  let last = "";
  await driver
    .wait(async () => {
      last = await driver.executeScript((s) => document.querySelector(s)?.textContent ?? "", selector);
      return pattern.test(last.trim());
    }, WAIT)
    .catch((error) => {
      throw new Error(`${selector}: expected ${pattern}, last text ${JSON.stringify(last)} (${error.message})`);
    });
  return last.trim();
}

/** Brings the recipients' clocks into view for a screenshot, and waits until they are. */
async function scrollToClocks(driver) {
  await ui(driver).until(
    () => {
      document.activeElement?.blur();
      const clocks = document.querySelector("[data-testid=recipient-clocks]");
      clocks?.scrollIntoView({ block: "center" });
      const box = clocks?.getBoundingClientRect();
      return box && box.top >= 0 && box.bottom <= window.innerHeight;
    },
    WAIT,
    "the recipients' clocks to be in view",
  );
}

describe("working hours: the recipients' clocks in Compose, and mine in Settings", { timeout: 600_000 }, () => {
  let hub;
  let alice;
  let yukiHome;

  before(async () => {
    hub = await startHub("working-hours");
    const [aliceToken, yukiToken] = await Promise.all([hub.addUser("alice", ALICE_ZONE), hub.addUser("yuki")]);
    await hub.addUser("bob", "America/New_York");
    yukiHome = await cliUser("yuki", hub.url, yukiToken);
    const set = await pigeon(yukiHome, "profile", "--tz", "Asia/Tokyo", "--hours", "10:00-18:00", "--days", "mon-fri");
    assert.equal(set.saved, true, JSON.stringify(set));
    alice = await launchApp("working-hours-alice", { settings: hubSettings("alice", hub.url, aliceToken), env: { TZ: ALICE_ZONE } });
  });

  afterEach(async (t) => {
    const slug = t.name.split(" ").slice(0, 3).join("-").replace(/[^a-z0-9-]/gi, "");
    await screenshot(alice.driver, `working-hours-end-${slug}`).catch(() => {});
  });

  after(async () => {
    await alice?.stop();
    await hub?.stop();
  });

  it("Compose shows each recipient's clock and flags a respond-by outside yuki's hours", async () => {
    const a = ui(alice.driver);
    await a.click("record-button");
    await a.until(() => document.querySelector("[data-testid=camera-select]")?.value === "test-pattern", WAIT, "the test pattern to be chosen");
    await a.startRecording();
    await a.waitSeconds("elapsed", 1, 15_000);
    await a.click("record-stop");
    await a.find("compose");

    const before = new Date();
    const yukiBefore = await pigeon(yukiHome, "profile", "--of", "yuki");
    await a.type("recipient-input", `yuki${Key.ENTER}`);
    await a.find("recipient-yuki");
    await a.find("recipient-clock-yuki");
    const after = new Date();
    const yukiAfter = await pigeon(yukiHome, "profile", "--of", "yuki");

    // Her local time now, and whether she works: what her own profile says (read around it).
    const localNow = await (await a.find("[data-testid=recipient-clock-yuki] [data-testid=clock-local-now]")).getAttribute("textContent");
    const expected = [clockText("Asia/Tokyo", before), clockText("Asia/Tokyo", after)].map((t) => `${t} their time (Asia/Tokyo)`);
    assert.ok(expected.includes(localNow.trim()), `${JSON.stringify(localNow)} is one of ${JSON.stringify(expected)}`);
    const availability = (await (await a.find("[data-testid=recipient-clock-yuki] [data-testid=clock-availability]")).getAttribute("textContent")).replace(/^\s*·\s*/, "");
    const phrases = [yukiBefore.availability.phrase, yukiAfter.availability.phrase];
    assert.ok(phrases.includes(availability.trim()), `${JSON.stringify(availability)} is one of ${JSON.stringify(phrases)}`);

    // A Saturday noon in Berlin is Saturday 20:00 in Tokyo (19:00 in summer): outside her hours, said in words.
    const setCustom = (local) =>
      alice.driver.executeScript((value) => {
        const input = document.querySelector("[data-testid=respond-by-at]");
        input.value = value;
        input.dispatchEvent(new Event("change"));
      }, local);
    await setCustom(`${nextWeekday(6)}T12:00`);
    await waitClockText(alice.driver, "[data-testid=recipient-clock-yuki] [data-testid=clock-respond-by]", /Sat (\d+ \w+ (\d{4} )?)?(19|20):00 for yuki, outside their working hours$/);
    assert.match(await (await a.find("recipient-clock-yuki")).getAttribute("class"), /outside-hours/);
    await scrollToClocks(alice.driver);
    await screenshot(alice.driver, "working-hours-1-compose-outside");

    // A Wednesday 04:00 in Berlin is midday in Tokyo: within her hours, no flag.
    await setCustom(`${nextWeekday(3)}T04:00`);
    await waitClockText(alice.driver, "[data-testid=recipient-clock-yuki] [data-testid=clock-respond-by]", /Wed (\d+ \w+ (\d{4} )?)?1[12]:00 for yuki$/);
    assert.doesNotMatch(await (await a.find("recipient-clock-yuki")).getAttribute("class"), /outside-hours/);

    // Bob gave no working hours: only his clock shows, nothing is flagged.
    await a.type("recipient-input", `bob${Key.ENTER}`);
    await a.find("recipient-clock-bob");
    await waitClockText(alice.driver, "[data-testid=recipient-clock-bob] [data-testid=clock-local-now]", /their time \(America\/New_York\)/);
    await waitClockText(alice.driver, "[data-testid=recipient-clock-bob] [data-testid=clock-respond-by]", /Tue (\d+ \w+ (\d{4} )?)?22:00 for bob$/);
    const bobParts = await alice.driver.executeScript(() =>
      [...document.querySelectorAll("[data-testid=recipient-clock-bob] [data-testid]")].map((e) => e.dataset.testid),
    );
    assert.deepEqual(bobParts, ["clock-local-now", "clock-respond-by"]);
    await scrollToClocks(alice.driver);
    await screenshot(alice.driver, "working-hours-2-compose-two");

    // Taking yuki off the list takes her clock away.
    await a.click("[aria-label='Remove yuki']");
    await a.until(() => !document.querySelector("[data-testid=recipient-clock-yuki]"), WAIT, "yuki's clock to go");
    await a.find("recipient-clock-bob");
    await a.click("compose-cancel");
  });

  it("with the hub away, Compose shows no clocks and no error about them", async () => {
    const a = ui(alice.driver);
    await hub.stop();
    await a.click("nav-drafts");
    await a.click("draft-compose");
    await a.find("compose");
    await a.type("recipient-input", `yuki${Key.ENTER}`);
    await a.find("recipient-yuki");
    // The store is asked (and retried) before the list says it is for yuki.
    await a.until(() => document.querySelector("[data-testid=recipient-clocks]")?.dataset.recipients === "yuki", 60_000, "the clocks to be asked for yuki");
    assert.equal(await alice.driver.executeScript(() => document.querySelectorAll("[data-testid=recipient-clocks] li").length), 0);
    // Everything Compose says but its respond-by choices (one is "N working hours each").
    const said = await alice.driver.executeScript(() => {
      const copy = document.querySelector("[data-testid=compose]")?.cloneNode(true);
      copy?.querySelector("[data-testid=respond-by]")?.remove();
      return copy?.textContent ?? "";
    });
    assert.doesNotMatch(said, /profile|working hours/i);
    await scrollToClocks(alice.driver);
    await screenshot(alice.driver, "working-hours-5-compose-store-away");
    hub = await startHub("working-hours", { data: hub.data, port: hub.port });
    await a.click("compose-cancel");
  });

  it("Settings saves alice's working hours, refusing a mistake in one sentence, and yuki reads them back", async () => {
    const a = ui(alice.driver);
    await a.click("nav-settings");
    await a.find("working-hours");
    await a.waitText("working-now", /no working hours given/);
    assert.equal(await (await a.find("working-zone")).getAttribute("value"), ALICE_ZONE);

    // Reached and set by keyboard: the zone, then the day boxes (Space ticks one).
    await a.type("working-zone", "America/New_York");
    for (const day of ["mon", "tue", "wed", "thu"]) {
      const box = await a.find(`working-day-${day}`);
      await box.sendKeys(Key.SPACE);
    }
    await a.type("working-spans", "12:00-08:00");
    await a.click("working-hours-save");
    const refused = await a.waitText("working-hours-feedback", /ends before it starts/);
    assert.doesNotMatch(refused, /\n/);
    await screenshot(alice.driver, "working-hours-3-settings-refused");
    const untouched = await pigeon(yukiHome, "profile", "--of", "alice");
    assert.equal(untouched.profile.working_hours, undefined, JSON.stringify(untouched.profile));

    await a.type("working-spans", "08:00-12:00, 13:00-16:00");
    await a.type("working-days-off", "2026-12-24, 2026-12-31");
    await a.click("working-hours-save");
    await a.waitText("working-hours-feedback", "Saved: people who write to you see your working hours.");
    await a.waitText("working-now", /— (working now|off until)/);
    await alice.driver.executeScript(() => document.querySelector("[data-testid=working-hours]")?.scrollIntoView({ block: "start" }));
    await screenshot(alice.driver, "working-hours-4-settings-saved");

    const read = await pigeon(yukiHome, "profile", "--of", "alice");
    const hours = read.profile.working_hours;
    assert.equal(read.profile.time_zone, "America/New_York");
    assert.equal(hours.time_zone, "America/New_York");
    assert.deepEqual(hours.days, ["mon", "tue", "wed", "thu"]);
    assert.deepEqual(hours.spans, [
      { start: "08:00", end: "12:00" },
      { start: "13:00", end: "16:00" },
    ]);
    assert.deepEqual(hours.days_off, ["2026-12-24", "2026-12-31"]);
  });
});
