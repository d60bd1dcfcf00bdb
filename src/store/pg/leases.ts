/**
 * Leases on PostgreSQL (../leases.ts's twin, for many processes): a run taken by a worker holds its
 * slot until `lease_expires_at`, which its worker keeps pushing forward. A lease that ran out means
 * its holder died or lost the database: whoever checks (the leader) marks the run Crashed, which
 * frees its slot. At start a process recovers only the runs leased to itself: other processes'
 * runs are alive as long as their leases are.
 */
import { SLOT_RUN_STATES } from "../states.js";
import { crashRunsPg } from "./crash-runs.js";
import { type PgDb, pgQuery, withPgTransaction } from "./transaction.js";

/**
 * Extends the leases of `ids` held by `owner` to `until`. Returns the ids renewed: a run missing
 * from it is no longer this owner's (found Crashed after its lease ran out, or ended): its worker
 * should stop it.
 */
export async function renewLeasesPg(
  db: PgDb,
  owner: string,
  ids: readonly string[],
  until: Date,
): Promise<string[]> {
  if (ids.length === 0) return [];
  const result = await pgQuery<{ id: string }>(
    db,
    `UPDATE runs SET lease_expires_at = $3
     WHERE lease_owner = $1 AND id = ANY($2::text[]) AND state = ANY($4::text[])
     RETURNING id`,
    [owner, [...ids], until, [...SLOT_RUN_STATES]],
  );
  return result.rows.map((row) => row.id);
}

/**
 * Runs holding a slot whose lease ran out before `now` (or that have none: nobody can renew it).
 * `lock`: row-locks them (inside a transaction) so that a renewal racing the crash waits, then
 * finds the lease gone.
 */
export async function expiredLeasesPg(
  db: PgDb,
  now: Date,
  options: { lock?: boolean } = {},
): Promise<string[]> {
  const result = await pgQuery<{ id: string }>(
    db,
    `SELECT id FROM runs
     WHERE state = ANY($1::text[]) AND (lease_expires_at IS NULL OR lease_expires_at < $2)
     ORDER BY id ${options.lock ? "FOR UPDATE" : ""}`,
    [[...SLOT_RUN_STATES], now],
  );
  return result.rows.map((row) => row.id);
}

/**
 * Marks Crashed (with their unfinished tasks) the runs whose lease ran out before `now`, in one
 * transaction: a worker renewing meanwhile either renewed first (its run is no longer expired when
 * re-read under the row lock) or finds its lease gone. Returns the ids.
 */
export function crashExpiredLeasesPg(db: PgDb, now: Date): Promise<string[]> {
  return withPgTransaction(db, async (tx) =>
    crashRunsPg(tx, await expiredLeasesPg(tx, now, { lock: true }), now, "crashed: its lease expired"),
  );
}

/**
 * At a process's start: the runs still leased to `owner` (its previous life's) ran in a process
 * that is gone; they end Crashed. Runs of other owners are left to their leases.
 */
export function recoverOwnRunsPg(db: PgDb, owner: string, now: Date): Promise<string[]> {
  return withPgTransaction(db, async (tx) => {
    const mine = await pgQuery<{ id: string }>(
      tx,
      `SELECT id FROM runs WHERE lease_owner = $1 AND state = ANY($2::text[]) ORDER BY id FOR UPDATE`,
      [owner, [...SLOT_RUN_STATES]],
    );
    return crashRunsPg(
      tx,
      mine.rows.map((row) => row.id),
      now,
      "crashed: its process ended while it ran (found at its restart)",
    );
  });
}
