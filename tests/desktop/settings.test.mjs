// Settings, driven for real: moving the quick-record shortcut, a conflict with
// another Pigeon instance that holds the wanted combination, and reminders.
// Two app instances run side by side, each with its own PIGEON_HOME.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { By, Key, until } from "selenium-webdriver";
import { launchApp, screenshot } from "./lib/app.mjs";

const run = promisify(execFile);
const WAIT = 20_000;

// Looked up afresh on every poll: a section that saves draws itself again, so an
// element found before the answer arrived may be gone when it does.
async function waitForText(driver, selector, expected) {
  let last = "";
  await driver.wait(
    async () => {
      try {
        last = await driver.findElement(By.css(selector)).getText();
      } catch {
        return false;
      }
      return last.includes(expected);
    },
    WAIT,
    `${selector} to say ${JSON.stringify(expected)}`,
  );
  return last;
}

async function openSettings(driver) {
  await driver.wait(until.elementLocated(By.css("[data-testid=nav-settings]")), WAIT).click();
  await driver.wait(until.elementLocated(By.css("[data-testid=shortcut-capture]")), WAIT);
}

async function chooseShortcut(driver, ...keys) {
  const capture = await driver.findElement(By.css("[data-testid=shortcut-capture]"));
  await capture.click();
  await capture.sendKeys(Key.chord(...keys));
  return capture.getAttribute("value");
}

describe("settings", () => {
  let alice;
  let bob;

  before(async () => {
    alice = await launchApp("settings-alice");
    await waitForText(alice.driver, "[data-testid=statusbar]", "Quick record: Ctrl+Shift+Alt+R");
  });

  after(async () => {
    await bob?.stop();
    await alice?.stop();
  });

  it("moves the quick-record shortcut and remembers it", async () => {
    const { driver } = alice;
    await openSettings(driver);
    assert.equal(await chooseShortcut(driver, Key.CONTROL, Key.ALT, "p"), "Ctrl+Alt+P");
    await driver.findElement(By.css("[data-testid=shortcut-save]")).click();
    await waitForText(driver, "[data-testid=shortcut-feedback]", "Quick record now starts with Ctrl+Alt+P.");
    await waitForText(driver, "[data-testid=statusbar]", "Quick record: Ctrl+Alt+P");
    await screenshot(driver, "settings-shortcut-moved");

    const saved = readFileSync(path.join(alice.home, "config", "settings.toml"), "utf8");
    assert.match(saved, /quick_record_shortcut = "Ctrl\+Alt\+P"/);

    await run("xdotool", ["key", "--clearmodifiers", "ctrl+alt+p"]);
    await waitForText(driver, "[data-testid=record-origin]", "global shortcut Ctrl+Alt+P");
  });

  it("reports a combination another program holds, and keeps the old one", async () => {
    // Bob starts after Alice let go of Ctrl+Shift+Alt+R, so he gets it.
    bob = await launchApp("settings-bob");
    const { driver } = bob;
    await waitForText(driver, "[data-testid=statusbar]", "Quick record: Ctrl+Shift+Alt+R");
    await openSettings(driver);
    assert.equal(await chooseShortcut(driver, Key.CONTROL, Key.ALT, "p"), "Ctrl+Alt+P");
    await driver.findElement(By.css("[data-testid=shortcut-save]")).click();
    const problem = await waitForText(driver, "[data-testid=shortcut-feedback]", "already used");
    assert.equal(problem, "Ctrl+Alt+P is already used by another program; pick another combination");
    await screenshot(driver, "settings-shortcut-conflict");
    assert.match(await driver.findElement(By.css("[data-testid=statusbar]")).getText(), /Quick record: Ctrl\+Shift\+Alt\+R/);
    assert.match(await driver.findElement(By.css("[data-testid=shortcut-current]")).getText(), /Ctrl\+Shift\+Alt\+R/);
  });

  it("saves the due-soon reminder window and refuses nonsense", async () => {
    const { driver } = alice;
    await openSettings(driver);
    const minutes = await driver.findElement(By.css("[data-testid=due-soon-minutes]"));
    await minutes.clear();
    await minutes.sendKeys("1");
    await driver.findElement(By.css("[data-testid=reminders-save]")).click();
    await waitForText(driver, "[data-testid=reminders-feedback]", "out of range");

    const again = await driver.findElement(By.css("[data-testid=due-soon-minutes]"));
    await again.clear();
    await again.sendKeys("30");
    await driver.findElement(By.css("[data-testid=reminders-save]")).click();
    await waitForText(driver, "[data-testid=reminders-feedback]", "Saved.");
    const saved = readFileSync(path.join(alice.home, "config", "settings.toml"), "utf8");
    assert.match(saved, /due_soon_before = 30/);
  });
});
