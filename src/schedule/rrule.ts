import rrule from "rrule";
import type { Candidate, Trigger } from "./trigger.js";
import { dstNote, minOffsetAround, resolveWallClock } from "./wall-clock.js";

/** Default DTSTART: 2000-01-01T00:00:00 local, so a rule without one is the same on every start. */
const DEFAULT_DTSTART = new Date(Date.UTC(2000, 0, 1));

/**
 * An iCalendar RRULE in local wall-clock time of `zone` ("floating" for rrule.js: its dates are
 * naive wall-clock times). Without DTSTART it starts 2000-01-01T00:00 local, so times not given by
 * BYHOUR/BYMINUTE/BYSECOND are midnight, and INTERVAL counts from there.
 */
export function rruleTrigger(text: string, zone: string): Trigger {
  const rule = rrule.rrulestr(text, { dtstart: DEFAULT_DTSTART });
  return {
    next(after: number): Candidate | undefined {
      let naive = after + minOffsetAround(zone, after);
      for (;;) {
        const found = rule.after(new Date(naive), false);
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
