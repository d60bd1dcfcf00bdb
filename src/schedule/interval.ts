import type { Candidate, Trigger } from "./trigger.js";
import { dstNote, resolveWallClock, toWallClock } from "./wall-clock.js";

const DAY = 86_400_000;
/** Default anchor: 2000-01-01T00:00:00 in the schedule's zone. */
const DEFAULT_ANCHOR_WALL_CLOCK = Date.UTC(2000, 0, 1);

/**
 * An interval schedule on a fixed grid from its anchor, so fire times do not depend on when the
 * scheduler started. Whole days in a zone with DST keep the anchor's local time of day (a daily
 * run at 09:00 stays at 09:00 across DST, as in Prefect); any other interval is elapsed time.
 */
export function intervalTrigger(everyMs: number, zone: string, anchor: string | undefined): Trigger {
  if (!(everyMs > 0)) throw new RangeError("an interval must be longer than 0");
  const anchorAt =
    anchor !== undefined ? Date.parse(anchor) : resolveWallClock(zone, DEFAULT_ANCHOR_WALL_CLOCK).at;
  if (Number.isNaN(anchorAt)) throw new RangeError(`invalid anchor_date "${anchor}"`);

  if (zone !== "UTC" && everyMs % DAY === 0) {
    const anchorNaive = toWallClock(zone, anchorAt);
    return {
      next(after: number): Candidate | undefined {
        let k = Math.floor((toWallClock(zone, after) - anchorNaive) / everyMs) - 1;
        for (;;) {
          const naive = anchorNaive + k * everyMs;
          const resolved = resolveWallClock(zone, naive);
          if (resolved.at > after) {
            const note = dstNote(zone, naive, resolved);
            return { at: resolved.at, notes: note ? [note] : [] };
          }
          k++;
        }
      },
    };
  }
  return {
    next(after: number): Candidate {
      const k = Math.floor((after - anchorAt) / everyMs) + 1;
      return { at: anchorAt + k * everyMs, notes: [] };
    },
  };
}
