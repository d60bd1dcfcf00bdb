/**
 * Which due runs to take within the concurrency limits: the choice both backends' claims make
 * (src/daemon/claim.ts on DuckDB, pg/claim-runs.ts on PostgreSQL), over candidates already in
 * claim order (`CLAIM_ORDER`) and the slots held now (runs in `SLOT_RUN_STATES`), and the changes
 * of state a claim makes. Pure: no SQL.
 */
import type { RunTransition } from "./run-transitions.js";
import { WAITING_RUN_STATES } from "./states.js";

/** A due run with its pool's, queue's and deployment's limits (null: none). */
export interface ClaimCandidate {
  id: string;
  deployment: string | null;
  work_pool: string | null;
  work_queue: string | null;
  collision_strategy: string | null;
  deployment_limit: number | null;
  pool_limit: number | null;
  pool_paused: boolean | null;
  queue_limit: number | null;
}

/** A run taken, as the daemon and workers start it. */
export interface ClaimedRun {
  id: string;
  deployment: string | null;
  pipelineFile: string;
  parameters: Record<string, unknown>;
  logicalDate: string | null;
  workPool: string | null;
  workQueue: string | null;
  /** When it was due (its start delay is measured from it). */
  scheduledAt: Date;
}

/** What a claim reads of a run to start it, beside the limits. */
export interface ClaimRow extends ClaimCandidate {
  pipeline_file: string;
  logical_date: string | null;
  scheduled_at: Date;
}

/** A taken run's row as a `ClaimedRun` (`parameters` parsed by the caller: JSON text or jsonb). */
export function claimedRun(c: ClaimRow, parameters: Record<string, unknown>): ClaimedRun {
  return {
    id: c.id,
    deployment: c.deployment,
    pipelineFile: c.pipeline_file,
    parameters,
    logicalDate: c.logical_date,
    workPool: c.work_pool,
    workQueue: c.work_queue,
    scheduledAt: new Date(c.scheduled_at),
  };
}

/** Runs holding a slot, counted by (deployment, pool, queue). */
export interface HeldSlots {
  deployment: string | null;
  work_pool: string | null;
  work_queue: string | null;
  n: number;
}

/**
 * Walks `candidates` in order, taking each whose pool (unpaused), queue and deployment have a free
 * slot, up to `capacity`. A run whose deployment is full waits, or is refused when its deployment's
 * `collision_strategy` is `cancel_new`. Returns the runs to take and those to cancel.
 */
export function pickClaims<C extends ClaimCandidate>(
  candidates: readonly C[],
  held: readonly HeldSlots[],
  capacity: number,
): { claimed: C[]; cancelled: string[] } {
  const count = new Map<string, number>();
  const bump = (key: string, n = 1) => count.set(key, (count.get(key) ?? 0) + n);
  for (const h of held) {
    const n = Number(h.n);
    if (h.deployment !== null) bump(`d:${h.deployment}`, n);
    if (h.work_pool !== null) bump(`p:${h.work_pool}`, n);
    if (h.work_queue !== null) bump(`q:${h.work_pool}/${h.work_queue}`, n);
  }
  const full = (key: string, limit: number | null) =>
    limit !== null && (count.get(key) ?? 0) >= Number(limit);

  const claimed: C[] = [];
  const cancelled: string[] = [];
  for (const c of candidates) {
    if (claimed.length >= capacity) break;
    if (c.pool_paused) continue;
    if (c.work_pool !== null && full(`p:${c.work_pool}`, c.pool_limit)) continue;
    if (c.work_queue !== null && full(`q:${c.work_pool}/${c.work_queue}`, c.queue_limit)) continue;
    if (c.deployment !== null && full(`d:${c.deployment}`, c.deployment_limit)) {
      if (c.collision_strategy === "cancel_new") cancelled.push(c.id);
      continue;
    }
    claimed.push(c);
    if (c.deployment !== null) bump(`d:${c.deployment}`);
    if (c.work_pool !== null) bump(`p:${c.work_pool}`);
    if (c.work_queue !== null) bump(`q:${c.work_pool}/${c.work_queue}`);
  }
  return { claimed, cancelled };
}

/** A run taken by `owner`: Pending (from waiting only), leased until `leaseUntil`. */
export function takenTransition(owner: string, now: Date, leaseUntil: Date): RunTransition {
  return {
    to: "Pending",
    from: WAITING_RUN_STATES,
    at: now,
    message: `taken by ${owner}`,
    set: { lease_owner: owner, lease_expires_at: leaseUntil },
  };
}

/** A new run refused because its `cancel_new` deployment is at its limit: Cancelled. */
export function refusedTransition(now: Date): RunTransition {
  const message = "cancelled: the deployment is at its concurrency limit (collision_strategy: cancel_new)";
  return {
    to: "Cancelled",
    from: WAITING_RUN_STATES,
    at: now,
    message,
    set: { ended_at: now, error: message },
  };
}
