import type { DeploymentDocument, ScheduleDocument } from "./deployments-file.js";
import { nextFireTimes } from "./fire-times.js";
import { scheduleId } from "./run-key.js";

/** One schedule's next fires, as `schedule explain` shows them (instants as ISO strings). */
export interface ScheduleExplanation {
  /** 1-based position in the deployment's list. */
  index: number;
  /** Content-derived id (see run-key.ts). */
  id: string;
  /** `cron "30 17 * * 1-5"`, `interval 1h`, `rrule "FREQ=WEEKLY;BYDAY=SA"`. */
  trigger: string;
  timezone: string;
  calendar: string | null;
  active: boolean;
  fires: { at: string; local: string; notes: string[] }[];
  /** Times the calendar dropped before the last fire shown. */
  skipped: { at: string; local: string; reason: string }[];
}

export interface DeploymentExplanation {
  deployment: string;
  paused: boolean;
  from: string;
  /** Fires asked for per schedule. */
  next: number;
  schedules: ScheduleExplanation[];
}

export function describeTrigger(s: ScheduleDocument): string {
  if (s.cron !== undefined) return `cron "${s.cron}"`;
  if (s.rrule !== undefined) return `rrule "${s.rrule}"`;
  if (s.interval !== undefined)
    return `interval ${s.interval}${s.anchor_date ? ` from ${s.anchor_date}` : ""}`;
  return "no trigger";
}

/** The next `n` fires after `from` of every schedule of a deployment, with skips and DST notes. */
export function explainDeployment(dep: DeploymentDocument, from: Date, n: number): DeploymentExplanation {
  return {
    deployment: dep.name,
    paused: dep.paused === true,
    from: from.toISOString(),
    next: n,
    schedules: (dep.schedules ?? []).map((s, i) => {
      // A calendar that rejects every time (a Sunday cron on XNYS) stops the search after a while.
      const w = nextFireTimes(s, from, n, n * 10 + 400);
      return {
        index: i + 1,
        id: scheduleId(s),
        trigger: describeTrigger(s),
        timezone: s.timezone ?? "UTC",
        calendar: s.calendar ?? null,
        active: s.active !== false,
        fires: w.fires.map((f) => ({ at: f.at.toISOString(), local: f.local, notes: f.notes })),
        skipped: w.skipped.map((k) => ({ at: k.at.toISOString(), local: k.local, reason: k.reason })),
      };
    }),
  };
}
