import rrule from "rrule";
import type { Candidate, Trigger } from "./trigger.js";
import { dstNote, minOffsetAround, resolveWallClock } from "./wall-clock.js";

/** Default DTSTART: 2000-01-01T00:00:00 local, so a rule without one is the same on every start. */
const DEFAULT_DTSTART = new Date(Date.UTC(2000, 0, 1));

/** Length of one period of a fixed-length frequency (WEEKLY and finer), in naive milliseconds. */
const PERIOD_MS: Partial<Record<number, number>> = {
  [rrule.RRule.WEEKLY]: 7 * 86_400_000,
  [rrule.RRule.DAILY]: 86_400_000,
  [rrule.RRule.HOURLY]: 3_600_000,
  [rrule.RRule.MINUTELY]: 60_000,
  [rrule.RRule.SECONDLY]: 1_000,
};
/** Rebased DTSTARTs lie on a grid of this many INTERVALs (the walk is at most twice that). */
const REBASE_GRID = 200;

/**
 * An iCalendar RRULE in local wall-clock time of `zone` ("floating" for rrule.js: its dates are
 * naive wall-clock times). Without DTSTART it starts 2000-01-01T00:00 local, so times not given by
 * BYHOUR/BYMINUTE/BYSECOND are midnight, and INTERVAL counts from there.
 *
 * rrule.js walks from DTSTART on every question (an hourly rule from 2000: a second a question).
 * A rule without COUNT and of a fixed-length frequency is the same from a DTSTART moved by whole
 * INTERVALs (same weekday, time of day, phase), so the walk starts at such a DTSTART at most
 * 400 INTERVALs before the asked time.
 */
export function rruleTrigger(text: string, zone: string): Trigger {
  const rule = parseRule(text);
  const period = PERIOD_MS[rule.options.freq];
  const plain = !(rule instanceof rrule.RRuleSet) && !rule.options.count;
  const step = period === undefined || !plain ? undefined : period * (rule.options.interval || 1);
  const dtstart = rule.options.dtstart.getTime();
  const rebased = new Map<number, InstanceType<typeof rrule.RRule>>();

  const ruleFor = (naive: number) => {
    const grid = step === undefined ? 0 : step * REBASE_GRID;
    if (step === undefined || naive - dtstart < 2 * grid) return rule;
    // Rebase points on a grid, so consecutive questions share one rule.
    const start = dtstart + (Math.floor((naive - dtstart) / grid) - 1) * grid;
    let r = rebased.get(start);
    if (!r) {
      r = new rrule.RRule({ ...rule.origOptions, dtstart: new Date(start) });
      if (rebased.size > 64) rebased.clear();
      rebased.set(start, r);
    }
    return r;
  };

  return {
    next(after: number): Candidate | undefined {
      let naive = after + minOffsetAround(zone, after);
      for (;;) {
        const found = ruleFor(naive).after(new Date(naive), false);
        if (!found) return undefined;
        naive = found.getTime();
        const resolved = resolveWallClock(zone, naive);
        if (resolved.at <= after) continue;
        const note = dstNote(zone, naive, resolved);
        return { at: resolved.at, notes: note ? [note] : [] };
      }
    },
  };
}

/**
 * The rule as floating wall-clock time. rrule.js lets a `dtstart` option override the text's own
 * DTSTART, so the default is given only when the text has none; a TZID on DTSTART is dropped (the
 * schedule's `timezone` says where the wall clock hangs).
 */
function parseRule(text: string): InstanceType<typeof rrule.RRule> {
  const floating = text
    .replace(/DTSTART;TZID=[^:;\n]+:/i, "DTSTART:")
    .replace(/(DTSTART:\d{8}T\d{6})Z/i, "$1");
  return /DTSTART/i.test(floating)
    ? (rrule.rrulestr(floating) as InstanceType<typeof rrule.RRule>)
    : (rrule.rrulestr(floating, { dtstart: DEFAULT_DTSTART }) as InstanceType<typeof rrule.RRule>);
}

/** The rule as rrule.js alone reads it (no rebasing): for tests. */
export function plainRuleAfter(text: string, naive: number): number | undefined {
  return parseRule(text).after(new Date(naive), false)?.getTime();
}
