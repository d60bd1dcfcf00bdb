import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  mergeSameDay,
  newYorkDate,
  PolygonBodyError,
  parseAggregates,
  parseDividends,
  parseGroupedDaily,
  parseSplits,
} from "./parse.js";

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

describe("parseSplits", () => {
  it("parses the v3 splits fixture row by row, value = split_to / split_from", () => {
    const page = parseSplits(fixture("v3-reference-splits.json"), "splits");
    expect(page.nextUrl).toBeUndefined();
    expect(page.rows).toEqual([
      { symbol: "GOOGL", date: "2022-07-18", kind: "split", value: 20, currency: null },
      { symbol: "GOOG", date: "2022-07-18", kind: "split", value: 20, currency: null },
      { symbol: "CTO", date: "2022-07-01", kind: "split", value: 3, currency: null },
      { symbol: "SHOP", date: "2022-06-29", kind: "split", value: 10, currency: null },
      { symbol: "SHOP", date: "2022-06-22", kind: "split", value: 10, currency: null },
      { symbol: "DXCM", date: "2022-06-10", kind: "split", value: 4, currency: null },
      { symbol: "AMZN", date: "2022-06-06", kind: "split", value: 20, currency: null },
      // The reverse split 2 -> 1: one new share per two old ones.
      { symbol: "BRW", date: "2022-05-20", kind: "split", value: 0.5, currency: null },
      { symbol: "CM", date: "2022-05-16", kind: "split", value: 2, currency: null },
      { symbol: "CIG.C", date: "2022-05-02", kind: "split", value: 4 / 3, currency: null },
    ]);
  });

  it("parses the v3 spec example with its next_url", () => {
    const page = parseSplits(fixture("v3-reference-splits-example.json"), "AAPL splits");
    expect(page.nextUrl).toBe(
      "https://api.massive.com/v3/splits/AAPL?cursor=YWN0aXZlPXRydWUmZGF0ZT0yMDIxLTA0LTI1JmxpbWl0PTEmb3JkZXI9YXNjJnBhZ2VfbWFya2VyPUElN0M5YWRjMjY0ZTgyM2E1ZjBiOGUyNDc5YmZiOGE1YmYwNDVkYzU0YjgwMDcyMWE2YmI1ZjBjMjQwMjU4MjFmNGZiJnNvcnQ9dGlja2Vy",
    );
    expect(page.rows).toEqual([
      { symbol: "AAPL", date: "2020-08-31", kind: "split", value: 4, currency: null },
      { symbol: "AAPL", date: "2005-02-28", kind: "split", value: 2, currency: null },
    ]);
  });

  it("parses the stocks/v1 spec example (same fields plus adjustment factors)", () => {
    expect(parseSplits(fixture("stocks-v1-splits-example.json"), "AAPL splits")).toEqual({
      rows: [{ symbol: "AAPL", date: "2005-02-28", kind: "split", value: 2, currency: null }],
      nextUrl: undefined,
    });
  });

  it("treats results null or missing as empty", () => {
    expect(parseSplits({ status: "OK", results: null }, "X splits")).toEqual({
      rows: [],
      nextUrl: undefined,
    });
    expect(parseSplits({ status: "OK" }, "X splits").rows).toEqual([]);
  });

  it("rejects wrong shapes naming the request and the row", () => {
    const row = { execution_date: "2022-05-20", split_from: 2, split_to: 1, ticker: "BRW" };
    expect(() => parseSplits("nope", "BRW splits")).toThrow(PolygonBodyError);
    expect(() => parseSplits({ results: { a: 1 } }, "BRW splits")).toThrow(
      /BRW splits: "results" is a object/,
    );
    expect(() => parseSplits({ results: [row, { ...row, split_from: 0 }] }, "BRW splits")).toThrow(
      /BRW splits: results\[1\]: field "split_from" is 0, not positive/,
    );
    expect(() => parseSplits({ results: [{ ...row, split_to: "1" }] }, "BRW splits")).toThrow(
      /results\[0\]: field "split_to" is "1", not a number/,
    );
    expect(() => parseSplits({ results: [{ ...row, execution_date: 1653004800000 }] }, "BRW splits")).toThrow(
      /results\[0\]: field "execution_date" is 1653004800000, not a YYYY-MM-DD date/,
    );
    expect(() => parseSplits({ results: [{ ...row, ticker: undefined }] }, "BRW splits")).toThrow(
      /results\[0\]: field "ticker" is missing/,
    );
    expect(() => parseSplits({ results: [null] }, "BRW splits")).toThrow(/results\[0\]: expected an object/);
    expect(() => parseSplits({ results: [], next_url: 3 }, "BRW splits")).toThrow(/next_url/);
    expect(() => parseSplits({ status: "ERROR", error: "bad" }, "BRW splits")).toThrow(/status ERROR: bad/);
  });
});

describe("parseDividends", () => {
  it("parses the v3 dividends fixture row by row, dated by the ex-dividend date", () => {
    const page = parseDividends(fixture("v3-reference-dividends.json"), "dividends");
    expect(page.nextUrl).toBeUndefined();
    // This body (a client test mock) has no "currency" field: stored as null, not guessed.
    const cssen = (date: string) => ({
      symbol: "CSSEN",
      date,
      kind: "dividend",
      value: 0.59375,
      currency: null,
    });
    const airtp = (date: string) => ({ symbol: "AIRTP", date, kind: "dividend", value: 0.5, currency: null });
    expect(page.rows).toEqual([
      cssen("2025-06-12"),
      cssen("2025-03-13"),
      cssen("2024-12-12"),
      cssen("2024-09-12"),
      cssen("2024-06-13"),
      cssen("2024-03-14"),
      cssen("2023-12-14"),
      airtp("2023-11-13"),
      cssen("2023-09-14"),
      airtp("2023-08-11"),
    ]);
  });

  it("parses the stocks/v1 spec example: cash_amount as paid, with its currency", () => {
    expect(parseDividends(fixture("stocks-v1-dividends-example.json"), "AAPL dividends")).toEqual({
      rows: [{ symbol: "AAPL", date: "2025-08-11", kind: "dividend", value: 0.26, currency: "USD" }],
      nextUrl: undefined,
    });
  });

  it("treats results null or missing as empty and reads next_url", () => {
    expect(parseDividends({ results: null, next_url: "https://x/p2?cursor=c" }, "X dividends")).toEqual({
      rows: [],
      nextUrl: "https://x/p2?cursor=c",
    });
  });

  it("rejects wrong shapes naming the request and the row", () => {
    const row = { cash_amount: 0.5, ex_dividend_date: "2023-11-13", ticker: "AIRTP", currency: "USD" };
    expect(() =>
      parseDividends({ results: [row, { ...row, cash_amount: null }] }, "AIRTP dividends"),
    ).toThrow(/AIRTP dividends: results\[1\]: field "cash_amount" is null, not a number/);
    expect(() => parseDividends({ results: [{ ...row, ex_dividend_date: "13/11/2023" }] }, "D")).toThrow(
      /D: results\[0\]: field "ex_dividend_date" is "13\/11\/2023", not a YYYY-MM-DD date/,
    );
    expect(() => parseDividends({ results: [{ ...row, currency: 840 }] }, "D")).toThrow(
      /results\[0\]: field "currency" is 840/,
    );
  });
});

describe("mergeSameDay", () => {
  it("adds dividends of one ex-date and multiplies splits of one date", () => {
    expect(
      mergeSameDay([
        { symbol: "X", date: "2024-01-02", kind: "dividend", value: 0.25, currency: "USD" },
        { symbol: "X", date: "2024-01-02", kind: "split", value: 2, currency: null },
        { symbol: "X", date: "2024-01-02", kind: "dividend", value: 1, currency: null },
        { symbol: "X", date: "2024-01-02", kind: "split", value: 3, currency: null },
        { symbol: "X", date: "2024-01-03", kind: "dividend", value: 0.1, currency: "USD" },
      ]),
    ).toEqual([
      { symbol: "X", date: "2024-01-02", kind: "dividend", value: 1.25, currency: "USD" },
      { symbol: "X", date: "2024-01-02", kind: "split", value: 6, currency: null },
      { symbol: "X", date: "2024-01-03", kind: "dividend", value: 0.1, currency: "USD" },
    ]);
  });

  it("refuses to add dividends in two currencies", () => {
    expect(() =>
      mergeSameDay([
        { symbol: "X", date: "2024-01-02", kind: "dividend", value: 1, currency: "USD" },
        { symbol: "X", date: "2024-01-02", kind: "dividend", value: 1, currency: "CAD" },
      ]),
    ).toThrow(/X: two dividends on 2024-01-02 in USD and CAD/);
  });
});
