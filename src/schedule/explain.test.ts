import { describe, expect, it } from "vitest";
import { explainDeployment } from "./explain.js";
import { scheduleId } from "./run-key.js";

const from = new Date("2026-03-06T12:00:00Z");

describe("explainDeployment", () => {
  it("lists each schedule's next fires with its id, zone and calendar", () => {
    const cron = { cron: "30 2 * * *", timezone: "America/New_York" };
    const e = explainDeployment({ name: "night", pipeline: "p.yaml", schedules: [cron] }, from, 3);
    expect(e).toMatchObject({
      deployment: "night",
      paused: false,
      from: "2026-03-06T12:00:00.000Z",
      next: 3,
    });
    expect(e.schedules[0]).toMatchObject({
      index: 1,
      id: scheduleId(cron),
      trigger: 'cron "30 2 * * *"',
      timezone: "America/New_York",
      calendar: null,
      active: true,
      skipped: [],
    });
    expect(e.schedules[0]!.fires).toEqual([
      { at: "2026-03-07T07:30:00.000Z", local: "2026-03-07T02:30:00-05:00", notes: [] },
      {
        at: "2026-03-08T07:00:00.000Z",
        local: "2026-03-08T03:00:00-04:00",
        notes: ["DST starts: 02:30 does not exist, fired at 03:00 EDT"],
      },
      { at: "2026-03-09T06:30:00.000Z", local: "2026-03-09T02:30:00-04:00", notes: [] },
    ]);
  });

  it("a calendar that rejects every time gives up instead of searching forever", () => {
    const sundays = { cron: "0 12 * * 0", timezone: "America/New_York", calendar: "XNYS" as const };
    const e = explainDeployment({ name: "x", pipeline: "p.yaml", schedules: [sundays] }, from, 2);
    expect(e.schedules[0]!.fires).toEqual([]);
    expect(e.schedules[0]!.skipped.length).toBeGreaterThan(100);
    expect(new Set(e.schedules[0]!.skipped.map((k) => k.reason))).toEqual(new Set(["Weekend"]));
  });

  it("inactive schedules, paused deployments, no schedules", () => {
    const e = explainDeployment(
      { name: "x", pipeline: "p.yaml", paused: true, schedules: [{ interval: "1h", active: false }] },
      from,
      2,
    );
    expect(e.paused).toBe(true);
    expect(e.schedules[0]).toMatchObject({ active: false, fires: [], skipped: [], trigger: "interval 1h" });
    expect(explainDeployment({ name: "y", pipeline: "p.yaml" }, from, 2).schedules).toEqual([]);
  });
});
