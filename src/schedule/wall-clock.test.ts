import { describe, expect, it } from "vitest";
import { localIso, offsetAt, resolveWallClock } from "./wall-clock.js";

const wall = (iso: string) => Date.parse(`${iso}Z`); // naive wall-clock ms
const resolve = (zone: string, iso: string) => {
  const r = resolveWallClock(zone, wall(iso));
  return { at: new Date(r.at).toISOString(), kind: r.kind, local: localIso(zone, r.at) };
};

describe("resolveWallClock across zones", () => {
  it.each([
    [
      "America/New_York",
      "2026-03-08T02:30:00",
      "2026-03-08T07:00:00.000Z",
      "gap",
      "2026-03-08T03:00:00-04:00",
    ],
    [
      "America/New_York",
      "2026-11-01T01:30:00",
      "2026-11-01T05:30:00.000Z",
      "repeated",
      "2026-11-01T01:30:00-04:00",
    ],
    [
      "America/New_York",
      "2026-11-01T02:30:00",
      "2026-11-01T07:30:00.000Z",
      "exists",
      "2026-11-01T02:30:00-05:00",
    ],
    ["Europe/London", "2026-03-29T01:30:00", "2026-03-29T01:00:00.000Z", "gap", "2026-03-29T02:00:00+01:00"],
    [
      "Europe/London",
      "2026-10-25T01:30:00",
      "2026-10-25T00:30:00.000Z",
      "repeated",
      "2026-10-25T01:30:00+01:00",
    ],
    [
      "Australia/Sydney",
      "2026-10-04T02:30:00",
      "2026-10-03T16:00:00.000Z",
      "gap",
      "2026-10-04T03:00:00+11:00",
    ],
    [
      "Australia/Sydney",
      "2026-04-05T02:30:00",
      "2026-04-04T15:30:00.000Z",
      "repeated",
      "2026-04-05T02:30:00+11:00",
    ],
    [
      "Australia/Lord_Howe",
      "2026-10-04T02:15:00",
      "2026-10-03T15:30:00.000Z",
      "gap",
      "2026-10-04T02:30:00+11:00",
    ],
    ["Asia/Tokyo", "2026-03-08T02:30:00", "2026-03-07T17:30:00.000Z", "exists", "2026-03-08T02:30:00+09:00"],
  ])("%s %s", (zone, naive, at, kind, local) => {
    expect(resolve(zone, naive)).toEqual({ at, kind, local });
  });

  it("agrees with Intl on the offset every 119 minutes through 2026 in New York", () => {
    const fmt = new Intl.DateTimeFormat("en-US", {
      timeZone: "America/New_York",
      timeZoneName: "longOffset",
    });
    for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 119 * 60_000) {
      const name = fmt.formatToParts(new Date(t)).find((p) => p.type === "timeZoneName")!.value; // GMT-05:00
      const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name)!;
      const want = (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000;
      expect(offsetAt("America/New_York", t)).toBe(want);
    }
  });
});
