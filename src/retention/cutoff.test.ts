import { describe, expect, it } from "vitest";
import { RETENTION_AGE_PATTERN } from "../steps/cleanup-retention.js";
import { historyCutoff, marketCutoff, parseAge } from "./cutoff.js";

describe("retention cutoffs", () => {
  it("parses every age the params accept, and nothing else", () => {
    const pattern = new RegExp(RETENTION_AGE_PATTERN);
    for (const text of ["400d", "8w", "2y", "504 sessions", "1 session"]) {
      expect(pattern.test(text)).toBe(true);
      expect(() => parseAge(text)).not.toThrow();
    }
    expect(parseAge("504 sessions")).toEqual({ unit: "sessions", count: 504 });
    expect(parseAge("8w")).toEqual({ unit: "weeks", count: 8 });
    for (const text of ["0d", "30", "1h", "2 years", "-1d"])
      expect(() => parseAge(text)).toThrow(/invalid age/);
  });

  it("counts market data back from the run date, calendar or sessions", () => {
    const at = (age: string, runDate = "2024-01-02") => marketCutoff(parseAge(age), runDate).date;
    expect(at("30d")).toBe("2023-12-03");
    expect(at("1w")).toBe("2023-12-26");
    expect(at("2y")).toBe("2022-01-02");
    expect(at("1y", "2024-02-29")).toBe("2023-02-28");
    expect(at("1 session")).toBe("2024-01-02");
    expect(at("3 sessions")).toBe("2023-12-28");
    expect(at("1 session", "2024-01-01")).toBe("2023-12-29"); // a holiday: the session before
    // Midnight in New York (EST here).
    expect(marketCutoff(parseAge("30d"), "2024-01-02").instant.toISOString()).toBe(
      "2023-12-03T05:00:00.000Z",
    );
    expect(() => marketCutoff(parseAge("1d"), "2024-13-01")).toThrow(/invalid run date/);
  });

  it("counts run history back from now", () => {
    const now = new Date("2024-07-06T15:00:00Z"); // a Saturday, 11:00 in New York (EDT)
    expect(historyCutoff(parseAge("30d"), now).instant.toISOString()).toBe("2024-06-06T15:00:00.000Z");
    expect(historyCutoff(parseAge("2w"), now).instant.toISOString()).toBe("2024-06-22T15:00:00.000Z");
    // 1 session back from a Saturday: Friday's session, from its midnight in New York.
    expect(historyCutoff(parseAge("1 session"), now)).toEqual({
      date: "2024-07-05",
      instant: new Date("2024-07-05T04:00:00Z"),
    });
  });
});
