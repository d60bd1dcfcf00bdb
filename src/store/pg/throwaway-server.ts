/**
 * A throwaway PostgreSQL server (Debian's `postgresql` package: `initdb` + `pg_ctl` in a temporary
 * folder, on a free port of 127.0.0.1, its socket in that folder, fsync off), for tests
 * (`tests/helpers/postgres.ts`) and benchmarks (`bench/lib/postgres.mjs`, through `dist/`).
 *
 * - The binaries: `TICKFLOW_PG_BIN`, else the newest `/usr/lib/postgresql/<N>/bin`. As root they run
 *   as the `postgres` user (`runuser -u postgres --`: initdb refuses root); otherwise as the current
 *   user.
 * - Tuned for speed, not durability. Stopped (`pg_ctl stop -m immediate`) by `stop()` and when the
 *   process exits; a server whose process was killed outright is stopped by the next start (each
 *   folder records its owner's PID).
 * - Authentication: trust on 127.0.0.1, after the `hba` lines the caller puts first.
 */
import { spawnSync } from "node:child_process";
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/** Where `initdb` and `pg_ctl` are: TICKFLOW_PG_BIN, else the newest /usr/lib/postgresql/N/bin. */
export function findPostgresBin(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TICKFLOW_PG_BIN)
    return existsSync(join(env.TICKFLOW_PG_BIN, "initdb")) ? env.TICKFLOW_PG_BIN : undefined;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin");
}

/** Why no throwaway server can be started here, or undefined when one can. */
export function noThrowawayServerReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!findPostgresBin(env)) {
    return "no PostgreSQL (apt-get install postgresql, or set TICKFLOW_PG_BIN to its bin folder)";
  }
  if (process.getuid?.() === 0 && spawnSync("id", ["-u", "postgres"]).status !== 0) {
    return "running as root without a postgres user to run the server as";
  }
  return undefined;
}

/** A running server: its superuser URL (no database named) and how to stop it. */
export interface PgServer {
  /** `postgresql://postgres@127.0.0.1:PORT` (append `/db`). */
  base: string;
  host: string;
  port: number;
  stop(): void;
}

export interface ThrowawayServerOptions {
  env?: NodeJS.ProcessEnv;
  /** pg_hba.conf lines placed before "trust everyone on 127.0.0.1" (the first match wins). */
  hba?: readonly string[];
  /** `-c name=value` settings added to (or overriding) the defaults. */
  settings?: Readonly<Record<string, string | number>>;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => done(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Runs a PostgreSQL binary as the user that owns the cluster. */
function runPg(bin: string, name: string, args: string[]): void {
  const root = process.getuid?.() === 0;
  const [command, ...rest] = root
    ? ["runuser", "-u", "postgres", "--", join(bin, name), ...args]
    : [join(bin, name), ...args];
  const r = spawnSync(command!, rest, { encoding: "utf8", cwd: tmpdir() });
  if (r.status !== 0)
    throw new Error(
      `${name} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout || r.error?.message}`,
    );
}

/** Whether the process `pid` lives. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Servers left behind by processes that died without their exit handler (SIGKILL, a crash): each
 * folder records its process's PID (`owner`); a folder whose owner is gone is stopped
 * (`pg_ctl stop -m immediate`) and removed.
 */
function sweepOrphans(bin: string): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith("tickflow-pg-")) continue;
    const dir = join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, "owner"), "utf8"));
    } catch {
      continue; // being made, or not ours
    }
    if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
    try {
      if (existsSync(join(dir, "data", "postmaster.pid")))
        runPg(bin, "pg_ctl", ["stop", "-D", join(dir, "data"), "-m", "immediate", "-w"]);
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const DEFAULT_SETTINGS: Readonly<Record<string, string | number>> = {
  listen_addresses: "127.0.0.1",
  fsync: "off",
  synchronous_commit: "off",
  full_page_writes: "off",
  max_connections: 50,
};

/** Starts a cluster in a fresh temporary folder (about a second). */
export async function startThrowawayPostgres(options: ThrowawayServerOptions = {}): Promise<PgServer> {
  const bin = findPostgresBin(options.env);
  if (!bin) throw new Error("no PostgreSQL binaries");
  sweepOrphans(bin);
  const dir = mkdtempSync(join(tmpdir(), "tickflow-pg-"));
  writeFileSync(join(dir, "owner"), String(process.pid));
  const data = join(dir, "data");
  if (process.getuid?.() === 0) {
    const uid = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim());
    const gid = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim());
    chownSync(dir, uid, gid);
  }
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.off("exit", stop);
    try {
      if (existsSync(join(data, "postmaster.pid")))
        runPg(bin, "pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w"]);
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", stop);
  try {
    runPg(bin, "initdb", [
      "-D",
      data,
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
      "--no-instructions",
    ]);
    writeFileSync(
      join(data, "pg_hba.conf"),
      ["local all all trust", ...(options.hba ?? []), "host all all 127.0.0.1/32 trust", ""].join("\n"),
    );
    const settings = { ...DEFAULT_SETTINGS, unix_socket_directories: dir, ...options.settings };
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const flags = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(" ");
      try {
        runPg(bin, "pg_ctl", ["start", "-D", data, "-w", "-t", "30", "-l", join(dir, "log"), "-o", flags]);
      } catch (err) {
        if (attempt < 3) continue; // the port was taken meanwhile
        throw err;
      }
      return { base: `postgresql://postgres@127.0.0.1:${port}`, host: "127.0.0.1", port, stop };
    }
  } catch (err) {
    stop();
    throw err;
  }
}

/** Runs one statement as the superuser in the `postgres` database of the server at `base`. */
export async function adminStatement(base: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${base}/postgres` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
