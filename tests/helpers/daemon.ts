/** The real daemon as a child process, and calls to its API: for tests that spawn one. */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { join } from "node:path";
import { REPO } from "./cli.js";

export interface Daemon {
  child: ChildProcessWithoutNullStreams;
  port: number;
  stderr: () => string;
  exited: Promise<number | null>;
}

/**
 * `tickflow daemon` on database `db` in folder `cwd` (with its `deployment/tickflow.yaml`), on a
 * port of its choosing; resolves once it listens.
 */
export async function spawnDaemon(
  cwd: string,
  db: string,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<Daemon> {
  const child = spawn(
    process.execPath,
    [
      join(REPO, "bin/tickflow.js"),
      "daemon",
      "--db",
      db,
      "--port",
      "0",
      "--config",
      "deployment/tickflow.yaml",
      ...args,
    ],
    { cwd, env: { ...process.env, TICKFLOW_LOG_FORMAT: "json", ...env } },
  );
  let err = "";
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.on("data", (d: Buffer) => {
      err += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    exited.then(() => reject(new Error(`daemon exited: ${err}`)));
  });
  return { child, port, stderr: () => err, exited };
}

/** A request to the daemon's API (state changes with an empty JSON body); status and JSON answer. */
export async function api(d: Daemon, method: string, path: string, headers: Record<string, string> = {}) {
  const json =
    method === "GET" ? {} : { body: "{}", headers: { "content-type": "application/json", ...headers } };
  const r = await fetch(`http://127.0.0.1:${d.port}${path}`, { method, headers, ...json });
  return { status: r.status, json: (await r.json().catch(() => null)) as Record<string, unknown> };
}

/** Polls `fn` every 100 ms until it returns something other than undefined. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
