/** `tickflow daemon`: the scheduler, the workers and the HTTP API in one process. */
import { DiagnosticsError, sortDiagnostics } from "../config/diagnostics.js";
import { parseDuration } from "../config/duration.js";
import { maskerOf } from "../config/masker.js";
import { loadSettings, SettingsError } from "../config/settings.js";
import type { DaemonLog } from "../daemon/daemon.js";
import { createDaemonLog, diagnosticFields, errorFields, logSetup } from "../daemon/log.js";
import type { LogLevel } from "../pipeline/step-spec.js";
import { storeIoError } from "../store/errors.js";
import { VERSION } from "../version.js";
import { databaseLocation } from "./db.js";
import { dedupe, requireFile, UsageError } from "./output.js";
import { loadRegistration, type Registration } from "./registration.js";

/**
 * `tickflow daemon`. Everything it says is a log line, start-up errors too (bad settings, files
 * with errors, a database in use): JSON under journald, never plain text among the JSON lines.
 */
export interface DaemonFlags {
  db?: string;
  config?: string;
  host?: string;
  port?: string;
  /** This process's name in the database (PostgreSQL): `--name`, else `TICKFLOW_NAME`. */
  name?: string;
}

/** `tickflow worker --pool NAME [--queue Q]...`: executes a pool's runs; no scheduler, no API. */
export interface WorkerFlags extends DaemonFlags {
  pool: string[];
  queue?: string[];
}

export async function daemonCommand(opts: DaemonFlags, worker?: WorkerFlags): Promise<number> {
  const setup = logSetup(process.env, Boolean(process.stderr.isTTY));
  const log = createDaemonLog(setup, (text) => process.stderr.write(text));
  try {
    return await runDaemon(opts, log, setup.least, worker);
  } catch (err) {
    const cause = storeIoError(err) ?? err;
    // A setting or a database URL may be quoted: the service's secrets stay out of its log.
    const message = maskerOf(process.env).mask(cause instanceof Error ? cause.message : String(cause));
    log("error", `cannot start: ${message}`, errorFields(err));
    return err instanceof UsageError || err instanceof SettingsError ? 2 : 1;
  }
}

async function runDaemon(
  opts: DaemonFlags,
  log: DaemonLog,
  least: LogLevel,
  worker: WorkerFlags | undefined,
): Promise<number> {
  const db = databaseLocation(opts.db);
  const settings = loadSettings({ ...process.env, TICKFLOW_DB: undefined });
  const configFile = opts.config ?? settings.TICKFLOW_CONFIG;
  const port = opts.port === undefined ? settings.TICKFLOW_API_PORT : Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port: not a port: ${opts.port}`);
  if (!worker) requireFile(configFile);
  // Check the files before taking the database; the first registration uses what this read.
  let checked: Registration | undefined = worker ? undefined : await checkedRegistration(configFile, log);
  if (worker && worker.pool.length === 0)
    throw new UsageError("--pool: name the work pool whose runs to take");
  const name = opts.name ?? settings.TICKFLOW_NAME;
  const { startDaemon } = await import("../daemon/daemon.js");
  const daemon = await startDaemon({
    dbPath: db,
    host: opts.host ?? settings.TICKFLOW_API_HOST,
    port,
    token: settings.TICKFLOW_API_TOKEN,
    apiHosts: settings.TICKFLOW_API_HOSTS,
    graceMs: parseDuration(settings.TICKFLOW_SHUTDOWN_GRACE) ?? 30_000,
    env: process.env,
    log,
    logLevel: least,
    ...(name ? { name } : {}),
    ...(worker
      ? {
          worker: true,
          claim: { pools: worker.pool, ...(worker.queue?.length ? { queues: worker.queue } : {}) },
        }
      : {
          register: async (store, log) => {
            const r = checked ?? (await checkedRegistration(configFile, log));
            checked = undefined;
            return store.registerDeployments(r.deployments, r.pools, new Date(), r.notify);
          },
        }),
    version: VERSION,
  });
  // A bug that escapes is one error line with its stack (not plain text at the journal's info
  // priority), then the exit code Node gives it.
  const crash = (err: unknown) => {
    const masker = maskerOf(process.env);
    const stack = err instanceof Error ? err.stack : undefined;
    log("error", `crashed: ${masker.mask(err instanceof Error ? err.message : String(err))}`, {
      ...(stack ? { stack: masker.mask(stack) } : {}),
    });
    process.exit(1);
  };
  process.on("uncaughtException", crash);
  return daemon.done.finally(() => process.off("uncaughtException", crash));
}

/** The deployments file's records; its warnings logged, its errors thrown with their positions. */
async function checkedRegistration(file: string, log: DaemonLog): Promise<Registration> {
  const loaded = await loadRegistration(file);
  const diagnostics = sortDiagnostics(dedupe(loaded.diagnostics));
  const problems = (severity: string, word: string) => {
    const n = diagnostics.filter((d) => d.severity === severity).length;
    return `${file}: ${n} ${word}${n === 1 ? "" : "s"}`;
  };
  if (!loaded.registration) throw new DiagnosticsError(problems("error", "error"), diagnostics);
  if (diagnostics.length > 0) log("warn", problems("warning", "warning"), diagnosticFields(diagnostics));
  return loaded.registration;
}
