import { describe, expect, it } from "vitest";
import { chartPath } from "./fetch.js";

describe("chartPath", () => {
  it("period1 = from 00:00 UTC, period2 = the day after to 00:00 UTC", () => {
    expect(chartPath("AAPL", { from: "2020-01-01", to: "2020-01-02" })).toBe(
      "/v8/finance/chart/AAPL?period1=1577836800&period2=1578009600&interval=1d&events=div,splits",
    );
  });

  it("URL-encodes the symbol", () => {
    const range = { from: "2020-01-01", to: "2020-01-02" };
    expect(chartPath("EURUSD=X", range)).toBe(
      "/v8/finance/chart/EURUSD%3DX?period1=1577836800&period2=1578009600&interval=1d&events=div,splits",
    );
    expect(chartPath("^GSPC", range)).toMatch(/^\/v8\/finance\/chart\/%5EGSPC\?/);
  });
});
