// Quiet hours, for real, on a clock the test moves: alice works 09:00-17:00 in Berlin
// (set from the CLI on her profile; her app reads it). At 22:00 a message from bob
// reaches her inbox but no notification; when her clock reaches 09:05 the next day
// one "While you were off" notification sums it up. Then "do not disturb" from the
// tray holds the next message (the tray and Settings say so) until Settings turns it
// off, and what waited is summed up again.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, afterEach, before, describe, it } from "node:test";
import { launchApp, screenshot } from "./lib/app.mjs";
import { cliUser, hubSettings, pigeon, startHub } from "./lib/hub.mjs";
import { clickTrayItem, findTrayMenus, menuItems } from "./lib/tray.mjs";
import { ui, WAIT } from "./lib/ui.mjs";

const SYNC = 60_000;

/** The instant `hh:mm` on `date` (YYYY-MM-DD) is on a Berlin clock. */
function berlin(date, time) {
  for (const offset of ["+01:00", "+02:00"]) {
    const at = new Date(`${date}T${time}:00${offset}`);
    const shown = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Berlin", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(at);
    if (shown === time) return at.toISOString();
  }
  throw new Error(`${date} ${time} is not a Berlin time`);
}

/** `YYYY-MM-DD` of the first Tuesday at least two days ahead, and of the two days after it. */
function nextTuesday() {
  const day = new Date(Date.now() + 2 * 24 * 3600 * 1000);
  while (day.getUTCDay() !== 2) day.setUTCDate(day.getUTCDate() + 1);
  const later = (n) => new Date(day.getTime() + n * 24 * 3600 * 1000).toISOString().slice(0, 10);
  return [later(0), later(1), later(2)];
}

describe("quiet hours hold notifications until the working day starts", { timeout: 600_000 }, () => {
  let hub;
  let alice;
  let bobHome;
  const [tuesday, wednesday, thursday] = nextTuesday();
  const notifications = () =>
    readFileSync(alice.logPath, "utf8")
      .split("\n")
      .filter((l) => l.includes("background: notification "));
  const setClock = (instant) =>
    alice.driver.executeAsyncScript((at, done) => {
      window.__TAURI_INTERNALS__.invoke("test_set_clock", { instant: at }).then(() => done(null), (e) => done(String(e)));
    }, instant);
  const send = async (subject) => {
    const draft = await pigeon(bobHome, "record", "--source", "synthetic", "--seconds", "1");
    // Due on Thursday on alice's clock: neither overdue nor due today while she reads it.
    await pigeon(bobHome, "send", draft.draft, "--to", "alice", "--subject", subject, "--respond-by", berlin(thursday, "16:00"));
  };
  const openSettings = async () => {
    const a = ui(alice.driver);
    await a.click("nav-inbox");
    await a.click("nav-settings");
    return a.find("quiet-state");
  };

  before(async () => {
    hub = await startHub("quiet");
    const [aliceToken, bobToken] = await Promise.all([hub.addUser("alice", "Europe/Berlin"), hub.addUser("bob", "America/New_York")]);
    bobHome = await cliUser("bob", hub.url, bobToken);
    const aliceCli = await cliUser("alice", hub.url, aliceToken);
    await pigeon(aliceCli, "profile", "--tz", "Europe/Berlin", "--hours", "09:00-17:00", "--days", "mon-fri");
    alice = await launchApp("quiet-alice", {
      settings: hubSettings("alice", hub.url, aliceToken),
      env: { TZ: "Europe/Berlin", PIGEON_TEST_CLOCK: berlin(tuesday, "22:00") },
    });
  });

  afterEach(async (t) => {
    const slug = t.name.split(" ").slice(0, 3).join("-").replace(/[^a-z0-9-]/gi, "");
    await screenshot(alice.driver, `quiet-end-${slug}`).catch(() => {});
  });

  after(async () => {
    await alice?.stop();
    await hub?.stop();
  });

  it("at 22:00 a new message waits silently; at 09:05 one summary tells it", async () => {
    const a = ui(alice.driver);
    await openSettings();
    await a.waitText("quiet-state", "Outside working hours: notifications wait until Wed 09:00", SYNC);
    await alice.driver.executeScript(() => document.querySelector("[data-testid=quiet]")?.scrollIntoView({ block: "center" }));
    await screenshot(alice.driver, "quiet-1-settings-off-hours");

    await send("Late question");
    await a.click("nav-inbox");
    await a.until(() => document.querySelectorAll("[data-testid=inbox-item]").length === 1, SYNC, "bob's message in the inbox");
    // Given a round to tell it, the app holds it.
    await alice.driver.wait(() => /notifications held/.test(readFileSync(alice.logPath, "utf8")), SYNC, "the notifications to be held");
    assert.deepEqual(notifications(), [], "no notification outside working hours");

    await setClock(berlin(wednesday, "09:05"));
    await alice.driver.wait(() => notifications().length > 0, SYNC, "the summary when the working day starts");
    const told = notifications();
    assert.equal(told.length, 1, told.join("\n"));
    assert.match(told[0], /title="While you were off" body="1 new message"/);
    // Given at the start of her working day, on her clock.
    assert.match(told[0], new RegExp(`local="${wednesday}T09:05:00\\+0[12]:00"`), told[0]);
    assert.doesNotMatch(told.join("\n"), /Late question/, "the message itself is not told again");
  });

  it("do not disturb from the tray holds the next message until Settings turns it off", async () => {
    const a = ui(alice.driver);
    await clickTrayItem("Do not disturb for 1 hour");
    await openSettings();
    await a.waitText("quiet-state", "Do not disturb until Wed 10:05");
    let labels = [];
    await alice.driver.wait(
      async () => {
        labels = (await Promise.all((await findTrayMenus()).map(menuItems))).flat().map((i) => i.label);
        return labels.includes("Do not disturb until Wed 10:05") && labels.includes("Turn off do not disturb");
      },
      WAIT,
      "the tray to say do not disturb is on",
    ).catch((error) => {
      throw new Error(`tray items ${JSON.stringify(labels)} (${error.message})`);
    });
    await alice.driver.executeScript(() => document.querySelector("[data-testid=quiet]")?.scrollIntoView({ block: "center" }));
    await screenshot(alice.driver, "quiet-2-do-not-disturb");

    await send("During the focus hour");
    await a.click("nav-inbox");
    await a.until(() => document.querySelectorAll("[data-testid=inbox-item]").length === 2, SYNC, "the second message in the inbox");
    assert.equal(notifications().length, 1, "nothing told during do not disturb");

    await openSettings();
    await a.click("dnd-off");
    await a.waitText("quiet-feedback", "Do not disturb is off.");
    await alice.driver.wait(() => notifications().length === 2, SYNC, "the held message summed up");
    assert.match(notifications()[1], /title="While you were off" body="1 new message"/);
    await a.waitText("quiet-state", /^Notifications reach you now/);
  });
});
