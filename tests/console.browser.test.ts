/**
 * The console in Chromium against a real daemon over the demo database, with a token set: the
 * page loads its files (no token needed for them) with no console error and no failed request,
 * under the daemon's Content-Security-Policy. The views' own tests go here, through `withConsole`.
 */
import { expect, it } from "vitest";
import { consoleDescribe, withConsole } from "./helpers/browser.js";

consoleDescribe("the console in a browser", () => {
  it("/ loads with no console errors and no failed requests", () =>
    withConsole(async ({ page, url, errors, screenshot }) => {
      const response = await page.goto(url, { waitUntil: "networkidle" });
      expect(response?.status()).toBe(200);
      expect(response?.headers()["content-security-policy"]).toMatch(/^default-src 'self'/);
      // The shell's scripts ran: the app rendered something into the page.
      await expect
        .poll(() => page.evaluate(() => document.body.textContent?.trim().length ?? 0))
        .toBeGreaterThan(0);
      await screenshot("overview");
      expect(errors()).toEqual([]);
    }));

  it("a deep link (/runs/{id}) loads the same shell and its files", () =>
    withConsole(async ({ page, url, errors }) => {
      const response = await page.goto(`${url}runs/0190a3f2?state=Failed`, { waitUntil: "networkidle" });
      expect(response?.status()).toBe(200);
      expect(response?.headers()["content-type"]).toBe("text/html; charset=utf-8");
      expect(errors()).toEqual([]);
    }));
});
