/**
 * PostgreSQL's schema against a throwaway server (tests/helpers/postgres.ts): migrations from zero,
 * again (a no-op), from two processes at once, a newer schema refused; the same tables and columns as
 * DuckDB's; and the connection errors users meet, each one line naming the database, never the
 * password.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, PASSWORD_ROLE, PG_EXTERNAL, pgDescribe } from "../../../tests/helpers/postgres.js";
import { SchemaTooNewError } from "../migrate.js";
import { LATEST_VERSION } from "../migrations.js";
import { tempDir, tempStore } from "../testing.js";
import { pgInfo } from "./info.js";
import { migratePg, pgSchemaVersion } from "./migrate.js";
import { PG_LATEST_VERSION, PG_MIGRATIONS } from "./migrations.js";
import { openPgPool, type PgStore } from "./pool.js";

/** DuckDB's type names as PostgreSQL spells the types PG_MIGRATIONS use for them. */
const TYPES: Record<string, string> = {
  VARCHAR: "text",
  DOUBLE: "double precision",
  BIGINT: "bigint",
  INTEGER: "integer",
  BOOLEAN: "boolean",
  DATE: "date",
  "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
  JSON: "jsonb",
};

type Columns = Record<string, string[]>;

/** The error `opening` fails with (the test fails when it opens). */
async function failure(opening: Promise<PgStore>): Promise<Error> {
  const store = await opening.catch((e: Error) => e);
  if (store instanceof Error) return store;
  await store.close();
  throw new Error("connected, but should not have");
}

function group(
  rows: { table_name: string; column_name: string; data_type: string; is_nullable: string }[],
): Columns {
  const out: Columns = {};
  for (const r of rows) {
    const columns = out[r.table_name] ?? [];
    columns.push(`${r.column_name} ${r.data_type}${r.is_nullable === "NO" ? " not null" : ""}`);
    out[r.table_name] = columns;
  }
  return out;
}

pgDescribe("PostgreSQL migrations", (server) => {
  let store: PgStore;
  beforeAll(async () => {
    store = await openPgPool(server.url(), { env: {} });
  });
  afterAll(() => store?.close());

  it("apply from zero, in order, and again as a no-op", async () => {
    expect(await pgSchemaVersion(store.pool)).toBe(0);
    const first = await migratePg(store.pool);
    expect(first.from).toBe(0);
    expect(first.to).toBe(PG_LATEST_VERSION);
    expect(first.applied.map((m) => m.version)).toEqual(PG_MIGRATIONS.map((m) => m.version));
    const again = await migratePg(store.pool);
    expect(again).toEqual({ from: PG_LATEST_VERSION, to: PG_LATEST_VERSION, applied: [] });
    const info = await pgInfo(store);
    expect(info).toMatchObject({ backend: "postgresql", schemaVersion: PG_LATEST_VERSION });
    expect(info.serverVersion).toMatch(/^\d+\.\d+/);
    // The indicators view exists and is empty, with SPEC's long-form columns.
    const view = await store.pool.query("SELECT * FROM indicators");
    expect(view.fields.map((f) => f.name)).toEqual(["source", "symbol", "date", "name", "value"]);
  });

  it("has DuckDB's tables and columns, type for type: a migration on one backend needs its twin", async () => {
    expect(PG_LATEST_VERSION).toBe(LATEST_VERSION);
    const pgColumns = group(
      (
        await store.pool.query(
          "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
        )
      ).rows,
    );
    const duck = await tempStore();
    try {
      const reader = await duck.store.db.runAndReadAll(
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'main' ORDER BY table_name, ordinal_position",
      );
      const rows = reader.getRowObjectsJson() as {
        table_name: string;
        column_name: string;
        data_type: string;
        is_nullable: string;
      }[];
      const duckColumns = group(
        rows.map((r) => ({ ...r, data_type: TYPES[r.data_type] ?? `unmapped ${r.data_type}` })),
      );
      // Views: DuckDB says every column may be NULL, PostgreSQL too; tables must agree on NOT NULL.
      expect(Object.keys(pgColumns)).toContain("notify_outbox");
      expect(pgColumns).toEqual(duckColumns);
    } finally {
      await duck.cleanup();
    }
  });

  it("two pools migrating one database at once take turns (advisory lock)", async () => {
    const url = await server.newDatabase("concurrent");
    const [a, b] = await Promise.all([openPgPool(url, { env: {} }), openPgPool(url, { env: {} })]);
    try {
      const results = await Promise.all([migratePg(a.pool), migratePg(b.pool), migratePg(a.pool)]);
      const applied = results.map((r) => r.applied.length).sort();
      expect(applied).toEqual([0, 0, PG_MIGRATIONS.length]);
      const rows = await a.pool.query("SELECT version FROM schema_migrations ORDER BY version");
      expect(rows.rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((m) => m.version));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("a schema newer than the code is refused; a failed migration rolls back and says which", async () => {
    const url = await server.newDatabase("newer");
    const other = await openPgPool(url, { env: {} });
    try {
      await migratePg(other.pool);
      await other.pool.query("INSERT INTO schema_migrations VALUES (99, 'from the future', now())");
      const err = await migratePg(other.pool).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SchemaTooNewError);
      expect((err as Error).message).toBe(
        `its schema is version 99, newer than this tickflow understands (${PG_LATEST_VERSION}): upgrade tickflow`,
      );
      await other.pool.query("DELETE FROM schema_migrations WHERE version = 99");
      const broken = [
        ...PG_MIGRATIONS,
        { version: 100, name: "broken", sql: "CREATE TABLE t100 (a int); SELECT nope" },
      ];
      await expect(migratePg(other.pool, broken)).rejects.toThrow(
        /^migration 100 \(broken\) failed: column "nope" does not exist$/,
      );
      expect(await pgSchemaVersion(other.pool)).toBe(PG_LATEST_VERSION);
      expect((await other.pool.query("SELECT to_regclass('t100') AS t")).rows[0].t).toBeNull();
      // The lock was let go: another migration goes through at once.
      expect((await migratePg(other.pool)).applied).toEqual([]);
    } finally {
      await other.close();
    }
  });

  describe("connection errors: one line naming host:port/database, never the password", () => {
    const secret = "Wr0ng-pa55word";

    it.skipIf(PG_EXTERNAL)("a wrong password (in the URL, PGPASSWORD or .pgpass); no password", async () => {
      const { host, port } = server.server();
      const url = `postgresql://${PASSWORD_ROLE}:${secret}@${host}:${port}/postgres`;
      const err = await failure(openPgPool(url, { env: {} }));
      expect(err.message).toBe(
        `cannot connect to PostgreSQL at ${host}:${port}/postgres: password authentication failed for user ${PASSWORD_ROLE} (the password from the URL)`,
      );
      expect(err.message).not.toContain(secret);
      const viaEnv = await failure(
        openPgPool(`postgresql://${PASSWORD_ROLE}@${host}:${port}/postgres`, {
          env: { PGPASSWORD: secret },
        }),
      );
      expect(viaEnv.message).toMatch(
        /password authentication failed for user tickflow_pw \(the password from PGPASSWORD\)$/,
      );
      const none = await failure(
        openPgPool(`postgresql://${PASSWORD_ROLE}@${host}:${port}/postgres`, {
          env: { PGPASSFILE: "/nonexistent" },
        }),
      );
      expect(none.message).toBe(
        `cannot connect to PostgreSQL at ${host}:${port}/postgres: the server asks for a password for user ${PASSWORD_ROLE} and none was given (set PGPASSWORD, or add a line to ~/.pgpass)`,
      );
      const right = await openPgPool(`postgresql://${PASSWORD_ROLE}@${host}:${port}/postgres`, {
        env: { PGPASSWORD: PASSWORD },
      });
      await right.close();
      // ~/.pgpass (here PGPASSFILE), read when the server asks.
      const { dir, cleanup } = tempDir();
      try {
        const file = join(dir, "pgpass");
        writeFileSync(file, `${host}:${port}:*:${PASSWORD_ROLE}:${PASSWORD}\n`, { mode: 0o600 });
        const viaFile = await openPgPool(`postgresql://${PASSWORD_ROLE}@${host}:${port}/postgres`, {
          env: { PGPASSFILE: file },
        });
        await viaFile.close();
        writeFileSync(file, `*:*:*:${PASSWORD_ROLE}:${secret}\n`, { mode: 0o600 });
        const wrongFile = await failure(
          openPgPool(`postgresql://${PASSWORD_ROLE}@${host}:${port}/postgres`, { env: { PGPASSFILE: file } }),
        );
        expect(wrongFile.message).toMatch(
          new RegExp(`failed for user ${PASSWORD_ROLE} \\(the password from ${file}\\)$`),
        );
      } finally {
        cleanup();
      }
    });

    it("a port nobody listens on; a database that does not exist", async () => {
      const { host, port } = server.server();
      const closed = await failure(openPgPool(`postgresql://u:${secret}@127.0.0.1:1/x`, { env: {} }));
      expect(closed.message).toBe(
        "cannot connect to PostgreSQL at 127.0.0.1:1/x: connection refused (is the server running and listening on port 1?)",
      );
      const missing = await failure(
        openPgPool(`postgresql://postgres@${host}:${port}/no_such_db`, { env: {} }),
      );
      expect(missing.message).toBe(
        `cannot connect to PostgreSQL at ${host}:${port}/no_such_db: database no_such_db does not exist (create it: createdb no_such_db)`,
      );
    });
  });
});
