import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterEach, describe, expect, it } from "vitest";
import { StoreError, StoreLockedError } from "./errors.js";
import { LATEST_VERSION, MIGRATIONS } from "./migrations.js";
import { openStore, type Store } from "./open.js";
import { tempDir } from "./testing.js";

const TABLES = [
  "bar_symbols",
  "bars_daily",
  "corporate_actions",
  "daemons",
  "deployments",
  "indicator_series",
  "indicator_values",
  "notify_channels",
  "notify_freshness",
  "notify_outbox",
  "notify_rules",
  "quality_results",
  "run_logs",
  "runs",
  "schedules",
  "schema_migrations",
  "state_transitions",
  "task_runs",
  "work_pools",
  "work_queues",
];

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function folder(): string {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return dir;
}

async function open(path: string, options?: { readOnly?: boolean }): Promise<Store> {
  const store = await openStore(path, options);
  cleanups.push(() => store.close());
  return store;
}

async function tables(store: Store): Promise<string[]> {
  const reader = await store.db.runAndReadAll(
    "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary ORDER BY 1",
  );
  return reader.getRows().map((r) => String(r[0]));
}

async function migrationRows(store: Store) {
  const reader = await store.db.runAndReadAll("SELECT version, name FROM schema_migrations ORDER BY version");
  return reader.getRowObjectsJson();
}

/** A child Node process that opens the database and holds it until killed. */
async function holdInChild(path: string): Promise<ChildProcess> {
  const script = `
    const { DuckDBInstance } = require("@duckdb/node-api");
    DuckDBInstance.create(${JSON.stringify(path)}).then(
      async (instance) => { await instance.connect(); process.stdout.write("ready\\n"); setInterval(() => {}, 1000); },
      (err) => { process.stdout.write("failed " + err.message + "\\n"); process.exit(3); },
    );`;
  const child = spawn(process.execPath, ["-e", script], {
    cwd: process.cwd(),
    stdio: ["ignore", "pipe", "inherit"],
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  );
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (data: Buffer) => {
      out += data.toString();
      if (out.includes("\n")) resolve(out.trim());
    });
    child.once("exit", (code) => reject(new Error(`child exited with ${code}: ${out}`)));
  });
  expect(line).toBe("ready");
  return child;
}

/** Runs a child Node process that opens and closes the database; resolves to its output. */
function openInChild(path: string): Promise<string> {
  const script = `
    const { DuckDBInstance } = require("@duckdb/node-api");
    DuckDBInstance.create(${JSON.stringify(path)}).then(
      (instance) => { instance.closeSync(); console.log("opened"); },
      (err) => { console.log("failed " + err.message); },
    );`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", script], {
      cwd: process.cwd(),
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (data: Buffer) => {
      out += data.toString();
    });
    child.once("error", reject);
    child.once("exit", () => resolve(out.trim()));
  });
}

describe("openStore", () => {
  it("creates parent folders and every table of the migrations", async () => {
    const path = join(folder(), "a", "b", "tickflow.duckdb");
    const store = await open(path);
    expect(store.path).toBe(path);
    expect(await tables(store)).toEqual(TABLES);
    expect(await migrationRows(store)).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
  });

  it("applies migrations once: reopening changes nothing and keeps the data", async () => {
    const path = join(folder(), "t.duckdb");
    const first = await openStore(path);
    await first.db.run(
      "INSERT INTO runs (id, pipeline, state, created_at) VALUES ('r1', 'p', 'Completed', now())",
    );
    await first.close();
    const again = await open(path);
    expect(await tables(again)).toEqual(TABLES);
    expect(await migrationRows(again)).toHaveLength(MIGRATIONS.length);
    const reader = await again.db.runAndReadAll("SELECT id FROM runs");
    expect(reader.getRows()).toEqual([["r1"]]);
  });

  it("declares the keys the writers rely on, and none on append-only history", async () => {
    const store = await open(join(folder(), "t.duckdb"));
    const reader = await store.db.runAndReadAll(
      "SELECT table_name, constraint_column_names FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' ORDER BY 1",
    );
    expect(reader.getRowsJson()).toEqual([
      ["bar_symbols", ["source", "symbol"]],
      ["bars_daily", ["source", "symbol", "date"]],
      ["corporate_actions", ["source", "symbol", "date", "kind"]],
      ["daemons", ["owner"]],
      ["deployments", ["name"]],
      ["indicator_series", ["id"]],
      ["notify_channels", ["name"]],
      ["notify_outbox", ["key"]],
      ["runs", ["id"]],
      ["schedules", ["deployment", "id"]],
      ["schema_migrations", ["version"]],
      ["task_runs", ["run_id", "task_id"]],
      ["work_pools", ["name"]],
      ["work_queues", ["pool", "name"]],
    ]);
  });

  it("keeps indicators as a view in the long form over indicator_values (migration 2)", async () => {
    const store = await open(join(folder(), "t.duckdb"));
    const views = await store.db.runAndReadAll(
      "SELECT view_name FROM duckdb_views() WHERE database_name = current_database() AND NOT internal",
    );
    expect(views.getRows()).toEqual([["indicators"]]);
    const described = await store.db.runAndReadAll(
      "SELECT column_name, column_type FROM (DESCRIBE indicators)",
    );
    expect(described.getRows()).toEqual([
      ["source", "VARCHAR"],
      ["symbol", "VARCHAR"],
      ["date", "DATE"],
      ["name", "VARCHAR"],
      ["value", "DOUBLE"],
    ]);
  });

  it("close releases the file lock so that another process can open it", async () => {
    const path = join(folder(), "t.duckdb");
    const store = await openStore(path);
    expect(await openInChild(path)).toMatch(/^failed .*lock/i);
    await store.close();
    await store.close(); // twice is fine
    expect(await openInChild(path)).toBe("opened");
  });

  it("throws StoreLockedError naming the PID when another process holds the file", async () => {
    const path = join(folder(), "t.duckdb");
    await (await openStore(path)).close();
    const child = await holdInChild(path);
    const error = await openStore(path).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StoreLockedError);
    expect(error).toBeInstanceOf(StoreError);
    const locked = error as StoreLockedError;
    expect(locked.path).toBe(path);
    expect(locked.pid).toBe(child.pid);
    expect(locked.message).toBe(
      `database ${path} is in use by another process (PID ${child.pid}, ${locked.holder}): DuckDB allows one writer; wait for it to finish, or use the daemon's API while it runs`,
    );
    // Read-only opens are refused too while a writer holds the file.
    await expect(openStore(path, { readOnly: true })).rejects.toBeInstanceOf(StoreLockedError);
  });

  it("refuses a file that is not a DuckDB database with a StoreError naming it", async () => {
    const path = join(folder(), "notes.duckdb");
    writeFileSync(path, "just some text, long enough to not be an empty file ".repeat(200));
    const error = await openStore(path).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).not.toBeInstanceOf(StoreLockedError);
    expect((error as StoreError).message).toBe(
      `cannot open database ${path}: the file exists but is not a DuckDB database`,
    );
  });

  it("refuses a path it cannot create, naming the file in the way (not EEXIST)", async () => {
    const file = join(folder(), "file");
    writeFileSync(file, "x");
    const path = join(file, "sub", "t.duckdb");
    const error = await openStore(path).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toBe(
      `cannot create the folder of database ${path}: ${file} is a file, not a folder`,
    );
    await expect(openStore(join(file, "t.duckdb"), { readOnly: true })).rejects.toThrow(
      `cannot open database ${join(file, "t.duckdb")}: ${file} is a file, not a folder`,
    );
  });

  it("says a SQLite file is not a DuckDB database (not that an extension is missing)", async () => {
    // DuckDB recognises SQLite by its header and reaches for the sqlite extension, never loaded here.
    const path = join(folder(), "data.db");
    writeFileSync(path, Buffer.concat([Buffer.from("SQLite format 3\0"), Buffer.alloc(4080)]));
    for (const readOnly of [false, true]) {
      await expect(openStore(path, { readOnly })).rejects.toThrow(
        `cannot open database ${path}: the file is a SQLite database, not a DuckDB database`,
      );
    }
  });

  it("(DuckDB's opener) refuses a URL before creating anything, without repeating it (it may hold a password)", async () => {
    const dir = folder();
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      for (const url of ["postgresql://bob:s3cret@db.example:5432/tf", "postgres://h/db?password=s3cret"]) {
        const error = await openStore(url).catch((err: unknown) => err);
        expect(error).toBeInstanceOf(StoreError);
        expect((error as Error).message).toMatch(
          /^this command works on a DuckDB file only, not yet on PostgreSQL \(postgres(ql)?:\/\/\.\.\.\)$/,
        );
        expect(`${(error as Error).message} ${(error as StoreError).path}`).not.toContain("s3cret");
      }
      await expect(openStore("s3://bucket/t.duckdb")).rejects.toThrow(
        "s3:// URLs are not supported by this build: use a DuckDB file path or a postgresql:// URL",
      );
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      process.chdir(cwd);
    }
  });

  it("opens read-only without migrating, and refuses writes", async () => {
    const path = join(folder(), "t.duckdb");
    await (await openStore(path)).close();
    const store = await open(path, { readOnly: true });
    expect(await tables(store)).toEqual(TABLES);
    await expect(
      store.db.run(
        "INSERT INTO runs (id, pipeline, state, created_at) VALUES ('r1', 'p', 'Completed', now())",
      ),
    ).rejects.toThrow(/read-only/);
  });

  it("read-only: a missing file or an older schema fails with a clear message", async () => {
    const dir = folder();
    await expect(openStore(join(dir, "missing.duckdb"), { readOnly: true })).rejects.toThrow(
      /does not exist/,
    );

    const path = join(dir, "old.duckdb");
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    await connection.run(
      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ)",
    );
    await connection.run("INSERT INTO schema_migrations VALUES (0, 'before', now())");
    connection.closeSync();
    instance.closeSync();
    const error = await openStore(path, { readOnly: true }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toMatch(/is not a tickflow database|older than this tickflow/);
  });

  it("refuses a database whose schema is newer than the code", async () => {
    const path = join(folder(), "t.duckdb");
    const store = await openStore(path);
    await store.db.run(`INSERT INTO schema_migrations VALUES (${LATEST_VERSION + 1}, 'future', now())`);
    await store.close();
    await expect(openStore(path)).rejects.toThrow(/newer than this tickflow understands/);
    await expect(openStore(path, { readOnly: true })).rejects.toThrow(/newer than this tickflow understands/);
  });

  it("refuses to open a file twice in one process (DuckDB would not stop it, and it corrupts the file)", async () => {
    const path = join(folder(), "t.duckdb");
    const store = await openStore(path);
    await expect(openStore(path)).rejects.toThrow(`database ${path} is already open in this process`);
    await expect(openStore(path, { readOnly: true })).rejects.toBeInstanceOf(StoreError);
    await store.close();
    const both = await Promise.allSettled([openStore(path), openStore(path)]);
    expect(both.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    for (const r of both) if (r.status === "fulfilled") await r.value.close();
    await (await openStore(path)).close();
  });

  it("gives extra connections that close with the store", async () => {
    const store = await openStore(join(folder(), "t.duckdb"));
    const other = await store.connect();
    await other.run(
      "INSERT INTO runs (id, pipeline, state, created_at) VALUES ('r1', 'p', 'Completed', now())",
    );
    const reader = await store.db.runAndReadAll("SELECT count(*)::INTEGER FROM runs");
    expect(reader.getRows()).toEqual([[1]]);
    await store.close();
    await expect(store.connect()).rejects.toThrow(/closed/);
  });

  it("does not load or install extensions on its own", async () => {
    const store = await open(join(folder(), "t.duckdb"));
    const reader = await store.db.runAndReadAll(
      "SELECT current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions')",
    );
    expect(reader.getRows()).toEqual([[false, false]]);
  });
});
