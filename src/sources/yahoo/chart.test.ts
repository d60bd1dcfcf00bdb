import { describe, expect, it } from "vitest";
import { parseChart, YahooChartError } from "./chart.js";
import { yahooFixtureBody } from "./testing.js";

/** Long after every fixture's sessions. */
const LATER = new Date("2026-01-01T00:00:00Z");

describe("parseChart on recorded Yahoo bodies", () => {
  it("AAPL 2020-08-31..11-07: 49 bars, the 4:1 split and the 0.205 dividend, close vs adjclose", () => {
    const body = yahooFixtureBody("chart-AAPL-2020-08-31-to-2020-11-07.json");
    const parsed = parseChart(body, { symbol: "AAPL", now: LATER, lastDate: "2020-11-06" });
    expect(parsed.bars).toHaveLength(49);
    expect(parsed.nullsSkipped).toBe(0);
    expect(parsed.currency).toBe("USD");
    expect(parsed.timezone).toBe("America/New_York");
    expect(parsed.bars[0]).toEqual({
      symbol: "AAPL",
      date: "2020-08-31",
      open: 127.58000183105469,
      high: 131,
      low: 126,
      close: 129.0399932861328,
      volume: 225702700,
      adj_close: 125.82673645019531,
    });
    const last = parsed.bars[48];
    expect(last?.date).toBe("2020-11-06");
    expect(last?.close).toBe(118.69000244140625);
    expect(last?.adj_close).toBe(115.93415069580078);
    for (const bar of parsed.bars) expect(bar.adj_close).not.toBe(bar.close);
    // Sessions only: no weekend dates, ascending, unique.
    const dates = parsed.bars.map((b) => b.date);
    expect(new Set(dates).size).toBe(49);
    expect([...dates].sort()).toEqual(dates);
    for (const d of dates) expect([0, 6]).not.toContain(new Date(`${d}T12:00:00Z`).getUTCDay());
    expect(parsed.actions).toEqual([
      { symbol: "AAPL", date: "2020-08-31", kind: "split", value: 4, currency: null },
      { symbol: "AAPL", date: "2020-11-06", kind: "dividend", value: 0.205, currency: "USD" },
    ]);
  });

  it("AAPL 2020-01-02: the 09:30 New York timestamp is that session's date", () => {
    const parsed = parseChart(yahooFixtureBody("chart-AAPL-2020-01-01-to-2020-01-03.json"), {
      symbol: "AAPL",
      now: LATER,
    });
    expect(parsed.bars).toEqual([
      {
        symbol: "AAPL",
        date: "2020-01-02",
        open: 74.05999755859375,
        high: 75.1500015258789,
        low: 73.79750061035156,
        close: 75.0875015258789,
        volume: 135480400,
        adj_close: 72.71607208251953,
      },
    ]);
    expect(parsed.actions).toEqual([]);
  });

  it("NVDA 2021-02..2022-01: 252 bars and the 4:1 split on 2021-07-20", () => {
    const parsed = parseChart(
      yahooFixtureBody("historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json"),
      {
        symbol: "NVDA",
        now: LATER,
      },
    );
    expect(parsed.bars).toHaveLength(252);
    expect(parsed.actions).toEqual([
      { symbol: "NVDA", date: "2021-07-20", kind: "split", value: 4, currency: null },
    ]);
    expect(parsed.bars[0]?.date).toBe("2021-02-01");
    expect(parsed.bars[0]?.close).toBe(13.237000465393066);
  });

  it("MSFT 2021-02..2022-01: 252 bars and 4 dividends", () => {
    const parsed = parseChart(
      yahooFixtureBody("historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json"),
      { symbol: "MSFT", now: LATER },
    );
    expect(parsed.bars).toHaveLength(252);
    expect(parsed.actions).toEqual([
      { symbol: "MSFT", date: "2021-02-17", kind: "dividend", value: 0.56, currency: "USD" },
      { symbol: "MSFT", date: "2021-05-19", kind: "dividend", value: 0.56, currency: "USD" },
      { symbol: "MSFT", date: "2021-08-18", kind: "dividend", value: 0.56, currency: "USD" },
      { symbol: "MSFT", date: "2021-11-17", kind: "dividend", value: 0.62, currency: "USD" },
    ]);
  });

  it("BTC-USD (UTC): the bar AT period2 is dropped with lastDate", () => {
    const body = yahooFixtureBody("chart-BTC-USD-2020-01-01-to-2020-01-03.json");
    const all = parseChart(body, { symbol: "BTC-USD", now: LATER });
    expect(all.bars.map((b) => b.date)).toEqual(["2020-01-01", "2020-01-02", "2020-01-03"]);
    const parsed = parseChart(body, { symbol: "BTC-USD", now: LATER, lastDate: "2020-01-02" });
    expect(parsed.timezone).toBe("UTC");
    expect(parsed.bars.map((b) => b.date)).toEqual(["2020-01-01", "2020-01-02"]);
    expect(parsed.bars[1]).toEqual({
      symbol: "BTC-USD",
      date: "2020-01-02",
      open: 7202.55126953125,
      high: 7212.1552734375,
      low: 6935.27001953125,
      close: 6985.47021484375,
      volume: 20802083465,
      adj_close: 6985.47021484375,
    });
  });

  it("EURUSD=X (Europe/London): the bar at period2 is dropped, volume 0 kept", () => {
    const body = yahooFixtureBody("chart-EURUSD=X-2020-01-01-to-2020-01-03.json");
    const parsed = parseChart(body, { symbol: "EURUSD=X", now: LATER, lastDate: "2020-01-02" });
    expect(parsed.timezone).toBe("Europe/London");
    expect(parsed.bars.map((b) => [b.date, b.close, b.volume])).toEqual([
      ["2020-01-01", 1.1220825910568237, 0],
      ["2020-01-02", 1.1220825910568237, 0],
    ]);
  });

  it("OCDO.L: currency GBp (pence) kept as Yahoo gives it", () => {
    const parsed = parseChart(yahooFixtureBody("chart-OCDO.L-2020-01-01-to-2020-01-03.json"), {
      symbol: "OCDO.L",
      now: LATER,
    });
    expect(parsed.currency).toBe("GBp");
    expect(parsed.bars).toEqual([
      {
        symbol: "OCDO.L",
        date: "2020-01-02",
        open: 1279.5,
        high: 1286.5699462890625,
        low: 1258,
        close: 1259.5,
        volume: 728520,
        adj_close: 1259.5,
      },
    ]);
  });

  it("WSU.DE (Europe/Berlin): dates in the exchange zone", () => {
    const parsed = parseChart(yahooFixtureBody("chart-WSU.DE-2023-08-04-to-2023-08-09.json"), {
      symbol: "WSU.DE",
      now: LATER,
    });
    expect(parsed.bars.map((b) => b.date)).toEqual(["2023-08-04", "2023-08-07", "2023-08-08"]);
    expect(parsed.currency).toBe("EUR");
  });

  it("LUCYW (holiday range, null currency) and the weekend range: zero bars, no error", () => {
    const lucy = parseChart(yahooFixtureBody("chart-LUCYW-null-currency.json"), {
      symbol: "LUCYW",
      now: LATER,
    });
    expect(lucy).toEqual({
      bars: [],
      actions: [],
      nullsSkipped: 0,
      currency: null,
      timezone: "America/New_York",
    });
    const weekend = parseChart(
      yahooFixtureBody("chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.json"),
      { symbol: "AAPL", now: LATER },
    );
    expect(weekend.bars).toEqual([]);
    expect(weekend.nullsSkipped).toBe(0);
  });
});

/** A minimal chart body around the given rows. */
function body(
  timestamps: number[],
  quote: Record<string, (number | null)[]>,
  meta: Record<string, unknown> = {},
): unknown {
  return {
    chart: {
      result: [
        {
          meta: { currency: "USD", symbol: "X", exchangeTimezoneName: "America/New_York", ...meta },
          timestamp: timestamps,
          indicators: { quote: [quote], adjclose: [{ adjclose: quote.close }] },
        },
      ],
      error: null,
    },
  };
}

describe("parseChart rules", () => {
  // 2024-03-04 and 2024-03-05, 09:30 New York (EST, UTC-5).
  const t1 = Date.parse("2024-03-04T14:30:00Z") / 1000;
  const t2 = Date.parse("2024-03-05T14:30:00Z") / 1000;

  it("skips and counts rows with nulls", () => {
    const parsed = parseChart(
      body([t1, t2], {
        open: [1, null],
        high: [2, null],
        low: [0.5, null],
        close: [1.5, null],
        volume: [10, null],
      }),
      { symbol: "X", now: LATER },
    );
    expect(parsed.bars.map((b) => b.date)).toEqual(["2024-03-04"]);
    expect(parsed.nullsSkipped).toBe(1);
  });

  it("drops today's bar before the session closes, keeps it after", () => {
    const rows = { open: [1, 2], high: [2, 3], low: [0.5, 1], close: [1.5, 2.5], volume: [10, 20] };
    const during = parseChart(body([t1, t2], rows), { symbol: "X", now: new Date("2024-03-05T18:00:00Z") });
    expect(during.bars.map((b) => b.date)).toEqual(["2024-03-04"]);
    const after = parseChart(body([t1, t2], rows), { symbol: "X", now: new Date("2024-03-05T21:01:00Z") });
    expect(after.bars.map((b) => b.date)).toEqual(["2024-03-04", "2024-03-05"]);
    // currentTradingPeriod.regular.end of today (an early close at 13:00) wins over 16:00.
    const earlyEnd = Date.parse("2024-03-05T18:00:00Z") / 1000;
    const early = parseChart(
      body([t1, t2], rows, { currentTradingPeriod: { regular: { start: t2, end: earlyEnd } } }),
      { symbol: "X", now: new Date("2024-03-05T18:30:00Z") },
    );
    expect(early.bars.map((b) => b.date)).toEqual(["2024-03-04", "2024-03-05"]);
  });

  it("chart.error gives an error with Yahoo's description and the symbol", () => {
    const error = {
      chart: {
        result: null,
        error: { code: "Not Found", description: "No data found, symbol may be delisted" },
      },
    };
    expect(() => parseChart(error, { symbol: "ZZZZ" })).toThrow(YahooChartError);
    expect(() => parseChart(error, { symbol: "ZZZZ" })).toThrow(
      "ZZZZ: Yahoo chart error: No data found, symbol may be delisted",
    );
  });

  it("wrong shapes give a clear error naming the symbol", () => {
    expect(() => parseChart({ foo: 1 }, { symbol: "AAPL" })).toThrow(
      /AAPL: unexpected Yahoo chart body: no "chart"/,
    );
    expect(() => parseChart({ chart: { result: [] } }, { symbol: "AAPL" })).toThrow(/AAPL: .*empty/);
    expect(() => parseChart(body([t1], { open: [1], high: [2], low: [0.5] }), { symbol: "AAPL" })).toThrow(
      /AAPL: .*"close" is not an array of 1 values/,
    );
    expect(() =>
      parseChart(
        body([t1], { open: [1], high: [2], low: [0.5], close: [1] }, { exchangeTimezoneName: "Mars/Base" }),
        {
          symbol: "AAPL",
        },
      ),
    ).toThrow(/AAPL: .*time zone/);
  });
});
