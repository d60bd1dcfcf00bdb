/**
 * `tickflow deploy` on PostgreSQL: the stored rows a redeploy is planned from, and the plan's
 * writes (`planDeployments`, `planPools`: src/daemon/deploy-plan.ts, shared with DuckDB), each a
 * statement over arrays (`unnest`) whatever the number of rows. Called by `registerDeploymentsPg`
 * within its transaction, under `DEPLOY_LOCK`.
 */
import type { DeploymentPlan, PoolPlan, StoredDefinition, StoredSchedule } from "../../daemon/deploy-plan.js";
import { stableJson } from "../../schedule/run-key.js";
import { deleteWaitingRunsPg } from "./delete-waiting-runs.js";
import { type PgDb, type PgTx, pgQuery } from "./transaction.js";

/**
 * The advisory lock of a registration: ('tick' as an int4, 3), taken for the transaction. Every
 * daemon registers the same files at start: they take turns, and the second finds nothing to do.
 */
export const DEPLOY_LOCK: readonly [number, number] = [0x7469636b, 3];

/** Waits for `DEPLOY_LOCK`; it goes at COMMIT or ROLLBACK. */
export async function lockDeploymentsPg(tx: PgTx): Promise<void> {
  await pgQuery(tx, "SELECT pg_advisory_xact_lock($1, $2)", [...DEPLOY_LOCK]);
}

/** Deployments or work pools as stored (`table` is one of the two), definitions parsed. */
export async function storedDefinitionsPg(
  db: PgDb,
  table: "deployments" | "work_pools",
): Promise<StoredDefinition[]> {
  const rows = await pgQuery<StoredDefinition>(db, `SELECT name, definition, paused FROM ${table}`);
  return rows.rows;
}

export async function storedSchedulesPg(db: PgDb): Promise<StoredSchedule[]> {
  return (await pgQuery<StoredSchedule>(db, "SELECT deployment, id, active, position FROM schedules")).rows;
}

/** Removes the pools gone, replaces the pools added or changed and writes their queues again. */
export async function writePoolPlanPg(db: PgDb, plan: PoolPlan): Promise<void> {
  const names = [...plan.removed, ...plan.upserts.map((u) => u.record.name)];
  if (names.length === 0) return;
  await pgQuery(db, "DELETE FROM work_queues WHERE pool = ANY($1::text[])", [names]);
  await pgQuery(db, "DELETE FROM work_pools WHERE name = ANY($1::text[])", [plan.removed]);
  if (plan.upserts.length === 0) return;
  const pools = plan.upserts;
  await pgQuery(
    db,
    `INSERT INTO work_pools (name, concurrency_limit, paused, job_defaults, definition)
     SELECT * FROM unnest($1::text[], $2::integer[], $3::boolean[], $4::jsonb[], $5::jsonb[])
     ON CONFLICT (name) DO UPDATE SET concurrency_limit = excluded.concurrency_limit,
       paused = excluded.paused, job_defaults = excluded.job_defaults, definition = excluded.definition`,
    [
      pools.map((u) => u.record.name),
      pools.map((u) => u.record.concurrencyLimit),
      pools.map((u) => u.paused),
      pools.map((u) => JSON.stringify(u.record.jobDefaults)),
      pools.map((u) => u.definition),
    ],
  );
  const queues = pools.flatMap((u) => u.record.queues.map((q) => ({ pool: u.record.name, ...q })));
  await pgQuery(
    db,
    `INSERT INTO work_queues (pool, name, priority, concurrency_limit)
     SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::integer[])`,
    [
      queues.map((q) => q.pool),
      queues.map((q) => q.name),
      queues.map((q) => q.priority),
      queues.map((q) => q.concurrencyLimit),
    ],
  );
}

/**
 * Writes a deployment plan: waiting runs of changed, removed or stopped definitions deleted (their
 * schedules start again), rows removed, replaced and added.
 */
export async function writeDeploymentPlanPg(tx: PgTx, plan: DeploymentPlan, now: Date): Promise<void> {
  const { redo, removed, stopped, removedSchedules, upserts, addedSchedules, movedSchedules } = plan;
  const pairs = (list: readonly { deployment: string; id: string }[]) => [
    list.map((s) => s.deployment),
    list.map((s) => s.id),
  ];
  const inPairs = "(deployment, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))";
  if (redo.length > 0) {
    await deleteWaitingRunsPg(tx, { deployments: redo });
    await pgQuery(tx, "UPDATE schedules SET scheduled_until = NULL WHERE deployment = ANY($1::text[])", [
      redo,
    ]);
  }
  if (removed.length > 0) {
    await pgQuery(tx, "DELETE FROM schedules WHERE deployment = ANY($1::text[])", [removed]);
    await pgQuery(tx, "DELETE FROM deployments WHERE name = ANY($1::text[])", [removed]);
  }
  if (stopped.length > 0) {
    await deleteWaitingRunsPg(tx, { schedules: stopped });
    await pgQuery(tx, `UPDATE schedules SET scheduled_until = NULL WHERE ${inPairs}`, pairs(stopped));
  }
  if (removedSchedules.length > 0) {
    await pgQuery(tx, `DELETE FROM schedules WHERE ${inPairs}`, pairs(removedSchedules));
  }
  if (upserts.length > 0) {
    const d = upserts.map((u) => u.record);
    await pgQuery(
      tx,
      `INSERT INTO deployments (name, pipeline, pipeline_file, parameters, work_pool, work_queue,
         concurrency_limit, collision_strategy, missed_runs, tags, paused, definition, updated_at)
       SELECT u.*, $13::timestamptz FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::text[],
         $6::text[], $7::integer[], $8::text[], $9::text[], $10::jsonb[], $11::boolean[], $12::jsonb[]) AS u
       ON CONFLICT (name) DO UPDATE SET pipeline = excluded.pipeline, pipeline_file = excluded.pipeline_file,
         parameters = excluded.parameters, work_pool = excluded.work_pool, work_queue = excluded.work_queue,
         concurrency_limit = excluded.concurrency_limit, collision_strategy = excluded.collision_strategy,
         missed_runs = excluded.missed_runs, tags = excluded.tags, paused = excluded.paused,
         definition = excluded.definition, updated_at = excluded.updated_at`,
      [
        d.map((r) => r.name),
        d.map((r) => r.pipeline),
        d.map((r) => r.pipelineFile),
        d.map((r) => JSON.stringify(r.parameters)),
        d.map((r) => r.workPool),
        d.map((r) => r.workQueue),
        d.map((r) => r.concurrencyLimit),
        d.map((r) => r.collisionStrategy),
        d.map((r) => r.missedRuns),
        d.map((r) => JSON.stringify(r.tags)),
        upserts.map((u) => u.paused),
        upserts.map((u) => u.definition),
        now,
      ],
    );
  }
  if (addedSchedules.length > 0) {
    await pgQuery(
      tx,
      `INSERT INTO schedules (deployment, id, position, definition, active, paused, scheduled_until)
       SELECT DISTINCT ON (deployment, id) deployment, id, position, definition, active, false, NULL
       FROM unnest($1::text[], $2::text[], $3::integer[], $4::jsonb[], $5::boolean[])
         AS s(deployment, id, position, definition, active)`,
      [
        ...pairs(addedSchedules.map((a) => ({ deployment: a.deployment, id: a.s.id }))),
        addedSchedules.map((a) => a.s.position),
        addedSchedules.map((a) => stableJson(a.s.definition)),
        addedSchedules.map((a) => a.s.active),
      ],
    );
  }
  if (movedSchedules.length > 0) {
    await pgQuery(
      tx,
      `UPDATE schedules s SET position = m.position, active = m.active
       FROM unnest($1::text[], $2::text[], $3::integer[], $4::boolean[]) AS m(deployment, id, position, active)
       WHERE s.deployment = m.deployment AND s.id = m.id`,
      [
        ...pairs(movedSchedules.map((a) => ({ deployment: a.deployment, id: a.s.id }))),
        movedSchedules.map((a) => a.s.position),
        movedSchedules.map((a) => a.s.active),
      ],
    );
  }
}
