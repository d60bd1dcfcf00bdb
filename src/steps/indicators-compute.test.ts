/**
 * indicators.compute on both backends, the same assertions: a DuckDB file, and a PostgreSQL
 * database (a throwaway server; a fresh database per test) where the step reads and writes through
 * `ctx.pg`. The SQL of the assertions is written to run on both.
 */
import { DATE, DOUBLE, DuckDBDateValue, type DuckDBValue, VARCHAR } from "@duckdb/node-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type PgTestDatabase, pgDescribe } from "../../tests/helpers/postgres.js";
import { type GoldenSymbol, loadGolden, tolerance } from "../indicators/golden.js";
import type { StepContext } from "../pipeline/step-spec.js";
import { appendColumns } from "../store/append.js";
import type { Store } from "../store/open.js";
import { migratePg } from "../store/pg/migrate.js";
import { openPgPool, type PgStore } from "../store/pg/pool.js";
import { stepContext, tempStore } from "../store/testing.js";
import {
  computeIndicators,
  indicatorOutputNames,
  indicatorsCompute,
  parseIndicatorName,
} from "./indicators-compute.js";

const golden = loadGolden();
const GOLDEN_NAMES = Object.keys(golden.symbols[0]!.outputs);

/** A store of one backend as the tests use it. */
interface Backend {
  name: "duckdb" | "postgresql";
  /** A step context over the store (`pg` set on PostgreSQL). */
  ctx(overrides?: Partial<Omit<StepContext, "log">>): StepContext;
  /** Appends rows `from..to` of golden symbols' bars to bars_daily under `source`. */
  insertBars(source: string, symbols: GoldenSymbol[], from?: number, to?: number): Promise<void>;
  /** A query's rows as objects (`$1`, `$2` ... parameters). */
  rows(sql: string, params?: (string | number)[]): Promise<Record<string, unknown>[]>;
  /** A query's rows as arrays of the driver's own values (doubles as they are: -0 stays -0). */
  rawRows(sql: string, params?: (string | number)[]): Promise<unknown[][]>;
  /** The indicators view's columns, as `name type`. */
  viewColumns(): Promise<string[]>;
  /** What viewColumns gives for the long form of SPEC section 4. */
  longForm: string[];
  close(): Promise<void>;
}

/** The golden symbols' rows `from..to` as columns (bars_daily's first eight). */
function barColumns(source: string, symbols: GoldenSymbol[], from: number, to: number) {
  const pick = <T>(f: (s: GoldenSymbol) => T[]) => symbols.flatMap((s) => f(s).slice(from, to));
  return {
    source: pick((s) => s.dates.map(() => source)),
    symbol: pick((s) => s.dates.map(() => s.symbol)),
    date: pick((s) => s.dates),
    open: pick((s) => s.open),
    high: pick((s) => s.high),
    low: pick((s) => s.low),
    close: pick((s) => s.close),
    volume: pick((s) => s.volume),
  };
}

const toDate = (iso: string) => {
  const [y, m, d] = iso.split("-").map(Number);
  return new DuckDBDateValue(Date.UTC(y!, m! - 1, d!) / 86_400_000);
};

async function duckdbBackend(): Promise<Backend> {
  const { store, cleanup } = await tempStore();
  return duckdbBackendOf(store, cleanup);
}

function duckdbBackendOf(store: Store, cleanup: () => Promise<void>): Backend {
  return {
    name: "duckdb",
    ctx: (overrides = {}) => stepContext(store.db, overrides),
    async insertBars(source, symbols, from = 0, to = golden.sessions) {
      const c = barColumns(source, symbols, from, to);
      const nulls = c.date.map(() => null);
      await appendColumns(store.db, "bars_daily", [
        { type: VARCHAR, values: c.source },
        { type: VARCHAR, values: c.symbol },
        { type: DATE, values: c.date.map(toDate) },
        ...[c.open, c.high, c.low, c.close, c.volume, nulls, nulls, nulls, nulls].map((values) => ({
          type: DOUBLE,
          values,
        })),
      ]);
    },
    async rows(sql, params) {
      return (await store.db.runAndReadAll(sql, params as DuckDBValue[] | undefined)).getRowObjectsJson();
    },
    async rawRows(sql, params) {
      return (await store.db.runAndReadAll(sql, params as DuckDBValue[] | undefined)).getRows();
    },
    async viewColumns() {
      const described = await store.db.runAndReadAll(
        "SELECT column_name, column_type FROM (DESCRIBE indicators)",
      );
      return described.getRows().map((r) => `${r[0]} ${r[1]}`);
    },
    longForm: ["source VARCHAR", "symbol VARCHAR", "date DATE", "name VARCHAR", "value DOUBLE"],
    close: cleanup,
  };
}

let databases = 0;

/** A fresh, migrated database on the test server. */
async function pgBackend(server: PgTestDatabase): Promise<Backend & { store: PgStore }> {
  const store = await openPgPool(await server.newDatabase(`ind${++databases}`), { env: {} });
  await migratePg(store.pool);
  const scratch = await store.scratch();
  return {
    name: "postgresql",
    store,
    ctx: (overrides = {}) => stepContext(scratch.db, { pg: store.pool, ...overrides }),
    async insertBars(source, symbols, from = 0, to = golden.sessions) {
      const c = barColumns(source, symbols, from, to);
      await store.pool.query(
        `INSERT INTO bars_daily (source, symbol, date, open, high, low, close, volume)
         SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[])`,
        [c.source, c.symbol, c.date, c.open, c.high, c.low, c.close, c.volume],
      );
    },
    async rows(sql, params) {
      return (await store.pool.query(sql, params)).rows;
    },
    async rawRows(sql, params) {
      return (await store.pool.query({ text: sql, values: params ?? [], rowMode: "array" })).rows;
    },
    async viewColumns() {
      const described = await store.pool.query(
        `SELECT column_name, data_type FROM information_schema.columns
         WHERE table_name = 'indicators' ORDER BY ordinal_position`,
      );
      return described.rows.map((r) => `${r.column_name} ${r.data_type}`);
    },
    longForm: ["source text", "symbol text", "date date", "name text", "value double precision"],
    close: () => store.close(),
  };
}

/** The tests, on the store `open` gives (a fresh one per test). */
function indicatorsComputeTests(open: () => Promise<Backend>): void {
  let db: Backend;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  const rows = (sql: string, params?: (string | number)[]) => db.rows(sql, params);
  const insertBars = (source: string, symbols: GoldenSymbol[], from?: number, to?: number) =>
    db.insertBars(source, symbols, from, to);
  function run(withParams: Record<string, unknown>) {
    return indicatorsCompute.run!(db.ctx(), indicatorsCompute.params.parse(withParams));
  }

  /** A hash of every row of the indicators view for `source` (the source itself left out). */
  async function viewHash(source: string): Promise<{ hash: string; count: number }> {
    const [row] = await rows(
      `SELECT md5(coalesce(string_agg(concat_ws('|', symbol, date, name, value), ';' ORDER BY symbol, date, name), '')) AS hash,
         count(*)::INTEGER AS count FROM indicators WHERE source = $1`,
      [source],
    );
    return { hash: String(row?.hash), count: Number(row?.count) };
  }

  it("on a fresh database, the indicators view exists in the long form and is empty", async () => {
    expect(await db.viewColumns()).toEqual(db.longForm);
    expect(await rows("SELECT * FROM indicators")).toEqual([]);
  });

  it("writes TA-Lib's values for every indicator and row, from TA-Lib's first output row, none for warm-up", async () => {
    await insertBars("golden", golden.symbols);
    const out = await run({ source: "golden", indicators: [...GOLDEN_NAMES, "vwap_10"] });
    const expectedRows = golden.symbols.reduce(
      (n, s) =>
        n +
        GOLDEN_NAMES.reduce((m, name) => {
          const o = s.outputs[name]!;
          return m + o.values.length * (golden.sessions - o.begIndex);
        }, 0) +
        (golden.sessions - 9),
      0,
    );
    expect(out).toEqual({ rows: expectedRows, symbols: 3 });
    expect(await db.viewColumns()).toEqual(db.longForm);
    const [{ n } = {}] = await rows("SELECT count(*)::INTEGER AS n FROM indicators");
    expect(n).toBe(expectedRows);
    const [{ nulls } = {}] = await rows(
      "SELECT count(*)::INTEGER AS nulls FROM indicators WHERE value IS NULL",
    );
    expect(nulls).toBe(0);

    for (const symbol of golden.symbols) {
      const stored = await rows(
        "SELECT name, CAST(date AS VARCHAR) AS date, value FROM indicators WHERE source = 'golden' AND symbol = $1 ORDER BY name, date",
        [symbol.symbol],
      );
      const byName = new Map<string, { date: string; value: number }[]>();
      for (const r of stored) {
        const list = byName.get(String(r.name)) ?? [];
        list.push({ date: String(r.date), value: Number(r.value) });
        byName.set(String(r.name), list);
      }
      for (const name of GOLDEN_NAMES) {
        const expected = symbol.outputs[name]!;
        const kind = parseIndicatorName(name)!.kind;
        indicatorOutputNames(name).forEach((output, k) => {
          const got = byName.get(output) ?? [];
          expect(got.length, `${symbol.symbol} ${output} rows`).toBe(golden.sessions - expected.begIndex);
          expect(got[0]?.date, `${symbol.symbol} ${output} first date`).toBe(symbol.dates[expected.begIndex]);
          got.forEach((r, j) => {
            const row = expected.begIndex + j;
            expect(r.date).toBe(symbol.dates[row]);
            const want = expected.values[k]![j]!;
            const diff = Math.abs(r.value - want);
            if (!(diff <= tolerance(kind, symbol.close[row]!, want))) {
              expect.fail(`${symbol.symbol} ${output} ${r.date}: ${r.value} vs TA-Lib ${want}`);
            }
          });
        });
      }
      const vwap = byName.get("vwap_10")!;
      expect(vwap[0]!.date).toBe(symbol.dates[9]);
    }
  });

  it("an incremental run after 10 new sessions leaves exactly what a full refresh does", async () => {
    const indicators = [...GOLDEN_NAMES, "vwap_10"];
    const cut = golden.sessions - 10;
    await insertBars("inc", golden.symbols, 0, cut);
    await insertBars("full", golden.symbols);
    const ctx = db.ctx();
    // Small batches: several transactions, symbols split across them.
    const first = await computeIndicators(ctx, {
      source: "inc",
      indicators,
      fullRefresh: false,
      batchBars: 700,
    });
    expect(first.rows).toBeGreaterThan(0);
    await insertBars("inc", golden.symbols, cut);
    const second = await computeIndicators(ctx, {
      source: "inc",
      indicators,
      fullRefresh: false,
      batchBars: 700,
    });
    const outputs = indicators.flatMap(indicatorOutputNames).length;
    expect(second).toEqual({ rows: 3 * 10 * outputs, symbols: 3 });
    await computeIndicators(ctx, { source: "full", indicators, fullRefresh: true });
    const inc = await viewHash("inc");
    const full = await viewHash("full");
    expect(inc.count).toBeGreaterThan(0);
    expect(inc).toEqual(full);
    // Exactly equal, not just close: compare the doubles themselves.
    const [diff] = await rows(`SELECT count(*)::INTEGER AS n FROM (
      SELECT symbol, date, name, value FROM indicators WHERE source = 'inc'
      EXCEPT SELECT symbol, date, name, value FROM indicators WHERE source = 'full') AS d`);
    expect(diff?.n).toBe(0);
  });

  it("a re-run (incremental or full) leaves identical rows, one per source, symbol, date and name", async () => {
    await insertBars("golden", golden.symbols);
    await run({ source: "golden", indicators: ["sma_20", "macd_12_26_9", "rsi_14"] });
    const before = await viewHash("golden");
    // Nothing new: no symbol is even read.
    expect(await run({ source: "golden", indicators: ["sma_20", "macd_12_26_9", "rsi_14"] })).toEqual({
      rows: 0,
      symbols: 0,
    });
    expect(await viewHash("golden")).toEqual(before);
    await run({ source: "golden", indicators: ["sma_20", "macd_12_26_9", "rsi_14"], full_refresh: true });
    expect(await viewHash("golden")).toEqual(before);
    const [dups] = await rows(
      "SELECT count(*)::INTEGER AS n FROM (SELECT series, date FROM indicator_values GROUP BY series, date HAVING count(*) > 1) AS d",
    );
    expect(dups?.n).toBe(0);
    const [names] = await rows(
      "SELECT count(*)::INTEGER AS n FROM (SELECT source, symbol, date, name FROM indicators GROUP BY source, symbol, date, name HAVING count(*) > 1) AS d",
    );
    expect(names?.n).toBe(0);
  });

  it("adding indicators later keeps the ones stored; symbols limits the work", async () => {
    await insertBars("golden", golden.symbols);
    await run({ source: "golden", indicators: ["sma_20"], symbols: ["AAA"] });
    const smaOnly = await viewHash("golden");
    const out = await run({ source: "golden", indicators: ["ema_12", "sma_20"] });
    expect(out.symbols).toBe(3);
    const counts = await rows(
      "SELECT symbol, name, count(*)::INTEGER AS n FROM indicators GROUP BY symbol, name ORDER BY symbol, name",
    );
    expect(counts).toEqual(
      ["AAA", "BBB", "CCC"].flatMap((symbol) => [
        { symbol, name: "ema_12", n: golden.sessions - 11 },
        { symbol, name: "sma_20", n: golden.sessions - 19 },
      ]),
    );
    const [kept] = await rows(
      `SELECT md5(string_agg(concat_ws('|', symbol, date, name, value), ';' ORDER BY symbol, date, name)) AS h
       FROM indicators WHERE symbol = 'AAA' AND name = 'sma_20'`,
    );
    expect(kept?.h).toBe(smaOnly.hash);
  });

  it("keeps the retention step's statements valid", async () => {
    await insertBars("golden", golden.symbols);
    await run({ source: "golden", indicators: ["sma_20", "obv"] });
    const cutoff = golden.symbols[0]!.dates[300]!;
    const archived = await rows("SELECT * FROM indicators WHERE date < CAST($1 AS DATE)", [cutoff]);
    expect(Object.keys(archived[0]!)).toEqual(["source", "symbol", "date", "name", "value"]);
    expect(archived.length).toBe(3 * (300 + 300 - 19));
    await rows("DELETE FROM indicator_values WHERE date < CAST($1 AS DATE)", [cutoff]);
    const [left] = await rows("SELECT count(*)::INTEGER AS n, min(date)::VARCHAR AS first FROM indicators");
    expect(left).toEqual({ n: 3 * 2 * 300, first: cutoff });
  });

  it("stops on an aborted signal and writes nothing", async () => {
    await insertBars("golden", golden.symbols);
    const controller = new AbortController();
    controller.abort(new Error("timed out"));
    const ctx = db.ctx({ signal: controller.signal });
    await expect(
      indicatorsCompute.run!(
        ctx,
        indicatorsCompute.params.parse({ source: "golden", indicators: ["sma_20"] }),
      ),
    ).rejects.toThrow("timed out");
    expect(await rows("SELECT * FROM indicators")).toEqual([]);
  });
}

describe("indicators.compute (DuckDB)", () => {
  indicatorsComputeTests(duckdbBackend);
});

pgDescribe("indicators.compute (PostgreSQL)", (server) => {
  indicatorsComputeTests(() => pgBackend(server));

  describe("PostgreSQL and DuckDB", () => {
    let duck: Backend;
    let pg: Backend;
    beforeEach(async () => {
      [duck, pg] = await Promise.all([duckdbBackend(), pgBackend(server)]);
    });
    afterEach(async () => {
      await Promise.all([duck.close(), pg.close()]);
    });

    const show = (v: unknown) => (Object.is(v, -0) ? "-0" : String(v));

    /** Every row of the view for `source`, `symbol|date|name` -> value, as the driver gives it. */
    async function stored(db: Backend, source: string): Promise<Map<string, unknown>> {
      const got = await db.rawRows(
        "SELECT symbol, CAST(date AS VARCHAR), name, value FROM indicators WHERE source = $1",
        [source],
      );
      return new Map(got.map((r) => [`${r[0]}|${r[1]}|${r[2]}`, r[3]]));
    }

    it("store the same doubles, bit for bit (-0 kept), and skip NULL prices alike, full and incremental", async () => {
      // AAA's bars with NULL closes (NaN from there on for the EMA family), a rise closing at each
      // new high (Williams %R is -0 there: 0 divided by a negative range) and a flat stretch (zero
      // ranges).
      const base = golden.symbols[0]!;
      const shape = (values: number[], i: number, rising: boolean) =>
        i >= 200 && i < 230 ? (rising ? 1000 + i : values[i]!) : i >= 230 && i < 270 ? 50 : values[i]!;
      const odd: GoldenSymbol = {
        ...base,
        symbol: "ODD",
        close: base.close.map((_, i) =>
          i >= 600 && i < 603 ? (null as unknown as number) : shape(base.close, i, true),
        ),
        high: base.high.map((_, i) => shape(base.high, i, true)),
        low: base.low.map((_, i) => shape(base.low, i, false)),
      };
      const symbols = [...golden.symbols, odd];
      const indicators = [...GOLDEN_NAMES, "vwap_10"];
      const cut = golden.sessions - 7;
      const outputs: Record<string, unknown>[] = [];
      for (const db of [duck, pg]) {
        await db.insertBars("full", symbols);
        await db.insertBars("inc", symbols, 0, cut);
        const ctx = db.ctx();
        const steps = [
          await computeIndicators(ctx, { source: "full", indicators, fullRefresh: true }),
          await computeIndicators(ctx, { source: "inc", indicators, fullRefresh: false, batchBars: 900 }),
        ];
        await db.insertBars("inc", symbols, cut);
        steps.push(
          await computeIndicators(ctx, { source: "inc", indicators, fullRefresh: false, batchBars: 900 }),
        );
        // A full refresh over stored values rewrites them in place.
        steps.push(await computeIndicators(ctx, { source: "full", indicators, fullRefresh: true }));
        // A full refresh of some outputs after AAA lost its first bars: their values before the
        // new warm-up go, the other outputs' stay.
        await db.rows(
          "DELETE FROM bars_daily WHERE source = 'inc' AND symbol = 'AAA' AND date < CAST($1 AS DATE)",
          [base.dates[50]!],
        );
        steps.push(
          await computeIndicators(ctx, {
            source: "inc",
            indicators: ["sma_20", "rsi_14"],
            fullRefresh: true,
          }),
        );
        outputs.push({ steps, logs: (ctx as ReturnType<typeof stepContext>).logs });
      }
      expect(outputs[1]).toEqual(outputs[0]);
      for (const source of ["full", "inc"]) {
        const [want, got] = [await stored(duck, source), await stored(pg, source)];
        expect(got.size).toBe(want.size);
        let negativeZeros = 0;
        for (const [key, value] of want) {
          if (Object.is(value, -0)) negativeZeros++;
          if (!Object.is(got.get(key), value)) {
            expect.fail(`${source} ${key}: ${show(got.get(key))} vs DuckDB ${show(value)}`);
          }
        }
        expect(negativeZeros, "-0 values in the data").toBeGreaterThan(0);
      }
      const [first] = await pg.rows(
        "SELECT CAST(min(date) AS VARCHAR) AS sma, (SELECT CAST(min(date) AS VARCHAR) FROM indicators WHERE source = 'inc' AND symbol = 'AAA' AND name = 'ema_12') AS ema FROM indicators WHERE source = 'inc' AND symbol = 'AAA' AND name = 'sma_20'",
      );
      expect(first).toEqual({ sma: base.dates[69], ema: base.dates[11] });
      // Where DuckDB has no value for ODD after its NULL closes, PostgreSQL has none either.
      const ema = await pg.rawRows(
        "SELECT count(*)::INTEGER FROM indicators WHERE source = 'full' AND symbol = 'ODD' AND name = 'ema_12' AND date >= CAST($1 AS DATE)",
        [odd.dates[600]!],
      );
      expect(ema[0]![0]).toBe(0);
    });
  });

  describe("on PostgreSQL only", () => {
    let db: Backend & { store: PgStore };
    beforeEach(async () => {
      db = await pgBackend(server);
    });
    afterEach(async () => {
      await db.close();
    });

    it("tasks computing other symbols and other indicators at once do not break each other's DDL", async () => {
      const symbols = [...golden.symbols, { ...golden.symbols[0]!, symbol: "DDD" }];
      await db.insertBars("c", symbols);
      const settle = async (tasks: Promise<unknown>[]) => {
        const done = await Promise.allSettled(tasks);
        return done.flatMap((d) => (d.status === "rejected" ? [String(d.reason)] : []));
      };
      // The column exists (no symbol computed): the tasks meet at numbering their new series.
      await computeIndicators(db.ctx(), {
        source: "c",
        symbols: [],
        indicators: ["obv"],
        fullRefresh: false,
      });
      const series = symbols.map((s) =>
        computeIndicators(db.ctx(), {
          source: "c",
          symbols: [s.symbol],
          indicators: ["obv"],
          fullRefresh: false,
        }),
      );
      expect(await settle(series)).toEqual([]);
      const rounds = 4;
      for (let round = 0; round < rounds; round++) {
        // Every task adds columns of its own.
        const tasks = symbols.map((s, i) => {
          const n = 5 + round * symbols.length + i;
          return computeIndicators(db.ctx(), {
            source: "c",
            symbols: [s.symbol],
            indicators: [`sma_${n}`, `wma_${n}`],
            fullRefresh: false,
          });
        });
        expect(await settle(tasks)).toEqual([]);
      }
      // Every task's values are in the view, for its own symbol only.
      const counts = await db.rows(
        "SELECT symbol, count(DISTINCT name)::INTEGER AS names, count(*)::INTEGER AS n FROM indicators GROUP BY symbol ORDER BY symbol",
      );
      expect(counts.map((c) => [c.symbol, c.names])).toEqual(symbols.map((s) => [s.symbol, 1 + 2 * rounds]));
      const [numbered] = await db.rows("SELECT count(DISTINCT id)::INTEGER AS n FROM indicator_series");
      expect(numbered?.n).toBe(symbols.length);
      const [columns] = await db.rows(
        "SELECT count(*)::INTEGER AS n FROM information_schema.columns WHERE table_name = 'indicator_values'",
      );
      expect(columns?.n).toBe(3 + 2 * rounds * symbols.length);
    });

    it("a full refresh and another task's new indicator on the same symbols keep both", async () => {
      await db.insertBars("s", golden.symbols);
      for (let round = 0; round < 10; round++) {
        const name = `ema_${10 + round}`;
        const done = await Promise.allSettled([
          computeIndicators(db.ctx(), {
            source: "s",
            indicators: ["sma_20"],
            fullRefresh: true,
            batchBars: 1000,
          }),
          computeIndicators(db.ctx(), {
            source: "s",
            indicators: [name],
            fullRefresh: false,
            batchBars: 1000,
          }),
        ]);
        expect(done.flatMap((d) => (d.status === "rejected" ? [String(d.reason)] : []))).toEqual([]);
        const counts = await db.rows(
          "SELECT name, count(*)::INTEGER AS n FROM indicators WHERE name IN ('sma_20', $1) GROUP BY name ORDER BY name",
          [name],
        );
        expect(counts, `round ${round}`).toEqual([
          { name, n: 3 * (golden.sessions - 9 - round) },
          { name: "sma_20", n: 3 * (golden.sessions - 19) },
        ]);
      }
    });

    it("refuses an output name longer than PostgreSQL's column names, naming it", async () => {
      await db.insertBars("golden", golden.symbols);
      const name = `sma_${"1".repeat(70)}`;
      await expect(
        computeIndicators(db.ctx(), { source: "golden", indicators: [name], fullRefresh: false }),
      ).rejects.toThrow(`indicator output "${name}" is longer than PostgreSQL's 63-byte column names`);
    });
  });
});
