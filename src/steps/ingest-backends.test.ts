/**
 * The ingestion steps on both backends, against 127.0.0.1 servers replaying recorded vendor
 * responses and injecting faults: on a DuckDB file and on PostgreSQL (the engine's StepContext for
 * it: `pg` the pool, sinks writing there, `db` the scratch DuckDB) each step returns the same
 * outputs, fails the same symbols with the same messages, and leaves the same rows in bars_daily,
 * corporate_actions and bar_symbols (exact), a second run changing nothing.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { pgDescribe } from "../../tests/helpers/postgres.js";
import { type FaultServer, startFaultServer } from "../../tests/servers/fault-server.js";
import {
  POLYGON_FAIL,
  POLYGON_FAULTS_FROM,
  POLYGON_FAULTS_TO,
  POLYGON_RECOVER,
  scriptPolygonFaults,
} from "../../tests/servers/polygon-faults.js";
import { yahooFixtureBody } from "../sources/yahoo/testing.js";
import { type TestBackend, testBackends } from "../store/pg/testing.js";
import { polygonDailyBars } from "./polygon-daily-bars.js";
import { polygonGroupedDaily } from "./polygon-grouped-daily.js";
import { yahooDailyBars } from "./yahoo-daily-bars.js";

const KEY = "pk_BACKENDS_s3cr3t_0a1b2c3d4e";
const polygonFixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../tests/fixtures/polygon/${name}`, import.meta.url), "utf8"));

const BARS = `SELECT source, symbol, date::text AS date, open, high, low, close, volume, vwap,
  trades::text AS trades, adj_close FROM bars_daily ORDER BY source, symbol, date`;
const ACTIONS = `SELECT source, symbol, date::text AS date, kind, value, currency FROM corporate_actions
  ORDER BY source, symbol, date, kind`;
const SUMMARY = `SELECT source, symbol, first_date::text AS first_date, last_date::text AS last_date,
  bars::integer AS bars FROM bar_symbols ORDER BY source, symbol`;

/** What a scenario ends with on one backend. */
interface Outcome {
  outputs: unknown[];
  bars: Record<string, unknown>[];
  actions: Record<string, unknown>[];
  summary: Record<string, unknown>[];
}

/** A step's outputs, or its error's message with the server's port made neutral. */
async function settle(step: Promise<Record<string, unknown>>): Promise<unknown> {
  try {
    return await step;
  } catch (err) {
    return { error: (err as Error).message.replaceAll(/127\.0\.0\.1:\d+/g, "127.0.0.1:PORT") };
  }
}

pgDescribe("ingestion steps on DuckDB and PostgreSQL", (pg) => {
  let backends: TestBackend[];
  beforeAll(async () => {
    backends = await testBackends(pg.url());
  });
  afterAll(async () => {
    for (const backend of backends ?? []) await backend.close();
  });

  /** Runs `scenario` on each backend (a fresh fault server each), checks bar_symbols, returns both outcomes. */
  async function onBoth(
    scenario: (backend: TestBackend, server: FaultServer) => Promise<unknown[]>,
  ): Promise<[Outcome, Outcome]> {
    const outcomes: Outcome[] = [];
    for (const backend of backends) {
      await backend.empty();
      const server = await startFaultServer();
      try {
        const outputs = await scenario(backend, server);
        for (const request of server.requests) expect(request.url).not.toContain(KEY);
        expect(await backend.differences(), backend.name).toEqual([]);
        outcomes.push({
          outputs,
          bars: await backend.rows(BARS),
          actions: await backend.rows(ACTIONS),
          summary: await backend.rows(SUMMARY),
        });
      } finally {
        await server.close();
      }
    }
    return outcomes as [Outcome, Outcome];
  }

  it("polygon.daily_bars through every fault: the same symbols land whole, the same fail, twice", async () => {
    const [onDuck, onPg] = await onBoth(async (backend, server) => {
      scriptPolygonFaults(server, KEY);
      const params = polygonDailyBars.params.parse({
        symbols: [...POLYGON_RECOVER, ...POLYGON_FAIL],
        start: POLYGON_FAULTS_FROM,
        end: POLYGON_FAULTS_TO,
        base_url: server.origin,
        rate_limit: 0,
        concurrency: 4,
        timeout: "1s",
        max_retries: 2,
      });
      const outputs: unknown[] = [];
      for (let i = 0; i < 2; i++) {
        const ctx = await backend.context({ env: { POLYGON_API_KEY: KEY }, runDate: POLYGON_FAULTS_TO });
        outputs.push(await settle(polygonDailyBars.run!(ctx, params)));
        expect(ctx.logs.map((l) => l.message).join("\n")).not.toContain(KEY);
      }
      return outputs;
    });
    for (const output of onDuck.outputs) {
      const error = (output as { error: string }).error;
      expect(error).toMatch(/^6 of 12 symbols failed/);
      for (const symbol of POLYGON_FAIL) expect(error).toContain(`${symbol}:`);
      expect(error).not.toContain(KEY);
    }
    expect(onDuck.bars.map((r) => r.symbol)).toEqual(
      [...POLYGON_RECOVER].sort().flatMap((symbol) => [symbol, symbol, symbol]),
    );
    expect(onDuck.summary).toEqual(
      [...POLYGON_RECOVER].sort().map((symbol) => ({
        source: "polygon",
        symbol,
        first_date: POLYGON_FAULTS_FROM,
        last_date: POLYGON_FAULTS_TO,
        bars: 3,
      })),
    );
    expect(onPg).toEqual(onDuck);
  }, 30_000);

  it("polygon.daily_bars with corporate actions: the same bars, splits and dividends", async () => {
    const aggs = "/v2/aggs/ticker/AAPL/range/1/day/2005-04-01/2005-04-04";
    const splits = "/v3/reference/splits";
    const [onDuck, onPg] = await onBoth(async (backend, server) => {
      server.handle(aggs, () => ({
        kind: "json",
        body: polygonFixture("aggs-range-AAPL-1-day-2005-04-01-2005-04-04.json"),
      }));
      // Two pages: the example's, its next_url made ours (the key in its query, as Polygon's), then none.
      const page1 = polygonFixture("v3-reference-splits-example.json") as Record<string, unknown>;
      server.queue(
        splits,
        { kind: "json", body: { ...page1, next_url: `${server.origin}${splits}?cursor=p2&apiKey=${KEY}` } },
        { kind: "json", body: { status: "OK", results: null } },
      );
      server.handle("/v3/reference/dividends", () => ({
        kind: "json",
        body: polygonFixture("stocks-v1-dividends-example.json"),
      }));
      const params = polygonDailyBars.params.parse({
        symbols: ["AAPL"],
        start: "2005-04-01",
        end: "2005-04-04",
        base_url: server.origin,
        rate_limit: 0,
        corporate_actions: true,
      });
      const ctx = await backend.context({ env: { POLYGON_API_KEY: KEY }, runDate: "2005-04-04" });
      return [await settle(polygonDailyBars.run!(ctx, params))];
    });
    expect(onDuck.outputs).toEqual([
      { bars: 2, symbols: 1, empty_symbols: [], corporate_actions: 3, requests: 4 },
    ]);
    expect(onDuck.bars[0]).toMatchObject({
      symbol: "AAPL",
      date: "2005-04-01",
      close: 1.4604,
      trades: "82132",
    });
    expect(onDuck.actions.map((a) => `${a.date} ${a.kind} ${a.value}`)).toEqual([
      "2005-02-28 split 2",
      "2020-08-31 split 4",
      "2025-08-11 dividend 0.26",
    ]);
    expect(onPg).toEqual(onDuck);
  });

  it("yahoo.daily_bars: the same bars and actions, a 404 and a truncated body landing nothing", async () => {
    const [onDuck, onPg] = await onBoth(async (backend, server) => {
      server.handle("/v8/finance/chart/AAPL", () => ({
        kind: "json",
        body: yahooFixtureBody("chart-AAPL-2020-08-31-to-2020-11-07.json"),
      }));
      server.handle("/v8/finance/chart/EURUSD%3DX", () => ({
        kind: "json",
        body: yahooFixtureBody("chart-EURUSD=X-2020-01-01-to-2020-01-03.json"),
      }));
      server.handle("/v8/finance/chart/GONE", () => ({
        kind: "json",
        status: 404,
        body: { chart: { result: null, error: { code: "Not Found", description: "No data found" } } },
      }));
      server.handle("/v8/finance/chart/CUT", () => ({
        kind: "truncated",
        body: yahooFixtureBody("chart-AAPL-2020-08-31-to-2020-11-07.json"),
        keepChars: 5000,
      }));
      const params = yahooDailyBars.params.parse({
        symbols: ["AAPL", "EURUSD=X", "GONE", "CUT"],
        start: "2020-08-31",
        end: "2020-11-06",
        base_url: server.origin,
        rate_limit: 0,
        max_retries: 0,
      });
      const outputs: unknown[] = [];
      for (let i = 0; i < 2; i++) {
        const ctx = await backend.context({ runDate: "2020-11-09" });
        outputs.push(await settle(yahooDailyBars.run!(ctx, params)));
      }
      return outputs;
    });
    expect((onDuck.outputs[0] as { error: string }).error).toMatch(/GONE: HTTP 404.*CUT: truncated/s);
    expect(onDuck.bars.filter((r) => r.symbol === "AAPL")).toHaveLength(49);
    expect(onDuck.bars.some((r) => r.symbol === "GONE" || r.symbol === "CUT")).toBe(false);
    expect(onDuck.actions).toEqual([
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
    expect(onPg).toEqual(onDuck);
  });

  it("polygon.grouped_daily: the same sessions land, the truncated one fails alone", async () => {
    const grouped = "/v2/aggs/grouped/locale/us/market/stocks";
    const [onDuck, onPg] = await onBoth(async (backend, server) => {
      server.handle(`${grouped}/2020-10-13`, () => ({
        kind: "json",
        body: polygonFixture("grouped-daily-example.json"),
      }));
      server.handle(`${grouped}/2020-10-14`, () => ({ kind: "truncated" }));
      server.handle(`${grouped}/2020-10-15`, () => ({
        kind: "json",
        body: polygonFixture("grouped-daily-example.json"),
      }));
      const params = polygonGroupedDaily.params.parse({
        start: "2020-10-13",
        end: "2020-10-15",
        base_url: server.origin,
        rate_limit: 0,
        max_retries: 0,
      });
      const ctx = await backend.context({ env: { POLYGON_API_KEY: KEY }, runDate: "2020-10-16" });
      return [await settle(polygonGroupedDaily.run!(ctx, params))];
    });
    expect((onDuck.outputs[0] as { error: string }).error).toMatch(/2020-10-14: truncated or invalid JSON/);
    expect(onDuck.bars.map((r) => `${r.symbol} ${r.date}`)).toEqual([
      "KIMpL 2020-10-13",
      "KIMpL 2020-10-15",
      "TANH 2020-10-13",
      "TANH 2020-10-15",
      "VSAT 2020-10-13",
      "VSAT 2020-10-15",
    ]);
    expect(onPg).toEqual(onDuck);
  });
});
