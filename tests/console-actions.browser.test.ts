/**
 * The console's buttons in Chromium against a real daemon (the project of
 * `helpers/console-project.ts`): `Cancel` on a running run, `Run now` with a parameter changed in
 * the generated form, `Pause` and `Resume` of a deployment. Each is checked in the page and
 * through the API.
 */
import type { Page } from "playwright-core";
import { expect, it } from "vitest";
import type { DeploymentDetailJson, RunDetailJson } from "../src/api/console-contract.js";
import { consoleApi, consoleDescribe, withConsole } from "./helpers/browser.js";
import { prepareConsoleProject } from "./helpers/console-project.js";
import { waitFor } from "./helpers/daemon.js";

/** Waits for `data-state` of the page's run state badge to be `state` (the page polls every 2 s). */
async function pageRunState(page: Page, state: string): Promise<void> {
  await page.locator(`[data-testid=run-state][data-state=${state}]`).waitFor();
}

/** Waits until the API says run `id` is in `state`; the run. */
function apiRunState(id: string, state: string): Promise<RunDetailJson> {
  return waitFor(`run ${id} ${state}`, async () => {
    const run = await consoleApi<RunDetailJson>(`/api/runs/${id}`);
    return run.state === state ? run : undefined;
  });
}

consoleDescribe(
  "the console's actions in a browser",
  () => {
    it("Cancel cancels a running run (Cancelled in the page and through the API); Retry makes a new one", () =>
      withConsole(async ({ page, url, errors, screenshot }) => {
        const { id } = await consoleApi<{ id: string }>("/api/deployments/waits/runs", { method: "POST" });
        await apiRunState(id, "Running");
        await page.goto(`${url}runs/${id}`);
        await pageRunState(page, "Running");
        await page.locator("[data-testid=task][data-task=wait][data-state=Retrying]").waitFor();
        await screenshot("run-running");
        await page.getByRole("button", { name: "Cancel" }).click();
        await pageRunState(page, "Cancelled");
        const run = await apiRunState(id, "Cancelled");
        expect(run.tasks.map((t) => t.state)).toEqual(["Cancelled"]);
        // The deployments file's rule announced it: the page shows the message and its delivery
        // (the channel's URL variable is not set here, so the attempt records why it failed).
        const message = page.getByTestId("notification");
        await message.first().waitFor();
        expect(await message.first().textContent()).toMatch(/^Cancelledops-hook/);
        // Cancelled is no failure: no error panel (the tasks' error is only "cancelled").
        expect(await page.getByTestId("run-error").count()).toBe(0);
        // A final run offers Retry instead.
        expect(await page.getByRole("button", { name: "Cancel" }).count()).toBe(0);
        await screenshot("run-cancelled");
        // Retry: a new run of the same deployment, which the page opens.
        await page.getByRole("button", { name: "Retry" }).click();
        await page.waitForURL((u) => /^\/runs\/[0-9a-f-]+$/.test(u.pathname) && !u.pathname.endsWith(id));
        const again = new URL(page.url()).pathname.split("/").pop()!;
        await page.locator(`[data-testid=run][data-run-id="${again}"]`).waitFor();
        const retried = await consoleApi<RunDetailJson>(`/api/runs/${again}`);
        expect(retried.deployment).toBe("waits");
        // It would wait 10 minutes: cancelled here, so that the daemon stops at once afterwards.
        await consoleApi(`/api/runs/${again}/cancel`, { method: "POST" });
        await apiRunState(again, "Cancelled");
        expect(errors()).toEqual([]);
      }));

    it("Run now with a changed parameter makes a run with it, which the page follows to Completed", () =>
      withConsole(async ({ page, url, errors, screenshot }) => {
        await page.goto(`${url}deployments/greets`);
        const greeting = page.locator("#param-greeting");
        await greeting.waitFor();
        // The form starts from the deployment's parameters, else the declared defaults.
        expect(await greeting.inputValue()).toBe("hi");
        expect(await page.locator("#param-times").inputValue()).toBe("1");
        await greeting.fill("bonjour");
        await page.locator("#param-times").fill("3");
        await page.getByRole("button", { name: "Run now" }).click();
        await page.waitForURL(/\/runs\/[0-9a-f-]+$/);
        const id = new URL(page.url()).pathname.split("/").pop()!;
        await pageRunState(page, "Completed");
        const run = await apiRunState(id, "Completed");
        expect(run.deployment).toBe("greets");
        expect(run.parameters).toEqual({ greeting: "bonjour", times: 3 });
        await page.getByTestId("log-line").filter({ hasText: "bonjour x3" }).waitFor();
        await screenshot("run-now-completed");
        expect(errors()).toEqual([]);
      }));

    it("Pause then Resume toggle the deployment: the page and the API agree", () =>
      withConsole(async ({ page, url, errors, screenshot }) => {
        const paused = async () => (await consoleApi<DeploymentDetailJson>("/api/deployments/greets")).paused;
        expect(await paused()).toBe(false);
        await page.goto(`${url}deployments/greets`);
        await page.locator("[data-testid=deployment][data-paused=false]").waitFor();
        await page.getByRole("button", { name: "Pause" }).click();
        await page.locator("[data-testid=deployment][data-paused=true]").waitFor();
        expect(await paused()).toBe(true);
        await screenshot("deployment-paused");
        await page.getByRole("button", { name: "Resume" }).click();
        await page.locator("[data-testid=deployment][data-paused=false]").waitFor();
        await page.getByRole("button", { name: "Pause" }).waitFor();
        expect(await paused()).toBe(false);
        // The list agrees too.
        await page.goto(`${url}deployments`);
        await page.locator("[data-testid=deployment-row][data-name=greets][data-paused=false]").waitFor();
        expect(errors()).toEqual([]);
      }));
  },
  { prepare: prepareConsoleProject },
);
