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
  kind: "deployment" | "schedule" | "work_pool" | "work_queue" | "notifications";
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
 * removed or deactivated schedule, are deleted: the scheduler creates them again from the new
 * definition. Set-based: the rows are staged and written with a few statements whatever their
 * number (a statement per deployment held hundreds of MB of native memory for 1,000 of them).
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

    const stored = new Map(
      (await db.runAndReadAll("SELECT name, definition::VARCHAR AS definition, paused FROM deployments"))
        .getRowObjectsJS()
        .map((r) => [String(r.name), r as unknown as StoredDeployment]),
    );
    const storedSchedules = (
      await db.runAndReadAll("SELECT deployment, id, active, position FROM schedules")
    ).getRowObjectsJS() as unknown as { deployment: string; id: string; active: boolean; position: number }[];
    const wanted = new Map(deployments.map((d) => [d.name, d]));

    const removed = [...stored.keys()].filter((name) => !wanted.has(name));
    for (const name of removed) changes.push({ kind: "deployment", name, change: "removed" });
    const upserts: DeploymentRecord[] = [];
    const definitions = new Map<string, string>();
    const paused = new Map<string, boolean>();
    const redo: string[] = [...removed];
    for (const d of deployments) {
      const { schedules: _schedules, ...rest } = d;
      const definition = stableJson(rest);
      const before = stored.get(d.name);
      // Paused by the user (stored true while the file said false) stays paused: the file can pause, not unpause.
      const keepPaused = before?.paused === true && !JSON.parse(before.definition).paused;
      if (before === undefined) changes.push({ kind: "deployment", name: d.name, change: "added" });
      else if (before.definition !== definition) {
        changes.push({
          kind: "deployment",
          name: d.name,
          change: "changed",
          detail: changedKeys(JSON.parse(before.definition), JSON.parse(definition)),
        });
        // Runs made from the old definition (parameters, pool) must not run: they are made again.
        redo.push(d.name);
      } else continue;
      upserts.push(d);
      definitions.set(d.name, definition);
      paused.set(d.name, d.paused || keepPaused);
    }

    // Schedules: by (deployment, id); an id is the schedule's content.
    const storedByKey = new Map(storedSchedules.map((s) => [`${s.deployment}\u0000${s.id}`, s]));
    const wantedKeys = new Set<string>();
    const addedSchedules: { deployment: string; s: ScheduleRecord }[] = [];
    const movedSchedules: { deployment: string; s: ScheduleRecord }[] = [];
    const stopped: { deployment: string; id: string }[] = [];
    for (const d of deployments) {
      for (const s of d.schedules) {
        const key = `${d.name}\u0000${s.id}`;
        wantedKeys.add(key);
        const before = storedByKey.get(key);
        if (before === undefined) {
          if (stored.has(d.name)) {
            changes.push({ kind: "schedule", name: `${d.name}/${s.id}`, change: "added" });
          }
          addedSchedules.push({ deployment: d.name, s });
        } else if (before.active !== s.active || before.position !== s.position) {
          if (before.active !== s.active) {
            changes.push({
              kind: "schedule",
              name: `${d.name}/${s.id}`,
              change: "changed",
              detail: s.active ? "active" : "inactive",
            });
            if (!s.active) stopped.push({ deployment: d.name, id: s.id });
          }
          movedSchedules.push({ deployment: d.name, s });
        }
      }
    }
    for (const s of storedSchedules) {
      if (wantedKeys.has(`${s.deployment}\u0000${s.id}`)) continue;
      stopped.push({ deployment: s.deployment, id: s.id });
      if (wanted.has(s.deployment)) {
        changes.push({ kind: "schedule", name: `${s.deployment}/${s.id}`, change: "removed" });
      }
    }

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
        await db.run(
          `DELETE FROM schedules s USING ${t} t WHERE s.deployment = t.deployment AND s.id = t.id
             AND NOT EXISTS (SELECT 1 FROM ${await stage("deploy_wanted", {
               key: [...wantedKeys],
             })} w WHERE w.key = s.deployment || chr(0) || s.id)`,
        );
      }
      if (upserts.length > 0) {
        const t = await stage("deploy_upserts", {
          name: upserts.map((d) => d.name),
          pipeline: upserts.map((d) => d.pipeline),
          pipeline_file: upserts.map((d) => d.pipelineFile),
          parameters: upserts.map((d) => JSON.stringify(d.parameters)),
          work_pool: upserts.map((d) => d.workPool),
          work_queue: upserts.map((d) => d.workQueue),
          concurrency_limit: upserts.map((d) =>
            d.concurrencyLimit === null ? null : String(d.concurrencyLimit),
          ),
          collision_strategy: upserts.map((d) => d.collisionStrategy),
          missed_runs: upserts.map((d) => d.missedRuns),
          tags: upserts.map((d) => JSON.stringify(d.tags)),
          paused: upserts.map((d) => String(paused.get(d.name))),
          definition: upserts.map((d) => definitions.get(d.name) ?? "{}"),
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

async function registerPools(
  db: DuckDBConnection,
  pools: readonly WorkPoolRecord[],
): Promise<DeployChange[]> {
  const changes: DeployChange[] = [];
  const storedRows = (
    await db.runAndReadAll("SELECT name, definition::VARCHAR AS definition, paused FROM work_pools")
  ).getRowObjectsJS();
  const stored = new Map(storedRows.map((r) => [String(r.name), String(r.definition)]));
  // Paused by the user (stored true while the file said false) stays paused, as deployments do.
  const pausedByUser = new Set(
    storedRows
      .filter((r) => r.paused === true && JSON.parse(String(r.definition)).paused !== true)
      .map((r) => String(r.name)),
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
        paused: p.paused || pausedByUser.has(p.name),
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

/** The top-level keys whose values differ, e.g. "parameters, work_pool". */
function changedKeys(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys]
    .filter((k) => stableJson(a[k]) !== stableJson(b[k]))
    .sort()
    .join(", ");
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
