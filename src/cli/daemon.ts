/** `tickflow daemon`: the scheduler, the workers and the HTTP API in one process. */
import { parseDuration } from "../config/duration.js";
import { loadSettings } from "../config/settings.js";
import type { DaemonLog } from "../daemon/daemon.js";
import { registerDeployments } from "../daemon/deploy.js";
import { VERSION } from "../version.js";
import { ReportedFailure, UsageError } from "./output.js";
import { registrationOf } from "./registration.js";

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
      apiHosts: settings.TICKFLOW_API_HOSTS,
      graceMs: parseDuration(settings.TICKFLOW_SHUTDOWN_GRACE) ?? 30_000,
      env: process.env,
      log,
      register: async (db) => {
        const r = checked ?? (await registrationOf(configFile));
        checked = undefined;
        return registerDeployments(db, r.deployments, r.pools, new Date());
      },
      version: VERSION,
    });
  } catch (err) {
    if (err instanceof ReportedFailure) throw err;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`tickflow: daemon: ${message}\n`);
    return 1;
  }
  return daemon.done;
}
