/**
 * The daemon's one-line status for systemd (`STATUS=`, shown by `systemctl status`): runs
 * executing, runs due but waiting for a slot, and when the next is due.
 */
import { type Connection, timestampTZ, WAITING_RUN_STATES, withConnectionLock } from "../store/index.js";

const WAITING = WAITING_RUN_STATES.map((s) => `'${s}'`).join(", ");

export interface Waiting {
  /** Runs due now that no worker has taken (their limits are full). */
  due: number;
  /** When the next run not yet due is (runs exist up to the scheduler's horizon). */
  next: Date | undefined;
}

/** The waiting runs of deployments and pools that are not paused (paused ones wait for nothing). */
export async function waitingRuns(on: Connection, now: Date): Promise<Waiting> {
  const row = await withConnectionLock(
    on,
    async ({ db }) =>
      (
        await db.runAndReadAll(
          `SELECT count(*) FILTER (WHERE r.scheduled_at <= $now)::INTEGER AS due,
           epoch_ms(min(r.scheduled_at) FILTER (WHERE r.scheduled_at > $now))::DOUBLE AS next_ms
         FROM runs r
         LEFT JOIN deployments d ON d.name = r.deployment
         LEFT JOIN work_pools p ON p.name = r.work_pool
         WHERE r.state IN (${WAITING}) AND NOT coalesce(d.paused, false) AND NOT coalesce(p.paused, false)`,
          { now: timestampTZ(now) },
        )
      ).getRowObjectsJS()[0],
  );
  const nextMs = row?.next_ms;
  return { due: Number(row?.due ?? 0), next: typeof nextMs === "number" ? new Date(nextMs) : undefined };
}

/** e.g. "API on 127.0.0.1:4200; 1 run running, 2 waiting for a slot; next due 2026-03-06T14:30:00Z" (`who`: "API on ...") */
export function statusText(who: string, running: number, waiting: Waiting): string {
  const runs = `${running} run${running === 1 ? "" : "s"} running${waiting.due > 0 ? `, ${waiting.due} waiting for a slot` : ""}`;
  const next = waiting.next
    ? `next due ${waiting.next.toISOString().replace(/\.\d{3}Z$/, "Z")}`
    : "no run scheduled";
  return `${who}; ${runs}; ${next}`;
}
