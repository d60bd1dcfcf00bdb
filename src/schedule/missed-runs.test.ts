import { describe, expect, it } from "vitest";
import { fireTimes } from "./fire-times.js";
import { decideMissedRuns } from "./missed-runs.js";

// A daily 17:30 New York cron; the scheduler last created the run of Monday 2026-03-02 and was down
// from then until Thursday 2026-03-05 18:00 local (3 days), which it now catches up on, scheduling
// ahead until Friday evening.
const schedule = { cron: "30 17 * * *", timezone: "America/New_York" };
const lastCreated = new Date("2026-03-02T22:30:00Z");
const now = new Date("2026-03-05T23:00:00Z"); // 18:00 EST
const horizon = new Date("2026-03-07T00:00:00Z");
const fires = fireTimes(schedule, lastCreated, horizon).fires;
const LATE = 60 * 60_000; // a run more than an hour overdue is missed
const days = (list: { at: Date }[]) => list.map((f) => f.at.toISOString().slice(0, 10));

describe("missed_runs after a 3-day downtime", () => {
  it("the window holds 3 past fires and 1 future one", () => {
    expect(days(fires)).toEqual(["2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"]);
  });

  it("all: every missed run, the late one and the future one", () => {
    const d = decideMissedRuns("all", fires, now, LATE);
    expect(d.create.map((c) => [c.fire.at.toISOString().slice(0, 10), c.status])).toEqual([
      ["2026-03-03", "missed"],
      ["2026-03-04", "missed"],
      ["2026-03-05", "late"], // 30 minutes overdue: within the threshold
      ["2026-03-06", "future"],
    ]);
    expect(d.dropped).toEqual([]);
  });

  it("latest: a late fire stands for the latest, the missed ones are dropped", () => {
    const d = decideMissedRuns("latest", fires, now, LATE);
    expect(days(d.create.map((c) => c.fire))).toEqual(["2026-03-05", "2026-03-06"]);
    expect(days(d.dropped)).toEqual(["2026-03-03", "2026-03-04"]);
  });

  it("latest: with no late fire, only the most recent missed one", () => {
    const d = decideMissedRuns("latest", fires, now, 10 * 60_000);
    expect(d.create.map((c) => [c.fire.at.toISOString().slice(0, 10), c.status])).toEqual([
      ["2026-03-05", "missed"],
      ["2026-03-06", "future"],
    ]);
    expect(days(d.dropped)).toEqual(["2026-03-03", "2026-03-04"]);
  });

  it("skip: none of the missed ones, only future (and late) runs", () => {
    expect(days(decideMissedRuns("skip", fires, now, 10 * 60_000).create.map((c) => c.fire))).toEqual([
      "2026-03-06",
    ]);
    const d = decideMissedRuns("skip", fires, now, LATE);
    expect(days(d.create.map((c) => c.fire))).toEqual(["2026-03-05", "2026-03-06"]);
    expect(days(d.dropped)).toEqual(["2026-03-03", "2026-03-04"]);
  });

  it("no downtime: nothing missed, every policy agrees", () => {
    const upcoming = fireTimes(schedule, now, horizon).fires;
    for (const policy of ["all", "latest", "skip"] as const) {
      const d = decideMissedRuns(policy, upcoming, now, LATE);
      expect(days(d.create.map((c) => c.fire))).toEqual(["2026-03-06"]);
      expect(d.dropped).toEqual([]);
    }
  });

  it("a fire exactly at now is late, not future; exactly at the threshold is still late", () => {
    const at = (iso: string) => ({ at: new Date(iso), local: iso, notes: [] });
    const d = decideMissedRuns("skip", [at("2026-03-05T22:00:00Z"), at("2026-03-05T23:00:00Z")], now, LATE);
    expect(d.create.map((c) => c.status)).toEqual(["late", "late"]);
  });
});
