import { describe, expect, it } from "vitest";
import { chartPath, chartRange } from "./fetch.js";

describe("chartRange / chartPath", () => {
  it("start/end: period1 = start 00:00 UTC, period2 = the day after end 00:00 UTC", () => {
    const range = chartRange({ start: "2020-01-01", end: "2020-01-02" }, "2024-01-02");
    expect(range).toEqual({
      start: "2020-01-01",
      end: "2020-01-02",
      period1: 1577836800,
      period2: 1578009600,
    });
  });

  it("end defaults to the run date", () => {
    expect(chartRange({ start: "2023-12-29" }, "2024-01-02").end).toBe("2024-01-02");
  });

  it("days_back: NYSE sessions back from the run date (holidays and weekends skipped)", () => {
    // 2024-01-02 (Tue) back 3 sessions: 2023-12-28, 12-29, 2024-01-02 (01-01 is a holiday).
    const range = chartRange({ days_back: 3 }, "2024-01-02");
    expect([range.start, range.end]).toEqual(["2023-12-28", "2024-01-02"]);
    // A run date on a weekend ends at the Friday before.
    expect(chartRange({ days_back: 1 }, "2024-01-06").end).toBe("2024-01-05");
  });

  it("URL-encodes the symbol", () => {
    const range = chartRange({ start: "2020-01-01", end: "2020-01-02" }, "2024-01-02");
    expect(chartPath("EURUSD=X", range)).toBe(
      "/v8/finance/chart/EURUSD%3DX?period1=1577836800&period2=1578009600&interval=1d&events=div,splits",
    );
    expect(chartPath("^GSPC", range)).toMatch(/^\/v8\/finance\/chart\/%5EGSPC\?/);
  });
});
