/** Reading the registered deployments and work pools (`deploy` writes them: src/daemon/deploy.ts). */
import { type DuckDBConnection, listValue } from "@duckdb/node-api";
import { SLOT_RUN_STATES, WAITING_RUN_STATES } from "./states.js";
import { asDate, asJson, asNumber, asString, rowObjects, timestampTZ } from "./values.js";

export interface DeploymentRow {
  name: string;
  pipeline: string;
  pipeline_file: string;
  parameters: Record<string, unknown>;
  work_pool: string | null;
  work_queue: string | null;
  concurrency_limit: number | null;
  collision_strategy: string;
  missed_runs: string;
  tags: string[];
  paused: boolean;
  /** The earliest Scheduled run. */
  next_run: Date | null;
}

/** The columns of a `DeploymentRow`, over `deployments d` (both backends). */
export const DEPLOYMENT_COLUMNS = `name, pipeline, pipeline_file, parameters, work_pool, work_queue, concurrency_limit,
  collision_strategy, missed_runs, tags, paused,
  (SELECT min(scheduled_at) FROM runs r WHERE r.deployment = d.name AND r.state = 'Scheduled') AS next_run`;

/** Every deployment, by name. */
export async function listDeployments(db: DuckDBConnection): Promise<DeploymentRow[]> {
  const reader = await db.runAndReadAll(`SELECT ${DEPLOYMENT_COLUMNS} FROM deployments d ORDER BY name`);
  return rowObjects(reader).map(toDeploymentRow);
}

export async function findDeployment(db: DuckDBConnection, name: string): Promise<DeploymentRow | undefined> {
  const reader = await db.runAndReadAll(
    `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments d WHERE name = $name`,
    {
      name,
    },
  );
  const row = rowObjects(reader)[0];
  return row === undefined ? undefined : toDeploymentRow(row);
}

/** A row of `DEPLOYMENT_COLUMNS` (JSON columns as text or parsed, the instant as a Date or text). */
export function toDeploymentRow(r: Record<string, unknown>): DeploymentRow {
  return {
    name: String(r.name),
    pipeline: String(r.pipeline),
    pipeline_file: String(r.pipeline_file),
    parameters: asJson<Record<string, unknown>>(r.parameters) ?? {},
    work_pool: asString(r.work_pool),
    work_queue: asString(r.work_queue),
    concurrency_limit: r.concurrency_limit === null ? null : asNumber(r.concurrency_limit),
    collision_strategy: String(r.collision_strategy),
    missed_runs: String(r.missed_runs),
    tags: asJson<string[]>(r.tags) ?? [],
    paused: r.paused === true,
    next_run: asDate(r.next_run),
  };
}

export interface WorkQueueRow {
  name: string;
  priority: number;
  concurrency_limit: number | null;
  /** Runs holding a slot (Pending, Running, Cancelling). */
  slots_in_use: number;
  /** Runs waiting to be taken (Scheduled or Late) and due at `now`. */
  queued: number;
}

export interface WorkPoolRow {
  name: string;
  concurrency_limit: number | null;
  paused: boolean;
  slots_in_use: number;
  queued: number;
  queues: WorkQueueRow[];
}

/** Every work pool with its queues, and the runs holding or waiting for their slots at `now`. */
export async function listWorkPools(db: DuckDBConnection, now: Date): Promise<WorkPoolRow[]> {
  const pools = rowObjects(
    await db.runAndReadAll("SELECT name, concurrency_limit, paused FROM work_pools ORDER BY name"),
  );
  const queues = rowObjects(
    await db.runAndReadAll(
      "SELECT pool, name, priority, concurrency_limit FROM work_queues ORDER BY pool, priority, name",
    ),
  );
  const counts = rowObjects(
    await db.runAndReadAll(
      `SELECT work_pool, work_queue,
         count(*) FILTER (WHERE state IN (SELECT unnest($slots::VARCHAR[])))::INTEGER AS slots_in_use,
         count(*) FILTER (WHERE state IN (SELECT unnest($waiting::VARCHAR[])) AND scheduled_at <= $now)::INTEGER AS queued
       FROM runs WHERE work_pool IS NOT NULL GROUP BY ALL`,
      {
        slots: listValue([...SLOT_RUN_STATES]),
        waiting: listValue([...WAITING_RUN_STATES]),
        now: timestampTZ(now),
      },
    ),
  );
  return workPoolRows(pools, queues, counts);
}

/**
 * The pools with their queues and counts, from three reads (both backends): the pools by name,
 * the queues by pool, priority and name, and per (work_pool, work_queue) the runs holding slots and
 * waiting due.
 */
export function workPoolRows(
  pools: readonly Record<string, unknown>[],
  queues: readonly Record<string, unknown>[],
  counts: readonly Record<string, unknown>[],
): WorkPoolRow[] {
  const countOf = (pool: string, queue?: string) => {
    const rows = counts.filter(
      (c) => c.work_pool === pool && (queue === undefined || c.work_queue === queue),
    );
    return {
      slots_in_use: rows.reduce((n, c) => n + asNumber(c.slots_in_use), 0),
      queued: rows.reduce((n, c) => n + asNumber(c.queued), 0),
    };
  };
  return pools.map((p) => ({
    name: String(p.name),
    concurrency_limit: p.concurrency_limit === null ? null : asNumber(p.concurrency_limit),
    paused: p.paused === true,
    ...countOf(String(p.name)),
    queues: queues
      .filter((q) => q.pool === p.name)
      .map((q) => ({
        name: String(q.name),
        priority: asNumber(q.priority),
        concurrency_limit: q.concurrency_limit === null ? null : asNumber(q.concurrency_limit),
        ...countOf(String(p.name), String(q.name)),
      })),
  }));
}

/**
 * Every registered deployment with the end of its latest Completed run (null: none yet). From
 * the run history, so it holds across restarts.
 */
export async function lastSuccesses(
  db: DuckDBConnection,
): Promise<{ deployment: string; at: Date | null }[]> {
  const reader = await db.runAndReadAll(
    `SELECT d.name AS deployment, max(r.ended_at) AS at
     FROM deployments d LEFT JOIN runs r ON r.deployment = d.name AND r.state = 'Completed'
     GROUP BY d.name ORDER BY d.name`,
  );
  return rowObjects(reader).map((r) => ({ deployment: String(r.deployment), at: asDate(r.at) }));
}

/** The deployment of each run (null for none), in the order of `ids`. */
export async function deploymentsOfRuns(
  db: DuckDBConnection,
  ids: readonly string[],
): Promise<(string | null)[]> {
  if (ids.length === 0) return [];
  const reader = await db.runAndReadAll(
    "SELECT id, deployment FROM runs WHERE id IN (SELECT unnest($ids::VARCHAR[]))",
    { ids: listValue([...ids]) },
  );
  const of = new Map(rowObjects(reader).map((r) => [String(r.id), asString(r.deployment)]));
  return ids.map((id) => of.get(id) ?? null);
}

/** What a work pool gives the runs it executes (`job_defaults`): a timeout and environment variables. */
export interface JobDefaults {
  timeout?: string;
  env: Record<string, string>;
}

/** The stored `job_defaults` (text or parsed; null or absent: none) as `JobDefaults`. */
export function toJobDefaults(stored: unknown): JobDefaults {
  const defaults = (asJson<{ timeout?: string; env?: Record<string, string> }>(stored) ?? {}) as {
    timeout?: string;
    env?: Record<string, string>;
  };
  return { ...(defaults.timeout ? { timeout: defaults.timeout } : {}), env: defaults.env ?? {} };
}

/** The job defaults of `pool` (none for no pool or a pool not registered): the daemon's `poolDefaults`. */
export async function workPoolJobDefaults(db: DuckDBConnection, pool: string | null): Promise<JobDefaults> {
  if (pool === null) return { env: {} };
  const reader = await db.runAndReadAll(
    "SELECT job_defaults::VARCHAR AS j FROM work_pools WHERE name = $pool",
    { pool },
  );
  return toJobDefaults(rowObjects(reader)[0]?.j);
}
