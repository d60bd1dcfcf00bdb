import { DATE, DOUBLE, DuckDBDateValue, VARCHAR } from "@duckdb/node-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type GoldenSymbol, loadGolden, tolerance } from "../indicators/golden.js";
import { appendColumns } from "../store/append.js";
import type { Store } from "../store/open.js";
import { stepContext, tempStore } from "../store/testing.js";
import {
  computeIndicators,
  indicatorOutputNames,
  indicatorsCompute,
  parseIndicatorName,
} from "./indicators-compute.js";

let store: Store;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
});
afterEach(async () => {
  await cleanup();
});

const golden = loadGolden();
const GOLDEN_NAMES = Object.keys(golden.symbols[0]!.outputs);

function run(withParams: Record<string, unknown>) {
  const ctx = stepContext(store.db);
  return indicatorsCompute.run!(ctx, indicatorsCompute.params.parse(withParams));
}

async function rows(sql: string, params?: Record<string, string>): Promise<Record<string, unknown>[]> {
  return (await store.db.runAndReadAll(sql, params)).getRowObjectsJson();
}

const toDate = (iso: string) => {
  const [y, m, d] = iso.split("-").map(Number);
  return new DuckDBDateValue(Date.UTC(y!, m! - 1, d!) / 86_400_000);
};

/** Appends rows `from..to` of golden symbols' bars to bars_daily under `source`. */
async function insertBars(source: string, symbols: GoldenSymbol[], from = 0, to = golden.sessions) {
  const pick = <T>(f: (s: GoldenSymbol) => T[]) => symbols.flatMap((s) => f(s).slice(from, to));
  await appendColumns(store.db, "bars_daily", [
    { type: VARCHAR, values: pick((s) => s.dates.map(() => source)) },
    { type: VARCHAR, values: pick((s) => s.dates.map(() => s.symbol)) },
    { type: DATE, values: pick((s) => s.dates.map(toDate)) },
    { type: DOUBLE, values: pick((s) => s.open) },
    { type: DOUBLE, values: pick((s) => s.high) },
    { type: DOUBLE, values: pick((s) => s.low) },
    { type: DOUBLE, values: pick((s) => s.close) },
    { type: DOUBLE, values: pick((s) => s.volume) },
    { type: DOUBLE, values: pick((s) => s.dates.map(() => null)) },
    { type: DOUBLE, values: pick((s) => s.dates.map(() => null)) },
    { type: DOUBLE, values: pick((s) => s.dates.map(() => null)) },
    { type: DOUBLE, values: pick((s) => s.dates.map(() => null)) },
  ]);
}

/** A hash of every row of the indicators view for `source` (the source itself left out). */
async function viewHash(source: string): Promise<{ hash: string; count: number }> {
  const [row] = await rows(
    `SELECT md5(coalesce(string_agg(concat_ws('|', symbol, date, name, value), ';' ORDER BY symbol, date, name), '')) AS hash,
       count(*)::INTEGER AS count FROM indicators WHERE source = $source`,
    { source },
  );
  return { hash: String(row?.hash), count: Number(row?.count) };
}

describe("indicators.compute", () => {
  it("on a fresh database, the indicators view exists in the long form and is empty", async () => {
    const described = await rows("SELECT column_name, column_type FROM (DESCRIBE indicators)");
    expect(described).toEqual([
      { column_name: "source", column_type: "VARCHAR" },
      { column_name: "symbol", column_type: "VARCHAR" },
      { column_name: "date", column_type: "DATE" },
      { column_name: "name", column_type: "VARCHAR" },
      { column_name: "value", column_type: "DOUBLE" },
    ]);
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
    const described = await rows("SELECT column_name, column_type FROM (DESCRIBE indicators)");
    expect(described.map((r) => r.column_type)).toEqual(["VARCHAR", "VARCHAR", "DATE", "VARCHAR", "DOUBLE"]);
    const [{ n } = {}] = await rows("SELECT count(*)::INTEGER AS n FROM indicators");
    expect(n).toBe(expectedRows);
    const [{ nulls } = {}] = await rows(
      "SELECT count(*)::INTEGER AS nulls FROM indicators WHERE value IS NULL",
    );
    expect(nulls).toBe(0);

    for (const symbol of golden.symbols) {
      const stored = await rows(
        "SELECT name, CAST(date AS VARCHAR) AS date, value FROM indicators WHERE source = 'golden' AND symbol = $symbol ORDER BY name, date",
        { symbol: symbol.symbol },
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
    const ctx = stepContext(store.db);
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
      EXCEPT SELECT symbol, date, name, value FROM indicators WHERE source = 'full')`);
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
      "SELECT count(*)::INTEGER AS n FROM (SELECT series, date FROM indicator_values GROUP BY ALL HAVING count(*) > 1)",
    );
    expect(dups?.n).toBe(0);
    const [names] = await rows(
      "SELECT count(*)::INTEGER AS n FROM (SELECT source, symbol, date, name FROM indicators GROUP BY ALL HAVING count(*) > 1)",
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
      "SELECT symbol, name, count(*)::INTEGER AS n FROM indicators GROUP BY ALL ORDER BY symbol, name",
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
    const archived = await store.db.runAndReadAll("SELECT * FROM indicators WHERE date < ?", [
      toDate(cutoff),
    ]);
    expect(archived.columnNames()).toEqual(["source", "symbol", "date", "name", "value"]);
    expect(archived.currentRowCount).toBe(3 * (300 + 300 - 19));
    await store.db.run("DELETE FROM indicator_values WHERE date < ?", [toDate(cutoff)]);
    const [left] = await rows("SELECT count(*)::INTEGER AS n, min(date)::VARCHAR AS first FROM indicators");
    expect(left).toEqual({ n: 3 * 2 * 300, first: cutoff });
  });

  it("stops on an aborted signal and writes nothing", async () => {
    await insertBars("golden", golden.symbols);
    const controller = new AbortController();
    controller.abort(new Error("timed out"));
    const ctx = stepContext(store.db, { signal: controller.signal });
    await expect(
      indicatorsCompute.run!(
        ctx,
        indicatorsCompute.params.parse({ source: "golden", indicators: ["sma_20"] }),
      ),
    ).rejects.toThrow("timed out");
    expect(await rows("SELECT * FROM indicators")).toEqual([]);
  });
});
