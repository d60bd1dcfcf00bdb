/**
 * What the browser tests need in the demo project before its daemon starts (`consoleDescribe`'s
 * `prepare`): a failed run (a task that logs markup, then one that fails with a known error), a
 * bar deleted on a known session (a missing session in the coverage grid), and the deployments of
 * `deployment/tickflow.yaml`, which the daemon registers as it starts: `greets` (a weekday cron
 * schedule, a pipeline with parameter declarations, quick) and `waits` (no schedule; its run stays
 * Running for 10 minutes, waiting to retry a failed attempt, until cancelled).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ConsoleProject } from "./browser.js";
import { tickflow } from "./cli.js";

/** The failed run's pipeline, failing task and the text of its error. */
export const FAILED = {
  pipeline: "browser-fails",
  task: "boom",
  error: "browser-test failure: the known error",
};

/** A log line of the failed run that would run script if it were rendered as markup. */
export const HOSTILE_LOG = "<img src=x onerror=alert(1)>";

/** The bar deleted before the daemon starts: that session is missing for that symbol. */
export const PLANTED_MISSING = { source: "demo-synthetic", symbol: "SYNB", date: "2025-12-17" };

/** The symbol whose chart the tests draw. */
export const CHART_SYMBOL = { source: "demo-synthetic", symbol: "SYNA" };

const FILES: Record<string, string> = {
  "pipelines/fails.yaml": `kind: pipeline
name: ${FAILED.pipeline}
description: Logs markup as a warning, then fails with a known error
tasks:
  hostile:
    uses: log
    with:
      level: warn
      message: "${HOSTILE_LOG}"
  ${FAILED.task}:
    uses: sql
    needs: [hostile]
    with:
      query: "SELECT error('${FAILED.error}')"
`,
  "pipelines/plant.yaml": `kind: pipeline
name: browser-plant
description: Deletes one bar, so that a session is missing
tasks:
  drop:
    uses: sql
    with:
      query: >-
        DELETE FROM bars_daily WHERE source = '${PLANTED_MISSING.source}'
        AND symbol = '${PLANTED_MISSING.symbol}' AND date = DATE '${PLANTED_MISSING.date}'
`,
  "pipelines/greets.yaml": `kind: pipeline
name: browser-greets
description: Logs its parameters
parameters:
  greeting: {type: string, default: hello, description: What to say}
  times: {type: integer, default: 1, minimum: 1, maximum: 5}
tasks:
  say:
    uses: log
    with:
      message: "\${{ params.greeting }} x\${{ params.times }}"
`,
  "pipelines/waits.yaml": `kind: pipeline
name: browser-waits
description: Stays Running for 10 minutes, waiting to retry a failed attempt
tasks:
  wait:
    uses: sql
    with:
      query: "SELECT error('not yet')"
    retries: 1
    retry_delay: [10m]
`,
  "deployment/tickflow.yaml": `kind: deployments
work_pools: [work-pools/*.yaml]
channels:
  ops-hook: {type: webhook, url: "\${{ env.BROWSER_TEST_HOOK_URL }}"}
notifications:
  - {on: [Cancelled], deployments: [waits], to: [ops-hook]}
deployments:
  - name: greets
    description: Says hello after the close on NYSE sessions
    pipeline: ../pipelines/greets.yaml
    parameters: {greeting: hi}
    schedules:
      - {cron: "30 17 * * 1-5", timezone: America/New_York, calendar: XNYS}
    work_pool: {name: default}
    tags: [browser]
  - name: waits
    pipeline: ../pipelines/waits.yaml
    work_pool: {name: default}
`,
};

export async function prepareConsoleProject({ dir, db }: ConsoleProject): Promise<void> {
  for (const [path, text] of Object.entries(FILES)) await writeFile(join(dir, path), text);
  const plant = await tickflow(["run", "pipelines/plant.yaml", "--db", db], { cwd: dir });
  if (plant.code !== 0) throw new Error(`plant run: ${plant.stderr}`);
  const fails = await tickflow(["run", "pipelines/fails.yaml", "--db", db], { cwd: dir });
  if (fails.code !== 1) throw new Error(`the failing run did not fail: ${fails.stderr}`);
}
