/**
 * The scheduler pass's reads and writes on PostgreSQL (`schedulePassPg`, src/daemon/scheduler.ts;
 * what to create is `planPass`, shared with DuckDB). Called within the pass's transaction.
 */
import type { DueSchedule } from "../../daemon/scheduler.js";
import { type PgDb, pgQuery } from "./transaction.js";

/**
 * Active, unpaused schedules of unpaused deployments, with what their runs need. The JSON columns
 * as text: the pass keeps one parsed schedule per definition text (its compiled trigger cached).
 */
export async function dueSchedulesPg(db: PgDb): Promise<DueSchedule[]> {
  const rows = await pgQuery<DueSchedule>(
    db,
    `SELECT d.name AS deployment, d.pipeline, d.pipeline_file, coalesce(d.parameters, '{}')::text AS parameters,
       d.work_pool, d.work_queue, d.missed_runs, s.id AS schedule_id, s.definition::text AS definition,
       s.scheduled_until
     FROM deployments d JOIN schedules s ON s.deployment = d.name
     WHERE NOT d.paused AND s.active AND NOT s.paused
     ORDER BY d.name, s.position`,
  );
  return rows.rows;
}

/** The schedules of `due` are done up to `until`. */
export async function advanceSchedulesPg(db: PgDb, due: readonly DueSchedule[], until: Date): Promise<void> {
  if (due.length === 0) return;
  await pgQuery(
    db,
    `UPDATE schedules SET scheduled_until = $3
     WHERE (deployment, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [due.map((s) => s.deployment), due.map((s) => s.schedule_id), until],
  );
}

/** Scheduled runs due before `cutoff`: they are Late. */
export async function lateRunsPg(
  db: PgDb,
  cutoff: Date,
): Promise<{ id: string; deployment: string | null }[]> {
  const rows = await pgQuery<{ id: string; deployment: string | null }>(
    db,
    "SELECT id, deployment FROM runs WHERE state = 'Scheduled' AND scheduled_at < $1",
    [cutoff],
  );
  return rows.rows;
}
