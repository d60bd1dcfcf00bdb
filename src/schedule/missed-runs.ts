import type { MISSED_RUNS } from "./deployments-file.js";
import type { FireTime } from "./fire-times.js";

export type MissedRunsPolicy = (typeof MISSED_RUNS)[number];

/** Default policy of a deployment without `missed_runs`. */
export const DEFAULT_MISSED_RUNS: MissedRunsPolicy = "latest";

/**
 * `future`: not yet due, created Scheduled. `late`: due less than the lateness threshold ago, an
 * ordinary run created a little late (it starts as Late). `missed`: due longer ago than that: the
 * scheduler was down; the policy decides.
 */
export type FireStatus = "future" | "late" | "missed";

export interface MissedRunsDecision {
  /** Runs to create now, in time order. */
  create: { fire: FireTime; status: FireStatus }[];
  /** Missed fires the policy drops. */
  dropped: FireTime[];
}

/**
 * Which runs to create now, from the fires after the last one the scheduler had created (sorted,
 * may reach into the future). Fires due within `lateAfterMs` of `now` are not missed, just late,
 * and always created; of the missed ones (due earlier than `now - lateAfterMs`):
 * `all` creates every one, `latest` only the most recent (and none when a late fire already
 * stands for "the latest"), `skip` none. Future fires are always created.
 */
export function decideMissedRuns(
  policy: MissedRunsPolicy,
  fires: readonly FireTime[],
  now: Date,
  lateAfterMs: number,
): MissedRunsDecision {
  const t = now.getTime();
  const statusOf = (f: FireTime): FireStatus => {
    const at = f.at.getTime();
    return at > t ? "future" : t - at <= lateAfterMs ? "late" : "missed";
  };
  const classified = fires.map((fire) => ({ fire, status: statusOf(fire) }));
  const missed = classified.filter((c) => c.status === "missed");
  const hasLate = classified.some((c) => c.status === "late");
  let keepMissed: typeof missed;
  if (policy === "all") keepMissed = missed;
  else if (policy === "latest") keepMissed = hasLate ? [] : missed.slice(-1);
  else keepMissed = [];
  const kept = new Set(keepMissed);
  return {
    create: classified.filter((c) => c.status !== "missed" || kept.has(c)),
    dropped: missed.filter((c) => !kept.has(c)).map((c) => c.fire),
  };
}
