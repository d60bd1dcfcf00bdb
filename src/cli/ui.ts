/**
 * `tickflow ui`: the console over a database that no daemon holds, read-only, until Ctrl-C
 * (exit 130; SIGTERM 143). A database a daemon holds: its console is the one to open (exit 2).
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { maskerOf } from "../config/masker.js";
import { apiUrl, loadSettings } from "../config/settings.js";
import { StoreError, StoreLockedError } from "../store/errors.js";
import { isPostgresUrl } from "../store/pg/url.js";
import { VERSION } from "../version.js";
import { databaseLocation, databasePath } from "./db.js";
import { UsageError } from "./output.js";

export const UI_PORT = 4200;

export async function uiCommand(opts: { port?: string; host?: string; db?: string }): Promise<number> {
  const settings = loadSettings();
  if (isPostgresUrl(databaseLocation(opts.db)))
    throw new UsageError(
      "tickflow ui reads a DuckDB file that no daemon holds; on PostgreSQL every `tickflow daemon` serves the console (open its address)",
    );
  const path = resolve(databasePath(opts.db));
  const port = opts.port === undefined ? UI_PORT : Number(opts.port);
  if (!/^\d+$/.test(opts.port ?? "0") || port > 65535)
    throw new UsageError(`--port: not a port: ${opts.port}`);
  const host = opts.host ?? "127.0.0.1";
  const masker = maskerOf(process.env);
  const say = (line: string) => process.stderr.write(`tickflow: ${masker.mask(line)}\n`);
  const { startReadOnlyConsole } = await import("../console-server/read-only.js");
  let served: Awaited<ReturnType<typeof startReadOnlyConsole>>;
  try {
    served = await startReadOnlyConsole({
      dbPath: path,
      host,
      port,
      token: settings.TICKFLOW_API_TOKEN,
      ...(settings.TICKFLOW_API_HOSTS ? { apiHosts: settings.TICKFLOW_API_HOSTS } : {}),
      version: VERSION,
      onError: (m) => say(`ui: ${m}`),
    });
  } catch (err) {
    if (err instanceof StoreLockedError) {
      say(`${err.message}`);
      const address = await daemonConsole(apiUrl(settings), settings.TICKFLOW_API_TOKEN, path);
      say(
        address
          ? `a daemon holds it: its console is at ${address}`
          : "tickflow ui reads a database no daemon holds; if a daemon holds this one, open its console (its API address, http://127.0.0.1:4200/ by default)",
      );
      return 2;
    }
    if (err instanceof StoreError) {
      say(err.message);
      return existsSync(path) ? 1 : 2;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
      say(
        `cannot listen on ${host}:${port}: ${code === "EADDRINUSE" ? "the port is in use (a daemon's console may be there already; choose another with --port)" : code === "EACCES" ? "permission denied" : "no such address here"}`,
      );
      return 1;
    }
    if (err instanceof Error && /^refusing to serve/.test(err.message)) {
      say(err.message);
      return 2;
    }
    throw err;
  }
  process.stdout.write(`console at ${served.url}\n`);
  say(
    `ui: database ${path}, read-only${settings.TICKFLOW_API_TOKEN ? "; the page asks for TICKFLOW_API_TOKEN" : ""}; Ctrl-C stops it`,
  );
  const signal = await new Promise<NodeJS.Signals>((done) => {
    const stop = (s: NodeJS.Signals) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      done(s);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await served.close();
  return signal === "SIGTERM" ? 143 : 130;
}

/** The console URL of the daemon at `url` when it answers and serves `path`. */
async function daemonConsole(
  url: string,
  token: string | undefined,
  path: string,
): Promise<string | undefined> {
  const { answeringDaemon } = await import("../control/choose.js");
  try {
    const daemon = await answeringDaemon(url, token);
    const served = daemon && (await daemon.health()).database;
    return served !== undefined && resolve(served) === path ? new URL("/", url).href : undefined;
  } catch {
    return undefined;
  }
}
