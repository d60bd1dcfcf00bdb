// bar_symbols (src/store/bar-symbols.ts) stays exact through every tickflow writer of bars_daily:
// BarsWriter (new and replaced bars), the file.bars import, retention, and sql steps; bars written
// by anyone else make readers fall back to counting from bars_daily.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Bar } from "../market/bars.js";
import {
  BAR_SYMBOLS_TABLE,
  barSymbolsDifferences,
  barSymbolsRelation,
  rebuildBarSymbols,
} from "../store/bar-symbols.js";
import { BarsWriter } from "../store/bars-writer.js";
import type { Store } from "../store/open.js";
import { findSymbols } from "../store/symbols.js";
import { stepContext, tempStore } from "../store/testing.js";
import { cleanupRetention } from "./cleanup-retention.js";
import { fileBars } from "./file-bars.js";
import { mayWriteBars, sql } from "./sql.js";

let store: Store;
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ store, dir, cleanup } = await tempStore());
});
afterEach(async () => {
  await cleanup();
});

function bar(symbol: string, date: string, close = 10): Bar {
  return { symbol, date, open: close, high: close, low: close, close, volume: 100 };
}

/** Weekdays from `from`, `n` of them. */
function days(from: string, n: number): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); out.length < n; t += 86_400_000) {
    const d = new Date(t);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) out.push(d.toISOString().slice(0, 10));
  }
  return out;
}

async function summary(): Promise<unknown[][]> {
  return (
    await store.db.runAndReadAll(
      `SELECT source, symbol, first_date::VARCHAR, last_date::VARCHAR, bars::INTEGER FROM ${BAR_SYMBOLS_TABLE} ORDER BY 1, 2`,
    )
  ).getRowsJson();
}

async function expectExact(): Promise<void> {
  expect(await barSymbolsDifferences(store.db)).toEqual([]);
  expect(await barSymbolsRelation(store.db)).toBe(BAR_SYMBOLS_TABLE);
}

async function write(source: string, bars: Bar[]): Promise<void> {
  const writer = new BarsWriter(store.db, source, { maxBatchRows: 7 });
  // Several entries, some in one batch, some split across batches.
  const bySymbol = new Map<string, Bar[]>();
  for (const b of bars) bySymbol.set(b.symbol, [...(bySymbol.get(b.symbol) ?? []), b]);
  await Promise.all([...bySymbol.values()].map((entry) => writer.write({ bars: entry })));
  await writer.close();
}

describe("bar_symbols", () => {
  it("follows BarsWriter: new bars widen the dates and count, replaced bars count once", async () => {
    await write("polygon", [
      ...days("2024-01-02", 10).map((d) => bar("AAPL", d)),
      ...days("2024-01-05", 3).map((d) => bar("MSFT", d)),
    ]);
    await expectExact();
    // Replacing 5 of AAPL's bars and adding 4 after and 2 before; a second source.
    await write("polygon", [
      ...days("2023-12-28", 2).map((d) => bar("AAPL", d, 11)),
      ...days("2024-01-09", 9).map((d) => bar("AAPL", d, 12)),
    ]);
    await write("yahoo", [bar("AAPL", "2024-02-01")]);
    await expectExact();
    expect(await summary()).toEqual([
      ["polygon", "AAPL", "2023-12-28", "2024-01-19", 16],
      ["polygon", "MSFT", "2024-01-05", "2024-01-09", 3],
      ["yahoo", "AAPL", "2024-02-01", "2024-02-01", 1],
    ]);
    expect(await findSymbols(store.db, { q: "aa", limit: 10 })).toEqual([
      { source: "polygon", symbol: "AAPL", first_date: "2023-12-28", last_date: "2024-01-19", sessions: 16 },
      { source: "yahoo", symbol: "AAPL", first_date: "2024-02-01", last_date: "2024-02-01", sessions: 1 },
    ]);
  });

  it("follows the file.bars import, retention and sql steps", async () => {
    writeFileSync(
      join(dir, "bars.csv"),
      `symbol,date,open,high,low,close,volume\n${days("2023-01-02", 300)
        .flatMap((d) => [`AAPL,${d},1,2,1,2,10`, `IBM,${d},1,2,1,2,10`])
        .join("\n")}\n`,
    );
    const ctx = () => stepContext(store.db, { baseDir: dir, runDate: "2024-01-02" });
    await fileBars.run!(ctx(), fileBars.params.parse({ path: "bars.csv", source: "csv" }));
    await fileBars.run!(ctx(), fileBars.params.parse({ path: "bars.csv", source: "csv" })); // replaces all
    await write("csv", [bar("IBM", "2024-06-03")]);
    await expectExact();
    expect((await summary())[1]).toEqual(["csv", "IBM", "2023-01-02", "2024-06-03", 301]);

    await cleanupRetention.run!(
      ctx(),
      cleanupRetention.params.parse({ rules: [{ table: "bars_daily", older_than: "200d" }] }),
    );
    await expectExact();
    expect((await summary())[0]?.[2]).toBe("2023-06-16"); // 200 days before 2024-01-02

    await sql.run!(ctx(), sql.params.parse({ query: "DELETE FROM bars_daily WHERE symbol = 'AAPL'" }));
    await expectExact();
    await sql.run!(
      ctx(),
      sql.params.parse({
        query: "UPDATE bars_daily SET symbol = 'IBM2' WHERE date > DATE '2023-12-01'; SELECT 1/0 FROM nope",
      }),
    ).catch(() => undefined); // fails half-way: the first statement is committed
    await expectExact();
    expect((await summary()).map((r) => r[1])).toEqual(["IBM", "IBM2"]);
    expect(mayWriteBars("SELECT max(date) FROM bars_daily")).toBe(false);
    expect(mayWriteBars("insert into BARS_DAILY select * from x")).toBe(true);
  });

  it("is not read when bars were written by other means, until rebuilt", async () => {
    await write("polygon", [bar("AAPL", "2024-01-02")]);
    await store.db.run(
      "INSERT INTO bars_daily (source, symbol, date, close) VALUES ('polygon', 'ZZ', DATE '2024-01-03', 1)",
    );
    expect(await barSymbolsRelation(store.db)).not.toBe(BAR_SYMBOLS_TABLE);
    expect((await findSymbols(store.db, { q: "", limit: 10 })).map((s) => s.symbol)).toEqual(["AAPL", "ZZ"]);
    expect(await barSymbolsDifferences(store.db)).toEqual([
      {
        source: "polygon",
        symbol: "ZZ",
        summary: null,
        actual: { first_date: "2024-01-03", last_date: "2024-01-03", bars: 1 },
      },
    ]);
    await rebuildBarSymbols(store.db);
    await expectExact();
  });
});
