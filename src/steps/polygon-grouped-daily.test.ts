import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FaultServer, startFaultServer } from "../../tests/servers/fault-server.js";
import type { Store } from "../store/open.js";
import { stepContext, tempStore } from "../store/testing.js";
import { polygonGroupedDaily } from "./polygon-grouped-daily.js";

const KEY = "pk_GROUPED_s3cr3t_987654321";
const GROUPED = "/v2/aggs/grouped/locale/us/market/stocks";
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

const context = () => stepContext(store.db, { env: { POLYGON_API_KEY: KEY }, runDate: "2020-10-16" });

function params(extra: Record<string, unknown> = {}) {
  return polygonGroupedDaily.params.parse({
    start: "2020-10-14",
    end: "2020-10-14",
    base_url: server.origin,
    rate_limit: 0,
    max_retries: 1,
    ...extra,
  });
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await store.db.runAndReadAll(sql)).getRowObjectsJson();
}

const allBars = () =>
  rows(
    "SELECT source, symbol, CAST(date AS VARCHAR) AS date, open, high, low, close, volume, vwap, trades FROM bars_daily ORDER BY date, symbol",
  );

function row(T: string, date: string, c: number) {
  // 16:00 New York of `date` (EDT in October: 20:00 UTC).
  const t = Date.parse(`${date}T20:00:00Z`);
  return { T, t, o: c, h: c + 1, l: c - 1, c, v: 100, vw: c, n: 3 };
}

describe("polygon.grouped_daily", () => {
  it("writes the spec example's day", async () => {
    server.queue(`${GROUPED}/2020-10-14`, { kind: "json", body: fixture("grouped-daily-example.json") });
    const ctx = context();
    const out = await polygonGroupedDaily.run!(ctx, params());
    expect(out).toEqual({ bars: 3, sessions: 1, requests: 1 });
    expect(await allBars()).toEqual([
      {
        source: "polygon",
        symbol: "KIMpL",
        date: "2020-10-14",
        open: 26.07,
        high: 26.25,
        low: 25.91,
        close: 25.9102,
        volume: 4369,
        vwap: 26.0407,
        trades: "74",
      },
      expect.objectContaining({ symbol: "TANH", volume: 25933.6 }),
      expect.objectContaining({ symbol: "VSAT", close: 34.24 }),
    ]);
    const [req] = server.requests;
    expect(req?.url).toBe(`${GROUPED}/2020-10-14?adjusted=true&include_otc=false`);
    expect(req?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req?.url).not.toContain(KEY);
  });

  it("stores the grouped fixture under the requested session, warning about its timestamp", async () => {
    server.queue(`${GROUPED}/2005-04-04`, {
      kind: "json",
      body: fixture("grouped-daily-us-stocks-2005-04-04-adjusted-true.json"),
    });
    const ctx = context();
    await polygonGroupedDaily.run!(ctx, params({ start: "2005-04-04", end: "2005-04-04" }));
    expect(await allBars()).toEqual([
      expect.objectContaining({ symbol: "GIK", date: "2005-04-04", close: 10.02 }),
    ]);
    expect(ctx.logs.some((l) => l.level === "warn" && l.message.includes("another New York date"))).toBe(
      true,
    );
  });

  it("requests one day per NYSE session, filters symbols, is idempotent", async () => {
    // 2020-10-09 (Fri) .. 2020-10-13 (Tue): the weekend is skipped; 10-12 (Columbus Day) is a session.
    const days = ["2020-10-09", "2020-10-12", "2020-10-13"];
    for (const day of days) {
      server.handle(`${GROUPED}/${day}`, () => ({
        kind: "json",
        body: { status: "OK", results: [row("AAPL", day, 100), row("MSFT", day, 200), row("ZZZ", day, 1)] },
      }));
    }
    const p = params({
      start: "2020-10-09",
      end: "2020-10-13",
      symbols: ["AAPL", "MSFT"],
      include_otc: true,
    });
    const out = await polygonGroupedDaily.run!(context(), p);
    expect(out).toEqual({ bars: 6, sessions: 3, requests: 3 });
    expect(server.requests.map((r) => r.path).sort()).toEqual(days.map((d) => `${GROUPED}/${d}`));
    expect(server.requests[0]?.url).toContain("include_otc=true");
    const first = await allBars();
    expect(first.map((r) => `${r.symbol} ${r.date}`)).toEqual([
      "AAPL 2020-10-09",
      "MSFT 2020-10-09",
      "AAPL 2020-10-12",
      "MSFT 2020-10-12",
      "AAPL 2020-10-13",
      "MSFT 2020-10-13",
    ]);
    await polygonGroupedDaily.run!(context(), p);
    expect(await allBars()).toEqual(first);
  });

  it("fails naming the day, writing the other days, without the key", async () => {
    server.queue(`${GROUPED}/2020-10-13`, {
      kind: "json",
      body: { results: [row("AAPL", "2020-10-13", 1)] },
    });
    server.queue(`${GROUPED}/2020-10-14`, { kind: "truncated" });
    const ctx = context();
    const error = await polygonGroupedDaily.run!(
      ctx,
      params({ start: "2020-10-13", end: "2020-10-14" }),
    ).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/2020-10-14: truncated or invalid JSON/);
    expect((error as Error).message).not.toContain(KEY);
    expect(ctx.logs.map((l) => l.message).join("\n")).not.toContain(KEY);
    expect((await allBars()).map((r) => r.date)).toEqual(["2020-10-13"]);
  });

  it("days_back counts sessions back from the run date", async () => {
    for (const day of ["2020-10-15", "2020-10-16"]) {
      server.queue(`${GROUPED}/${day}`, { kind: "json", body: { results: null } });
    }
    const p = polygonGroupedDaily.params.parse({ days_back: 2, base_url: server.origin, rate_limit: 0 });
    expect(await polygonGroupedDaily.run!(context(), p)).toEqual({ bars: 0, sessions: 2, requests: 2 });
  });
});
