/**
 * Which control plane a command talks to, chosen once: the daemon's API when `TICKFLOW_API_URL`
 * is set, when a daemon holds the database file, or when there is no database here and a daemon
 * answers on this machine; otherwise the database itself.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { apiUrl, loadSettings } from "../config/settings.js";
import { isPostgresUrl, openAnyStore, openStore, StoreLockedError } from "../store/index.js";
import type { PgStore } from "../store/pg/pool.js";
import { ControlError, type ControlPlane } from "./control-plane.js";
import { DaemonUnreachable, HttpControlPlane } from "./http.js";
import { LocalControlPlane } from "./local.js";
import { PgControlPlane } from "./pg.js";

export interface ChooseOptions {
  /** `--db PATH` from the command line: this file, unless a daemon holds it. */
  db?: string;
  /** The verb changes state: the database is opened for writing. */
  write: boolean;
  env?: NodeJS.ProcessEnv;
}

/** How long to wait for a daemon that may not be there. */
const PROBE_MS = 1500;

export async function openControlPlane(options: ChooseOptions): Promise<ControlPlane> {
  const env = options.env ?? process.env;
  const settings = loadSettings(env);
  const url = apiUrl(settings);
  const token = settings.TICKFLOW_API_TOKEN;
  if (settings.TICKFLOW_API_URL && options.db === undefined) return new HttpControlPlane(url, token);

  const location = options.db ?? settings.TICKFLOW_DB;
  // PostgreSQL takes many processes at once: the database itself, whatever daemons serve it.
  if (isPostgresUrl(location)) {
    const store = await openAnyStore(location, { readOnly: !options.write });
    return new PgControlPlane(store as PgStore);
  }
  const path = resolve(location);
  const named = options.db !== undefined || Boolean(env.TICKFLOW_DB);
  if (!named && !existsSync(path)) {
    // No database here: the daemon of this machine may hold one elsewhere (run from any directory).
    const daemon = await answeringDaemon(url, token);
    if (daemon) return daemon;
  }
  try {
    return new LocalControlPlane(await openStore(path, { readOnly: !options.write }));
  } catch (err) {
    if (!(err instanceof StoreLockedError)) throw err;
    const daemon = await answeringDaemon(url, token);
    if (!daemon) {
      throw new ControlError(
        409,
        `${err.message}; no daemon answers at ${url} (set TICKFLOW_API_URL if it runs elsewhere)`,
      );
    }
    const served = (await daemon.health()).database;
    if (served !== undefined && resolve(served) !== path) {
      throw new ControlError(
        409,
        `database ${path} is held by another process, and the daemon at ${url} serves ${served}, not it`,
      );
    }
    return daemon;
  }
}

/** The daemon at `url` if it answers its health check quickly. */
export async function answeringDaemon(
  url: string,
  token: string | undefined,
): Promise<HttpControlPlane | undefined> {
  const probe = new HttpControlPlane(url, token, PROBE_MS);
  try {
    await probe.health();
  } catch (err) {
    if (err instanceof DaemonUnreachable) return undefined;
    // It answered, but refuses us (a wrong token): that is the daemon to talk to, and its answer the error.
    if (err instanceof ControlError) throw err;
    throw err;
  }
  return new HttpControlPlane(url, token);
}
