/**
 * Which due runs to take within the concurrency limits: the choice both backends' claims make
 * (src/daemon/claim.ts on DuckDB, pg/claim-runs.ts on PostgreSQL), over candidates already in
 * claim order (`CLAIM_ORDER`) and the slots held now (runs in `SLOT_RUN_STATES`). Pure: no SQL.
 */

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
