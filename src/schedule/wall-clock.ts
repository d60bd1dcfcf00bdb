import { DateTime, IANAZone } from "luxon";

/**
 * Wall-clock time: a local date and time in a zone, carried as "naive" milliseconds (the UTC
 * milliseconds of the same calendar fields, so 02:30 local is 02:30Z). Naive arithmetic has no DST,
 * so cron, rrule and day-sized intervals run on it; `resolveWallClock` turns a result into an
 * instant with tickflow's rules for the times DST removes or repeats.
 */
const DAY = 86_400_000;

const zones = new Map<string, IANAZone>();
function zoneOf(name: string): IANAZone {
  let zone = zones.get(name);
  if (!zone) {
    zone = IANAZone.create(name);
    if (!zone.isValid) throw new RangeError(`unknown time zone "${name}"`);
    zones.set(name, zone);
  }
  return zone;
}

/**
 * Offsets by UTC day, so a scheduler pass asks Intl once per zone and day instead of thousands of
 * times: a day holds one offset, or (a transition day) one offset before `switchAt` and another
 * from it on, found by bisection to the second. No zone changes its offset twice within a day.
 */
interface DayOffsets {
  before: number;
  after: number;
  switchAt: number;
}
const dayOffsets = new Map<string, Map<number, DayOffsets>>();

function rawOffset(zone: string, at: number): number {
  return zoneOf(zone).offset(at) * 60_000;
}

function offsetsOfDay(zone: string, day: number): DayOffsets {
  // Offsets change on whole seconds, so the day's last whole second has its closing offset.
  let lo = day * 86_400; // seconds
  let hi = lo + 86_399;
  const before = rawOffset(zone, lo * 1000);
  const after = rawOffset(zone, hi * 1000);
  if (before === after) return { before, after, switchAt: Number.POSITIVE_INFINITY };
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (rawOffset(zone, mid * 1000) === before) lo = mid;
    else hi = mid;
  }
  return { before, after, switchAt: hi * 1000 };
}

function dayOf(zone: string, at: number): DayOffsets {
  let days = dayOffsets.get(zone);
  if (!days) {
    days = new Map();
    dayOffsets.set(zone, days);
  }
  const day = Math.floor(at / DAY);
  let d = days.get(day);
  if (!d) {
    d = offsetsOfDay(zone, day);
    if (days.size > 50_000) days.clear();
    days.set(day, d);
  }
  return d;
}

/** UTC offset of `zone` at instant `at`, in milliseconds (New York in winter: -5h). */
export function offsetAt(zone: string, at: number): number {
  if (zone === "UTC") return 0;
  const d = dayOf(zone, at);
  return at < d.switchAt ? d.before : d.after;
}

/** The naive wall-clock milliseconds of an instant. */
export function toWallClock(zone: string, at: number): number {
  return at + offsetAt(zone, at);
}

/** The smallest offset around an instant (a day either side): where a wall-clock search must start. */
export function minOffsetAround(zone: string, at: number): number {
  if (zone === "UTC") return 0;
  return Math.min(offsetAt(zone, at - DAY), offsetAt(zone, at + DAY), offsetAt(zone, at));
}

export type WallClockKind = "exists" | "gap" | "repeated";

export interface ResolvedWallClock {
  /** The instant (UTC ms) the wall-clock time fires at. */
  at: number;
  /** `gap`: the time does not exist (clocks go forward), `at` is the first instant after the gap;
   *  `repeated`: it occurs twice (clocks go back), `at` is the first occurrence. */
  kind: WallClockKind;
}

/**
 * The instant of a wall-clock time in `zone`: a time that does not exist fires once at the first
 * valid instant after the gap (02:30 on a spring-forward night in New York → 03:00 EDT); a time
 * that occurs twice fires once, at its first occurrence (01:30 EDT, not 01:30 EST).
 */
export function resolveWallClock(zone: string, naive: number): ResolvedWallClock {
  if (zone === "UTC") return { at: naive, kind: "exists" };
  const before = offsetAt(zone, naive - DAY);
  const after = offsetAt(zone, naive + DAY);
  if (before === after && offsetAt(zone, naive - before) === before)
    return { at: naive - before, kind: "exists" };
  const valid = [...new Set([before, after])]
    .filter((o) => offsetAt(zone, naive - o) === o)
    .map((o) => naive - o);
  if (valid.length === 2) return { at: Math.min(...valid), kind: "repeated" };
  if (valid.length === 1) return { at: valid[0]!, kind: "exists" };
  // In a gap: it fires at the transition, which lies between the two readings.
  const lo = naive - Math.max(before, after);
  const hi = naive - Math.min(before, after);
  for (const d of [dayOf(zone, lo), dayOf(zone, hi)])
    if (d.switchAt > lo && d.switchAt <= hi) return { at: d.switchAt, kind: "gap" };
  return { at: hi, kind: "gap" };
}

/** ISO 8601 with the zone's offset, e.g. 2026-03-08T03:00:00-04:00. */
export function localIso(zone: string, at: number): string {
  const offset = offsetAt(zone, at);
  const iso = new Date(at + offset).toISOString();
  const clock = iso.endsWith(".000Z") ? iso.slice(0, 19) : iso.slice(0, 23);
  if (zone === "UTC") return `${clock}Z`;
  const minutes = Math.abs(offset) / 60_000;
  const hh = String(Math.floor(minutes / 60)).padStart(2, "0");
  const mm = String(Math.floor(minutes % 60)).padStart(2, "0");
  return `${clock}${offset < 0 ? "-" : "+"}${hh}:${mm}`;
}

/** The zone's abbreviation at an instant (EDT, EST, UTC, GMT+1). */
export function zoneAbbreviation(zone: string, at: number): string {
  return DateTime.fromMillis(at, { zone, locale: "en-US" }).toFormat("ZZZZ");
}

/** "02:30" (or "02:30:15") of a naive wall-clock time. */
export function wallClockTime(naive: number): string {
  const iso = new Date(naive).toISOString();
  return iso.slice(11, 19).endsWith(":00") ? iso.slice(11, 16) : iso.slice(11, 19);
}

/** The note a fire gets when DST moved or merged it; none for an ordinary time. */
export function dstNote(zone: string, naive: number, resolved: ResolvedWallClock): string | undefined {
  if (resolved.kind === "exists") return undefined;
  const abbr = zoneAbbreviation(zone, resolved.at);
  const wanted = wallClockTime(naive);
  if (resolved.kind === "gap") {
    const fired = wallClockTime(toWallClock(zone, resolved.at));
    return `DST starts: ${wanted} does not exist, fired at ${fired} ${abbr}`;
  }
  const later = zoneAbbreviation(zone, resolved.at + DAY);
  return `DST ends: ${wanted} occurs twice (${abbr}, then ${later}), fired once at the first`;
}
