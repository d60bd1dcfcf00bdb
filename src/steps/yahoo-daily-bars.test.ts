import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FaultServer, startFaultServer } from "../../tests/servers/fault-server.js";
import { yahooFixtureBody } from "../sources/yahoo/testing.js";
import type { Store } from "../store/open.js";
import { stepContext, tempStore } from "../store/testing.js";
import { yahooDailyBars } from "./yahoo-daily-bars.js";

let store: Store;
let cleanup: () => Promise<void>;
let server: FaultServer;
beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
  server = await startFaultServer();
});
afterEach(async () => {
  await server.close();
  await cleanup();
});

const AAPL = "chart-AAPL-2020-08-31-to-2020-11-07.json";
const NVDA = "historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json";
const NOT_FOUND = {
  chart: { result: null, error: { code: "Not Found", description: "No data found, symbol may be delisted" } },
};

function run(withParams: Record<string, unknown>) {
  const ctx = stepContext(store.db, { runDate: "2020-11-09" });
  const params = yahooDailyBars.params.parse({ base_url: server.origin, rate_limit: 0, ...withParams });
  return { ctx, result: yahooDailyBars.run!(ctx, params) };
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await store.db.runAndReadAll(sql)).getRowObjectsJson();
}

const bars = () =>
  rows(
    "SELECT source, symbol, CAST(date AS VARCHAR) AS date, open, high, low, close, volume, vwap, trades, adj_close FROM bars_daily ORDER BY symbol, date",
  );
const actions = () =>
  rows(
    "SELECT source, symbol, CAST(date AS VARCHAR) AS date, kind, value, currency FROM corporate_actions ORDER BY symbol, date, kind",
  );

describe("yahoo.daily_bars against a fake Yahoo", () => {
  it("writes bars and corporate actions, requesting the chart API with period1/period2; idempotent", async () => {
    const aapl = yahooFixtureBody(AAPL);
    server.handle("/v8/finance/chart/AAPL", () => ({ kind: "json", body: aapl }));
    server.handle("/v8/finance/chart/EURUSD%3DX", () => ({
      kind: "json",
      body: yahooFixtureBody("chart-EURUSD=X-2020-01-01-to-2020-01-03.json"),
    }));
    const params = { symbols: ["AAPL", "EURUSD=X"], start: "2020-08-31", end: "2020-11-06" };
    const first = await run(params).result;
    expect(first).toEqual({ bars: 49 + 3, symbols: 2, nulls_skipped: 0, corporate_actions: 2, requests: 2 });
    const url = server.requestsTo("/v8/finance/chart/AAPL")[0]?.url;
    expect(url).toBe(
      "/v8/finance/chart/AAPL?period1=1598832000&period2=1604707200&interval=1d&events=div,splits",
    );
    expect(server.requestsTo("/v8/finance/chart/EURUSD%3DX")).toHaveLength(1);

    const stored = await bars();
    const aaplRows = stored.filter((r) => r.symbol === "AAPL");
    expect(aaplRows).toHaveLength(49);
    expect(aaplRows[0]).toEqual({
      source: "yahoo",
      symbol: "AAPL",
      date: "2020-08-31",
      open: 127.58000183105469,
      high: 131,
      low: 126,
      close: 129.0399932861328,
      volume: 225702700,
      vwap: null,
      trades: null,
      adj_close: 125.82673645019531,
    });
    expect(await actions()).toEqual([
      { source: "yahoo", symbol: "AAPL", date: "2020-08-31", kind: "split", value: 4, currency: null },
      {
        source: "yahoo",
        symbol: "AAPL",
        date: "2020-11-06",
        kind: "dividend",
        value: 0.205,
        currency: "USD",
      },
    ]);

    const second = await run(params).result;
    expect(second).toEqual(first);
    expect(await bars()).toEqual(stored);
    expect(await actions()).toHaveLength(2);
  });

  it("EURUSD=X: URL-encoded symbol, the bar at period2 not stored", async () => {
    server.handle("/v8/finance/chart/EURUSD%3DX", () => ({
      kind: "json",
      body: yahooFixtureBody("chart-EURUSD=X-2020-01-01-to-2020-01-03.json"),
    }));
    const out = await run({ symbols: ["EURUSD=X"], start: "2020-01-01", end: "2020-01-02" }).result;
    expect(out).toMatchObject({ bars: 2, symbols: 1 });
    expect(server.requestsTo("/v8/finance/chart/EURUSD%3DX")[0]?.url).toBe(
      "/v8/finance/chart/EURUSD%3DX?period1=1577836800&period2=1578009600&interval=1d&events=div,splits",
    );
    expect((await bars()).map((r) => [r.symbol, r.date])).toEqual([
      ["EURUSD=X", "2020-01-01"],
      ["EURUSD=X", "2020-01-02"],
    ]);
  });

  it("corporate_actions: false writes bars only", async () => {
    server.handle("/v8/finance/chart/NVDA", () => ({ kind: "json", body: yahooFixtureBody(NVDA) }));
    const out = await run({
      symbols: ["NVDA"],
      start: "2021-02-01",
      end: "2022-01-28",
      corporate_actions: false,
    }).result;
    expect(out).toMatchObject({ bars: 252, corporate_actions: 0 });
    expect(await actions()).toEqual([]);
  });

  it("days_back counts NYSE sessions back from the run date", async () => {
    server.handle("/v8/finance/chart/AAPL", () => ({ kind: "json", body: yahooFixtureBody(AAPL) }));
    // run date 2020-11-09 (Monday): 5 sessions = 2020-11-03 .. 2020-11-09.
    await run({ symbols: ["AAPL"], days_back: 5 }).result;
    expect(server.requestsTo("/v8/finance/chart/AAPL")[0]?.url).toBe(
      `/v8/finance/chart/AAPL?period1=${Date.parse("2020-11-03T00:00:00Z") / 1000}&period2=${Date.parse("2020-11-10T00:00:00Z") / 1000}&interval=1d&events=div,splits`,
    );
  });

  it("retries a 500, logging a warning, then succeeds", async () => {
    server.queue(
      "/v8/finance/chart/AAPL",
      { kind: "status", status: 500, body: "oops" },
      { kind: "json", body: yahooFixtureBody(AAPL) },
    );
    const { ctx, result } = run({
      symbols: ["AAPL"],
      start: "2020-08-31",
      end: "2020-11-06",
      max_retries: 2,
    });
    expect(await result).toMatchObject({ bars: 49, requests: 2 });
    expect(
      ctx.logs.some(
        (l) => l.level === "warn" && /AAPL: HTTP 500 from GET \S+; retry 1\/2 in \d+ ms/.test(l.message),
      ),
    ).toBe(true);
  });

  it("a 404 fails with Yahoo's description, the symbol and the URL, after the other symbols are stored", async () => {
    server.queue("/v8/finance/chart/GONE", { kind: "json", status: 404, body: NOT_FOUND });
    server.handle("/v8/finance/chart/AAPL", () => ({ kind: "json", body: yahooFixtureBody(AAPL) }));
    const { result } = run({ symbols: ["GONE", "AAPL"], start: "2020-08-31", end: "2020-11-06" });
    await expect(result).rejects.toThrow(
      /GONE: HTTP 404 from GET http:\/\/127\.0\.0\.1:\d+\/v8\/finance\/chart\/GONE\?period1=.*No data found, symbol may be delisted/,
    );
    expect(server.requestsTo("/v8/finance/chart/GONE")).toHaveLength(1);
    expect((await bars()).map((r) => r.symbol)).toEqual(Array(49).fill("AAPL"));
  });

  it("a chart.error in a 200 body fails naming the symbol and URL", async () => {
    server.queue("/v8/finance/chart/GONE", { kind: "json", body: NOT_FOUND });
    await expect(run({ symbols: ["GONE"], start: "2020-08-31" }).result).rejects.toThrow(
      /GONE: Yahoo chart error: No data found, symbol may be delisted \(GET http:\/\/127\.0\.0\.1:\d+\/v8\/finance\/chart\/GONE\?/,
    );
  });

  it("a truncated body stores nothing of that symbol", async () => {
    server.queue("/v8/finance/chart/AAPL", {
      kind: "truncated",
      body: yahooFixtureBody(AAPL),
      keepChars: 5000,
    });
    server.handle("/v8/finance/chart/NVDA", () => ({ kind: "json", body: yahooFixtureBody(NVDA) }));
    const { result } = run({ symbols: ["AAPL", "NVDA"], start: "2021-02-01", end: "2022-01-28" });
    await expect(result).rejects.toThrow(
      /AAPL: truncated or invalid JSON .*\/v8\/finance\/chart\/AAPL\?period1=/,
    );
    const stored = await bars();
    expect(stored.filter((r) => r.symbol === "AAPL")).toEqual([]);
    expect(stored.filter((r) => r.symbol === "NVDA")).toHaveLength(252);
  });

  it("zero bars (holiday range) is not an error", async () => {
    server.handle("/v8/finance/chart/LUCYW", () => ({
      kind: "json",
      body: yahooFixtureBody("chart-LUCYW-null-currency.json"),
    }));
    const out = await run({ symbols: ["LUCYW"], start: "2024-01-01", end: "2024-01-01" }).result;
    expect(out).toEqual({ bars: 0, symbols: 0, nulls_skipped: 0, corporate_actions: 0, requests: 1 });
  });
});
