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
 * - The server: `src/store/pg/throwaway-server.ts` (shared with the benchmarks). The binaries:
 *   `TICKFLOW_PG_BIN`, else the newest `/usr/lib/postgresql/<N>/bin`. As root they run as the
 *   `postgres` user (`runuser -u postgres --`: initdb refuses root); otherwise as the current user.
 * - Without PostgreSQL the tests are skipped, and the skip says why (like the browser tests).
 * - Authentication: trust on 127.0.0.1, except the role `PASSWORD_ROLE` (password `PASSWORD`), which
 *   must give its password (scram-sha-256): the tests of a wrong password use it.
 * - The server is tuned for speed, not durability (fsync off). It is stopped (`pg_ctl stop -m
 *   immediate`) after the file's tests, and also when the test process exits; a server whose test
 *   process was killed outright is stopped by the next start (each folder records its owner's PID).
 * - Password tests need this file's own server (`PG_EXTERNAL` false): the role exists only there.
 */
import { afterAll, beforeAll, describe, inject, it } from "vitest";
import {
  adminStatement as admin,
  findPostgresBin,
  noThrowawayServerReason,
  type PgServer,
  startThrowawayPostgres,
} from "../../src/store/pg/throwaway-server.js";

export { findPostgresBin, type PgServer };

/** The tests use TICKFLOW_TEST_PG_URL's server, whose authentication they do not control. */
export const PG_EXTERNAL = Boolean(process.env.TICKFLOW_TEST_PG_URL);

/** A role that must give its password (the others are trusted), and that password. */
export const PASSWORD_ROLE = "tickflow_pw";
export const PASSWORD = "pw-s3cret-Zq7";

/** Why no PostgreSQL can be had here, or undefined when it can. */
export function postgresSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TICKFLOW_TEST_PG_URL) return undefined;
  const reason = noThrowawayServerReason(env);
  return reason === undefined ? undefined : `${reason}; or set TICKFLOW_TEST_PG_URL to a server`;
}

/**
 * Starts a server (`src/store/pg/throwaway-server.ts`) with the password role: a file's own, or the
 * run's (`tests/setup/postgres.ts`, more connections).
 */
export async function startPostgres(
  env: NodeJS.ProcessEnv = process.env,
  settings: { maxConnections?: number } = {},
): Promise<PgServer> {
  // First matching line wins: the password role must authenticate, everyone else is trusted.
  const server = await startThrowawayPostgres({
    env,
    hba: [`host all ${PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256`],
    settings: { max_connections: settings.maxConnections ?? 50 },
  });
  try {
    await admin(server.base, `CREATE ROLE ${PASSWORD_ROLE} LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
    return server;
  } catch (err) {
    server.stop();
    throw err;
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
