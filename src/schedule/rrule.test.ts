import { describe, expect, it } from "vitest";
import { plainRuleAfter, rruleTrigger } from "./rrule.js";

describe("rruleTrigger (UTC: wall clock = instant)", () => {
  const rules = [
    "FREQ=HOURLY;INTERVAL=5;BYMINUTE=7",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;BYHOUR=9;BYMINUTE=30",
    "FREQ=WEEKLY;BYDAY=SA",
    "FREQ=DAILY;INTERVAL=3;BYHOUR=6,18",
    "FREQ=MINUTELY;INTERVAL=45;BYHOUR=9,10,11",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=12",
    "DTSTART:20240105T081500\nRRULE:FREQ=WEEKLY;INTERVAL=3",
  ];
  const times = [
    "2003-07-01T10:00:00Z",
    "2026-03-08T06:59:59Z",
    "2028-02-28T23:00:00Z",
    "2026-11-29T12:34:56Z",
  ];

  it("gives what rrule.js gives walking from DTSTART, when it rebases the walk", () => {
    for (const text of rules) {
      const trigger = rruleTrigger(text, "UTC");
      for (const iso of times) {
        const t = Date.parse(iso);
        expect([text, iso, trigger.next(t)?.at]).toEqual([text, iso, plainRuleAfter(text, t)]);
      }
    }
  });

  it("answers an hourly rule in 2026 quickly", () => {
    const trigger = rruleTrigger("FREQ=HOURLY;BYMINUTE=15", "UTC");
    const start = performance.now();
    let t = Date.parse("2026-03-01T00:00:00Z");
    for (let i = 0; i < 200; i++) t = trigger.next(t)!.at;
    expect(new Date(t).toISOString()).toBe("2026-03-09T07:15:00.000Z");
    expect(performance.now() - start).toBeLessThan(2_000);
  });

  it("COUNT is counted from DTSTART (no rebasing)", () => {
    const trigger = rruleTrigger("DTSTART:20260101T090000\nRRULE:FREQ=DAILY;COUNT=3", "UTC");
    expect(trigger.next(Date.parse("2026-01-02T12:00:00Z"))?.at).toBe(Date.parse("2026-01-03T09:00:00Z"));
    expect(trigger.next(Date.parse("2026-01-03T12:00:00Z"))).toBeUndefined();
  });
});
