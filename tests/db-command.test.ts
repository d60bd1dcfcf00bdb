/**
 * `tickflow db info` and `tickflow db migrate` on both backends: DuckDB files, and PostgreSQL URLs
 * against a throwaway server (tests/helpers/postgres.ts). Failures are one line naming the database,
 * never the password, never a stack.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LATEST_VERSION, MIGRATIONS } from "../src/store/migrations.js";
import { tempDir, tickflow, tickflowHere } from "./helpers/cli.js";
import { PASSWORD_ROLE, PG_EXTERNAL, pgDescribe } from "./helpers/postgres.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

const MIGRATION_LINES = MIGRATIONS.map((m) => `  ${m.version}  ${m.name}\n`).join("");

describe("db info / db migrate on a DuckDB file", () => {
  it("migrate creates and migrates the file; info reports it; a second migrate has nothing to do", async () => {
    const db = join(dir, "sub", "t.duckdb");
    const missing = await tickflowHere(["db", "info", "--db", db]);
    expect([missing.code, missing.stderr]).toEqual([
      1,
      `tickflow: database ${db} does not exist (tickflow db migrate creates it)\n`,
    ]);
    const first = await tickflowHere(["db", "migrate", "--db", db]);
    expect([first.code, first.stdout]).toEqual([
      0,
      `database ${db}: schema version 0 -> ${LATEST_VERSION}\n${MIGRATION_LINES}`,
    ]);
    const again = await tickflowHere(["db", "migrate", "--json"], { env: { TICKFLOW_DB: db } });
    expect(JSON.parse(again.stdout)).toEqual({
      backend: "duckdb",
      database: db,
      from: LATEST_VERSION,
      to: LATEST_VERSION,
      applied: [],
    });
    const info = await tickflowHere(["db", "info", "--json", "--db", db]);
    expect(JSON.parse(info.stdout)).toMatchObject({
      backend: "duckdb",
      schema_version: LATEST_VERSION,
      latest_schema_version: LATEST_VERSION,
      database: db,
    });
    expect(JSON.parse(info.stdout).version).toMatch(/^v\d+\.\d+/);
    const text = await tickflowHere(["db", "info", "--db", db]);
    expect(text.stdout).toMatch(
      new RegExp(
        `^backend:  duckdb\nversion:  DuckDB v[\\d.]+\nschema:   ${LATEST_VERSION} \\(up to date\\)\ndatabase: ${db}\n$`,
      ),
    );
  });

  it("other URLs are still a usage error", async () => {
    const r = await tickflowHere(["db", "info", "--db", "s3://bucket/t.duckdb"], { cwd: dir });
    expect([r.code, r.stderr]).toEqual([
      2,
      "tickflow: --db: s3:// URLs are not supported by this build: use a DuckDB file path or a postgresql:// URL\n",
    ]);
  });
});

pgDescribe("db info / db migrate on PostgreSQL", (server) => {
  it("TICKFLOW_DB=postgresql://...: info says schema 0, migrate applies every migration, info says up to date", async () => {
    const url = server.url();
    const env = { TICKFLOW_DB: url };
    const before = await tickflow(["db", "info"], { cwd: dir, env });
    expect(before.stderr).toBe("");
    expect(before.stdout).toMatch(
      new RegExp(
        `^backend:  postgresql\nversion:  PostgreSQL \\d+\\.\\d+.*\nschema:   0 \\(this tickflow: ${LATEST_VERSION}; run tickflow db migrate\\)\ndatabase: ${url}\n$`,
      ),
    );
    const migrated = await tickflow(["db", "migrate"], { cwd: dir, env });
    expect([migrated.code, migrated.stderr, migrated.stdout]).toEqual([
      0,
      "",
      `database ${url}: schema version 0 -> ${LATEST_VERSION}\n${MIGRATION_LINES}`,
    ]);
    const again = await tickflowHere(["db", "migrate"], { cwd: dir, env });
    expect(again.stdout).toBe(`database ${url}: schema version ${LATEST_VERSION}, up to date\n`);
    const info = await tickflowHere(["db", "info", "--json", "--db", url], { cwd: dir });
    expect(JSON.parse(info.stdout)).toMatchObject({
      backend: "postgresql",
      schema_version: LATEST_VERSION,
      latest_schema_version: LATEST_VERSION,
      database: url,
    });
    // Nothing was created in the working folder (a URL is not a path).
    expect(existsSync(join(dir, "postgresql:"))).toBe(false);
  });

  it("a newer schema is refused by migrate and reported by info", async () => {
    const url = await server.newDatabase("newer");
    expect((await tickflowHere(["db", "migrate", "--db", url])).code).toBe(0);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("INSERT INTO schema_migrations VALUES (99, 'future', now())");
    await client.end();
    const r = await tickflowHere(["db", "migrate", "--db", url]);
    expect([r.code, r.stderr]).toEqual([
      1,
      `tickflow: cannot migrate database ${url}: its schema is version 99, newer than this tickflow understands (${LATEST_VERSION}): upgrade tickflow\n`,
    ]);
    const info = await tickflowHere(["db", "info", "--db", url]);
    expect(info.stdout).toContain(
      `schema:   99 (newer than this tickflow: ${LATEST_VERSION}; upgrade tickflow)\n`,
    );
  });

  it.skipIf(PG_EXTERNAL)(
    "a wrong password or port: one line naming host:port/db, the password masked, no stack",
    async () => {
      const { host, port } = server.server();
      const secret = "Cli-wr0ng-secret";
      const url = `postgresql://${PASSWORD_ROLE}:${secret}@${host}:${port}/postgres`;
      const wrong = await tickflow(["db", "info"], { cwd: dir, env: { TICKFLOW_DB: url } });
      expect([wrong.code, wrong.stdout, wrong.stderr]).toEqual([
        1,
        "",
        `tickflow: cannot connect to PostgreSQL at ${host}:${port}/postgres: password authentication failed for user ${PASSWORD_ROLE} (the password from the URL)\n`,
      ]);
      const viaEnv = await tickflowHere(
        ["db", "migrate", "--db", `postgresql://${PASSWORD_ROLE}@${host}:${port}/postgres`],
        {
          env: { PGPASSWORD: secret },
        },
      );
      expect(viaEnv.code).toBe(1);
      expect(viaEnv.stderr).toMatch(
        /password authentication failed for user tickflow_pw \(the password from PGPASSWORD\)\n$/,
      );
      const refused = await tickflowHere([
        "db",
        "migrate",
        "--db",
        `postgresql://u:${secret}@127.0.0.1:1/tf`,
      ]);
      expect([refused.code, refused.stderr]).toEqual([
        1,
        "tickflow: cannot connect to PostgreSQL at 127.0.0.1:1/tf: connection refused (is the server running and listening on port 1?)\n",
      ]);
      const bad = await tickflowHere(["db", "info", "--db", `postgresql://u:${secret}@h/d?sslmode=verify`]);
      expect([bad.code, bad.stderr]).toEqual([
        1,
        "tickflow: invalid PostgreSQL URL postgresql://u:***@h/d?sslmode=verify: sslmode verify is not one of disable, allow, prefer, require, verify-ca, verify-full\n",
      ]);
    },
  );

  it("the other verbs take the URL too (runs ls on the migrated database: no runs yet)", async () => {
    const r = await tickflowHere(["runs", "ls", "--json"], { cwd: dir, env: { TICKFLOW_DB: server.url() } });
    expect([r.code, r.stderr, JSON.parse(r.stdout)]).toEqual([0, "", []]);
  });
});
