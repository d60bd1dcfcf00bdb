import { describe, expect, it } from "vitest";
import type { ScheduleDocument } from "./deployments-file.js";
import { fireTimes, nextFireTimes } from "./fire-times.js";

const NY = "America/New_York";
const utc = (iso: string) => new Date(iso);
const locals = (s: ScheduleDocument, after: string, until: string) =>
  fireTimes(s, utc(after), utc(until)).fires.map((f) => f.local);

describe("cron across DST in America/New_York (2026)", () => {
  it("02:30 daily: the missing 02:30 on 2026-03-08 fires once at 03:00 EDT", () => {
    const s = { cron: "30 2 * * *", timezone: NY };
    const w = fireTimes(s, utc("2026-03-06T12:00:00Z"), utc("2026-03-10T12:00:00Z"));
    expect(w.fires.map((f) => f.local)).toEqual([
      "2026-03-07T02:30:00-05:00",
      "2026-03-08T03:00:00-04:00",
      "2026-03-09T02:30:00-04:00",
      "2026-03-10T02:30:00-04:00",
    ]);
    expect(w.fires[1]!.at.toISOString()).toBe("2026-03-08T07:00:00.000Z");
    expect(w.fires[1]!.notes).toEqual(["DST starts: 02:30 does not exist, fired at 03:00 EDT"]);
    expect(w.fires.filter((f) => f.notes.length)).toHaveLength(1);
  });

  it("02:30 daily: once across fall back (02:30 exists once on 2026-11-01)", () => {
    const s = { cron: "30 2 * * *", timezone: NY };
    expect(locals(s, "2026-10-31T00:00:00Z", "2026-11-03T00:00:00Z")).toEqual([
      "2026-10-31T02:30:00-04:00",
      "2026-11-01T02:30:00-05:00",
      "2026-11-02T02:30:00-05:00",
    ]);
  });

  it("01:30 daily: the repeated 01:30 on 2026-11-01 fires once, at the first (EDT)", () => {
    const s = { cron: "30 1 * * *", timezone: NY };
    const w = fireTimes(s, utc("2026-10-31T00:00:00Z"), utc("2026-11-03T00:00:00Z"));
    expect(w.fires.map((f) => f.at.toISOString())).toEqual([
      "2026-10-31T05:30:00.000Z",
      "2026-11-01T05:30:00.000Z", // 01:30 EDT; 06:30Z (01:30 EST) is not a fire
      "2026-11-02T06:30:00.000Z",
    ]);
    expect(w.fires[1]!.local).toBe("2026-11-01T01:30:00-04:00");
    expect(w.fires[1]!.notes[0]).toMatch(
      /^DST ends: 01:30 occurs twice \(EDT, then EST\), fired once at the first/,
    );
    // Asked from inside the repeated hour (after the first 01:30), the next fire is the next day.
    const inside = fireTimes(s, utc("2026-11-01T06:00:00Z"), utc("2026-11-03T00:00:00Z"));
    expect(inside.fires.map((f) => f.local)).toEqual(["2026-11-02T01:30:00-05:00"]);
  });

  it("01:30 daily: unaffected by the March change", () => {
    const s = { cron: "30 1 * * *", timezone: NY };
    const w = fireTimes(s, utc("2026-03-07T00:00:00Z"), utc("2026-03-10T00:00:00Z"));
    expect(w.fires.map((f) => f.at.toISOString())).toEqual([
      "2026-03-07T06:30:00.000Z",
      "2026-03-08T06:30:00.000Z",
      "2026-03-09T05:30:00.000Z",
    ]);
    expect(w.fires.every((f) => f.notes.length === 0)).toBe(true);
  });

  it("30 17 * * 1-5 keeps 17:30 local on both sides of each change", () => {
    const s = { cron: "30 17 * * 1-5", timezone: NY };
    const march = fireTimes(s, utc("2026-03-05T00:00:00Z"), utc("2026-03-11T00:00:00Z"));
    expect(march.fires.map((f) => f.at.toISOString())).toEqual([
      "2026-03-05T22:30:00.000Z",
      "2026-03-06T22:30:00.000Z",
      "2026-03-09T21:30:00.000Z",
      "2026-03-10T21:30:00.000Z",
    ]);
    const nov = fireTimes(s, utc("2026-10-29T00:00:00Z"), utc("2026-11-04T00:00:00Z"));
    expect(nov.fires.map((f) => f.local)).toEqual([
      "2026-10-29T17:30:00-04:00",
      "2026-10-30T17:30:00-04:00",
      "2026-11-02T17:30:00-05:00",
      "2026-11-03T17:30:00-05:00",
    ]);
  });

  it("every 15 minutes: the spring gap merges into 03:00, the repeated hour runs once", () => {
    const s = { cron: "*/15 * * * *", timezone: NY };
    const spring = locals(s, "2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z");
    expect(spring).toEqual([
      "2026-03-08T01:45:00-05:00",
      "2026-03-08T03:00:00-04:00",
      "2026-03-08T03:15:00-04:00",
      "2026-03-08T03:30:00-04:00",
    ]);
    const fall = fireTimes(s, utc("2026-11-01T04:50:00Z"), utc("2026-11-01T07:10:00Z")).fires;
    const times = fall.map((f) => f.local.slice(11, 16));
    expect(times).toEqual(
      ["01:00", "01:15", "01:30", "01:45", "02:00", "02:15", "02:30", "02:45", "03:00"].slice(
        0,
        times.length,
      ),
    );
    expect(new Set(times).size).toBe(times.length);
  });

  it("window bounds are (after, until]", () => {
    const s = { cron: "0 12 * * *" };
    expect(locals(s, "2026-01-01T12:00:00Z", "2026-01-03T12:00:00Z")).toEqual([
      "2026-01-02T12:00:00Z",
      "2026-01-03T12:00:00Z",
    ]);
  });
});

describe("calendar: XNYS", () => {
  const HOLIDAYS_2025 = {
    "2025-01-01": "New Year's Day",
    "2025-01-09": "National Day of Mourning",
    "2025-01-20": "Martin Luther King Jr. Day",
    "2025-02-17": "Washington's Birthday",
    "2025-04-18": "Good Friday",
    "2025-05-26": "Memorial Day",
    "2025-06-19": "Juneteenth",
    "2025-07-04": "Independence Day",
    "2025-09-01": "Labor Day",
    "2025-11-27": "Thanksgiving Day",
    "2025-12-25": "Christmas Day",
  };

  it("a weekday 17:30 cron skips every 2025 NYSE holiday, with its name", () => {
    const s = { cron: "30 17 * * 1-5", timezone: NY, calendar: "XNYS" as const };
    const w = fireTimes(s, utc("2025-01-01T00:00:00Z"), utc("2026-01-01T05:00:00Z"));
    const skipped = Object.fromEntries(w.skipped.map((k) => [k.local.slice(0, 10), k.reason]));
    expect(Object.keys(skipped)).toEqual(Object.keys(HOLIDAYS_2025));
    for (const [date, reason] of Object.entries(skipped)) {
      expect(reason.toLowerCase()).toContain(
        HOLIDAYS_2025[date as keyof typeof HOLIDAYS_2025].toLowerCase().slice(0, 8),
      );
    }
    expect(w.fires).toHaveLength(250); // NYSE sessions in 2025
    expect(
      w.fires.every((f) => f.local.slice(11) === "17:30:00-05:00" || f.local.slice(11) === "17:30:00-04:00"),
    ).toBe(true);
  });

  it("uses the local date in the schedule's zone and reports weekends", () => {
    // 23:30 in Los Angeles on Friday 2025-07-03 is Saturday in UTC, still a session in LA's date.
    const s = { cron: "30 23 * * *", timezone: "America/Los_Angeles", calendar: "XNYS" as const };
    const w = fireTimes(s, utc("2025-07-03T12:00:00Z"), utc("2025-07-08T12:00:00Z"));
    expect(w.fires.map((f) => f.local.slice(0, 10))).toEqual(["2025-07-03", "2025-07-07"]);
    expect(w.skipped.map((k) => [k.local.slice(0, 10), k.reason])).toEqual([
      ["2025-07-04", "Independence Day"],
      ["2025-07-05", "Weekend"],
      ["2025-07-06", "Weekend"],
    ]);
  });

  it("next N counts kept fires only", () => {
    const s = { cron: "30 17 * * 1-5", timezone: NY, calendar: "XNYS" as const };
    const w = nextFireTimes(s, utc("2025-12-23T00:00:00Z"), 3);
    expect(w.fires.map((f) => f.local.slice(0, 10))).toEqual(["2025-12-23", "2025-12-24", "2025-12-26"]);
    expect(w.skipped.map((k) => k.reason)).toEqual(["Christmas Day"]);
  });
});

describe("interval", () => {
  it("is anchored, so a restart at any moment gives the same grid", () => {
    const s = { interval: "7m" };
    const all = fireTimes(s, utc("2026-05-01T00:00:00Z"), utc("2026-05-01T03:00:00Z")).fires.map((f) =>
      f.at.getTime(),
    );
    for (const restart of ["2026-05-01T00:31:13Z", "2026-05-01T01:00:00Z", "2026-05-01T02:59:59Z"]) {
      const after = fireTimes(s, utc(restart), utc("2026-05-01T03:00:00Z")).fires.map((f) => f.at.getTime());
      expect(after).toEqual(all.filter((t) => t > Date.parse(restart)));
    }
    // default anchor 2000-01-01T00:00Z: every fire is a whole number of intervals from it
    expect(all.every((t) => (t - Date.UTC(2000, 0, 1)) % 420_000 === 0)).toBe(true);
  });

  it("honours anchor_date", () => {
    const s = { interval: "1h", anchor_date: "2026-01-01T00:20:00+00:00" };
    expect(locals(s, "2026-05-01T00:00:00Z", "2026-05-01T02:00:00Z")).toEqual([
      "2026-05-01T00:20:00Z",
      "2026-05-01T01:20:00Z",
    ]);
  });

  it("hourly in a zone is elapsed time; daily keeps the local time across DST", () => {
    const hourly = { interval: "1h", timezone: NY };
    expect(locals(hourly, "2026-11-01T04:30:00Z", "2026-11-01T07:30:00Z")).toEqual([
      "2026-11-01T01:00:00-04:00",
      "2026-11-01T01:00:00-05:00",
      "2026-11-01T02:00:00-05:00",
    ]);
    const daily = { interval: "1d", timezone: NY, anchor_date: "2026-01-01T09:00:00-05:00" };
    expect(locals(daily, "2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z")).toEqual([
      "2026-03-07T09:00:00-05:00",
      "2026-03-08T09:00:00-04:00",
      "2026-03-09T09:00:00-04:00",
    ]);
  });

  it("default anchor is midnight local in the schedule's zone", () => {
    const s = { interval: "6h", timezone: NY };
    // 2000-01-01T00:00 EST = 05:00Z; 6h elapsed steps from there
    expect(locals(s, "2026-01-05T00:00:00Z", "2026-01-05T12:00:00Z")).toEqual([
      "2026-01-05T00:00:00-05:00",
      "2026-01-05T06:00:00-05:00",
    ]);
  });
});

describe("rrule", () => {
  it("weekly on Saturdays at 06:00 New York time, across the November change", () => {
    const s = { rrule: "FREQ=WEEKLY;BYDAY=SA;BYHOUR=6;BYMINUTE=0", timezone: NY };
    const w = fireTimes(s, utc("2026-10-20T00:00:00Z"), utc("2026-11-15T00:00:00Z"));
    expect(w.fires.map((f) => f.at.toISOString())).toEqual([
      "2026-10-24T10:00:00.000Z",
      "2026-10-31T10:00:00.000Z",
      "2026-11-07T11:00:00.000Z",
      "2026-11-14T11:00:00.000Z",
    ]);
  });

  it("without BYHOUR fires at local midnight; a missing 02:30 moves to 03:00", () => {
    expect(
      locals({ rrule: "FREQ=WEEKLY;BYDAY=SA", timezone: NY }, "2026-03-01T00:00:00Z", "2026-03-15T00:00:00Z"),
    ).toEqual(["2026-03-07T00:00:00-05:00", "2026-03-14T00:00:00-04:00"]);
    const w = fireTimes(
      { rrule: "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", timezone: NY },
      utc("2026-03-01T12:00:00Z"),
      utc("2026-03-09T00:00:00Z"),
    );
    expect(w.fires.map((f) => [f.local, f.notes])).toEqual([
      ["2026-03-08T03:00:00-04:00", ["DST starts: 02:30 does not exist, fired at 03:00 EDT"]],
    ]);
  });
});

describe("rrule with DTSTART", () => {
  it("reads DTSTART (with or without TZID) as wall-clock time in the schedule's zone", () => {
    for (const text of [
      "DTSTART:20260302T093000\nRRULE:FREQ=WEEKLY;BYDAY=MO",
      "DTSTART;TZID=America/New_York:20260302T093000\nRRULE:FREQ=WEEKLY;BYDAY=MO",
    ]) {
      expect(locals({ rrule: text, timezone: NY }, "2026-03-01T00:00:00Z", "2026-03-17T00:00:00Z")).toEqual([
        "2026-03-02T09:30:00-05:00",
        "2026-03-09T09:30:00-04:00",
        "2026-03-16T09:30:00-04:00",
      ]);
    }
  });
});

describe("inactive", () => {
  it("gives nothing", () => {
    const s = { cron: "* * * * *", active: false };
    expect(fireTimes(s, utc("2026-01-01T00:00:00Z"), utc("2026-01-02T00:00:00Z"))).toEqual({
      fires: [],
      skipped: [],
    });
    expect(nextFireTimes(s, utc("2026-01-01T00:00:00Z"), 5).fires).toEqual([]);
  });
});
