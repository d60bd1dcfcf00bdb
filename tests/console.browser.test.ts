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

  it("without the token, the page loads and only the API refuses it (401): no other failure", () =>
    withConsole(
      async ({ page, url, errors }) => {
        const response = await page.goto(url, { waitUntil: "networkidle" });
        expect(response?.status()).toBe(200);
        const others = errors().filter((e) => !/\b401\b/.test(e));
        expect(others).toEqual([]);
        for (const e of errors().filter((e) => e.startsWith("HTTP 401"))) expect(e).toMatch(/\/api\//);
      },
      { signedIn: false },
    ));

  it("a deep link (/runs/{id} of the demo run) loads the same shell and its files", () =>
    withConsole(async ({ page, url, token, errors }) => {
      const runs = (await (
        await fetch(`${url}api/runs`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as { id: string }[];
      expect(runs.length).toBeGreaterThan(0);
      const response = await page.goto(`${url}runs/${runs[0]!.id}?level=info`, { waitUntil: "networkidle" });
      expect(response?.status()).toBe(200);
      expect(response?.headers()["content-type"]).toBe("text/html; charset=utf-8");
      expect(errors()).toEqual([]);
    }));
});
