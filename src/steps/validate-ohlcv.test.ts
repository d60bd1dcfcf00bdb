import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type BackendUnderTest,
  type TestBar as Bar,
  describeBackends,
} from "../../tests/helpers/step-backends.js";
import { sessionsBetween } from "../calendar/index.js";
import { duplicatesSql } from "../quality/checks.js";
import type { Store } from "../store/open.js";
import { tempStore } from "../store/testing.js";
import { QUALITY_CHECKS, validateOhlcv } from "./validate-ohlcv.js";

async function appendSplit(
  b: BackendUnderTest,
  source: string,
  symbol: string,
  date: string,
  value: number,
): Promise<void> {
  await b.exec(
    `INSERT INTO corporate_actions (source, symbol, date, kind, value) VALUES ('${source}', '${symbol}', DATE '${date}', 'split', ${value})`,
  );
}

/** Every session from 2024-06-24 to 2024-07-19: holds the 2024-07-03 early close, not the July 4 holiday. */
const SESSIONS = sessionsBetween("2024-06-24", "2024-07-19");
const EARLY_CLOSE = "2024-07-03";

/**
 * A clean series: the close moves every session (never stale), by well under 25%, OHLC consistent;
 * the early close has a smaller range and volume. `close(i)` overrides the close of session i.
 */
function series(
  source: string,
  symbol: string,
  base: number,
  close?: (i: number, date: string) => number,
): Bar[] {
  return SESSIONS.map((date, i) => {
    const c = close?.(i, date) ?? base + (i % 4) * 0.25 + i * 0.1;
    const early = date === EARLY_CLOSE;
    return {
      source,
      symbol,
      date,
      open: c - 0.2,
      high: c + (early ? 0.3 : 1),
      low: c - (early ? 0.4 : 1),
      close: c,
      volume: early ? 400_000 : 1_000_000,
    };
  });
}

function edit(bars: Bar[], date: string, change: Partial<Bar>): Bar[] {
  return bars.map((b) => (b.date === date ? { ...b, ...change } : b));
}

/** The planted data set: one defect of each kind, plus what must not be flagged. */
async function plantDefects(b: BackendUnderTest): Promise<void> {
  const good = series("demo", "GOOD", 100);
  const xsrc = series("demo", "XSRC", 30);
  const dup = series("demo", "DUP", 60);
  await b.insertBars([
    ...good,
    ...edit(series("demo", "NUL", 20), "2024-06-26", { volume: null }),
    // close above high: open 20.6, high 20.7, close 20.8
    ...edit(series("demo", "OHLC", 20), "2024-06-27", { high: 20.7, close: 20.8, open: 20.6, low: 20 }),
    ...edit(series("demo", "NONPOS", 20), "2024-06-28", { low: 0 }),
    ...edit(series("demo", "VOL", 20), "2024-07-01", { volume: -100 }),
    ...dup,
    // The same ticker with a trailing space: the primary key lets it in.
    { ...(dup.find((b) => b.date === "2024-07-01") as Bar), symbol: "DUP " },
    ...series("demo", "GAP", 40).filter((b) => b.date !== "2024-07-10"),
    // five sessions (07-08 .. 07-12) closing at 50
    ...series("demo", "STALE", 48, (i, date) =>
      date >= "2024-07-08" && date <= "2024-07-12" ? 50 : 48 + i * 0.1,
    ),
    // +40% on 07-15, then stays at the new level
    ...series("demo", "JUMP", 100, (i, date) => (date >= "2024-07-15" ? 140 : 100) + (i % 2) * 0.5),
    // a 4:1 split on 07-10, bars not split-adjusted: 400 -> 100
    ...series("demo", "SPLIT", 400, (i, date) => (date >= "2024-07-10" ? 100 : 400) + (i % 2) * 0.5),
    ...xsrc,
    // The reference source: equal closes, but XSRC's on 07-16 is 1% (100 bps) higher.
    ...series("ref", "GOOD", 100),
    ...edit(series("ref", "XSRC", 30), "2024-07-16", {
      close: (xsrc.find((b) => b.date === "2024-07-16")?.close ?? 0) * 1.01,
    }),
  ]);
  await appendSplit(b, "yahoo", "SPLIT", "2024-07-10", 4);
}

const PLANTED = [
  { symbol: "NUL", date: "2024-06-26", check_name: "nulls", severity: "error" },
  { symbol: "OHLC", date: "2024-06-27", check_name: "ohlc_consistency", severity: "error" },
  { symbol: "NONPOS", date: "2024-06-28", check_name: "non_positive_price", severity: "error" },
  { symbol: "VOL", date: "2024-07-01", check_name: "negative_volume", severity: "error" },
  { symbol: "DUP", date: "2024-07-01", check_name: "duplicates", severity: "error" },
  { symbol: "GAP", date: "2024-07-10", check_name: "missing_sessions", severity: "warn" },
  { symbol: "STALE", date: "2024-07-12", check_name: "stale_price", severity: "warn" },
  { symbol: "JUMP", date: "2024-07-15", check_name: "price_jump", severity: "warn" },
  { symbol: "XSRC", date: "2024-07-16", check_name: "cross_source", severity: "warn" },
];

function sortRows<T extends Record<string, unknown>>(rows: T[]): T[] {
  const key = (r: T) => `${String(r.check_name)}|${String(r.symbol)}|${String(r.date)}`;
  return [...rows].sort((a, b) => key(a).localeCompare(key(b)));
}

describeBackends("validate.ohlcv", (b) => {
  async function results(runId = "run-test") {
    const rows = await b.objects(
      `SELECT symbol, CAST(date AS VARCHAR) AS date, check_name, severity FROM quality_results
     WHERE run_id = '${runId}' ORDER BY check_name, symbol, date`,
    );
    return sortRows(rows);
  }

  function run(withParams: Record<string, unknown>, overrides: Parameters<BackendUnderTest["ctx"]>[0] = {}) {
    const ctx = b.ctx({ runDate: "2024-07-19", ...overrides });
    return { ctx, out: validateOhlcv.run!(ctx, validateOhlcv.params.parse(withParams)) };
  }

  const zeros = Object.fromEntries(QUALITY_CHECKS.map((c) => [c, 0]));

  it("finds exactly the planted defects, not the holiday, the split or the early close", async () => {
    await plantDefects(b);
    const { ctx, out } = run({ source: "demo", compare_with: "ref", fail_on: "never" });
    const rowsChecked = SESSIONS.length * 11 - 1 + 1; // 11 symbols, GAP one short, plus "DUP "
    expect(await out).toEqual({
      ...Object.fromEntries(QUALITY_CHECKS.map((c) => [c, 1])),
      errors: 5,
      warnings: 4,
      rows_checked: rowsChecked,
    });
    expect(await results()).toEqual(sortRows(PLANTED));
    const rows = await b.objects(
      "SELECT check_name, message, source, created_at IS NOT NULL AS stamped FROM quality_results",
    );
    const message = (check: string) => rows.find((r) => r.check_name === check)?.message;
    expect(rows.every((r) => r.source === "demo" && r.stamped === true)).toBe(true);
    expect(message("nulls")).toBe("null volume");
    expect(message("ohlc_consistency")).toBe(
      "OHLC inconsistent (close > high): open 20.6, high 20.7, low 20.0, close 20.8",
    );
    expect(message("non_positive_price")).toBe("price <= 0: low 0.0");
    expect(message("negative_volume")).toBe("volume < 0: -100.0");
    expect(message("duplicates")).toMatch(
      /^2 rows for one \(source, symbol, date\) \(symbol spelled "DUP ", "DUP"\): closes 60\.75, 60\.75$/,
    );
    expect(message("missing_sessions")).toBe(
      "no bar for NYSE session 2024-07-10 (bars from 2024-06-24 to 2024-07-19)",
    );
    expect(message("stale_price")).toBe(
      "close 50.0 unchanged for 5 sessions, 2024-07-08 to 2024-07-12 (stale_sessions 5)",
    );
    expect(message("price_jump")).toMatch(
      /^close 140(\.0)? vs 100\.5 on 2024-07-12: \+39\.3\d?% \(max_jump_pct 25\)$/,
    );
    // basis points of compare_with's close: 32.25 against 32.5725 is 99 bps
    expect(message("cross_source")).toBe("close 32.25 vs 32.5725 in ref: 99.0 bps (tolerance_bps 50)");
    expect(ctx.logs).toEqual([
      {
        level: "error",
        message: `validate.ohlcv: checked ${rowsChecked} bars of source demo: 5 error(s), 4 warning(s) (${QUALITY_CHECKS.map((c) => `${c} 1`).join(", ")})`,
      },
    ]);
  });

  it("treats a run of stale_sessions - 1 equal closes as fine, and honours stale_sessions", async () => {
    await plantDefects(b);
    expect((await run({ source: "demo", symbols: ["STALE"], stale_sessions: 6 }).out).stale_price).toBe(0);
    expect((await run({ source: "demo", symbols: ["STALE"], stale_sessions: 2 }).out).stale_price).toBe(1);
  });

  it("skips checks that are off, uses the given severities, and skips cross_source without compare_with", async () => {
    await plantDefects(b);
    const { out } = run({
      source: "demo",
      checks: { nulls: "off", ohlc_consistency: "warn", missing_sessions: "error", stale_price: "off" },
      fail_on: "never",
    });
    expect(await out).toMatchObject({
      nulls: 0,
      ohlc_consistency: 1,
      missing_sessions: 1,
      stale_price: 0,
      cross_source: 0,
      errors: 4,
      warnings: 2,
    });
    const expected = PLANTED.filter(
      (r) => !["nulls", "stale_price", "cross_source"].includes(r.check_name),
    ).map((r) =>
      r.check_name === "ohlc_consistency"
        ? { ...r, severity: "warn" }
        : r.check_name === "missing_sessions"
          ? { ...r, severity: "error" }
          : r,
    );
    expect(await results()).toEqual(sortRows(expected));
  });

  it("fails on error findings by default, naming counts per check and examples, after recording them", async () => {
    await plantDefects(b);
    await expect(run({ source: "demo" }).out).rejects.toThrow(
      /^validate\.ohlcv: 5 error finding\(s\) in source demo \(duplicates: 1, negative_volume: 1, non_positive_price: 1, nulls: 1, ohlc_consistency: 1\); e\.g\. duplicates DUP 2024-07-01 .*nulls NUL 2024-06-26 \(null volume\)/,
    );
    expect((await results()).length).toBe(8);
  });

  it("fail_on warn fails on warnings only too; fail_on error and never do not", async () => {
    await plantDefects(b);
    const onlyWarnings = { source: "demo", symbols: ["GAP", "JUMP"] };
    await expect(run({ ...onlyWarnings, fail_on: "warn" }).out).rejects.toThrow(
      /^validate\.ohlcv: 2 error or warn finding\(s\) in source demo \(missing_sessions: 1, price_jump: 1\); e\.g\. missing_sessions GAP 2024-07-10/,
    );
    expect(await run({ ...onlyWarnings, fail_on: "error" }).out).toMatchObject({ errors: 0, warnings: 2 });
    await expect(run({ source: "demo", fail_on: "never" }).out).resolves.toMatchObject({ errors: 5 });
    const clean = await run({ source: "demo", symbols: ["GOOD", "SPLIT"], fail_on: "warn" }).out;
    expect(clean).toEqual({ ...zeros, errors: 0, warnings: 0, rows_checked: SESSIONS.length * 2 });
  });

  it("filters by symbols and dates; checks that look back use the history before the range", async () => {
    await plantDefects(b);
    const found = async (params: Record<string, unknown>) => {
      await b.exec("DELETE FROM quality_results");
      await run({ source: "demo", compare_with: "ref", fail_on: "never", ...params }).out;
      return (await results()).map((r) => `${String(r.check_name)} ${String(r.symbol)} ${String(r.date)}`);
    };
    expect(await found({ symbols: ["GAP", "STALE", "NUL"] })).toEqual([
      "missing_sessions GAP 2024-07-10",
      "nulls NUL 2024-06-26",
      "stale_price STALE 2024-07-12",
    ]);
    // From 07-11: GAP's first checked bar is after its gap; STALE's run began before but ends inside.
    expect(await found({ start: "2024-07-11" })).toEqual([
      "cross_source XSRC 2024-07-16",
      "price_jump JUMP 2024-07-15",
      "stale_price STALE 2024-07-12",
    ]);
    expect(await found({ end: "2024-06-28" })).toEqual([
      "non_positive_price NONPOS 2024-06-28",
      "nulls NUL 2024-06-26",
      "ohlc_consistency OHLC 2024-06-27",
    ]);
    expect(
      await found({ start: "2024-07-01", end: "2024-07-11", symbols: ["DUP", "GAP", "VOL", "JUMP"] }),
    ).toEqual([
      "duplicates DUP 2024-07-01",
      "missing_sessions GAP 2024-07-10",
      "negative_volume VOL 2024-07-01",
    ]);
    // days_back counts NYSE sessions back from the run date: 07-15 .. 07-19; JUMP's previous bar is 07-12.
    expect(await found({ days_back: 5 })).toEqual([
      "cross_source XSRC 2024-07-16",
      "price_jump JUMP 2024-07-15",
    ]);
    // Run date on a Sunday: the 5 sessions ending Friday 07-19.
    const { out } = run({ source: "demo", symbols: ["GOOD"], days_back: 5 }, { runDate: "2024-07-21" });
    expect((await out).rows_checked).toBe(5);
  });

  it("compares closes with compare_with within tolerance_bps", async () => {
    await plantDefects(b);
    const check = async (tolerance: number) =>
      (
        await run({
          source: "demo",
          symbols: ["XSRC", "GOOD"],
          compare_with: "ref",
          tolerance_bps: tolerance,
        }).out
      ).cross_source;
    expect(await check(50)).toBe(1);
    expect(await check(99)).toBe(1);
    expect(await check(101)).toBe(0);
    // The other way round: ref checked against demo.
    expect((await run({ source: "ref", compare_with: "demo" }).out).cross_source).toBe(1);
    expect(() => validateOhlcv.params.parse({ source: "demo", compare_with: "demo" })).toThrow(
      /another source/,
    );
  });

  it("lets a split explain a jump in either ratio direction, not a jump the split does not explain", async () => {
    const down = (i: number, date: string) => (date >= "2024-07-10" ? 100 : 400) + (i % 2) * 0.5;
    const up = (i: number, date: string) => (date >= "2024-07-10" ? 200 : 100) + (i % 2) * 0.5;
    await b.insertBars([
      ...series("demo", "INV", 400, down), // ratio stored inverted (0.25 for 4:1)
      ...series("demo", "REV", 100, up), // reverse split 1:2, value 0.5
      ...series("demo", "WRONG", 400, down), // a 2:1 split cannot explain a 75% drop
      ...series("demo", "ELSEWHEN", 400, down), // the split is on another date
      ...series("demo", "ADJ", 100), // split-adjusted bars: no move at all on the split date
    ]);
    await appendSplit(b, "polygon", "INV", "2024-07-10", 0.25);
    await appendSplit(b, "demo", "REV", "2024-07-10", 0.5);
    await appendSplit(b, "demo", "WRONG", "2024-07-10", 2);
    await appendSplit(b, "demo", "ELSEWHEN", "2024-07-09", 4);
    await appendSplit(b, "demo", "ADJ", "2024-07-10", 4);
    await run({ source: "demo" }).out;
    expect(
      (await results()).map((r) => `${String(r.check_name)} ${String(r.symbol)} ${String(r.date)}`),
    ).toEqual(["price_jump ELSEWHEN 2024-07-10", "price_jump WRONG 2024-07-10"]);
    const [wrong] = await b.objects("SELECT message FROM quality_results WHERE symbol = 'WRONG'");
    expect(wrong?.message).toMatch(/not explained by the split \(2\.0\) that day$/);
  });

  it("replaces its own findings when re-run in the same run, and keeps other runs' and sources'", async () => {
    await plantDefects(b);
    const params = { source: "demo", compare_with: "ref", fail_on: "never" };
    await run(params).out;
    await run({ source: "ref", compare_with: "demo", fail_on: "never" }).out;
    await run(params).out;
    expect(await results()).toEqual(sortRows([...PLANTED, { ...PLANTED.at(-1)! }]));
    const count = async () =>
      Number((await b.objects("SELECT count(*)::INTEGER AS n FROM quality_results"))[0]?.n);
    expect(await count()).toBe(10); // 9 of demo, 1 of ref
    await run(params, { runId: "run-other" }).out;
    expect(await count()).toBe(19);
    expect(await results("run-other")).toEqual(sortRows(PLANTED));
    // A narrower re-run replaces only what it covers.
    await run({ ...params, symbols: ["GAP"] }).out;
    expect(await count()).toBe(19);
  });

  it("gives zeros and says so when the source has no bars", async () => {
    await plantDefects(b);
    const { ctx, out } = run({ source: "nothing", compare_with: "demo" });
    expect(await out).toEqual({ ...zeros, errors: 0, warnings: 0, rows_checked: 0 });
    expect(ctx.logs).toEqual([
      { level: "warn", message: "validate.ohlcv: no bars_daily rows for source nothing: nothing to check" },
    ]);
    const dated = run({ source: "demo", start: "2025-01-01" });
    expect((await dated.out).rows_checked).toBe(0);
    expect(dated.ctx.logs[0]?.message).toBe(
      "validate.ohlcv: no bars_daily rows for source demo (dates 2025-01-01 to (last)): nothing to check",
    );
    expect(await results()).toEqual([]);
  });

  it("stops when its signal is aborted", async () => {
    await plantDefects(b);
    const controller = new AbortController();
    controller.abort(new Error("task timed out"));
    await expect(run({ source: "demo" }, { signal: controller.signal }).out).rejects.toThrow(
      "task timed out",
    );
    expect(await results()).toEqual([]);
  });
});

describe("duplicatesSql", () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
  });
  afterEach(() => cleanup());

  it("finds exact repeats of (source, symbol, date) over a relation without the primary key", async () => {
    await store.db.run(`CREATE TEMP TABLE staging AS
      SELECT * FROM (VALUES ('demo', 'AAPL', DATE '2024-07-01', 10.0, true), ('demo', 'AAPL', DATE '2024-07-01', 11.0, true),
        ('demo', 'AAPL', DATE '2024-07-02', 10.0, true), ('other', 'AAPL', DATE '2024-07-02', 10.0, true),
        ('demo', 'MSFT', DATE '2024-07-01', 5.0, false), ('demo', 'MSFT', DATE '2024-07-01', 5.0, false))
        AS t(source, symbol, date, close, in_range)`);
    const rows = (
      await store.db.runAndReadAll(
        `SELECT source, symbol, CAST(date AS VARCHAR) AS date, message FROM (${duplicatesSql("staging")})`,
      )
    ).getRowObjectsJson();
    expect(rows).toEqual([
      {
        source: "demo",
        symbol: "AAPL",
        date: "2024-07-01",
        message: "2 rows for one (source, symbol, date): closes 10.0, 11.0",
      },
    ]);
  });
});
