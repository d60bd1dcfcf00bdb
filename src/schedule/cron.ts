import { Cron } from "croner";
import type { Candidate, Trigger } from "./trigger.js";
import { dstNote, minOffsetAround, resolveWallClock } from "./wall-clock.js";

/**
 * Parsed patterns, shared by every schedule with the same cron string (parsing costs ~0.3 ms).
 * Croner runs at offset 0 over naive wall-clock time, so it never sees DST; `resolveWallClock`
 * applies tickflow's rules to every pattern alike (croner's own DST handling differs between
 * "fixed-time" and "interval" patterns: its interval patterns fire twice in a repeated hour).
 */
const patterns = new Map<string, Cron>();

function pattern(expr: string): Cron {
  let cron = patterns.get(expr);
  if (!cron) {
    cron = new Cron(expr, { utcOffset: 0, paused: true });
    patterns.set(expr, cron);
  }
  return cron;
}

/** A cron schedule in local wall-clock time of `zone`. */
export function cronTrigger(expr: string, zone: string): Trigger {
  const cron = pattern(expr);
  return {
    next(after: number): Candidate | undefined {
      // Wall-clock times map to instants without ever going back, so the search starts at the
      // earliest wall-clock time that can land after `after`.
      let naive = after + minOffsetAround(zone, after);
      for (;;) {
        const found = cron.nextRun(new Date(naive));
        if (!found) return undefined;
        naive = found.getTime();
        const resolved = resolveWallClock(zone, naive);
        if (resolved.at <= after) continue; // a gap time merged into a fire already made, or earlier
        const note = dstNote(zone, naive, resolved);
        return { at: resolved.at, notes: note ? [note] : [] };
      }
    },
  };
}
