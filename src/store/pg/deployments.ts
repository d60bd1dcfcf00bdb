/**
 * Reading the registered deployments, schedules and work pools on PostgreSQL: the twins of
 * ../deployments.ts and ../schedules.ts, sharing their columns and row conversions.
 */
import {
  DEPLOYMENT_COLUMNS,
  type DeploymentRow,
  type JobDefaults,
  toDeploymentRow,
  toJobDefaults,
  type WorkPoolRow,
  workPoolRows,
} from "../deployments.js";
import { type ScheduleRow, toScheduleRow } from "../schedules.js";
import { SLOT_RUN_STATES, WAITING_RUN_STATES } from "../states.js";
import { type PgDb, pgQuery } from "./transaction.js";

/** Every deployment, by name. */
export async function listDeploymentsPg(db: PgDb): Promise<DeploymentRow[]> {
  const rows = await pgQuery(db, `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments d ORDER BY name COLLATE "C"`);
  return rows.rows.map(toDeploymentRow);
}

export async function findDeploymentPg(db: PgDb, name: string): Promise<DeploymentRow | undefined> {
  const rows = await pgQuery(db, `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments d WHERE name = $1`, [name]);
  const row = rows.rows[0];
  return row === undefined ? undefined : toDeploymentRow(row);
}

/** The schedules of `deployment`, in file order. */
export async function schedulesOfPg(db: PgDb, deployment: string): Promise<ScheduleRow[]> {
  const rows = await pgQuery(
    db,
    `SELECT id, position, definition, active, paused FROM schedules WHERE deployment = $1 ORDER BY position`,
    [deployment],
  );
  return rows.rows.map(toScheduleRow);
}

/** Every work pool with its queues, and the runs holding or waiting for their slots at `now`. */
export async function listWorkPoolsPg(db: PgDb, now: Date): Promise<WorkPoolRow[]> {
  const pools = await pgQuery(
    db,
    `SELECT name, concurrency_limit, paused FROM work_pools ORDER BY name COLLATE "C"`,
  );
  const queues = await pgQuery(
    db,
    `SELECT pool, name, priority, concurrency_limit FROM work_queues ORDER BY pool COLLATE "C", priority, name COLLATE "C"`,
  );
  const counts = await pgQuery(
    db,
    `SELECT work_pool, work_queue,
       count(*) FILTER (WHERE state = ANY($1::text[]))::integer AS slots_in_use,
       count(*) FILTER (WHERE state = ANY($2::text[]) AND scheduled_at <= $3)::integer AS queued
     FROM runs WHERE work_pool IS NOT NULL GROUP BY work_pool, work_queue`,
    [[...SLOT_RUN_STATES], [...WAITING_RUN_STATES], now],
  );
  return workPoolRows(pools.rows, queues.rows, counts.rows);
}

/** Every registered deployment with the end of its latest Completed run (null: none yet). */
export async function lastSuccessesPg(db: PgDb): Promise<{ deployment: string; at: Date | null }[]> {
  const rows = await pgQuery<{ deployment: string; at: Date | null }>(
    db,
    `SELECT d.name AS deployment, max(r.ended_at) AS at
     FROM deployments d LEFT JOIN runs r ON r.deployment = d.name AND r.state = 'Completed'
     GROUP BY d.name ORDER BY d.name COLLATE "C"`,
  );
  return rows.rows;
}

/** The deployment of each run (null for none), in the order of `ids`. */
export async function deploymentsOfRunsPg(db: PgDb, ids: readonly string[]): Promise<(string | null)[]> {
  if (ids.length === 0) return [];
  const rows = await pgQuery<{ id: string; deployment: string | null }>(
    db,
    "SELECT id, deployment FROM runs WHERE id = ANY($1::text[])",
    [[...ids]],
  );
  const of = new Map(rows.rows.map((r) => [r.id, r.deployment]));
  return ids.map((id) => of.get(id) ?? null);
}

/** The job defaults of `pool` (none for no pool or a pool not registered). */
export async function workPoolJobDefaultsPg(db: PgDb, pool: string | null): Promise<JobDefaults> {
  if (pool === null) return { env: {} };
  const rows = await pgQuery(db, "SELECT job_defaults FROM work_pools WHERE name = $1", [pool]);
  return toJobDefaults(rows.rows[0]?.job_defaults);
}
