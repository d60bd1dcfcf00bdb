/**
 * The console in Chromium against a real daemon over the demo database, with a token set: the
 * page loads its files (no token needed for them) with no console error and no failed request,
 * under the daemon's Content-Security-Policy. Every view is loaded and shown with its content
 * (a screenshot of each in `build/screenshots/`); the failed run, the markup in a log line, the
 * chart and the coverage grid are checked against what the database holds; the token prompt.
 * The buttons that change state are in `console-actions.browser.test.ts`.
 */
import type { Page } from "playwright-core";
import { expect, it } from "vitest";
import type { CoverageJson, RunJson } from "../src/api/console-contract.js";
import { CONSOLE_TOKEN, consoleApi, consoleDescribe, consoleQuery, withConsole } from "./helpers/browser.js";
import {
  CHART_SYMBOL,
  FAILED,
  HOSTILE_LOG,
  PLANTED_MISSING,
  prepareConsoleProject,
} from "./helpers/console-project.js";

/** The failed run the project was prepared with. */
async function failedRun(): Promise<RunJson> {
  const runs = await consoleApi<RunJson[]>(`/api/runs?pipeline=${FAILED.pipeline}`);
  expect(runs.map((r) => r.state)).toEqual(["Failed"]);
  return runs[0]!;
}

/** What went wrong on a page other than the API's 401s (and the console's note of each). */
const besides401 = (errors: string[]) =>
  errors.filter((e) => !/^HTTP 401: .*\/api\//.test(e) && !/status of 401 \(Unauthorized\)/.test(e));

/** The text of the element with test id `id` (the first), once it is there. */
async function textOf(page: Page, id: string): Promise<string> {
  const element = page.getByTestId(id).first();
  await element.waitFor();
  return (await element.textContent()) ?? "";
}

consoleDescribe(
  "the console in a browser",
  () => {
    it("/ loads with no console errors and no failed requests", () =>
      withConsole(async ({ page, url, errors }) => {
        const response = await page.goto(url, { waitUntil: "networkidle" });
        expect(response?.status()).toBe(200);
        expect(response?.headers()["content-security-policy"]).toMatch(/^default-src 'self'/);
        // The shell's scripts ran: the app rendered something into the page.
        await expect
          .poll(() => page.evaluate(() => document.body.textContent?.trim().length ?? 0))
          .toBeGreaterThan(0);
        expect(errors()).toEqual([]);
      }));

    it("every view loads with its content, no console error and no failed request (screenshots)", () =>
      withConsole(async ({ page, url, errors, screenshot }) => {
        const failed = await failedRun();
        const { source, symbol } = CHART_SYMBOL;
        /** name (of the screenshot), path, and what must show once the view has its data. */
        const views: [string, string, (page: Page) => Promise<void>][] = [
          [
            "overview",
            "",
            async () => {
              await page.locator(`[data-testid=freshness] tr[data-source="${source}"]`).waitFor();
              expect(await textOf(page, "runs-24h")).toMatch(/Failed\s*1/);
              await page.locator(`[data-testid=attention] [data-run-id="${failed.id}"]`).waitFor();
              expect(await textOf(page, "pool-slots")).toContain("default");
            },
          ],
          [
            "runs",
            "runs",
            async () => {
              await page.locator(`[data-testid=run-row][data-run-id="${failed.id}"]`).waitFor();
              // The demo, the planting and the failed run.
              expect(await page.getByTestId("run-row").count()).toBe(3);
            },
          ],
          [
            "run",
            `runs/${failed.id}`,
            async () => {
              await page.locator(`[data-testid=run][data-run-id="${failed.id}"]`).waitFor();
              expect(await page.getByTestId("task").count()).toBe(2);
              expect(await page.getByTestId("graph-node").count()).toBe(2);
              expect(await page.getByTestId("task-row").count()).toBe(2);
              await page.getByTestId("log-line").first().waitFor();
            },
          ],
          [
            "deployments",
            "deployments",
            async () => {
              await page.locator("[data-testid=deployment-row][data-name=greets]").waitFor();
              expect(await page.getByTestId("deployment-row").count()).toBe(2);
            },
          ],
          [
            "deployment",
            "deployments/greets",
            async () => {
              expect(await textOf(page, "schedule")).toContain("at 17:30 on Monday to Friday");
              // Runs are created an hour ahead: before that, the next run is the schedule's next fire.
              expect(await textOf(page, "deployment-next-run")).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d/);
              expect(await page.getByTestId("fire").count()).toBeGreaterThan(0);
              const params = await page
                .getByTestId("param-field")
                .evaluateAll((fields) => fields.map((f) => (f as HTMLElement).dataset.param));
              expect(params).toEqual(["greeting", "times"]);
            },
          ],
          [
            "pools",
            "pools",
            async () => {
              await page.locator("[data-testid=pool][data-pool=default]").waitFor();
              expect(await textOf(page, "queues")).toContain("high");
              await page.getByTestId("queued-runs").first().waitFor();
            },
          ],
          [
            "data",
            "data",
            async () => {
              await page.getByTestId("symbol-row").first().waitFor();
              expect(await page.getByTestId("symbol-row").count()).toBe(4);
            },
          ],
          [
            "symbol",
            `data/${source}/${symbol}`,
            async () => {
              await page.locator("[data-testid=chart]:not([data-bars='0'])").waitFor();
              await page.getByTestId("indicator-picker").waitFor();
            },
          ],
          [
            "coverage",
            `coverage?source=${source}&from=2025-06-02&to=2025-12-31`,
            async () => {
              await page.locator("[data-testid=coverage-grid][data-draw-ms]").waitFor();
              expect(await page.getByTestId("coverage-grid").getAttribute("data-symbols")).toBe("4");
            },
          ],
        ];
        const problems: string[] = [];
        for (const [name, path, shows] of views) {
          const seen = errors().length;
          const response = await page.goto(url + path);
          expect(response?.status(), path).toBe(200);
          await shows(page);
          expect(await page.getByTestId("api-error").count(), `${path}: an API error shown`).toBe(0);
          const text = (await page.locator("main").textContent()) ?? "";
          expect(text, path).not.toMatch(/\bundefined\b|\bNaN\b|\[object Object\]/);
          await screenshot(name);
          problems.push(
            ...errors()
              .slice(seen)
              .map((e) => `/${path}: ${e}`),
          );
        }
        expect(problems).toEqual([]);
      }));

    it("the failed run's page shows the failing task and its error", () =>
      withConsole(async ({ page, url, errors }) => {
        const failed = await failedRun();
        await page.goto(`${url}runs/${failed.id}`);
        expect(await page.getByTestId("run-state").getAttribute("data-state")).toBe("Failed");
        const failing = page.getByTestId("failed-task");
        await failing.first().waitFor();
        expect(await failing.evaluateAll((all) => all.map((t) => (t as HTMLElement).dataset.task))).toEqual([
          FAILED.task,
        ]);
        expect(await failing.textContent()).toContain(FAILED.error);
        expect(
          await page.locator(`[data-testid=task][data-task=${FAILED.task}]`).getAttribute("data-state"),
        ).toBe("Failed");
        expect(errors()).toEqual([]);
      }));

    it("a log line of markup is shown as its text: no element made from it, no script run", () =>
      withConsole(async ({ page, url, errors }) => {
        const dialogs: string[] = [];
        page.on("dialog", (dialog) => {
          dialogs.push(dialog.message());
          void dialog.dismiss();
        });
        const failed = await failedRun();
        const logs = await consoleApi<{ message: string }[]>(`/api/runs/${failed.id}/logs`);
        expect(logs.map((l) => l.message)).toContain(HOSTILE_LOG);
        await page.goto(`${url}runs/${failed.id}`);
        const line = page.getByTestId("log-line").filter({ hasText: HOSTILE_LOG });
        await line.waitFor();
        expect(await line.locator(".msg").textContent()).toBe(HOSTILE_LOG);
        expect(await page.getByText(HOSTILE_LOG, { exact: true }).isVisible()).toBe(true);
        // An <img src=x> would have fired its onerror by now (the request for x fails at once).
        await page.waitForTimeout(300);
        expect(await page.locator("img").count()).toBe(0);
        expect(await page.getByTestId("logs").locator("*:not(time, span, div)").count()).toBe(0);
        expect(dialogs).toEqual([]);
        expect(errors()).toEqual([]);
      }));

    it("the runs list updates live while the tab is seen, and stops polling while it is hidden", () =>
      withConsole(async ({ page, url, errors }) => {
        const polls: number[] = [];
        page.on("request", (r) => {
          if (r.url().includes("/api/runs/page")) polls.push(Date.now());
        });
        await page.goto(`${url}runs`);
        await page.getByTestId("run-row").first().waitFor();
        await expect.poll(() => polls.length, { timeout: 5000 }).toBeGreaterThan(1);
        const setHidden = (hidden: boolean) =>
          page.evaluate((h) => {
            Object.defineProperty(document, "hidden", { configurable: true, get: () => h });
            document.dispatchEvent(new Event("visibilitychange"));
          }, hidden);
        await setHidden(true);
        await page.waitForTimeout(2500); // a poll already due may still go out
        const whileHidden = polls.length;
        await page.waitForTimeout(3000);
        expect(polls.length).toBe(whileHidden);
        await setHidden(false);
        await expect.poll(() => polls.length, { timeout: 2000 }).toBeGreaterThan(whileHidden);
        expect(errors()).toEqual([]);
      }));

    it("the chart of a demo symbol draws every bar the database holds for it", () =>
      withConsole(async ({ page, url, errors }) => {
        const { source, symbol } = CHART_SYMBOL;
        const [row] = await consoleQuery<{ n: number }>(
          `SELECT count(*) AS n FROM bars_daily WHERE source = '${source}' AND symbol = '${symbol}'`,
        );
        const n = row?.n ?? 0;
        expect(n).toBeGreaterThan(2000);
        const bars = await consoleApi<{ date: string[] }>(`/api/data/${source}/${symbol}/bars`);
        expect(bars.date.length).toBe(n);
        await page.goto(`${url}data/${source}/${symbol}`);
        const chart = page.locator("[data-testid=chart]:not([data-bars='0'])");
        await chart.waitFor();
        expect(Number(await chart.getAttribute("data-bars"))).toBe(n);
        // Something was drawn: lightweight-charts paints on canvases inside the box.
        expect(await chart.locator("canvas").count()).toBeGreaterThan(0);
        expect(errors()).toEqual([]);
      }));

    it("the coverage grid shows the planted missing session, and its cell reads missing", () =>
      withConsole(async ({ page, url, errors }) => {
        const { source, symbol, date } = PLANTED_MISSING;
        const range = `source=${source}&from=2025-12-01&to=2025-12-31`;
        const coverage = await consoleApi<CoverageJson>(`/api/coverage?${range}`);
        const row = coverage.symbols.findIndex((s) => s.symbol === symbol);
        const day = coverage.days.findIndex((d) => d.date === date);
        expect(coverage.symbols[row]?.cells[day]).toBe("M");
        await page.goto(`${url}coverage?${range}`);
        const grid = page.locator("[data-testid=coverage-grid][data-draw-ms]");
        await grid.waitFor();
        expect(Number(await grid.getAttribute("data-missing"))).toBeGreaterThanOrEqual(1);
        const attr = async (name: string) => Number(await grid.getAttribute(`data-${name}`));
        const [left, top, w, h] = [
          await attr("left"),
          await attr("top"),
          await attr("cell-width"),
          await attr("cell-height"),
        ];
        const tooltip = page.getByTestId("coverage-tooltip");
        const hover = async (r: number, d: number) => {
          await grid.hover({ position: { x: left + d * w + w / 2, y: top + r * h + h / 2 } });
          await tooltip.waitFor();
          return tooltip.textContent();
        };
        expect(await hover(row, day)).toBe(`${symbol} ${date}: missing session`);
        // The same session of another symbol, and the next session of this one, are loaded.
        expect(await hover(row === 0 ? 1 : 0, day)).toMatch(new RegExp(` ${date}: loaded$`));
        expect(await hover(row, day + 1)).toBe(`${symbol} ${coverage.days[day + 1]!.date}: loaded`);
        expect(errors()).toEqual([]);
      }));

    it("without the token, the page loads and only the API refuses it (401): no other failure", () =>
      withConsole(
        async ({ page, url, errors }) => {
          const response = await page.goto(url, { waitUntil: "networkidle" });
          expect(response?.status()).toBe(200);
          expect(besides401(errors())).toEqual([]);
          for (const e of errors().filter((e) => e.startsWith("HTTP 401"))) expect(e).toMatch(/\/api\//);
        },
        { signedIn: false },
      ));

    it("the token prompt: shown without the token, shown again on a 401, gone once the token is right", () =>
      withConsole(
        async ({ page, url, errors, screenshot }) => {
          await page.goto(url);
          const form = page.getByTestId("token-form");
          await form.waitFor();
          expect(await page.locator("[data-testid=freshness] tr[data-source]").count()).toBe(0);
          await screenshot("token-prompt");
          const give = async (token: string) => {
            await page.getByLabel("API token").fill(token);
            await page.getByRole("button", { name: "Save token" }).click();
          };
          // A wrong token: the API answers 401 and the prompt comes back.
          const refused = page.waitForResponse((r) => r.url().includes("/api/") && r.status() === 401);
          await give("not-the-token");
          await refused;
          await form.waitFor();
          expect(await page.getByLabel("API token").inputValue()).toBe("");
          expect(await page.getByTestId("health").textContent()).toBe("token needed");
          // The right one: the prompt goes and the data loads.
          await give(CONSOLE_TOKEN);
          await form.waitFor({ state: "detached" });
          await page.locator(`[data-testid=freshness] tr[data-source="${CHART_SYMBOL.source}"]`).waitFor();
          await page.locator("[data-testid=health]", { hasText: /^ok$/ }).waitFor();
          expect(besides401(errors())).toEqual([]);
        },
        { signedIn: false },
      ));

    it("a token the daemon refuses (401) brings the prompt back", () =>
      withConsole(async ({ page, url, errors }) => {
        await page.addInitScript(() => sessionStorage.setItem("tickflow.token", "a-stale-token"));
        await page.goto(`${url}runs`);
        await page.getByTestId("token-form").waitFor();
        expect(await page.getByTestId("run-row").count()).toBe(0);
        expect(errors().length).toBeGreaterThan(0);
        expect(besides401(errors())).toEqual([]);
      }));

    it("a deep link (/runs/{id} of the demo run) loads the same shell and its files", () =>
      withConsole(async ({ page, url, errors }) => {
        const runs = await consoleApi<RunJson[]>("/api/runs?pipeline=demo");
        expect(runs.length).toBeGreaterThan(0);
        const response = await page.goto(`${url}runs/${runs[0]!.id}?level=info`, {
          waitUntil: "networkidle",
        });
        expect(response?.status()).toBe(200);
        expect(response?.headers()["content-type"]).toBe("text/html; charset=utf-8");
        await page.locator(`[data-testid=run][data-run-id="${runs[0]!.id}"]`).waitFor();
        expect(errors()).toEqual([]);
      }));
  },
  { prepare: prepareConsoleProject },
);
