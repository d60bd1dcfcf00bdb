/**
 * Reading registered deployments, their schedules and the work pools on PostgreSQL: the twins of
 * `../deployments.ts`'s `listDeployments`, `findDeployment`, `listWorkPools` and `../schedules.ts`'s
 * `schedulesOf`, with DuckDB's columns and row conversions (imported). Names sort byte by byte
 * (`COLLATE "C"`), as DuckDB's do, whatever the database's collation.
 */
import {
  DEPLOYMENT_COLUMNS,
  type DeploymentRow,
  toDeploymentRow,
  type WorkPoolRow,
  workPoolRows,
} from "../deployments.js";
import { type ScheduleRow, toScheduleRow } from "../schedules.js";
import { SLOT_RUN_STATES, WAITING_RUN_STATES } from "../states.js";
import { type PgDb, pgQuery } from "./transaction.js";

/** Every deployment, by name. */
export async function listDeploymentsPg(db: PgDb): Promise<DeploymentRow[]> {
  const result = await pgQuery(
    db,
    `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments d ORDER BY name COLLATE "C"`,
  );
  return result.rows.map(toDeploymentRow);
}

export async function findDeploymentPg(db: PgDb, name: string): Promise<DeploymentRow | undefined> {
  const result = await pgQuery(db, `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments d WHERE name = $1`, [name]);
  return result.rows[0] === undefined ? undefined : toDeploymentRow(result.rows[0]);
}

/** The schedules of `deployment`, in file order. */
export async function schedulesOfPg(db: PgDb, deployment: string): Promise<ScheduleRow[]> {
  const result = await pgQuery(
    db,
    `SELECT id, position, definition::text AS definition, active, paused FROM schedules
     WHERE deployment = $1 ORDER BY position`,
    [deployment],
  );
  return result.rows.map(toScheduleRow);
}

/** Every work pool with its queues, and the runs holding or waiting for their slots at `now`. */
export async function listWorkPoolsPg(db: PgDb, now: Date): Promise<WorkPoolRow[]> {
  const pools = await pgQuery(
    db,
    `SELECT name, concurrency_limit, paused FROM work_pools ORDER BY name COLLATE "C"`,
  );
  const queues = await pgQuery(
    db,
    `SELECT pool, name, priority, concurrency_limit FROM work_queues
     ORDER BY pool COLLATE "C", priority, name COLLATE "C"`,
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
