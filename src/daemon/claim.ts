/**
 * Taking due runs for the workers, within limits: queue priority first (lower number first), then
 * scheduled time; the pool's, the queue's and the deployment's concurrency limits count the runs
 * holding a slot (Pending, Running, Cancelling). A deployment at its own limit either waits
 * (`enqueue`) or has the new run cancelled (`cancel_new`). A taken run is `Pending` under a lease.
 */
import {
  type ClaimedRun,
  type ClaimRow,
  claimedRun,
  type HeldSlots,
  pickClaims,
  refusedTransition,
  takenTransition,
} from "../store/claim-limits.js";
import {
  CLAIM_ORDER,
  CLAIMABLE_RUNS,
  type Connection,
  crashRuns,
  renewLeases,
  runsWithoutHolder,
  SLOT_RUN_STATES,
  timestampTZ,
  transitionRuns,
  withTransaction,
} from "../store/index.js";

export type { ClaimedRun };
export { renewLeases };

interface Candidate extends ClaimRow {
  parameters: string;
  priority: number;
}

const SLOTS = SLOT_RUN_STATES.map((s) => `'${s}'`).join(", ");

/**
 * Takes up to `capacity` due runs (Scheduled or Late, scheduled at or before `now`, of unpaused
 * deployments and pools) for `owner`, leased until `now + leaseMs`; cancels those that
 * `cancel_new` refuses. Returns the runs taken, in the order to start them.
 */
export async function claimRuns(
  on: Connection,
  now: Date,
  owner: string,
  leaseMs: number,
  capacity: number,
): Promise<{ claimed: ClaimedRun[]; cancelled: string[] }> {
  if (capacity <= 0) return { claimed: [], cancelled: [] };
  return withTransaction(on, async (tx) => {
    const db = tx.db;
    const candidates = (
      await db.runAndReadAll(
        `SELECT r.id, r.deployment, r.pipeline_file, r.parameters::VARCHAR AS parameters,
           r.logical_date::VARCHAR AS logical_date, r.work_pool, r.work_queue, r.scheduled_at,
           coalesce(q.priority, 1000000) AS priority, d.collision_strategy, d.concurrency_limit AS deployment_limit,
           p.concurrency_limit AS pool_limit, p.paused AS pool_paused, q.concurrency_limit AS queue_limit
         FROM runs r
         LEFT JOIN deployments d ON d.name = r.deployment
         LEFT JOIN work_pools p ON p.name = r.work_pool
         LEFT JOIN work_queues q ON q.pool = r.work_pool AND q.name = r.work_queue
         WHERE ${CLAIMABLE_RUNS}
         ORDER BY ${CLAIM_ORDER}`,
        { now: timestampTZ(now) },
      )
    ).getRowObjectsJS() as unknown as Candidate[];
    if (candidates.length === 0) return { claimed: [], cancelled: [] };

    const held = (
      await db.runAndReadAll(
        `SELECT deployment, work_pool, work_queue, count(*)::INTEGER AS n FROM runs
         WHERE state IN (${SLOTS}) GROUP BY ALL`,
      )
    ).getRowObjectsJS() as unknown as HeldSlots[];
    const { claimed, cancelled } = pickClaims(candidates, held, capacity);

    const taken = new Set(
      await transitionRuns(
        tx,
        { ids: claimed.map((c) => c.id) },
        takenTransition(owner, now, new Date(now.getTime() + leaseMs)),
      ),
    );
    const refused = await transitionRuns(tx, { ids: cancelled }, refusedTransition(now));
    return {
      claimed: claimed
        .filter((c) => taken.has(c.id))
        .map((c) => claimedRun(c, JSON.parse(c.parameters ?? "{}") as Record<string, unknown>)),
      cancelled: refused,
    };
  });
}

/**
 * Marks `Crashed` the runs that hold a slot but whose holder is gone: at daemon start every such
 * run (only one process can hold the database, so whoever ran them has died), later those whose
 * lease expired and that `live` does not hold. Their unfinished tasks become Crashed too. Returns
 * the ids.
 */
export async function recoverCrashedRuns(
  on: Connection,
  now: Date,
  options: { atStart: boolean; live?: ReadonlySet<string> },
): Promise<string[]> {
  const ids = await runsWithoutHolder(on, now, {
    all: options.atStart,
    ...(options.live ? { live: options.live } : {}),
  });
  const message = options.atStart
    ? "crashed: its process ended while it ran (found at daemon start)"
    : "crashed: its lease expired";
  return crashRuns(on, ids, now, message);
}
