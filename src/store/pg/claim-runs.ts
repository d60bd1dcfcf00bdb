/**
 * Taking due runs on PostgreSQL, where many daemons and workers claim at once: the twin of the
 * daemon's `claimRuns` (src/daemon/claim.ts), with the same candidates (`claimableRuns`), order
 * (`CLAIM_ORDER`) and choice within limits (`pickClaims`).
 *
 * Two claimers must never exceed a limit nor take the same run. `FOR UPDATE SKIP LOCKED` alone
 * keeps them off the same *rows*, but a limit is a count over other rows (the runs holding slots):
 * two transactions could each count 4 of 5 and each take one. So a claim first takes transaction-
 * level advisory locks, one per work pool it claims from, then one per limited deployment of its
 * candidates, each group in name order (every claimer takes locks in the same global order: no
 * deadlock), and counts the slots only after: under READ COMMITTED each statement sees what the
 * previous holder committed before its lock went. Advisory rather than `SELECT ... FOR UPDATE` of
 * `work_pools`/`deployments` rows: no row needs to exist (a run's pool may have no row: no limit,
 * but its queue or deployment may have one), edits of a deployment (pause, redeploy) do not wait
 * for claims, and the locks go by themselves at COMMIT or ROLLBACK. The cost: claimers of one pool
 * take turns (a claim is a few statements), claimers of different pools only meet on a shared
 * limited deployment. Queues belong to a pool: the pool's lock covers their limits.
 *
 * The candidates are then read `FOR UPDATE OF r SKIP LOCKED`: a run whose row another transaction
 * holds (a cancel in flight) is passed over this time, never waited for; the guarded transition to
 * Pending re-checks each run's state.
 */
import {
  type ClaimedRun,
  type ClaimRow,
  claimedRun,
  type HeldSlots,
  pickClaims,
  refusedTransition,
  takenTransition,
} from "../claim-limits.js";
import { CLAIM_ORDER, claimableRuns } from "../queued-runs.js";
import { SLOT_RUN_STATES } from "../states.js";
import { transitionRunsPg } from "./run-transitions.js";
import { isPgTx, type PgDb, type PgTx, pgQuery, withPgTransaction } from "./transaction.js";

export type { ClaimedRun };

export interface ClaimOptions {
  /** Who takes the runs (`runs.lease_owner`). */
  owner: string;
  now: Date;
  /** The lease of the runs taken runs out then, unless renewed (`renewLeasesPg`). */
  leaseUntil: Date;
  /** Most runs to take. */
  limit: number;
  /** Only runs of these work pools (a worker's `--pool`); absent: every pool, and runs of none. */
  pools?: readonly string[];
  /** Only runs of these work queues (a worker's `--queue`s, within its pools); absent: every queue. */
  queues?: readonly string[];
  /** Most due runs to look at per claim (default 1000): the claim order's head. */
  scan?: number;
}

interface Candidate extends ClaimRow {
  parameters: Record<string, unknown> | null;
}

/** Namespaces of the claim's advisory locks (keys: `hashtextextended('tickflow:<kind>:<name>', 0)`). */
const LOCK_PREFIX = { pool: "tickflow:pool:", deployment: "tickflow:deployment:" } as const;

/**
 * Takes up to `limit` due runs for `owner`: Pending, leased until `leaseUntil`, a transition row
 * each; cancels those that a deployment's `cancel_new` refuses. Returns the runs taken, in the
 * order to start them.
 */
export async function claimRunsPg(
  db: PgDb,
  options: ClaimOptions,
): Promise<{ claimed: ClaimedRun[]; cancelled: string[] }> {
  if (options.limit <= 0) return { claimed: [], cancelled: [] };
  const scan = Math.max(1, Math.trunc(options.scan ?? 1000));
  // First the head of the queue only (a few rows per run wanted), so that claimers in parallel
  // lock different rows; the whole scan when limits left the head short of `limit` (runs behind
  // a deployment at its limit must not wait for that deployment's whole queue).
  const head = Math.min(scan, Math.max(8, options.limit * 4));
  if (head < scan && !isPgTx(db)) {
    const first = await withPgTransaction(db, async (tx) => {
      const attempt = await claimFrom(tx, options, head);
      if (attempt.short) throw SCAN_FURTHER;
      return attempt.result;
    }).catch((err: unknown) => {
      if (err === SCAN_FURTHER) return undefined;
      throw err;
    });
    if (first !== undefined) return first;
  }
  return withPgTransaction(db, async (tx) => (await claimFrom(tx, options, scan)).result);
}

/** Rolls the head-only attempt back (its locks and picks) to look further. */
const SCAN_FURTHER = new Error("scan further");

/**
 * One claim in `tx` over at most `scan` due runs. `short`: fewer runs taken than wanted while
 * more due runs may lie beyond the scan.
 */
async function claimFrom(
  tx: PgTx,
  options: ClaimOptions,
  scan: number,
): Promise<{ result: { claimed: ClaimedRun[]; cancelled: string[] }; short: boolean }> {
  const pools = [...new Set(options.pools ?? (await duePools(tx, options.now)))].sort();
  await lockNames(tx, LOCK_PREFIX.pool, pools);
  // Pools paused or at their limit (their counts hold still under the locks just taken) give
  // nothing: their runs are left out of the scan rather than locked and passed over.
  const closed = await closedPools(tx, pools);
  const candidates = await lockCandidates(tx, options, pools, closed, scan);
  if (candidates.length === 0) return { result: { claimed: [], cancelled: [] }, short: false };
  const deployments = [
    ...new Set(candidates.filter((c) => c.deployment_limit !== null).map((c) => c.deployment as string)),
  ].sort();
  await lockNames(tx, LOCK_PREFIX.deployment, deployments);
  const held = await heldSlots(tx, pools, deployments);
  const { claimed, cancelled } = pickClaims(candidates, held, options.limit);
  const short = claimed.length < options.limit && candidates.length >= scan;
  if (short) return { result: { claimed: [], cancelled: [] }, short };
  const { now, owner } = options;
  const taken = new Set(
    await transitionRunsPg(
      tx,
      { ids: claimed.map((c) => c.id) },
      takenTransition(owner, now, options.leaseUntil),
    ),
  );
  const refused = await transitionRunsPg(tx, { ids: cancelled }, refusedTransition(now));
  return {
    result: {
      claimed: claimed.filter((c) => taken.has(c.id)).map((c) => claimedRun(c, c.parameters ?? {})),
      cancelled: refused,
    },
    short: false,
  };
}

/** The work pools that have due runs now. */
async function duePools(tx: PgTx, now: Date): Promise<string[]> {
  const result = await pgQuery<{ work_pool: string }>(
    tx,
    `SELECT DISTINCT r.work_pool FROM runs r LEFT JOIN deployments d ON d.name = r.deployment
     WHERE r.work_pool IS NOT NULL AND ${claimableRuns("$1")}`,
    [now],
  );
  return result.rows.map((row) => row.work_pool);
}

/** Transaction-level advisory locks on `names` (sorted by the caller), one after the other. */
async function lockNames(tx: PgTx, prefix: string, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  // unnest's rows come in array order: the locks are taken in the order given.
  await pgQuery(
    tx,
    `SELECT count(pg_advisory_xact_lock(hashtextextended($1 || name, 0)))
     FROM unnest($2::text[]) AS name`,
    [prefix, [...names]],
  );
}

/**
 * The due runs of `pools` (and of no pool, when the claim is not limited to pools), in claim
 * order, row-locked; rows another transaction holds are skipped.
 */
async function lockCandidates(
  tx: PgTx,
  options: ClaimOptions,
  pools: readonly string[],
  closed: readonly string[],
  scan: number,
): Promise<Candidate[]> {
  const result = await pgQuery<Candidate>(
    tx,
    `SELECT r.id, r.deployment, r.pipeline_file, r.parameters, r.logical_date::text AS logical_date,
       r.work_pool, r.work_queue, r.scheduled_at, d.collision_strategy,
       d.concurrency_limit AS deployment_limit, p.concurrency_limit AS pool_limit,
       p.paused AS pool_paused, q.concurrency_limit AS queue_limit
     FROM runs r
     LEFT JOIN deployments d ON d.name = r.deployment
     LEFT JOIN work_pools p ON p.name = r.work_pool
     LEFT JOIN work_queues q ON q.pool = r.work_pool AND q.name = r.work_queue
     WHERE ${claimableRuns("$1")}
       AND (r.work_pool = ANY($2::text[]) OR (r.work_pool IS NULL AND $3))
       AND ($4::text[] IS NULL OR r.work_queue = ANY($4::text[]))
       AND (r.work_pool IS NULL OR r.work_pool <> ALL($5::text[]))
     ORDER BY ${CLAIM_ORDER}
     LIMIT ${scan}
     FOR UPDATE OF r SKIP LOCKED`,
    [
      options.now,
      [...pools],
      options.pools === undefined,
      options.queues ? [...options.queues] : null,
      [...closed],
    ],
  );
  return result.rows;
}

/** The pools of `pools` that are paused or whose runs hold all their slots. */
async function closedPools(tx: PgTx, pools: readonly string[]): Promise<string[]> {
  if (pools.length === 0) return [];
  const result = await pgQuery<{ name: string }>(
    tx,
    `SELECT p.name FROM work_pools p
     WHERE p.name = ANY($1::text[])
       AND (p.paused OR (p.concurrency_limit IS NOT NULL AND p.concurrency_limit <=
         (SELECT count(*) FROM runs r WHERE r.work_pool = p.name AND r.state = ANY($2::text[]))))`,
    [[...pools], [...SLOT_RUN_STATES]],
  );
  return result.rows.map((row) => row.name);
}

/** Runs holding a slot of `pools` or `deployments`, counted by (deployment, pool, queue). */
async function heldSlots(
  tx: PgTx,
  pools: readonly string[],
  deployments: readonly string[],
): Promise<HeldSlots[]> {
  const result = await pgQuery<HeldSlots>(
    tx,
    `SELECT deployment, work_pool, work_queue, count(*)::integer AS n FROM runs
     WHERE state = ANY($1::text[]) AND (work_pool = ANY($2::text[]) OR deployment = ANY($3::text[]))
     GROUP BY deployment, work_pool, work_queue`,
    [[...SLOT_RUN_STATES], [...pools], [...deployments]],
  );
  return result.rows;
}
