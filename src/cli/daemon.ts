/**
 * The daemon's verbs: `deploy`, `daemon`, `deployments ls`, `deployment run`, `runs cancel`.
 * While the daemon holds the database (DuckDB allows one process), the others talk to its API.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { isValidIsoDate } from "../calendar/index.js";
import { parseDuration } from "../config/duration.js";
import { loadSettings } from "../config/settings.js";
import type { BackfillResult } from "../daemon/backfill.js";
import type { DaemonLog } from "../daemon/daemon.js";
import {
  type DeployChange,
  deploymentRecords,
  registerDeployments,
  workPoolRecords,
} from "../daemon/deploy.js";
import { loadDeployments } from "../schedule/load.js";
import { builtinSteps } from "../steps/index.js";
import { VERSION } from "../version.js";
import { openStoreForCli } from "./db.js";
import { formatTable, printDiagnostics, ReportedFailure, UsageError } from "./output.js";
import { parseParamFlags } from "./plan.js";

const version = VERSION;

/** Loads and checks the deployments file; the records to register (problems printed, then a ReportedFailure). */
async function registrationOf(file: string) {
  const loaded = await loadDeployments(resolve(file), builtinSteps);
  const errors = loaded.diagnostics.filter((d) => d.severity === "error");
  if (loaded.diagnostics.length > 0) printDiagnostics(loaded.diagnostics, "text");
  if (!loaded.doc || errors.length > 0) throw new ReportedFailure();
  const names = new Map<string, string>();
  const pipelineName = (path: string) => {
    let name = names.get(path);
    if (name === undefined) {
      // Checked by the loader already: only its name is needed here.
      const match = /^name:\s*["']?([^"'\s#]+)/m.exec(readFileSync(path, "utf8"));
      name = match?.[1] ?? path;
      names.set(path, name);
    }
    return name;
  };
  return {
    deployments: deploymentRecords(resolve(file), loaded.doc, pipelineName),
    pools: workPoolRecords(loaded.pools),
  };
}

function describeChanges(changes: readonly DeployChange[]): string {
  if (changes.length === 0) return "no changes\n";
  return changes
    .map(
      (c) =>
        `${c.change.padEnd(7)} ${c.kind.replace("_", " ")} ${c.name}${c.detail ? ` (${c.detail})` : ""}\n`,
    )
    .join("");
}

/** `tickflow deploy [FILE]` */
export async function deployCommand(
  file: string | undefined,
  opts: { db: string; json?: boolean },
): Promise<number> {
  const path = file ?? loadSettings().TICKFLOW_CONFIG;
  const registration = await registrationOf(path);
  const store = await openStoreForCli(opts.db).catch((err: unknown) => {
    if (err instanceof ReportedFailure) {
      process.stderr.write(
        "tickflow: if the daemon holds the database, reload it instead (systemctl reload tickflow, or kill -HUP its PID): it registers the files itself\n",
      );
    }
    throw err;
  });
  try {
    const changes = await registerDeployments(
      store.db,
      registration.deployments,
      registration.pools,
      new Date(),
    );
    if (opts.json) process.stdout.write(`${JSON.stringify({ changes }, null, 2)}\n`);
    else process.stdout.write(describeChanges(changes));
  } finally {
    await store.close();
  }
  return 0;
}

/** Log lines: JSON when not on a TTY (journald) or asked for, else human text. */
function daemonLogger(): DaemonLog {
  const settings = loadSettings();
  const levels = ["debug", "info", "warn", "error"] as const;
  const least = levels.indexOf(settings.TICKFLOW_LOG_LEVEL);
  const json =
    settings.TICKFLOW_LOG_FORMAT === "json" ||
    (settings.TICKFLOW_LOG_FORMAT === "auto" && !process.stderr.isTTY);
  return (level, message, fields) => {
    if (levels.indexOf(level) < least) return;
    const ts = new Date().toISOString();
    process.stderr.write(
      json
        ? `${JSON.stringify({ ts, level, msg: message, ...fields })}\n`
        : `${ts.slice(11, 19)} ${level.padEnd(5)} ${message}\n`,
    );
  };
}

/** `tickflow daemon` */
export async function daemonCommand(opts: {
  db: string;
  config?: string;
  host?: string;
  port?: string;
  noConfig?: boolean;
}): Promise<number> {
  const settings = loadSettings();
  const configFile = opts.config ?? settings.TICKFLOW_CONFIG;
  const port = opts.port === undefined ? settings.TICKFLOW_API_PORT : Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port: not a port: ${opts.port}`);
  const log = daemonLogger();
  // Check the files before taking the database; the first registration uses what this read.
  let checked: Awaited<ReturnType<typeof registrationOf>> | undefined = await registrationOf(configFile);
  const { startDaemon } = await import("../daemon/daemon.js");
  let daemon: Awaited<ReturnType<typeof startDaemon>>;
  try {
    daemon = await startDaemon({
      dbPath: opts.db,
      host: opts.host ?? settings.TICKFLOW_API_HOST,
      port,
      token: settings.TICKFLOW_API_TOKEN,
      graceMs: parseDuration(settings.TICKFLOW_SHUTDOWN_GRACE) ?? 30_000,
      env: process.env,
      log,
      register: async (db) => {
        const r = checked ?? (await registrationOf(configFile));
        checked = undefined;
        return registerDeployments(db, r.deployments, r.pools, new Date());
      },
      version,
    });
  } catch (err) {
    if (err instanceof ReportedFailure) throw err;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`tickflow: daemon: ${message}\n`);
    return 1;
  }
  return daemon.done;
}

/** Calls the daemon's API; undefined when no daemon answers. */
async function callApi(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown } | undefined> {
  const settings = loadSettings();
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (settings.TICKFLOW_API_TOKEN) headers.authorization = `Bearer ${settings.TICKFLOW_API_TOKEN}`;
  let response: Response;
  try {
    response = await fetch(new URL(path, settings.TICKFLOW_API_URL), {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    return undefined;
  }
  return { status: response.status, json: await response.json().catch(() => null) };
}

function apiFailure(r: { status: number; json: unknown }): never {
  const message = (r.json as { error?: string } | null)?.error ?? `HTTP ${r.status}`;
  process.stderr.write(`tickflow: ${message}\n`);
  throw new ReportedFailure();
}

/** `tickflow deployment run NAME [--param k=v]...`: through the daemon, or queued in the database for it. */
export async function deploymentRunCommand(
  name: string,
  opts: { param: string[]; db: string; json?: boolean },
): Promise<number> {
  const parameters = parseParamFlags(opts.param);
  const viaApi = await callApi("POST", `/api/deployments/${encodeURIComponent(name)}/runs`, { parameters });
  let id: string;
  if (viaApi) {
    if (viaApi.status !== 201) apiFailure(viaApi);
    id = (viaApi.json as { id: string }).id;
  } else {
    const { createRunNow } = await import("../daemon/daemon.js");
    const store = await openStoreForCli(opts.db);
    try {
      const made = await createRunNow(
        store.db,
        name,
        parameters,
        new Date(),
        new Date().toISOString().slice(0, 10),
      );
      if (!made) {
        process.stderr.write(
          `tickflow: no deployment named ${JSON.stringify(name)} (run tickflow deploy first)\n`,
        );
        return 1;
      }
      id = made.id;
    } finally {
      await store.close();
    }
    process.stderr.write(
      "tickflow: no daemon answered: the run waits in the database until `tickflow daemon` runs\n",
    );
  }
  process.stdout.write(opts.json ? `${JSON.stringify({ id })}\n` : `run ${id} scheduled\n`);
  return 0;
}

/** `tickflow runs cancel ID` */
export async function runsCancelCommand(id: string, opts: { db: string; json?: boolean }): Promise<number> {
  const viaApi = await callApi("POST", `/api/runs/${encodeURIComponent(id)}/cancel`);
  if (viaApi) {
    if (viaApi.status !== 202) apiFailure(viaApi);
    const state = (viaApi.json as { state: string }).state;
    process.stdout.write(opts.json ? `${JSON.stringify({ id, state })}\n` : `run ${id}: ${state}\n`);
    return 0;
  }
  const store = await openStoreForCli(opts.db);
  try {
    const { findRun, transitionRuns } = await import("../store/index.js");
    const run = await findRun(store.db, id);
    if (!run) {
      process.stderr.write(`tickflow: no run with id ${JSON.stringify(id)}\n`);
      return 1;
    }
    if (run.state !== "Scheduled" && run.state !== "Late") {
      process.stderr.write(
        `tickflow: run ${run.id} is ${run.state}: only a waiting run can be cancelled without the daemon\n`,
      );
      return 1;
    }
    const message = "cancelled before it started";
    const now = new Date();
    await transitionRuns(
      store.db,
      { ids: [run.id] },
      {
        to: "Cancelled",
        from: ["Scheduled", "Late"],
        at: now,
        message,
        set: { ended_at: now, error: message },
      },
    );
    process.stdout.write(
      opts.json ? `${JSON.stringify({ id: run.id, state: "Cancelled" })}\n` : `run ${run.id}: Cancelled\n`,
    );
  } finally {
    await store.close();
  }
  return 0;
}

/** `tickflow deployments ls` */
export async function deploymentsListCommand(opts: { db: string; json?: boolean }): Promise<number> {
  let rows: Record<string, unknown>[];
  const viaApi = await callApi("GET", "/api/deployments");
  if (viaApi && viaApi.status === 200) rows = viaApi.json as Record<string, unknown>[];
  else {
    const store = await openStoreForCli(opts.db, { readOnly: true });
    try {
      rows = (
        await store.db.runAndReadAll(
          `SELECT name, pipeline, work_pool, work_queue, paused,
             (SELECT min(scheduled_at) FROM runs r WHERE r.deployment = d.name AND r.state = 'Scheduled')::VARCHAR AS next_run
           FROM deployments d ORDER BY name`,
        )
      ).getRowObjectsJson() as Record<string, unknown>[];
    } finally {
      await store.close();
    }
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else {
    process.stdout.write(
      formatTable(
        ["name", "pipeline", "pool/queue", "paused", "next run"],
        rows.map((r) => [
          String(r.name),
          String(r.pipeline),
          r.work_pool ? `${r.work_pool}/${r.work_queue ?? "-"}` : "-",
          r.paused ? "yes" : "no",
          r.next_run ? String(r.next_run) : "-",
        ]),
      ),
    );
  }
  return 0;
}

/** `tickflow backfill NAME --from D --to D [--missing]` */
export async function backfillCommand(
  name: string,
  opts: { from: string; to: string; missing?: boolean; db: string; json?: boolean },
): Promise<number> {
  for (const [flag, value] of [
    ["--from", opts.from],
    ["--to", opts.to],
  ] as const) {
    if (!isValidIsoDate(value)) throw new UsageError(`${flag} expects YYYY-MM-DD, got "${value}"`);
  }
  if (opts.to < opts.from) throw new UsageError(`--to (${opts.to}) is before --from (${opts.from})`);
  const body = { from: opts.from, to: opts.to, missing: opts.missing === true };
  let result: BackfillResult;
  const viaApi = await callApi("POST", `/api/deployments/${encodeURIComponent(name)}/backfill`, body);
  if (viaApi) {
    if (viaApi.status !== 201) apiFailure(viaApi);
    result = viaApi.json as BackfillResult;
  } else {
    const { backfill } = await import("../daemon/backfill.js");
    const store = await openStoreForCli(opts.db);
    try {
      const made = await backfill(store.db, name, body, new Date());
      if (!made) {
        process.stderr.write(
          `tickflow: no deployment named ${JSON.stringify(name)} (run tickflow deploy first)\n`,
        );
        return 1;
      }
      result = made;
    } finally {
      await store.close();
    }
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(
      `${result.queued.length} run(s) queued for ${result.sessions} session(s) ${opts.from}..${opts.to}` +
        `${result.pending ? `, ${result.pending} already waiting` : ""}${result.complete ? `, ${result.complete} complete` : ""}` +
        `${viaApi ? "" : " (they run when `tickflow daemon` runs)"}\n`,
    );
  }
  return 0;
}

/** `tickflow deployment pause|resume NAME` */
export async function deploymentPauseCommand(
  name: string,
  paused: boolean,
  opts: { db: string; json?: boolean },
): Promise<number> {
  const viaApi = await callApi(
    "POST",
    `/api/deployments/${encodeURIComponent(name)}/${paused ? "pause" : "resume"}`,
  );
  let found: boolean;
  if (viaApi) {
    if (viaApi.status !== 200 && viaApi.status !== 404) apiFailure(viaApi);
    found = viaApi.status === 200;
  } else {
    const { setDeploymentPaused } = await import("../daemon/deploy.js");
    const store = await openStoreForCli(opts.db);
    try {
      found = await setDeploymentPaused(store.db, name, paused, new Date());
    } finally {
      await store.close();
    }
  }
  if (!found) {
    process.stderr.write(
      `tickflow: no deployment named ${JSON.stringify(name)} (run tickflow deploy first)\n`,
    );
    return 1;
  }
  process.stdout.write(
    opts.json
      ? `${JSON.stringify({ name, paused })}\n`
      : `deployment ${name} ${paused ? "paused" : "resumed"}\n`,
  );
  return 0;
}
