// Small WebDriver helpers shared by the desktop tests: find by data-testid, wait
// for text or attributes, and emit app events the way Tauri's own code does.

import { By, until } from "selenium-webdriver";

export const WAIT = 20_000;

export function ui(driver) {
  // What the screen says is wrong, for failure messages: a wait that times out
  // over a visible error should show that error.
  const alerts = () =>
    driver
      .executeScript(() => [...document.querySelectorAll("[role=alert]")].map((e) => e.textContent.trim()).filter(Boolean).join(" | "))
      .then((text) => (text ? `; the screen says: ${text}` : ""))
      .catch(() => "");
  const css = (testid) => By.css(testid.startsWith("[") || testid.includes(" ") || testid.startsWith("#") ? testid : `[data-testid=${testid}]`);
  const find = (testid, timeout = WAIT) => driver.wait(until.elementLocated(css(testid)), timeout);
  return {
    find,
    async click(testid, timeout = WAIT) {
      const deadline = Date.now() + timeout;
      for (;;) {
        try {
          const el = await find(testid, Math.max(deadline - Date.now(), 1));
          await driver.wait(until.elementIsEnabled(el), Math.max(deadline - Date.now(), 1));
          // A click lands where the element was measured: wait until it stops moving
          // (a late render above it shifts it), so the click cannot miss.
          await driver.wait(
            () =>
              driver.executeAsyncScript((target, done) => {
                const at = () => JSON.stringify(target.getBoundingClientRect());
                const before = at();
                setTimeout(() => done(at() === before), 100);
              }, el),
            Math.max(deadline - Date.now(), 1),
            `${testid} to stop moving`,
          );
          await el.click();
          return el;
        } catch (error) {
          // The screen drew itself again (a sync changed the library): find it anew.
          if (error?.name !== "StaleElementReferenceError" || Date.now() > deadline) throw error;
        }
      }
    },
    async type(testid, text) {
      const el = await find(testid);
      await el.clear();
      await el.sendKeys(text);
      return el;
    },
    async text(testid, timeout = WAIT) {
      return (await find(testid, timeout)).getText();
    },
    /** Waits until the element's text content matches (it may be scrolled out of view). */
    async waitText(testid, expected, timeout = WAIT) {
      const el = await find(testid, timeout);
      const pattern = expected instanceof RegExp ? expected : new RegExp(escape(expected));
      let last = "";
      await driver
        .wait(async () => pattern.test((last = await el.getAttribute("textContent"))), timeout)
        .catch(async (error) => {
          throw new Error(`${testid}: expected ${pattern}, last text ${JSON.stringify(last)} (${error.message})${await alerts()}`);
        });
      return last;
    },
    /** Waits until a "m:ss" timer shows at least `seconds`. */
    async waitSeconds(testid, seconds, timeout = WAIT) {
      const el = await find(testid, timeout);
      let last = "";
      await driver
        .wait(async () => {
          last = await el.getAttribute("textContent");
          const [m, s] = last.split(":").map(Number);
          return m * 60 + s >= seconds;
        }, timeout)
        .catch(async (error) => {
          throw new Error(`${testid}: expected at least ${seconds} s, last text ${JSON.stringify(last)} (${error.message})${await alerts()}`);
        });
      return last;
    },
    /** Waits until `fn` (run in the page) returns something truthy; returns it. */
    async until(fn, timeout = WAIT, message = "condition") {
      return driver.wait(async () => (await driver.executeScript(fn)) || false, timeout).catch(async (error) => {
        throw new Error(`timed out waiting for ${message} (${error.message})${await alerts()}`);
      });
    },
    /**
     * Presses Record on the Record screen and waits until the countdown is over and
     * the recorder runs (the Stop button shows), so a missed click or a failed start
     * is reported as such.
     */
    async startRecording() {
      await this.click("record-start");
      await this.until(() => {
        const stop = document.querySelector("[data-testid=record-stop]");
        return stop && !stop.hidden;
      }, WAIT, "the recording to start after the countdown");
    },
    /** Emits an app event from the page, as Tauri does for a native drag-and-drop. */
    async emit(event, payload) {
      await driver.executeAsyncScript(
        (name, body, done) => {
          window.__TAURI_INTERNALS__.invoke("plugin:event|emit", { event: name, payload: body }).then(
            () => done(null),
            (e) => done(String(e)),
          );
        },
        event,
        payload,
      );
    },
  };
}

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
