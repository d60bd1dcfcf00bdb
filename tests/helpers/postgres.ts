/**
 * A throwaway PostgreSQL server for tests: Debian's `postgresql` package (`initdb` + `pg_ctl` in a
 * temporary folder, on a free port of 127.0.0.1, its socket in that folder), one database per test
 * file, all of it removed afterwards. Under `npm test` one server serves the whole run (started by
 * `tests/setup/postgres.ts`); a file run some other way starts its own.
 *
 *   pgDescribe("migrations", (pg) => {
 *     it("applies", async () => {
 *       const url = pg.url();          // postgresql://postgres@127.0.0.1:PORT/<this file's database>
 *       ...
 *     });
 *   });
 *
 * - `TICKFLOW_TEST_PG_URL` (a superuser's URL of a running server): used instead of starting one; each
 *   file still gets a database of its own, dropped afterwards.
 * - The binaries: `TICKFLOW_PG_BIN`, else the newest `/usr/lib/postgresql/<N>/bin`. As root they run
 *   as the `postgres` user (`runuser -u postgres --`: initdb refuses root); otherwise as the current
 *   user.
 * - Without PostgreSQL the tests are skipped, and the skip says why (like the browser tests).
 * - Authentication: trust on 127.0.0.1, except the role `PASSWORD_ROLE` (password `PASSWORD`), which
 *   must give its password (scram-sha-256): the tests of a wrong password use it.
 * - The server is tuned for speed, not durability (fsync off). It is stopped (`pg_ctl stop -m
 *   immediate`) after the file's tests, and also when the test process exits; a server whose test
 *   process was killed outright is stopped by the next start (each folder records its owner's PID).
 * - Password tests need this file's own server (`PG_EXTERNAL` false): the role exists only there.
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
import { afterAll, beforeAll, describe, inject, it } from "vitest";

/** The tests use TICKFLOW_TEST_PG_URL's server, whose authentication they do not control. */
export const PG_EXTERNAL = Boolean(process.env.TICKFLOW_TEST_PG_URL);

/** A role that must give its password (the others are trusted), and that password. */
export const PASSWORD_ROLE = "tickflow_pw";
export const PASSWORD = "pw-s3cret-Zq7";

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

/** Why no PostgreSQL can be had here, or undefined when it can. */
export function postgresSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TICKFLOW_TEST_PG_URL) return undefined;
  if (!findPostgresBin(env)) {
    return "no PostgreSQL (apt-get install postgresql, or set TICKFLOW_PG_BIN to its bin folder, or TICKFLOW_TEST_PG_URL to a server)";
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
 * Servers left behind by test processes that died without their exit handler (SIGKILL, a crash):
 * each folder records its test process's PID (`owner`); a folder whose owner is gone is stopped
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

/** Starts a cluster in a fresh temporary folder (about a second). */
export async function startPostgres(
  env: NodeJS.ProcessEnv = process.env,
  settings: { maxConnections?: number } = {},
): Promise<PgServer> {
  const bin = findPostgresBin(env);
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
    // First matching line wins: the password role must authenticate, everyone else is trusted.
    writeFileSync(
      join(data, "pg_hba.conf"),
      [
        "local all all trust",
        `host all ${PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256`,
        "host all all 127.0.0.1/32 trust",
        "",
      ].join("\n"),
    );
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const options = [
        `-p ${port}`,
        "-c listen_addresses=127.0.0.1",
        `-c unix_socket_directories=${dir}`,
        "-c fsync=off",
        "-c synchronous_commit=off",
        "-c full_page_writes=off",
        `-c max_connections=${settings.maxConnections ?? 50}`,
      ].join(" ");
      try {
        runPg(bin, "pg_ctl", ["start", "-D", data, "-w", "-t", "30", "-l", join(dir, "log"), "-o", options]);
      } catch (err) {
        if (attempt < 3) continue; // the port was taken meanwhile
        throw err;
      }
      const base = `postgresql://postgres@127.0.0.1:${port}`;
      await admin(base, `CREATE ROLE ${PASSWORD_ROLE} LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
      return { base, host: "127.0.0.1", port, stop };
    }
  } catch (err) {
    stop();
    throw err;
  }
}

async function admin(base: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${base}/postgres` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** What a `pgDescribe` body gets: its server and database, known once `beforeAll` has run. */
export interface PgTestDatabase {
  /** URL of this file's database as the (trusted) superuser. */
  url(): string;
  /** URL of another, new database on the same server (dropped with the server or at the end). */
  newDatabase(name: string): Promise<string>;
  server(): PgServer;
}

let counter = 0;

/**
 * `describe` for tests that need PostgreSQL: a server (TICKFLOW_TEST_PG_URL's, or one started for
 * this file) and a database of the file's own; without PostgreSQL, one skipped test saying why.
 */
export function pgDescribe(name: string, body: (pg: PgTestDatabase) => void): void {
  const reason = postgresSkipReason();
  if (reason) {
    process.stderr.write(`${name}: PostgreSQL tests skipped: ${reason}\n`);
    describe(name, () => {
      it.skip(`skipped: ${reason}`, () => {});
    });
    return;
  }
  let server: PgServer | undefined;
  let database = "";
  const made: string[] = [];
  const given = process.env.TICKFLOW_TEST_PG_URL;
  const external = given
    ? given.slice(0, given.length - new URL(given).pathname.length - new URL(given).search.length)
    : undefined;
  // The run's server (tests/setup/postgres.ts): set up as a file's own would be, shared by all.
  const shared = external ? undefined : inject("tickflowPgBase");
  const handle: PgTestDatabase = {
    url: () => `${server!.base}/${database}`,
    server: () => server!,
    async newDatabase(suffix) {
      const db = `${database}_${suffix}`;
      await admin(server!.base, `CREATE DATABASE ${db}`);
      made.push(db);
      return `${server!.base}/${db}`;
    },
  };
  describe(name, () => {
    beforeAll(async () => {
      const base = external ?? shared;
      if (base) {
        const url = new URL(base);
        server = { base, host: url.hostname, port: Number(url.port || 5432), stop: () => {} };
      } else server = await startPostgres();
      database = `t${process.pid}_${++counter}`;
      await admin(server.base, `CREATE DATABASE ${database}`);
      made.push(database);
    }, 60_000);
    afterAll(async () => {
      if (!server) return;
      // The run's shared server goes with all its databases at the end; an external one keeps
      // nothing of ours.
      if (external)
        for (const db of made) await admin(server.base, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      server.stop();
    });
    body(handle);
  });
}
