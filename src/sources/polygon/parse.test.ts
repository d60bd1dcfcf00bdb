import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { newYorkDate, PolygonBodyError, parseAggregates, parseGroupedDaily } from "./parse.js";

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../../tests/fixtures/polygon/${name}`, import.meta.url), "utf8"));

describe("parseAggregates", () => {
  it("parses the AAPL range fixture field by field, dates in New York", () => {
    const page = parseAggregates(fixture("aggs-range-AAPL-1-day-2005-04-01-2005-04-04.json"), "AAPL");
    expect(page.nextUrl).toBeUndefined();
    expect(page.bars).toEqual([
      {
        symbol: "AAPL",
        date: "2005-04-01",
        open: 1.5032,
        high: 1.5064,
        low: 1.4489,
        close: 1.4604,
        volume: 642646396,
        vwap: 1.469,
        trades: 82132,
      },
      {
        symbol: "AAPL",
        date: "2005-04-04",
        open: 1.4639,
        high: 1.4754,
        low: 1.4343,
        close: 1.4675,
        volume: 578172308,
        vwap: 1.4589,
        trades: 65543,
      },
    ]);
    // t = 00:00 New York = 05:00 UTC the same day; a UTC date would match here, so check the zone too.
    expect(new Date(1112331600000).toISOString()).toBe("2005-04-01T05:00:00.000Z");
  });

  it("reads the spec example with next_url", () => {
    const page = parseAggregates(fixture("aggs-range-example.json"), "AAPL");
    expect(page.nextUrl).toBe(
      "https://api.massive.com/v2/aggs/ticker/AAPL/range/1/day/1578114000000/2020-01-10?cursor=bGltaXQ9MiZzb3J0PWFzYw",
    );
    expect(page.bars.map((b) => b.date)).toEqual(["2020-01-02", "2020-01-03"]);
    expect(page.bars[0]).toMatchObject({ open: 74.06, high: 75.15, low: 73.7975, close: 75.0875, trades: 1 });
    expect(page.bars[1]).toMatchObject({ volume: 146535512, vwap: 74.7026 });
  });

  it("treats results null or missing as empty", () => {
    expect(parseAggregates({ status: "OK", results: null }, "X")).toEqual({ bars: [], nextUrl: undefined });
    expect(parseAggregates({ status: "OK", resultsCount: 0 }, "X").bars).toEqual([]);
  });

  it("rejects wrong shapes with a clear error", () => {
    expect(() => parseAggregates([], "X")).toThrow(PolygonBodyError);
    expect(() => parseAggregates({ results: {} }, "X")).toThrow(/"results" is a object|not an array/);
    expect(() => parseAggregates({ results: [{ t: 1, o: 1, h: 1, l: 1, c: null, v: 1 }] }, "X")).toThrow(
      /X: results\[0\]: field "c" is null/,
    );
    expect(() => parseAggregates({ status: "ERROR", error: "bad ticker" }, "X")).toThrow(/bad ticker/);
    expect(() => parseAggregates({ results: [], next_url: 5 }, "X")).toThrow(/next_url/);
  });

  it("keeps optional vw and n null when absent", () => {
    const page = parseAggregates({ results: [{ t: 1704171600000, o: 1, h: 2, l: 0.5, c: 1.5, v: 10 }] }, "X");
    expect(page.bars[0]).toMatchObject({ date: "2024-01-02", vwap: null, trades: null });
  });
});

describe("parseGroupedDaily", () => {
  it("parses the grouped-daily fixture with T per row", () => {
    expect(parseGroupedDaily(fixture("grouped-daily-us-stocks-2005-04-04-adjusted-true.json"))).toEqual([
      {
        symbol: "GIK",
        date: "2020-10-14",
        open: 9.99,
        high: 10.02,
        low: 9.9,
        close: 10.02,
        volume: 895345,
        vwap: 9.9979,
        trades: 96,
      },
    ]);
  });

  it("parses the spec example", () => {
    const bars = parseGroupedDaily(fixture("grouped-daily-example.json"));
    expect(bars.map((b) => [b.symbol, b.date, b.close])).toEqual([
      ["KIMpL", "2020-10-14", 25.9102],
      ["TANH", "2020-10-14", 23.4],
      ["VSAT", "2020-10-14", 34.24],
    ]);
    expect(bars[1]?.volume).toBe(25933.6);
  });

  it("needs T", () => {
    expect(() => parseGroupedDaily({ results: [{ t: 1, o: 1, h: 1, l: 1, c: 1, v: 1 }] })).toThrow(/"T"/);
  });
});

describe("newYorkDate", () => {
  it("uses the New York date, not the UTC one", () => {
    // 2024-01-02 21:00 New York is already 2024-01-03 in UTC.
    expect(newYorkDate(Date.UTC(2024, 0, 3, 2, 0))).toBe("2024-01-02");
    expect(newYorkDate(Date.UTC(2024, 6, 1, 3, 59))).toBe("2024-06-30");
  });
});
