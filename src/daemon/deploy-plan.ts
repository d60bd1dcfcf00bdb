/**
 * What a redeploy changes, worked out from what is stored and what the files say: pure, the same on
 * both backends (`registerDeployments` on DuckDB, `registerDeploymentsPg` on PostgreSQL only read
 * the stored rows and write the plan). Stored definitions are compared as parsed values, never as
 * text: PostgreSQL's jsonb hands back its own key order and spacing.
 */
import { stableJson } from "../schedule/run-key.js";

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

/** A deployment or work pool row as stored: its `definition` parsed. */
export interface StoredDefinition {
  name: string;
  definition: Record<string, unknown>;
  paused: boolean;
}

export interface StoredSchedule {
  deployment: string;
  id: string;
  active: boolean;
  position: number;
}

/** A schedule of a deployment. */
export interface DeploymentSchedule {
  deployment: string;
  s: ScheduleRecord;
}

/** A row to write: the record, its definition (stable JSON) and whether it is stored paused. */
export interface Upsert<R> {
  record: R;
  definition: string;
  paused: boolean;
}

export interface DeploymentPlan {
  changes: DeployChange[];
  /** Deployments the files no longer hold. */
  removed: string[];
  /** Removed or changed deployments: their waiting runs go, their schedules start again. */
  redo: string[];
  upserts: Upsert<DeploymentRecord>[];
  addedSchedules: DeploymentSchedule[];
  /** Schedules kept whose place or `active` changed. */
  movedSchedules: DeploymentSchedule[];
  /** Schedules deactivated or removed: their waiting runs go, they start again when active. */
  stopped: { deployment: string; id: string }[];
  /** Stored schedules the files no longer hold (those of removed deployments too). */
  removedSchedules: { deployment: string; id: string }[];
}

/** The definition stored for a deployment: the record without its schedules. */
export function deploymentDefinition(d: DeploymentRecord): string {
  const { schedules: _schedules, ...rest } = d;
  return stableJson(rest);
}

/**
 * What writing `deployments` over the stored ones changes. State the user set at run time
 * survives: a deployment stored paused while its file said not paused stays paused.
 */
export function planDeployments(
  stored: readonly StoredDefinition[],
  storedSchedules: readonly StoredSchedule[],
  deployments: readonly DeploymentRecord[],
): DeploymentPlan {
  const before = new Map(stored.map((s) => [s.name, s]));
  const wanted = new Map(deployments.map((d) => [d.name, d]));
  const changes: DeployChange[] = [];
  const removed = [...before.keys()].filter((name) => !wanted.has(name));
  for (const name of removed) changes.push({ kind: "deployment", name, change: "removed" });
  const upserts: Upsert<DeploymentRecord>[] = [];
  const redo = [...removed];
  for (const d of deployments) {
    const definition = deploymentDefinition(d);
    const old = before.get(d.name);
    // Paused by the user (stored true while the file said false) stays paused: the file can pause, not unpause.
    const keepPaused = old?.paused === true && !old.definition.paused;
    if (old === undefined) changes.push({ kind: "deployment", name: d.name, change: "added" });
    else if (stableJson(old.definition) !== definition) {
      changes.push({
        kind: "deployment",
        name: d.name,
        change: "changed",
        detail: changedKeys(old.definition, JSON.parse(definition)),
      });
      // Runs made from the old definition (parameters, pool) must not run: they are made again.
      redo.push(d.name);
    } else continue;
    upserts.push({ record: d, definition, paused: d.paused || keepPaused });
  }

  // Schedules: by (deployment, id); an id is the schedule's content.
  const key = (deployment: string, id: string) => `${deployment}\u0000${id}`;
  const storedByKey = new Map(storedSchedules.map((s) => [key(s.deployment, s.id), s]));
  const wantedKeys = new Set<string>();
  const addedSchedules: DeploymentSchedule[] = [];
  const movedSchedules: DeploymentSchedule[] = [];
  const stopped: { deployment: string; id: string }[] = [];
  for (const d of deployments) {
    for (const s of d.schedules) {
      wantedKeys.add(key(d.name, s.id));
      const old = storedByKey.get(key(d.name, s.id));
      if (old === undefined) {
        if (before.has(d.name))
          changes.push({ kind: "schedule", name: `${d.name}/${s.id}`, change: "added" });
        addedSchedules.push({ deployment: d.name, s });
      } else if (old.active !== s.active || old.position !== s.position) {
        if (old.active !== s.active) {
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
  const removedSchedules: { deployment: string; id: string }[] = [];
  for (const s of storedSchedules) {
    if (wantedKeys.has(key(s.deployment, s.id))) continue;
    stopped.push({ deployment: s.deployment, id: s.id });
    removedSchedules.push({ deployment: s.deployment, id: s.id });
    if (wanted.has(s.deployment)) {
      changes.push({ kind: "schedule", name: `${s.deployment}/${s.id}`, change: "removed" });
    }
  }
  return { changes, removed, redo, upserts, addedSchedules, movedSchedules, stopped, removedSchedules };
}

export interface PoolPlan {
  changes: DeployChange[];
  /** Pools the files no longer hold (their queues go with them). */
  removed: string[];
  /** Pools added or changed: the row replaced, the queues written again. */
  upserts: Upsert<WorkPoolRecord>[];
}

/** What writing `pools` over the stored ones changes; a pool paused by the user stays paused. */
export function planPools(stored: readonly StoredDefinition[], pools: readonly WorkPoolRecord[]): PoolPlan {
  const before = new Map(stored.map((s) => [s.name, s]));
  const wanted = new Set(pools.map((p) => p.name));
  const changes: DeployChange[] = [];
  const removed = [...before.keys()].filter((name) => !wanted.has(name));
  for (const name of removed) changes.push({ kind: "work_pool", name, change: "removed" });
  const upserts: Upsert<WorkPoolRecord>[] = [];
  for (const p of pools) {
    const definition = stableJson(p);
    const old = before.get(p.name);
    if (old !== undefined && stableJson(old.definition) === definition) continue;
    changes.push({
      kind: "work_pool",
      name: p.name,
      change: old === undefined ? "added" : "changed",
      ...(old === undefined
        ? {}
        : { detail: changedKeys(old.definition, p as unknown as Record<string, unknown>) }),
    });
    // Paused by the user (stored true while the file said false) stays paused, as deployments do.
    const pausedByUser = old?.paused === true && old.definition.paused !== true;
    upserts.push({ record: p, definition, paused: p.paused || pausedByUser });
  }
  return { changes, removed, upserts };
}

/** The top-level keys whose values differ, e.g. "parameters, work_pool". */
function changedKeys(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys]
    .filter((k) => stableJson(a[k]) !== stableJson(b[k]))
    .sort()
    .join(", ");
}
