import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FaultServer, startFaultServer } from "../../tests/servers/fault-server.js";
import type { Store } from "../store/open.js";
import { stepContext, tempStore } from "../store/testing.js";
import { polygonDailyBars } from "./polygon-daily-bars.js";

const KEY = "pk_TEST_s3cr3t_Key_0123456789";
const AAPL_PATH = "/v2/aggs/ticker/AAPL/range/1/day/2005-04-01/2005-04-04";
const MSFT_PATH = "/v2/aggs/ticker/MSFT/range/1/day/2005-04-01/2005-04-04";
const SPLITS = "/v3/reference/splits";
const DIVIDENDS = "/v3/reference/dividends";
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../tests/fixtures/polygon/${name}`, import.meta.url), "utf8"));

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

function context(env: Record<string, string> = { POLYGON_API_KEY: KEY }) {
  return stepContext(store.db, { env, runDate: "2005-04-04" });
}

function params(extra: Record<string, unknown> = {}) {
  return polygonDailyBars.params.parse({
    symbols: ["AAPL"],
    start: "2005-04-01",
    end: "2005-04-04",
    base_url: server.origin,
    rate_limit: 0,
    max_retries: 2,
    timeout: "5s",
    ...extra,
  });
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await store.db.runAndReadAll(sql)).getRowObjectsJson();
}

const allBars = () =>
  rows(
    "SELECT source, symbol, CAST(date AS VARCHAR) AS date, open, high, low, close, volume, vwap, trades, adj_close FROM bars_daily ORDER BY symbol, date",
  );

const allActions = () =>
  rows(
    "SELECT source, symbol, CAST(date AS VARCHAR) AS date, kind, value, currency FROM corporate_actions ORDER BY symbol, date, kind",
  );

async function actionsHash(): Promise<string> {
  const [row] = await rows(`SELECT md5(coalesce(string_agg(concat_ws('|', source, symbol, date, kind, value,
    currency), ';' ORDER BY source, symbol, date, kind), '')) AS h FROM corporate_actions`);
  return String(row?.h);
}

async function tableHash(): Promise<string> {
  const [row] =
    await rows(`SELECT md5(coalesce(string_agg(concat_ws('|', source, symbol, date, open, high, low,
    close, volume, vwap, trades, adj_close), ';' ORDER BY source, symbol, date), '')) AS h FROM bars_daily`);
  return String(row?.h);
}

function bar(t: number, c: number) {
  return { t, o: c, h: c + 1, l: c - 1, c, v: 1000, vw: c, n: 10 };
}

describe("polygon.daily_bars", () => {
  it("writes the AAPL fixture with New York dates and the right request", async () => {
    server.queue(AAPL_PATH, {
      kind: "json",
      body: fixture("aggs-range-AAPL-1-day-2005-04-01-2005-04-04.json"),
    });
    const ctx = context();
    const out = await polygonDailyBars.run!(ctx, params());
    expect(out).toEqual({ bars: 2, symbols: 1, empty_symbols: [], corporate_actions: 0, requests: 1 });
    expect(await allBars()).toEqual([
      {
        source: "polygon",
        symbol: "AAPL",
        date: "2005-04-01",
        open: 1.5032,
        high: 1.5064,
        low: 1.4489,
        close: 1.4604,
        volume: 642646396,
        vwap: 1.469,
        trades: "82132",
        adj_close: null,
      },
      expect.objectContaining({ date: "2005-04-04", close: 1.4675, trades: "65543" }),
    ]);
    const [req] = server.requests;
    expect(req?.url).toBe(`${AAPL_PATH}?adjusted=true&sort=asc&limit=50000`);
    expect(req?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it("follows next_url with the key in the header only, all pages in one symbol", async () => {
    const page1 = fixture("aggs-range-example.json") as Record<string, unknown>;
    server.queue(AAPL_PATH, {
      kind: "json",
      body: {
        ...page1,
        next_url: `${server.origin}/v2/aggs/ticker/AAPL/range/1/day/1578114000000/2020-01-10?cursor=abc`,
      },
    });
    server.queue("/v2/aggs/ticker/AAPL/range/1/day/1578114000000/2020-01-10", {
      kind: "json",
      body: { status: "OK", results: [bar(1578286800000, 75), bar(1578373200000, 76)] },
    });
    const ctx = context();
    const out = await polygonDailyBars.run!(ctx, params({ limit: 2 }));
    expect(out).toMatchObject({ bars: 4, symbols: 1, requests: 2 });
    expect((await allBars()).map((r) => r.date)).toEqual([
      "2020-01-02",
      "2020-01-03",
      "2020-01-06",
      "2020-01-07",
    ]);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]?.url).toBe(
      "/v2/aggs/ticker/AAPL/range/1/day/1578114000000/2020-01-10?cursor=abc",
    );
    for (const req of server.requests) {
      expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(req.url).not.toContain(KEY);
    }
  });

  it("strips an apiKey that a next_url carries", async () => {
    server.queue(AAPL_PATH, {
      kind: "json",
      body: { results: [bar(1112331600000, 1)], next_url: `${server.origin}/page2?cursor=x&apiKey=${KEY}` },
    });
    server.queue("/page2", { kind: "json", body: { results: [bar(1112587200000, 2)] } });
    await polygonDailyBars.run!(context(), params());
    expect(server.requests[1]?.url).toBe("/page2?cursor=x");
  });

  it("reports results: null as an empty symbol", async () => {
    server.queue(AAPL_PATH, { kind: "json", body: { status: "OK", results: null, resultsCount: 0 } });
    server.queue("/v2/aggs/ticker/MSFT/range/1/day/2005-04-01/2005-04-04", {
      kind: "json",
      body: { results: [bar(1112331600000, 40)] },
    });
    const out = await polygonDailyBars.run!(context(), params({ symbols: ["AAPL", "MSFT"] }));
    expect(out).toEqual({ bars: 1, symbols: 1, empty_symbols: ["AAPL"], corporate_actions: 0, requests: 2 });
  });

  it("retries a 429 with Retry-After 0, logging a warning", async () => {
    server.queue(
      AAPL_PATH,
      {
        kind: "status",
        status: 429,
        headers: { "retry-after": "0" },
        body: '{"status":"ERROR","error":"slow down"}',
      },
      { kind: "json", body: fixture("aggs-range-AAPL-1-day-2005-04-01-2005-04-04.json") },
    );
    const ctx = context();
    const out = await polygonDailyBars.run!(ctx, params());
    expect(out).toMatchObject({ bars: 2, requests: 2 });
    expect(ctx.logs.some((l) => l.level === "warn" && /AAPL: HTTP 429/.test(l.message))).toBe(true);
  });

  it("fails at once on 403 with the API's message and no key, the other symbols finishing", async () => {
    server.queue(AAPL_PATH, {
      kind: "json",
      status: 403,
      body: { status: "NOT_AUTHORIZED", message: "You are not entitled to this data." },
    });
    server.queue("/v2/aggs/ticker/MSFT/range/1/day/2005-04-01/2005-04-04", {
      kind: "json",
      body: { results: [bar(1112331600000, 40)] },
    });
    const ctx = context();
    const error = await polygonDailyBars.run!(ctx, params({ symbols: ["AAPL", "MSFT"] })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain("AAPL");
    expect(message).toContain("You are not entitled to this data.");
    expect(message).toContain(`${server.origin}${AAPL_PATH}`);
    expect(message).not.toContain(KEY);
    expect(server.requestsTo(AAPL_PATH)).toHaveLength(1);
    expect((await allBars()).map((r) => r.symbol)).toEqual(["MSFT"]);
  });

  it("writes nothing of a symbol whose page 2 is truncated JSON", async () => {
    server.queue(AAPL_PATH, {
      kind: "json",
      body: { results: [bar(1112331600000, 1)], next_url: `${server.origin}/page2?cursor=c` },
    });
    server.queue("/page2", { kind: "truncated", body: { results: [bar(1112587200000, 2)] } });
    const error = await polygonDailyBars.run!(context(), params()).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/AAPL: truncated or invalid JSON.*page2\?cursor=c/);
    expect(await allBars()).toEqual([]);
  });

  it("names symbol and URL on a wrong shape", async () => {
    server.queue(AAPL_PATH, { kind: "json", body: { results: "nope" } });
    const error = await polygonDailyBars.run!(context(), params()).catch((e: unknown) => e);
    expect((error as Error).message).toContain("AAPL");
    expect((error as Error).message).toContain(`${server.origin}${AAPL_PATH}`);
  });

  it("is idempotent", async () => {
    const body = fixture("aggs-range-AAPL-1-day-2005-04-01-2005-04-04.json");
    server.handle(AAPL_PATH, () => ({ kind: "json", body }));
    await polygonDailyBars.run!(context(), params());
    const first = { count: (await allBars()).length, hash: await tableHash() };
    await polygonDailyBars.run!(context(), params());
    expect({ count: (await allBars()).length, hash: await tableHash() }).toEqual(first);
    expect(first.count).toBe(2);
  });

  it("counts days_back in NYSE sessions back from the run date", async () => {
    // 2005-04-04 is a Monday: 2 sessions back = Friday 2005-04-01 .. Monday.
    server.queue(AAPL_PATH, {
      kind: "json",
      body: fixture("aggs-range-AAPL-1-day-2005-04-01-2005-04-04.json"),
    });
    const p = polygonDailyBars.params.parse({
      symbols: ["AAPL"],
      days_back: 2,
      base_url: server.origin,
      rate_limit: 0,
    });
    expect(await polygonDailyBars.run!(context(), p)).toMatchObject({ bars: 2 });
  });

  it("takes api_key from params, and fails clearly without any key", async () => {
    server.queue(AAPL_PATH, { kind: "json", body: { results: null } });
    await polygonDailyBars.run!(context({}), params({ api_key: "other-key" }));
    expect(server.requests[0]?.headers.authorization).toBe("Bearer other-key");
    await expect(polygonDailyBars.run!(context({}), params())).rejects.toThrow(/POLYGON_API_KEY/);
  });

  it("leaks the key nowhere: errors, logs, bars_daily", async () => {
    server.queue(
      AAPL_PATH,
      { kind: "status", status: 503, body: "busy" },
      {
        kind: "json",
        body: { results: [bar(1112331600000, 1)], next_url: `${server.origin}/p2?apiKey=${KEY}` },
      },
    );
    server.queue("/p2", { kind: "json", body: { results: [bar(1112587200000, 2)] } });
    server.queue("/v2/aggs/ticker/MSFT/range/1/day/2005-04-01/2005-04-04", {
      kind: "json",
      status: 401,
      body: { status: "ERROR", error: `Unknown API Key ${KEY}` },
    });
    server.queue("/v2/aggs/ticker/IBM/range/1/day/2005-04-01/2005-04-04", { kind: "truncated" });
    const ctx = context();
    const error = await polygonDailyBars.run!(ctx, params({ symbols: ["AAPL", "MSFT", "IBM"] })).catch(
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    const text = [
      (error as Error).message,
      String((error as Error).stack),
      ...ctx.logs.map((l) => l.message),
      JSON.stringify(await rows("SELECT * FROM bars_daily")),
    ].join("\n");
    expect(ctx.logs.length).toBeGreaterThan(0);
    expect(text).toContain("MSFT");
    expect(text).toContain("IBM");
    expect(text).not.toContain(KEY);
    expect((await allBars()).length).toBe(2);
  });

  describe("corporate_actions: true", () => {
    /** AAPL: the aggregates fixture, the v3 splits example over two pages, the stocks/v1 dividends example. */
    function queueAapl(): void {
      server.queue(AAPL_PATH, {
        kind: "json",
        body: fixture("aggs-range-AAPL-1-day-2005-04-01-2005-04-04.json"),
      });
      const splits = fixture("v3-reference-splits-example.json") as Record<string, unknown>;
      server.queue(
        SPLITS,
        { kind: "json", body: { ...splits, next_url: `${server.origin}${SPLITS}?cursor=p2&apiKey=${KEY}` } },
        { kind: "json", body: { status: "OK", results: null } },
      );
      server.queue(DIVIDENDS, { kind: "json", body: fixture("stocks-v1-dividends-example.json") });
    }

    const aaplActions = [
      { source: "polygon", symbol: "AAPL", date: "2005-02-28", kind: "split", value: 2, currency: null },
      { source: "polygon", symbol: "AAPL", date: "2020-08-31", kind: "split", value: 4, currency: null },
      {
        source: "polygon",
        symbol: "AAPL",
        date: "2025-08-11",
        kind: "dividend",
        value: 0.26,
        currency: "USD",
      },
    ];

    it("writes bars, splits and dividends, the key only in the Authorization header", async () => {
      queueAapl();
      const ctx = context();
      const out = await polygonDailyBars.run!(ctx, params({ corporate_actions: true }));
      expect(out).toEqual({ bars: 2, symbols: 1, empty_symbols: [], corporate_actions: 3, requests: 4 });
      expect((await allBars()).map((r) => r.date)).toEqual(["2005-04-01", "2005-04-04"]);
      expect(await allActions()).toEqual(aaplActions);
      expect(server.requests.map((r) => r.url)).toEqual([
        `${AAPL_PATH}?adjusted=true&sort=asc&limit=50000`,
        `${SPLITS}?ticker=AAPL&execution_date.gte=2005-04-01&execution_date.lte=2005-04-04&limit=1000`,
        `${SPLITS}?cursor=p2`,
        `${DIVIDENDS}?ticker=AAPL&ex_dividend_date.gte=2005-04-01&ex_dividend_date.lte=2005-04-04&limit=1000`,
      ]);
      for (const req of server.requests) {
        expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
        expect(req.url).not.toContain(KEY);
      }
      expect(ctx.logs.some((l) => /3 corporate action\(s\)/.test(l.message))).toBe(true);
      expect(ctx.logs.map((l) => l.message).join("\n")).not.toContain(KEY);
    });

    it("fails a symbol whose splits request fails, writing none of its bars", async () => {
      server.queue(AAPL_PATH, {
        kind: "json",
        body: fixture("aggs-range-AAPL-1-day-2005-04-01-2005-04-04.json"),
      });
      server.queue(MSFT_PATH, { kind: "json", body: { results: [bar(1112331600000, 40)] } });
      server.handle(SPLITS, (req) =>
        req.url.includes("ticker=AAPL")
          ? { kind: "json", status: 403, body: { status: "NOT_AUTHORIZED", message: `No splits for ${KEY}` } }
          : { kind: "json", body: { status: "OK", results: [] } },
      );
      server.handle(DIVIDENDS, () => ({ kind: "json", body: { status: "OK", results: null } }));
      const ctx = context();
      const error = await polygonDailyBars.run!(
        ctx,
        params({ symbols: ["AAPL", "MSFT"], corporate_actions: true, concurrency: 1 }),
      ).catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(Error);
      const message = (error as Error).message;
      expect(message).toMatch(/AAPL/);
      expect(message).toContain(`${server.origin}${SPLITS}?ticker=AAPL`);
      expect(message).not.toContain(KEY);
      expect(ctx.logs.map((l) => l.message).join("\n")).not.toContain(KEY);
      // AAPL's bars were fetched but not written; MSFT landed.
      expect((await allBars()).map((r) => r.symbol)).toEqual(["MSFT"]);
      expect(await allActions()).toEqual([]);
      expect(server.requestsTo(DIVIDENDS).map((r) => r.url)).toEqual([
        `${DIVIDENDS}?ticker=MSFT&ex_dividend_date.gte=2005-04-01&ex_dividend_date.lte=2005-04-04&limit=1000`,
      ]);
    });

    it("names symbol and URL when a dividends body has a wrong shape", async () => {
      server.queue(AAPL_PATH, { kind: "json", body: { results: [bar(1112331600000, 1)] } });
      server.queue(SPLITS, { kind: "json", body: { results: null } });
      server.queue(DIVIDENDS, {
        kind: "json",
        body: { results: [{ ticker: "AAPL", ex_dividend_date: "2005-04-01", cash_amount: "0.1" }] },
      });
      const error = await polygonDailyBars.run!(context(), params({ corporate_actions: true })).catch(
        (e: unknown) => e as Error,
      );
      expect((error as Error).message).toMatch(
        /AAPL dividends: results\[0\]: field "cash_amount" is "0.1", not a number \(GET http:\/\/127\.0\.0\.1:\d+\/v3\/reference\/dividends\?ticker=AAPL/,
      );
      expect(await allBars()).toEqual([]);
    });

    it("keeps only the requested ticker's rows and adds same-day dividends", async () => {
      server.queue(AAPL_PATH, { kind: "json", body: { results: [bar(1112331600000, 1)] } });
      server.queue(SPLITS, { kind: "json", body: fixture("v3-reference-splits.json") });
      server.queue(DIVIDENDS, {
        kind: "json",
        body: {
          results: [
            { ticker: "AAPL", ex_dividend_date: "2005-04-01", cash_amount: 0.1, currency: "USD" },
            { ticker: "AAPL", ex_dividend_date: "2005-04-01", cash_amount: 1, currency: "USD" },
          ],
        },
      });
      const out = await polygonDailyBars.run!(context(), params({ corporate_actions: true }));
      expect(out).toMatchObject({ bars: 1, corporate_actions: 1 });
      expect(await allActions()).toEqual([
        {
          source: "polygon",
          symbol: "AAPL",
          date: "2005-04-01",
          kind: "dividend",
          value: 1.1,
          currency: "USD",
        },
      ]);
    });

    it("is idempotent", async () => {
      const aggs = fixture("aggs-range-AAPL-1-day-2005-04-01-2005-04-04.json");
      server.handle(AAPL_PATH, () => ({ kind: "json", body: aggs }));
      server.handle(SPLITS, (req) =>
        req.url.includes("cursor=")
          ? { kind: "json", body: { results: null } }
          : {
              kind: "json",
              body: {
                ...(fixture("v3-reference-splits-example.json") as object),
                next_url: `${server.origin}${SPLITS}?cursor=p2`,
              },
            },
      );
      server.handle(DIVIDENDS, () => ({ kind: "json", body: fixture("stocks-v1-dividends-example.json") }));
      await polygonDailyBars.run!(context(), params({ corporate_actions: true }));
      const first = { bars: await tableHash(), actions: await actionsHash(), rows: await allActions() };
      const out = await polygonDailyBars.run!(context(), params({ corporate_actions: true }));
      expect(out).toMatchObject({ bars: 2, corporate_actions: 3 });
      expect({ bars: await tableHash(), actions: await actionsHash(), rows: await allActions() }).toEqual(
        first,
      );
      expect(first.rows).toEqual(aaplActions);
    });
  });
});
