/**
 * `tickflow deploy`: registers the deployments, their schedules and the work pools in the database,
 * idempotently, and says what changed. State the user set at run time survives a redeploy: a
 * deployment or schedule paused through the CLI/API stays paused.
 */
import { resolve } from "node:path";
import { type DuckDBConnection, VARCHAR } from "@duckdb/node-api";
import type { DeploymentDocument, DeploymentsDocument } from "../schedule/deployments-file.js";
import { DEFAULT_MISSED_RUNS } from "../schedule/missed-runs.js";
import { scheduleId, stableJson } from "../schedule/run-key.js";
import type { WorkPoolDocument } from "../schedule/work-pool-file.js";
import {
  type Connection,
  deleteWaitingRuns,
  dropStaged,
  type NotifyRecords,
  registerNotify,
  stageColumns,
  timestampTZ,
  withConnectionLock,
  withTransaction,
} from "../store/index.js";
import {
  lockDeploymentsPg,
  type PgDb,
  registerNotifyPg,
  storedDefinitionsPg,
  storedSchedulesPg,
  withPgTransaction,
  writeDeploymentPlanPg,
  writePoolPlanPg,
} from "../store/pg/index.js";
import {
  type DeployChange,
  type DeploymentRecord,
  planDeployments,
  planPools,
  type StoredSchedule,
  type WorkPoolRecord,
} from "./deploy-plan.js";

export type { DeployChange, DeploymentRecord, ScheduleRecord, WorkPoolRecord } from "./deploy-plan.js";

/**
 * The records of a checked deployments file (`file` locates relative pipeline paths);
 * `pipelineName` gives the `name` of a pipeline file (absolute path).
 */
export function deploymentRecords(
  file: string,
  doc: DeploymentsDocument,
  pipelineName: (pipelineFile: string) => string,
): DeploymentRecord[] {
  return doc.deployments.map((d) => {
    const pipelineFile = resolve(file, "..", d.pipeline);
    return deploymentRecord(d, pipelineFile, pipelineName(pipelineFile));
  });
}

function deploymentRecord(d: DeploymentDocument, pipelineFile: string, pipeline: string): DeploymentRecord {
  return {
    name: d.name,
    pipeline,
    pipelineFile,
    parameters: d.parameters ?? {},
    workPool: d.work_pool?.name ?? null,
    workQueue: d.work_pool?.queue ?? null,
    concurrencyLimit: d.concurrency_limit?.limit ?? null,
    collisionStrategy: d.concurrency_limit?.collision_strategy ?? "enqueue",
    missedRuns: d.missed_runs ?? DEFAULT_MISSED_RUNS,
    tags: d.tags ?? [],
    paused: d.paused ?? false,
    schedules: (d.schedules ?? []).map((s, position) => {
      const { active, ...definition } = s;
      return { id: scheduleId(s), position, definition, active: active ?? true };
    }),
  };
}

export function workPoolRecords(pools: ReadonlyMap<string, WorkPoolDocument>): WorkPoolRecord[] {
  return [...pools.values()].map((p) => ({
    name: p.name,
    concurrencyLimit: p.concurrency_limit ?? null,
    paused: p.paused ?? false,
    jobDefaults: (p.job_defaults ?? {}) as Record<string, unknown>,
    queues: (p.queues ?? []).map((q) => ({
      name: q.name,
      priority: q.priority ?? 10,
      concurrencyLimit: q.concurrency_limit ?? null,
    })),
  }));
}

/**
 * Writes deployments, schedules, pools and queues in one transaction; removes what the files no
 * longer hold. Runs not yet started (Scheduled, Late) of a removed or changed deployment, or of a
 * removed or deactivated schedule, are deleted: the scheduler creates them again from the new
 * definition. Set-based: the rows are staged and written with a few statements whatever their
 * number (a statement per deployment held hundreds of MB of native memory for 1,000 of them).
 * What changes is `planDeployments`' and `planPools`' (shared with `registerDeploymentsPg`).
 */
export async function registerDeployments(
  on: Connection,
  deployments: readonly DeploymentRecord[],
  pools: readonly WorkPoolRecord[],
  now: Date,
  notify?: NotifyRecords,
): Promise<DeployChange[]> {
  return withTransaction(on, async (tx) => {
    const db = tx.db;
    const changes: DeployChange[] = [];
    changes.push(...(await registerPools(db, pools)));
    // Channels, rules and freshness: absent (an older client) keeps what is registered.
    if (notify !== undefined && (await registerNotify(db, notify)))
      changes.push({ kind: "notifications", name: "channels and rules", change: "changed" });

    const stored = (
      await db.runAndReadAll("SELECT name, definition::VARCHAR AS definition, paused FROM deployments")
    )
      .getRowObjectsJS()
      .map((r) => ({
        name: String(r.name),
        definition: JSON.parse(String(r.definition)) as Record<string, unknown>,
        paused: r.paused === true,
      }));
    const storedSchedules = (
      await db.runAndReadAll("SELECT deployment, id, active, position FROM schedules")
    ).getRowObjectsJS() as unknown as StoredSchedule[];
    const plan = planDeployments(stored, storedSchedules, deployments);
    changes.push(...plan.changes);
    const { redo, removed, stopped, upserts, addedSchedules, movedSchedules } = plan;

    const staged: string[] = [];
    const stage = async (name: string, columns: Record<string, (string | null)[]>) => {
      const table = await stageColumns(
        db,
        name,
        Object.fromEntries(Object.entries(columns).map(([c, values]) => [c, { type: VARCHAR, values }])),
      );
      staged.push(table);
      return table;
    };
    try {
      if (redo.length > 0) {
        const t = await stage("deploy_redo", { name: redo });
        await deleteWaitingRuns(tx, { deployments: redo });
        await db.run(
          `UPDATE schedules SET scheduled_until = NULL WHERE deployment IN (SELECT name FROM ${t})`,
        );
      }
      if (removed.length > 0) {
        const t = await stage("deploy_removed", { name: removed });
        await db.run(`DELETE FROM schedules WHERE deployment IN (SELECT name FROM ${t})`);
        await db.run(`DELETE FROM deployments WHERE name IN (SELECT name FROM ${t})`);
      }
      if (stopped.length > 0) {
        const t = await stage("deploy_stopped", {
          deployment: stopped.map((s) => s.deployment),
          id: stopped.map((s) => s.id),
        });
        await deleteWaitingRuns(tx, { schedules: stopped });
        await db.run(
          `UPDATE schedules s SET scheduled_until = NULL FROM ${t} t WHERE s.deployment = t.deployment AND s.id = t.id`,
        );
      }
      if (plan.removedSchedules.length > 0) {
        const t = await stage("deploy_gone", {
          deployment: plan.removedSchedules.map((s) => s.deployment),
          id: plan.removedSchedules.map((s) => s.id),
        });
        await db.run(
          `DELETE FROM schedules s USING ${t} t WHERE s.deployment = t.deployment AND s.id = t.id`,
        );
      }
      if (upserts.length > 0) {
        const t = await stage("deploy_upserts", {
          name: upserts.map((u) => u.record.name),
          pipeline: upserts.map((u) => u.record.pipeline),
          pipeline_file: upserts.map((u) => u.record.pipelineFile),
          parameters: upserts.map((u) => JSON.stringify(u.record.parameters)),
          work_pool: upserts.map((u) => u.record.workPool),
          work_queue: upserts.map((u) => u.record.workQueue),
          concurrency_limit: upserts.map((u) =>
            u.record.concurrencyLimit === null ? null : String(u.record.concurrencyLimit),
          ),
          collision_strategy: upserts.map((u) => u.record.collisionStrategy),
          missed_runs: upserts.map((u) => u.record.missedRuns),
          tags: upserts.map((u) => JSON.stringify(u.record.tags)),
          paused: upserts.map((u) => String(u.paused)),
          definition: upserts.map((u) => u.definition),
        });
        await db.run(
          `INSERT OR REPLACE INTO deployments (name, pipeline, pipeline_file, parameters, work_pool, work_queue,
             concurrency_limit, collision_strategy, missed_runs, tags, paused, definition, updated_at)
           SELECT name, pipeline, pipeline_file, parameters::JSON, work_pool, work_queue,
             concurrency_limit::INTEGER, collision_strategy, missed_runs, tags::JSON, paused::BOOLEAN,
             definition::JSON, $now
           FROM ${t}`,
          { now: timestampTZ(now) },
        );
      }
      if (addedSchedules.length > 0) {
        const t = await stage("deploy_schedules", {
          deployment: addedSchedules.map((a) => a.deployment),
          id: addedSchedules.map((a) => a.s.id),
          position: addedSchedules.map((a) => String(a.s.position)),
          definition: addedSchedules.map((a) => stableJson(a.s.definition)),
          active: addedSchedules.map((a) => String(a.s.active)),
        });
        await db.run(
          `INSERT INTO schedules (deployment, id, position, definition, active, paused, scheduled_until)
           SELECT DISTINCT ON (deployment, id) deployment, id, position::INTEGER, definition::JSON,
             active::BOOLEAN, false, NULL
           FROM ${t}`,
        );
      }
      if (movedSchedules.length > 0) {
        const t = await stage("deploy_moved", {
          deployment: movedSchedules.map((a) => a.deployment),
          id: movedSchedules.map((a) => a.s.id),
          position: movedSchedules.map((a) => String(a.s.position)),
          active: movedSchedules.map((a) => String(a.s.active)),
        });
        await db.run(
          `UPDATE schedules s SET position = t.position::INTEGER, active = t.active::BOOLEAN
           FROM ${t} t WHERE s.deployment = t.deployment AND s.id = t.id`,
        );
      }
    } finally {
      await dropStaged(db, ...staged);
    }
    return changes;
  });
}

/**
 * `registerDeployments` on PostgreSQL: the same plan, written in one transaction. Every daemon
 * sharing the database registers the files at start: a transaction-level advisory lock
 * (`DEPLOY_LOCK`) makes them take turns, so the second reads what the first wrote and finds
 * nothing to do (without it both would plan from the same stored rows).
 */
export async function registerDeploymentsPg(
  db: PgDb,
  deployments: readonly DeploymentRecord[],
  pools: readonly WorkPoolRecord[],
  now: Date,
  notify?: NotifyRecords,
): Promise<DeployChange[]> {
  return withPgTransaction(db, async (tx) => {
    await lockDeploymentsPg(tx);
    const poolPlan = planPools(await storedDefinitionsPg(tx, "work_pools"), pools);
    await writePoolPlanPg(tx, poolPlan);
    const changes = [...poolPlan.changes];
    if (notify !== undefined && (await registerNotifyPg(tx, notify)))
      changes.push({ kind: "notifications", name: "channels and rules", change: "changed" });
    const plan = planDeployments(
      await storedDefinitionsPg(tx, "deployments"),
      await storedSchedulesPg(tx),
      deployments,
    );
    await writeDeploymentPlanPg(tx, plan, now);
    return [...changes, ...plan.changes];
  });
}

async function registerPools(
  db: DuckDBConnection,
  pools: readonly WorkPoolRecord[],
): Promise<DeployChange[]> {
  const stored = (
    await db.runAndReadAll("SELECT name, definition::VARCHAR AS definition, paused FROM work_pools")
  )
    .getRowObjectsJS()
    .map((r) => ({
      name: String(r.name),
      definition: JSON.parse(String(r.definition)) as Record<string, unknown>,
      paused: r.paused === true,
    }));
  const plan = planPools(stored, pools);
  for (const name of plan.removed) {
    await db.run("DELETE FROM work_queues WHERE pool = $name", { name });
    await db.run("DELETE FROM work_pools WHERE name = $name", { name });
  }
  for (const { record: p, definition, paused } of plan.upserts) {
    await db.run(
      `INSERT OR REPLACE INTO work_pools (name, concurrency_limit, paused, job_defaults, definition)
       VALUES ($name, $limit, $paused, $job_defaults::JSON, $definition::JSON)`,
      {
        name: p.name,
        limit: p.concurrencyLimit,
        paused,
        job_defaults: JSON.stringify(p.jobDefaults),
        definition,
      },
    );
    await db.run("DELETE FROM work_queues WHERE pool = $name", { name: p.name });
    for (const q of p.queues) {
      await db.run(
        `INSERT INTO work_queues (pool, name, priority, concurrency_limit)
         VALUES ($pool, $name, $priority, $limit)`,
        { pool: p.name, name: q.name, priority: q.priority, limit: q.concurrencyLimit },
      );
    }
  }
  return plan.changes;
}

/**
 * Pauses or resumes a deployment (its schedules make no runs while paused, and a redeploy keeps
 * it paused). Resuming drops the runs missed meanwhile: the schedules restart from `now`.
 * Returns false when there is no such deployment.
 */
export async function setDeploymentPaused(
  on: Connection,
  name: string,
  paused: boolean,
  now: Date,
): Promise<boolean> {
  return withTransaction(on, async (tx) => {
    const db = tx.db;
    const found = await db.runAndReadAll(
      "UPDATE deployments SET paused = $paused WHERE name = $name RETURNING name",
      {
        name,
        paused,
      },
    );
    if (found.getRowObjectsJS().length === 0) return false;
    if (paused) {
      await deleteWaitingRuns(tx, { deployments: [name] });
    } else {
      await db.run("UPDATE schedules SET scheduled_until = $now WHERE deployment = $name", {
        name,
        now: timestampTZ(now),
      });
    }
    return true;
  });
}

/**
 * Pauses or resumes a work pool: its runs are not taken while it is paused (they wait, Late), and
 * a redeploy keeps it paused. Returns false when there is no such pool.
 */
export async function setWorkPoolPaused(on: Connection, name: string, paused: boolean): Promise<boolean> {
  const found = await withConnectionLock(on, ({ db }) =>
    db.runAndReadAll("UPDATE work_pools SET paused = $paused WHERE name = $name RETURNING name", {
      name,
      paused,
    }),
  );
  return found.getRows().length > 0;
}
