/**
 * `tickflow deploy`: registers the deployments, their schedules and the work pools in the database,
 * idempotently, and says what changed. State the user set at run time survives a redeploy: a
 * deployment or schedule paused through the CLI/API stays paused.
 */
import { resolve } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { DeploymentDocument, DeploymentsDocument } from "../schedule/deployments-file.js";
import { DEFAULT_MISSED_RUNS } from "../schedule/missed-runs.js";
import { scheduleId, stableJson } from "../schedule/run-key.js";
import type { WorkPoolDocument } from "../schedule/work-pool-file.js";
import { timestampTZ, withTransaction } from "../store/index.js";

/** A deployment as stored: what the file says, resolved (absolute pipeline path, schedule ids). */
export interface DeploymentRecord {
  name: string;
  /** The pipeline's `name`. */
  pipeline: string;
  pipelineFile: string;
  parameters: Record<string, unknown>;
  workPool: string | null;
  workQueue: string | null;
  concurrencyLimit: number | null;
  collisionStrategy: "enqueue" | "cancel_new";
  missedRuns: "all" | "latest" | "skip";
  tags: string[];
  paused: boolean;
  schedules: ScheduleRecord[];
}

export interface ScheduleRecord {
  id: string;
  position: number;
  /** The schedule as written (minus `active`), JSON. */
  definition: Record<string, unknown>;
  active: boolean;
}

export interface WorkPoolRecord {
  name: string;
  concurrencyLimit: number | null;
  paused: boolean;
  jobDefaults: Record<string, unknown>;
  queues: { name: string; priority: number; concurrencyLimit: number | null }[];
}

export interface DeployChange {
  kind: "deployment" | "schedule" | "work_pool" | "work_queue";
  name: string;
  change: "added" | "changed" | "removed";
  /** What differs, for `changed`. */
  detail?: string;
}

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

interface StoredDeployment {
  name: string;
  definition: string;
  paused: boolean;
}

/**
 * Writes deployments, schedules, pools and queues in one transaction; removes what the files no
 * longer hold. Runs not yet started (Scheduled, Late) of a removed or changed deployment, or of a
 * removed schedule, are deleted: the scheduler creates them again from the new definition.
 */
export async function registerDeployments(
  db: DuckDBConnection,
  deployments: readonly DeploymentRecord[],
  pools: readonly WorkPoolRecord[],
  now: Date,
): Promise<DeployChange[]> {
  return withTransaction(db, async () => {
    const changes: DeployChange[] = [];
    changes.push(...(await registerPools(db, pools)));

    const stored = new Map(
      (await db.runAndReadAll("SELECT name, definition::VARCHAR AS definition, paused FROM deployments"))
        .getRowObjectsJS()
        .map((r) => [String(r.name), r as unknown as StoredDeployment]),
    );
    const wanted = new Set(deployments.map((d) => d.name));
    for (const name of stored.keys()) {
      if (wanted.has(name)) continue;
      await db.run("DELETE FROM schedules WHERE deployment = $name", { name });
      await db.run("DELETE FROM deployments WHERE name = $name", { name });
      await deleteUnstartedRuns(db, name);
      changes.push({ kind: "deployment", name, change: "removed" });
    }
    for (const d of deployments) {
      const { schedules, paused, ...rest } = d;
      const definition = stableJson({ ...rest, paused });
      const before = stored.get(d.name);
      if (before === undefined) {
        changes.push({ kind: "deployment", name: d.name, change: "added" });
      } else if (before.definition !== definition) {
        changes.push({
          kind: "deployment",
          name: d.name,
          change: "changed",
          detail: changedKeys(JSON.parse(before.definition), JSON.parse(definition)),
        });
        // Runs made from the old definition (parameters, pool) must not run: they are made again.
        await deleteUnstartedRuns(db, d.name);
        await db.run("UPDATE schedules SET scheduled_until = NULL WHERE deployment = $name", {
          name: d.name,
        });
      }
      // Paused by the user (stored true) stays paused; the file can pause but not unpause it.
      const keepPaused = before !== undefined && before.paused && !JSON.parse(before.definition).paused;
      await db.run(
        `INSERT OR REPLACE INTO deployments (name, pipeline, pipeline_file, parameters, work_pool, work_queue,
           concurrency_limit, collision_strategy, missed_runs, tags, paused, definition, updated_at)
         VALUES ($name, $pipeline, $pipeline_file, $parameters::JSON, $work_pool, $work_queue, $concurrency_limit,
           $collision_strategy, $missed_runs, $tags::JSON, $paused, $definition::JSON, $updated_at)`,
        {
          name: d.name,
          pipeline: d.pipeline,
          pipeline_file: d.pipelineFile,
          parameters: JSON.stringify(d.parameters),
          work_pool: d.workPool,
          work_queue: d.workQueue,
          concurrency_limit: d.concurrencyLimit,
          collision_strategy: d.collisionStrategy,
          missed_runs: d.missedRuns,
          tags: JSON.stringify(d.tags),
          paused: paused || keepPaused,
          definition,
          updated_at: timestampTZ(now),
        },
      );
      changes.push(...(await registerSchedules(db, d.name, schedules, before === undefined)));
    }
    return changes;
  });
}

async function registerSchedules(
  db: DuckDBConnection,
  deployment: string,
  schedules: readonly ScheduleRecord[],
  newDeployment: boolean,
): Promise<DeployChange[]> {
  const changes: DeployChange[] = [];
  const stored = new Map(
    (
      await db.runAndReadAll(
        "SELECT id, active, paused, position FROM schedules WHERE deployment = $deployment",
        { deployment },
      )
    )
      .getRowObjectsJS()
      .map((r) => [String(r.id), r as { id: string; active: boolean; paused: boolean; position: number }]),
  );
  const wanted = new Map(schedules.map((s) => [s.id, s]));
  for (const id of stored.keys()) {
    if (wanted.has(id)) continue;
    await db.run("DELETE FROM schedules WHERE deployment = $deployment AND id = $id", { deployment, id });
    await db.run(
      "DELETE FROM runs WHERE deployment = $deployment AND schedule_id = $id AND state IN ('Scheduled', 'Late')",
      { deployment, id },
    );
    changes.push({ kind: "schedule", name: `${deployment}/${id}`, change: "removed" });
  }
  for (const s of wanted.values()) {
    const before = stored.get(s.id);
    if (before === undefined) {
      if (!newDeployment) changes.push({ kind: "schedule", name: `${deployment}/${s.id}`, change: "added" });
      await db.run(
        `INSERT INTO schedules (deployment, id, position, definition, active, paused, scheduled_until)
         VALUES ($deployment, $id, $position, $definition::JSON, $active, false, NULL)`,
        {
          deployment,
          id: s.id,
          position: s.position,
          definition: stableJson(s.definition),
          active: s.active,
        },
      );
    } else if (before.active !== s.active || before.position !== s.position) {
      if (before.active !== s.active) {
        changes.push({
          kind: "schedule",
          name: `${deployment}/${s.id}`,
          change: "changed",
          detail: s.active ? "active" : "inactive",
        });
      }
      await db.run(
        "UPDATE schedules SET active = $active, position = $position WHERE deployment = $deployment AND id = $id",
        { deployment, id: s.id, active: s.active, position: s.position },
      );
      if (!s.active) {
        await db.run(
          "DELETE FROM runs WHERE deployment = $deployment AND schedule_id = $id AND state IN ('Scheduled', 'Late')",
          { deployment, id: s.id },
        );
        await db.run(
          "UPDATE schedules SET scheduled_until = NULL WHERE deployment = $deployment AND id = $id",
          {
            deployment,
            id: s.id,
          },
        );
      }
    }
  }
  return changes;
}

async function registerPools(
  db: DuckDBConnection,
  pools: readonly WorkPoolRecord[],
): Promise<DeployChange[]> {
  const changes: DeployChange[] = [];
  const stored = new Map(
    (await db.runAndReadAll("SELECT name, definition::VARCHAR AS definition FROM work_pools"))
      .getRowObjectsJS()
      .map((r) => [String(r.name), String(r.definition)]),
  );
  const wanted = new Set(pools.map((p) => p.name));
  for (const name of stored.keys()) {
    if (wanted.has(name)) continue;
    await db.run("DELETE FROM work_queues WHERE pool = $name", { name });
    await db.run("DELETE FROM work_pools WHERE name = $name", { name });
    changes.push({ kind: "work_pool", name, change: "removed" });
  }
  for (const p of pools) {
    const definition = stableJson(p);
    const before = stored.get(p.name);
    if (before === definition) continue;
    changes.push({
      kind: "work_pool",
      name: p.name,
      change: before === undefined ? "added" : "changed",
      ...(before === undefined
        ? {}
        : { detail: changedKeys(JSON.parse(before), p as unknown as Record<string, unknown>) }),
    });
    await db.run(
      `INSERT OR REPLACE INTO work_pools (name, concurrency_limit, paused, job_defaults, definition)
       VALUES ($name, $limit, $paused, $job_defaults::JSON, $definition::JSON)`,
      {
        name: p.name,
        limit: p.concurrencyLimit,
        paused: p.paused,
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
  return changes;
}

/** Deletes a deployment's runs that have not started (Scheduled, Late). */
async function deleteUnstartedRuns(db: DuckDBConnection, deployment: string): Promise<void> {
  await db.run("DELETE FROM runs WHERE deployment = $deployment AND state IN ('Scheduled', 'Late')", {
    deployment,
  });
}

/** The top-level keys whose values differ, e.g. "parameters, work_pool". */
function changedKeys(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys]
    .filter((k) => stableJson(a[k]) !== stableJson(b[k]))
    .sort()
    .join(", ");
}
