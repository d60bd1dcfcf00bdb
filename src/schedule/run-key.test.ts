import { describe, expect, it } from "vitest";
import type { ScheduleDocument } from "./deployments-file.js";
import { scheduledRunKey, scheduleId, stableJson, uuidV5 } from "./run-key.js";

const a: ScheduleDocument = {
  cron: "30 18 * * 1-5",
  timezone: "America/New_York",
  calendar: "XNYS",
  parameters: { source: "polygon" },
};
const b: ScheduleDocument = {
  cron: "45 18 * * 1-5",
  timezone: "America/New_York",
  calendar: "XNYS",
  parameters: { source: "yahoo" },
};
const at = new Date("2026-03-09T22:30:00Z");

describe("scheduledRunKey", () => {
  it("is a deterministic UUID", () => {
    const key = scheduledRunKey("indicators", a, at);
    expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(scheduledRunKey("indicators", a, new Date(at.getTime()))).toBe(key);
    expect(scheduledRunKey("indicators", scheduleId(a), at)).toBe(key);
  });

  it("does not change when the schedules are reordered", () => {
    const before = [a, b].map((s) => scheduledRunKey("indicators", s, at));
    const after = [b, a].map((s) => scheduledRunKey("indicators", s, at));
    expect(after.reverse()).toEqual(before);
  });

  it("ignores spelling that does not change the schedule: key order, cron spacing, UTC default, active", () => {
    const reordered = {
      parameters: { source: "polygon" },
      calendar: "XNYS",
      timezone: "America/New_York",
      cron: "30  18 * * 1-5",
    } as const;
    expect(scheduleId(reordered)).toBe(scheduleId(a));
    expect(scheduleId({ cron: "0 1 * * *" })).toBe(
      scheduleId({ cron: "0 1 * * *", timezone: "UTC", active: true }),
    );
    expect(scheduleId({ interval: "1h", active: false })).toBe(scheduleId({ interval: "1h" }));
    expect(scheduleId({ interval: "1h", anchor_date: "2026-01-01T01:00:00+01:00" })).toBe(
      scheduleId({ interval: "1h", anchor_date: "2026-01-01T00:00:00Z" }),
    );
  });

  it("differs by deployment, schedule content, parameters and instant", () => {
    const keys = new Set([
      scheduledRunKey("indicators", a, at),
      scheduledRunKey("validation", a, at),
      scheduledRunKey("indicators", b, at),
      scheduledRunKey("indicators", { ...a, parameters: { source: "yahoo" } }, at),
      scheduledRunKey("indicators", { ...a, timezone: "Europe/London" }, at),
      scheduledRunKey("indicators", a, new Date(at.getTime() + 1000)),
    ]);
    expect(keys.size).toBe(6);
  });

  it("uuidV5 matches the RFC 4122 reference (DNS namespace, python.org)", () => {
    expect(uuidV5("python.org", "6ba7b810-9dad-11d1-80b4-00c04fd430c8")).toBe(
      "886313e1-3b8a-5372-9b90-0c9aee199e5d",
    );
  });

  it("stableJson sorts keys at every level", () => {
    expect(stableJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"x":1,"y":2}]},"b":1}',
    );
  });
});
