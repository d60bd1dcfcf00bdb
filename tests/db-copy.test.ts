/**
 * `tickflow db copy --from FILE.duckdb --to postgresql://...` against a throwaway PostgreSQL server:
 * an installation made by the real writers (`tickflow deploy` of the example deployments, `tickflow
 * run` of the offline demo: bars, quality checks, the wide indicators; a scheduled run; bars and
 * corporate actions through `BarsWriter`; outbox messages), plus values chosen to break a careless
 * copy (random float64 bit patterns, -0, NaN, infinities, text with tabs, newlines, backslashes and
 * `\N`, microsecond timestamps before 1970, JSON with escapes). Every table is then read on both
 * sides, normalised (timestamps as epoch microseconds, dates as day numbers, JSON parsed) and
 * compared row for row. Also: the refusals (another schema version, a target holding data, a bad
 * URL, a daemon's lock on the target), each leaving the target as it was; U+0000 (which PostgreSQL
 * cannot store) landing as U+FFFD with a warning; the CLI's output.
 */
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DATE, DOUBLE, type DuckDBConnection, DuckDBTypeId, VARCHAR } from "@duckdb/node-api";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { afterAll, beforeAll, expect, it } from "vitest";
import { appendColumns } from "../src/store/append.js";
import { BarsWriter } from "../src/store/bars-writer.js";
import { quoteIdent } from "../src/store/indicators.js";
import { migrate } from "../src/store/migrate.js";
import { LATEST_VERSION, MIGRATIONS } from "../src/store/migrations.js";
import { enqueueMessages } from "../src/store/notify-outbox.js";
import { openStore } from "../src/store/open.js";
import { copyDuckDbToPg, duckdbTablesToCopy, NOT_COPIED } from "../src/store/pg/copy-from-duckdb.js";
import { copyDate, copyTimestampTz } from "../src/store/pg/copy-text.js";
import { migratePg } from "../src/store/pg/migrate.js";
import { openPgPool, type PgStore } from "../src/store/pg/pool.js";
import { dateValue } from "../src/store/values.js";
import { REPO, tempDir, tickflow } from "./helpers/cli.js";
import { PASSWORD_ROLE, PG_EXTERNAL, pgDescribe } from "./helpers/postgres.js";

let dir: string;
let cleanup: () => Promise<void>;
/** The installation's DuckDB file, made once. */
let file: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  file = join(dir, "installation.duckdb");
  await makeInstallation(file);
}, 120_000);
afterAll(() => cleanup());

/** 2^53-period-free but deterministic: mulberry32. */
function random32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Finite float64 values from random bit patterns: every exponent, subnormals included. */
function randomDoubles(count: number, seed: number): number[] {
  const next = random32(seed);
  const view = new DataView(new ArrayBuffer(8));
  const out: number[] = [];
  while (out.length < count) {
    view.setUint32(0, next());
    view.setUint32(4, next());
    const x = view.getFloat64(0);
    if (Number.isFinite(x)) out.push(x);
  }
  return out;
}

const AWKWARD_TEXT = "tab\there, newline\nthere, CR\r, backslash \\ and \\N, quote ' \" , ünïcødé 📈, \\.";

async function makeInstallation(path: string): Promise<void> {
  const cli = async (args: string[]) => {
    const r = await tickflow([...args, "--db", path], { cwd: REPO });
    if (r.code !== 0) throw new Error(`tickflow ${args.join(" ")}: ${r.stderr}`);
  };
  await cli(["deploy", "deployment/tickflow.yaml"]);
  await cli(["run", "pipelines/demo.yaml"]);
  await cli(["run", "pipelines/demo.yaml", "-p", 'symbols=["SYNA","NOPE"]']);
  await cli(["deployment", "run", "demo-hourly"]);

  const store = await openStore(path);
  try {
    const db = store.db;
    const writer = new BarsWriter(db, "written");
    await writer.write({
      bars: [
        {
          symbol: "AAA",
          date: "2024-01-02",
          open: 0.1 + 0.2,
          high: 1e-310,
          low: 5e-324,
          close: 1.7976931348623157e308,
          volume: null,
        },
        {
          symbol: "AAA",
          date: "2024-01-03",
          open: 1 / 3,
          high: 2 / 3,
          low: 0.1,
          close: 123456.789,
          volume: 1e21,
          vwap: 1.5,
          trades: 123,
        },
      ],
      actions: [
        { symbol: "AAA", date: "2024-01-03", kind: "split", value: 4, currency: null },
        { symbol: "AAA", date: "2024-01-02", kind: "dividend", value: 0.24, currency: "USD" },
      ],
    });
    await writer.close();
    await enqueueMessages(
      db,
      [
        {
          key: "k1",
          event: "Failed",
          channel: "ops-slack",
          runId: null,
          deployment: "demo-hourly",
          facts: {
            message: AWKWARD_TEXT,
            nested: { list: [1, 2.5, null, true], 'key with "quote"': "\u0001" },
          },
        },
      ],
      new Date("2026-01-05T09:00:00.123Z"),
    );
    // Doubles from random bits and the special ones, where a lossy text form would show.
    const doubles = randomDoubles(4000 * 8, 7);
    const specials = [
      -0,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.MIN_VALUE,
      -Number.MAX_VALUE,
      0.1,
      1e-7,
    ];
    doubles.splice(0, specials.length, ...specials);
    const rows = doubles.length / 8;
    const col = (k: number) => Array.from({ length: rows }, (_, i) => doubles[i * 8 + k]!);
    await appendColumns(db, "bars_daily", [
      { type: VARCHAR, values: Array.from({ length: rows }, () => "edge") },
      { type: VARCHAR, values: Array.from({ length: rows }, (_, i) => `S${i % 7}`) },
      {
        type: DATE,
        values: Array.from({ length: rows }, (_, i) =>
          dateValue(new Date(Date.UTC(1900, 0, 1 + i)).toISOString().slice(0, 10)),
        ),
      },
      ...[0, 1, 2, 3, 4].map((k) => ({ type: DOUBLE, values: col(k) })),
      { type: DOUBLE, values: col(5) },
      { type: DOUBLE, values: Array.from({ length: rows }, () => null) },
      { type: DOUBLE, values: col(6) },
      { type: DOUBLE, values: Array.from({ length: rows }, () => null) },
    ]);
    await db.run(
      `INSERT INTO run_logs VALUES
         ('r-edge', NULL, TIMESTAMPTZ '1969-12-31 23:59:59.999999+00', 0, 'info', $text),
         ('r-edge', 't[\\N]', TIMESTAMPTZ '2026-01-05 09:00:00.000001+05:30', 9223372036854775807, 'warn', '\\N'),
         ('r-edge', '', TIMESTAMPTZ '0001-01-01 00:00:00+00', -1, 'error', '')`,
      { text: AWKWARD_TEXT },
    );
    await db.run(
      `INSERT INTO quality_results VALUES
         (NULL, NULL, NULL, NULL, 'nulls', 'error', NULL, NULL),
         ('r-edge', 'edge', 'S1', DATE '1900-01-01', 'price_jump', 'warn', $text, TIMESTAMPTZ '2024-02-29 12:00:00.5+00')`,
      { text: AWKWARD_TEXT },
    );
  } finally {
    await store.close();
  }
}

/** One column's type on the DuckDB side: how both sides turn it into comparable values. */
type Kind = "timestamp" | "date" | "integer" | "json" | "plain";

function kindOf(typeId: DuckDBTypeId, alias: string | undefined): Kind {
  if (typeId === DuckDBTypeId.TIMESTAMP_TZ) return "timestamp";
  if (typeId === DuckDBTypeId.DATE) return "date";
  if (typeId === DuckDBTypeId.BIGINT || typeId === DuckDBTypeId.INTEGER) return "integer";
  if (typeId === DuckDBTypeId.VARCHAR && alias === "JSON") return "json";
  return "plain";
}

async function duckColumns(db: DuckDBConnection, table: string): Promise<{ name: string; kind: Kind }[]> {
  const reader = await db.runAndReadAll(`SELECT * FROM ${quoteIdent(table)} LIMIT 0`);
  return reader.columnNames().map((name, i) => {
    const type = reader.columnType(i);
    return { name, kind: kindOf(type.typeId, type.alias) };
  });
}

const sortRows = (rows: unknown[][]) =>
  rows
    .map(
      (r) =>
        [
          JSON.stringify(r, (_k, v) =>
            typeof v === "number" && !Number.isFinite(v) ? String(v) : Object.is(v, -0) ? "-0" : v,
          ),
          r,
        ] as const,
    )
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, r]) => r);

/** Every row of `table` in DuckDB, normalised; JSON parsed. */
async function duckRows(db: DuckDBConnection, table: string, columns: { name: string; kind: Kind }[]) {
  const exprs = columns.map(({ name, kind }) => {
    const c = quoteIdent(name);
    if (kind === "timestamp") return `epoch_us(${c})::VARCHAR`;
    if (kind === "date") return `(${c} - DATE '1970-01-01')::VARCHAR`;
    if (kind === "integer") return `${c}::VARCHAR`;
    return c;
  });
  const reader = await db.runAndReadAll(`SELECT ${exprs.join(", ")} FROM ${quoteIdent(table)}`);
  return sortRows(
    reader
      .getRows()
      .map((row) =>
        row.map((v, i) => (columns[i]!.kind === "json" && v !== null ? JSON.parse(String(v)) : v)),
      ),
  );
}

/** The same rows read from PostgreSQL, normalised the same way. */
async function pgRows(pool: pg.Pool, table: string, columns: { name: string; kind: Kind }[]) {
  const exprs = columns.map(({ name, kind }) => {
    const c = quoteIdent(name);
    if (kind === "timestamp") return `((extract(epoch FROM ${c}) * 1000000)::bigint)::text`;
    if (kind === "date") return `(${c} - DATE '1970-01-01')::text`;
    if (kind === "integer" || kind === "json") return `${c}::text`;
    return c;
  });
  const result = await pool.query({
    text: `SELECT ${exprs.join(", ")} FROM ${quoteIdent(table)}`,
    rowMode: "array",
  });
  return sortRows(
    (result.rows as unknown[][]).map((row) =>
      row.map((v, i) => (columns[i]!.kind === "json" && v !== null ? JSON.parse(String(v)) : v)),
    ),
  );
}

/** Every constraint and index of the schema, as PostgreSQL defines them. */
async function keysAndIndexes(pool: pg.Pool): Promise<unknown[]> {
  const constraints = await pool.query(
    `SELECT conrelid::regclass::text AS t, conname, contype, pg_get_constraintdef(oid) AS def
     FROM pg_constraint WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2`,
  );
  const indexes = await pool.query(
    "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1, 2",
  );
  expect(indexes.rows.length).toBeGreaterThan(15);
  return [...constraints.rows, ...indexes.rows];
}

/** Compares every copied table between the file and `pool`; returns the row counts. */
async function expectSameTables(path: string, pool: pg.Pool): Promise<Record<string, number>> {
  const store = await openStore(path, { readOnly: true });
  try {
    const counts: Record<string, number> = {};
    for (const table of await duckdbTablesToCopy(store.db)) {
      const columns = await duckColumns(store.db, table);
      const expected = await duckRows(store.db, table, columns);
      const actual = await pgRows(pool, table, columns);
      expect(actual.length, table).toBe(expected.length);
      expect(actual, table).toEqual(expected);
      counts[table] = expected.length;
    }
    return counts;
  } finally {
    await store.close();
  }
}

pgDescribe("db copy: DuckDB file -> PostgreSQL", (server) => {
  it("copies every table row for row (types exact), the indicators view included; --json summary", async () => {
    const url = await server.newDatabase("copy");
    const r = await tickflow(["db", "copy", "--from", file, "--to", url, "--json"], { cwd: dir });
    expect(r.stderr).toMatch(new RegExp(`^copying ${file} to ${url}\n`));
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    const pool = new pg.Pool({ connectionString: url });
    try {
      const counts = await expectSameTables(file, pool);
      expect(summary).toMatchObject({ from: file, to: url, schema_version: LATEST_VERSION, tables: counts });
      expect(summary.rows).toBe(Object.values(counts).reduce((a, b) => a + b, 0));
      // Every table of the schema but those left out on purpose, and real data in the ones that matter.
      expect(Object.keys(counts).sort()).toEqual(freshTables().filter((t) => !(t in NOT_COPIED)));
      for (const table of [
        "runs",
        "task_runs",
        "state_transitions",
        "run_logs",
        "bars_daily",
        "bar_symbols",
        "corporate_actions",
        "quality_results",
        "indicator_series",
        "indicator_values",
        "deployments",
        "schedules",
        "work_pools",
        "work_queues",
        "notify_channels",
        "notify_rules",
        "notify_freshness",
        "notify_outbox",
      ]) {
        expect(counts[table], table).toBeGreaterThan(0);
      }
      // Keys and indexes, dropped for the load, are back as a fresh migration makes them.
      const fresh = new pg.Pool({ connectionString: await server.newDatabase("fresh") });
      try {
        await migratePg(fresh);
        expect(await keysAndIndexes(pool)).toEqual(await keysAndIndexes(fresh));
      } finally {
        await fresh.end();
      }
      // Each table's line on stderr.
      for (const table of Object.keys(counts))
        expect(r.stderr).toContain(`  ${table}: ${counts[table]} rows (`);
      // The long form: the same (source, symbol, date, name, value) rows on both sides.
      const store = await openStore(file, { readOnly: true });
      try {
        const columns = await duckColumns(store.db, "indicators");
        const expected = await duckRows(store.db, "indicators", columns);
        expect(expected.length).toBeGreaterThan(1000);
        expect(await pgRows(pool, "indicators", columns)).toEqual(expected);
      } finally {
        await store.close();
      }
    } finally {
      await pool.end();
    }
  });

  it("refuses a target holding data, naming the tables; --force replaces it; text summary", async () => {
    const url = await server.newDatabase("force");
    const target = await openPgPool(url, { env: {} });
    try {
      await migratePg(target.pool);
      await target.pool.query(
        `INSERT INTO runs (id, pipeline, state, created_at) VALUES ('old-1', 'p', 'Completed', now()), ('old-2', 'p', 'Failed', now())`,
      );
      await target.pool.query(
        `INSERT INTO bars_daily (source, symbol, date, close) VALUES ('edge', 'S1', '1900-01-01', 1)`,
      );
      const refused = await tickflow(["db", "copy", "--from", file, "--to", url], { cwd: dir });
      expect([refused.code, refused.stdout]).toEqual([1, ""]);
      expect(refused.stderr).toBe(
        `copying ${file} to ${url}\ntickflow: cannot copy: ${url} already holds data: bars_daily (1 row), runs (2 rows); --force empties these tables first\n`,
      );
      expect((await target.pool.query("SELECT count(*)::int AS n FROM runs")).rows[0].n).toBe(2);

      const forced = await tickflow(["db", "copy", "--from", file, "--to", url, "--force"], { cwd: dir });
      expect(forced.code).toBe(0);
      const counts = await expectSameTables(file, target.pool);
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const lines = forced.stdout.split("\n");
      expect(lines[0]).toMatch(
        new RegExp(
          `^copied ${file} to ${url} \\(schema version ${LATEST_VERSION}\\): ${total} rows in [\\d.]+m?s$`,
        ),
      );
      expect(lines.slice(1, -1).map((l) => l.trim().split(/\s+/))).toEqual(
        Object.entries(counts).map(([t, n]) => [t, String(n)]),
      );
    } finally {
      await target.close();
    }
  });

  it("refuses a file at another schema version, naming both; the target stays empty", async () => {
    const old = join(dir, "old.duckdb");
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const instance = await DuckDBInstance.create(old);
    const db = await instance.connect();
    await migrate(db, MIGRATIONS.slice(0, -1));
    db.closeSync();
    instance.closeSync();
    const url = await server.newDatabase("version");
    const r = await tickflow(["db", "copy", "--from", old, "--to", url], { cwd: dir });
    expect([r.code, r.stdout, r.stderr]).toEqual([
      1,
      "",
      `copying ${old} to ${url}\ntickflow: cannot copy ${old} (schema version ${LATEST_VERSION - 1}) to ${url} (schema version ${LATEST_VERSION}): the schema versions must be equal; migrate the file first (tickflow db migrate --db ${old})\n`,
    ]);
    const pool = new pg.Pool({ connectionString: url });
    try {
      expect((await pool.query("SELECT count(*)::int AS n FROM runs")).rows[0].n).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it.skipIf(PG_EXTERNAL)(
    "a wrong password, a bad URL, a missing file: one line, the password masked",
    async () => {
      const { host, port } = server.server();
      const secret = "Copy-wr0ng-secret";
      const url = `postgresql://${PASSWORD_ROLE}:${secret}@${host}:${port}/postgres`;
      const wrong = await tickflow(["db", "copy", "--from", file, "--to", url], { cwd: dir });
      expect([wrong.code, wrong.stdout, wrong.stderr]).toEqual([
        1,
        "",
        `tickflow: cannot connect to PostgreSQL at ${host}:${port}/postgres: password authentication failed for user ${PASSWORD_ROLE} (the password from the URL)\n`,
      ]);
      const bad = await tickflow(
        ["db", "copy", "--from", file, "--to", `postgresql://u:${secret}@${host}:${port}/db?sslmode=nope`],
        { cwd: dir },
      );
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^tickflow: invalid PostgreSQL URL postgresql:\/\/u:\*\*\*@/);
      expect(bad.stderr).not.toContain(secret);
      const notUrl = await tickflow(["db", "copy", "--from", file, "--to", join(dir, "x.duckdb")], {
        cwd: dir,
      });
      expect([notUrl.code, notUrl.stderr]).toEqual([
        2,
        "tickflow: --to: a postgresql:// (or postgres://) URL\n",
      ]);
      const missing = await tickflow(["db", "copy", "--from", join(dir, "nope.duckdb"), "--to", url], {
        cwd: dir,
      });
      expect([missing.code, missing.stderr]).toEqual([
        1,
        `tickflow: database ${join(dir, "nope.duckdb")} does not exist (tickflow db migrate creates it)\n`,
      ]);
    },
  );

  it("a target whose tables another transaction writes: waits, then gives up naming it; nothing lands", async () => {
    const url = await server.newDatabase("busy");
    const target = await openPgPool(url, { env: {} });
    const writer = new pg.Client({ connectionString: url });
    try {
      await migratePg(target.pool);
      await writer.connect();
      await writer.query("BEGIN");
      // A daemon's write in progress (ROW EXCLUSIVE on run_logs until it ends).
      await writer.query(
        "INSERT INTO run_logs (run_id, ts, level, message) VALUES ('r', now(), 'info', 'm')",
      );
      const source = await openStore(file, { readOnly: true });
      try {
        await expect(
          copyDuckDbToPg({ db: source.db, path: file }, target, { lockWaitMs: 200 }),
        ).rejects.toThrow(
          `cannot copy: the tables of ${url} stayed in use for 200ms (a daemon running on it?): stop what uses it and try again`,
        );
      } finally {
        await source.close();
      }
      await writer.query("ROLLBACK");
      expect((await target.pool.query("SELECT count(*)::int AS n FROM runs")).rows[0].n).toBe(0);
    } finally {
      await writer.end();
      await target.close();
    }
  });

  it("U+0000, which PostgreSQL cannot store, lands as U+FFFD (text and JSON), with a warning per table", async () => {
    const bad = join(dir, "nul.duckdb");
    const store = await openStore(bad);
    try {
      await store.db.run(
        `INSERT INTO run_logs VALUES ('r2', NULL, now(), 0, 'info', 'before' || chr(0) || 'after')`,
      );
      await store.db.run(
        `INSERT INTO notify_outbox (key, event, channel, facts, created_at, next_attempt_at, attempts)
         VALUES ('k', 'Failed', 'c', '{"a":"x\\u0000y"}', now(), now(), 0)`,
      );
    } finally {
      await store.close();
    }
    const url = await server.newDatabase("nul");
    const r = await tickflow(["db", "copy", "--from", bad, "--to", url, "--json"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "warning: notify_outbox: 1 text value held U+0000, which PostgreSQL cannot store: copied with U+FFFD instead\n",
    );
    expect(r.stderr).toContain(
      "warning: run_logs: 1 text value held U+0000, which PostgreSQL cannot store: copied with U+FFFD instead\n",
    );
    expect(JSON.parse(r.stdout).altered).toEqual({ notify_outbox: 1, run_logs: 1 });
    const pool = new pg.Pool({ connectionString: url });
    try {
      expect((await pool.query("SELECT message FROM run_logs")).rows).toEqual([
        { message: "before\uFFFDafter" },
      ]);
      expect((await pool.query("SELECT facts FROM notify_outbox")).rows).toEqual([
        { facts: { a: "x\uFFFDy" } },
      ]);
    } finally {
      await pool.end();
    }
  });

  it("a failure mid-copy (a duplicate key DuckDB let in) names the table and key; the tables before it roll back", async () => {
    const bad = join(dir, "dup.duckdb");
    const store = await openStore(bad);
    try {
      await store.db.run(
        `INSERT INTO bars_daily (source, symbol, date, close) VALUES ('s', 'A', DATE '2024-01-02', 1)`,
      );
      await store.db.run(`INSERT INTO indicator_series VALUES (1, 's', 'A')`);
      await store.db.run(
        `INSERT INTO indicator_values VALUES (1, DATE '2024-01-02'), (1, DATE '2024-01-02')`,
      );
    } finally {
      await store.close();
    }
    const url = await server.newDatabase("dup");
    const r = await tickflow(["db", "copy", "--from", bad, "--to", url], { cwd: dir });
    expect([r.code, r.stdout]).toEqual([1, ""]);
    expect(r.stderr).toContain(
      `tickflow: cannot copy table indicator_values: could not create unique index "indicator_values_pkey" (Key (series, date)=(1, 2024-01-02) is duplicated.); nothing was copied\n`,
    );
    const pool = new pg.Pool({ connectionString: url });
    try {
      expect((await pool.query("SELECT count(*)::int AS n FROM bars_daily")).rows[0].n).toBe(0);
      expect((await pool.query("SELECT count(*)::int AS n FROM indicator_series")).rows[0].n).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it("PostgreSQL reads the COPY text of dates and timestamps back to the same day and microsecond", async () => {
    const days = [
      -1_720_000, -719_529, -719_528, -719_163, -719_162, -1, 0, 60, 11_016, 2_932_896, 70_000_000,
    ];
    for (let d = -1_700_000; d < 72_000_000; d += 99_991) days.push(d);
    const micros = [-62_135_596_800_000_001n, -1n, 0n, 1n, 9_007_199_254_740_993n, 1_767_603_600_123_456n];
    for (const d of days.filter((d) => d < 100_000_000 && d > -1_700_000))
      micros.push(BigInt(d) * 86_400_000_000n + 45_296_789_012n);
    const client = new pg.Client({ connectionString: server.url() });
    await client.connect();
    try {
      await client.query("CREATE TEMP TABLE d (i integer, d date, t timestamptz)");
      const lines = micros.map(
        (m, i) => `${i}\t${i < days.length ? copyDate(days[i]!) : "\\N"}\t${copyTimestampTz(m)}\n`,
      );
      for (let i = micros.length; i < days.length; i++) lines.push(`${i}\t${copyDate(days[i]!)}\t\\N\n`);
      await pipeline(Readable.from(lines), client.query(copyFrom("COPY d FROM STDIN")));
      const back = await client.query(
        `SELECT i, (d - DATE '1970-01-01') AS days, ((extract(epoch FROM t) * 1000000)::bigint)::text AS micros FROM d ORDER BY i`,
      );
      expect(back.rows.map((r) => [r.days, r.micros])).toEqual(
        back.rows.map((r) => [days[r.i] ?? null, r.i < micros.length ? String(micros[r.i]) : null]),
      );
      expect(back.rows.length).toBe(Math.max(days.length, micros.length));
    } finally {
      await client.end();
    }
  });

  it("bench: copying bars (rows/s printed)", async () => {
    const rows = Number(process.env.TICKFLOW_COPY_BENCH_ROWS ?? 200_000);
    const path = join(dir, "bench.duckdb");
    const store = await openStore(path);
    try {
      await store.db.run(
        `INSERT INTO bars_daily
         SELECT 'bench', 'S' || (i // 2500)::VARCHAR, DATE '2000-01-01' + (i % 2500)::INTEGER,
                random() * 100, random() * 100, random() * 100, random() * 100, floor(random() * 1e7),
                random() * 100, (random() * 1e5)::BIGINT, random() * 100, TIMESTAMPTZ '2026-01-05 09:00:00+00' + to_microseconds(i)
         FROM range(${rows}) t(i)`,
      );
    } finally {
      await store.close();
    }
    const url = await server.newDatabase("bench");
    const target: PgStore = await openPgPool(url, { env: {} });
    try {
      await migratePg(target.pool);
      const source = await openStore(path, { readOnly: true });
      try {
        const summary = await copyDuckDbToPg({ db: source.db, path }, target);
        const bars = summary.tables.find((t) => t.table === "bars_daily")!;
        expect(bars.rows).toBe(rows);
        const perSecond = Math.round(rows / (bars.ms / 1000));
        process.stderr.write(
          `db copy bench: ${rows} bars in ${(bars.ms / 1000).toFixed(2)} s: ${perSecond} rows/s (whole copy ${(summary.ms / 1000).toFixed(2)} s)\n`,
        );
      } finally {
        await source.close();
      }
    } finally {
      await target.close();
    }
  });
});

/** The tables a fresh DuckDB store has, from its catalog (what migrations.ts makes), in name order. */
let fresh: string[] = [];
beforeAll(async () => {
  const store = await openStore(":memory:");
  try {
    const reader = await store.db.runAndReadAll(
      "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY table_name",
    );
    fresh = reader.getRows().map((r) => String(r[0]));
  } finally {
    await store.close();
  }
});
function freshTables(): string[] {
  return fresh;
}
