import { Cron } from "croner";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nextWallClock } from "./cron.js";

const field = (max: number, min = 0) =>
  fc.oneof(
    fc.constant("*"),
    fc.integer({ min: 1, max: Math.min(max, 20) }).map((k) => `*/${k}`),
    fc.integer({ min, max }).map(String),
    fc
      .tuple(fc.integer({ min, max }), fc.integer({ min, max }))
      .map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    fc.uniqueArray(fc.integer({ min, max }), { minLength: 2, maxLength: 4 }).map((xs) => xs.join(",")),
  );
const pattern = fc
  .tuple(field(59), field(23), field(31, 1), field(12, 1), field(7), fc.boolean())
  .map(([mi, h, dom, mo, dow, and]) => `${mi} ${h} ${dom} ${mo} ${and && dow !== "*" ? "+" : ""}${dow}`);
const instant = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 11, 31) });

describe("nextWallClock", () => {
  it("agrees with croner on random patterns and times (the same-day fast path is only a shortcut)", () => {
    fc.assert(
      fc.property(pattern, instant, (expr, naive) => {
        const croner = new Cron(expr, { utcOffset: 0, paused: true }).nextRun(new Date(naive))?.getTime();
        expect(nextWallClock(expr, naive)).toBe(croner);
      }),
      { numRuns: 1000 },
    );
  });

  it("patterns croner handles alone: seconds, L, W, #, years", () => {
    for (const expr of [
      "30 * * * * *",
      "0 12 L * *",
      "0 9 15W * *",
      "0 9 * * 5#2",
      "0 0 0 1 1 * 2027",
      "0 9 * * 5L",
    ]) {
      const t = Date.UTC(2026, 2, 9, 10, 0, 17);
      expect(nextWallClock(expr, t)).toBe(
        new Cron(expr, { utcOffset: 0, paused: true }).nextRun(new Date(t))?.getTime(),
      );
    }
  });
});
