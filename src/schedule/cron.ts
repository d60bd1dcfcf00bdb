import { Cron } from "croner";
import type { Candidate, Trigger } from "./trigger.js";
import { dstNote, minOffsetAround, resolveWallClock } from "./wall-clock.js";

/**
 * A cron pattern over naive wall-clock time. Croner runs at offset 0, so it never sees DST;
 * `resolveWallClock` applies tickflow's rules to every pattern alike (croner's own DST handling
 * differs between "fixed-time" and "interval" patterns: the latter fire twice in a repeated hour).
 */
interface Pattern {
  cron: Cron;
  /** Minute-level fields for the same-day fast path, when the pattern is plain enough. */
  fields: MinuteFields | undefined;
}

/** Parsed patterns, shared by every schedule with the same cron string (parsing costs ~0.3 ms). */
const patterns = new Map<string, Pattern>();

function pattern(expr: string): Pattern {
  let p = patterns.get(expr);
  if (!p) {
    const cron = new Cron(expr, { utcOffset: 0, paused: true });
    p = { cron, fields: minuteFields(cron) };
    patterns.set(expr, p);
  }
  return p;
}

/**
 * The fields of a pattern with whole-minute fires and no `L`, `W`, `#` or year, read from croner's
 * parsed pattern (so the syntax stays croner's); undefined otherwise, and croner answers alone.
 * `cron.test.ts` checks the fast path against croner on random patterns and times.
 */
interface MinuteFields {
  minute: number[];
  hour: number[];
  day: number[];
  month: number[];
  dayOfWeek: number[];
  /** How day of month and day of week combine: only the day of month, both, or either (Vixie). */
  days: "dom" | "and" | "or";
}

interface CronerPattern {
  second: number[];
  minute: number[];
  hour: number[];
  day: number[];
  month: number[];
  dayOfWeek: number[];
  starDOM: boolean;
  starDOW: boolean;
  starYear: boolean;
  useAndLogic: boolean;
  lastDayOfMonth: boolean;
  lastWeekday: boolean;
  nearestWeekdays: number[];
}

/** Croner's mark of a plain day of week (any occurrence in the month). */
const ANY_OCCURRENCE = 63;

function minuteFields(cron: Cron): MinuteFields | undefined {
  const p = (cron as unknown as { _states?: { pattern?: CronerPattern } })._states?.pattern;
  if (!p || !Array.isArray(p.second) || p.second.length !== 60) return undefined;
  if (p.second[0] !== 1 || p.second.some((v, i) => i > 0 && v)) return undefined;
  if (!p.starYear || p.lastDayOfMonth || p.lastWeekday || p.nearestWeekdays?.some((v) => v)) return undefined;
  if (p.dayOfWeek.length !== 7 || p.dayOfWeek.some((v) => v !== 0 && v !== ANY_OCCURRENCE)) return undefined;
  if (p.minute.length !== 60 || p.hour.length !== 24 || p.day.length !== 31 || p.month.length !== 12)
    return undefined;
  return {
    minute: p.minute,
    hour: p.hour,
    day: p.day,
    month: p.month,
    dayOfWeek: p.dayOfWeek,
    days: p.starDOW ? "dom" : p.useAndLogic || p.starDOM ? "and" : "or",
  };
}

/** The first fire later on the same (naive) day, or undefined to let croner search further. */
function sameDayNext(f: MinuteFields, naive: number): number | undefined {
  const start = Math.floor(naive / 60_000) * 60_000 + 60_000;
  const d = new Date(start);
  const day = d.getUTCDate();
  const month = d.getUTCMonth();
  if (!f.month[month]) return undefined;
  const dom = Boolean(f.day[day - 1]);
  const dow = Boolean(f.dayOfWeek[d.getUTCDay()]);
  if (!(f.days === "dom" ? dom : f.days === "and" ? dom && dow : dom || dow)) return undefined;
  const hour = d.getUTCHours();
  const minute = d.getUTCMinutes();
  for (let h = hour; h < 24; h++) {
    if (!f.hour[h]) continue;
    for (let m = h === hour ? minute : 0; m < 60; m++)
      if (f.minute[m]) return Date.UTC(d.getUTCFullYear(), month, day, h, m);
  }
  return undefined;
}

/** The first naive wall-clock time strictly after `naive` that matches `expr`, or undefined. */
export function nextWallClock(expr: string, naive: number): number | undefined {
  const p = pattern(expr);
  const fast = p.fields && sameDayNext(p.fields, naive);
  if (fast !== undefined) return fast;
  return p.cron.nextRun(new Date(naive))?.getTime();
}

/** A cron schedule in local wall-clock time of `zone`. */
export function cronTrigger(expr: string, zone: string): Trigger {
  pattern(expr); // parse now: a bad pattern fails when the schedule is compiled
  return {
    next(after: number): Candidate | undefined {
      // Wall-clock times map to instants without ever going back, so the search starts at the
      // earliest wall-clock time that can land after `after`.
      let naive = after + minOffsetAround(zone, after);
      for (;;) {
        const found = nextWallClock(expr, naive);
        if (found === undefined) return undefined;
        naive = found;
        const resolved = resolveWallClock(zone, naive);
        if (resolved.at <= after) continue; // a gap time merged into a fire already made, or earlier
        const note = dstNote(zone, naive, resolved);
        return { at: resolved.at, notes: note ? [note] : [] };
      }
    },
  };
}
