/**
 * Leases: a run taken by a worker holds its slot until `lease_expires_at`, which the worker keeps
 * pushing forward while the run executes. A lease that runs out means its worker died.
 */
import { listValue } from "@duckdb/node-api";
import { type Connection, withConnectionLock } from "./connection-lock.js";
import { SLOT_RUN_STATES } from "./states.js";
import { timestampTZ } from "./values.js";

/**
 * Extends the leases of `ids` held by `owner` to `until`. Returns the ids renewed: a run missing
 * from it is no longer this owner's (Crashed after its lease ran out, or ended), as PostgreSQL's
 * `renewLeasesPg` says.
 */
export async function renewLeases(
  on: Connection,
  owner: string,
  ids: readonly string[],
  until: Date,
): Promise<string[]> {
  if (ids.length === 0) return [];
  const renewed = await withConnectionLock(on, ({ db }) =>
    db.runAndReadAll(
      `UPDATE runs SET lease_expires_at = $until
       WHERE lease_owner = $owner AND id IN (SELECT unnest($ids::VARCHAR[]))
         AND state IN (SELECT unnest($slots::VARCHAR[]))
       RETURNING id`,
      { owner, until: timestampTZ(until), ids: listValue([...ids]), slots: listValue([...SLOT_RUN_STATES]) },
    ),
  );
  return renewed.getRows().map((row) => String(row[0]));
}

/**
 * Runs holding a slot whose holder is gone: every one (`all`: at the start of the only process
 * that may hold the database, whoever ran them has died), else those whose lease ran out before
 * `now` (or that have none). Runs in `live` (this process executes them) are left out.
 */
export async function runsWithoutHolder(
  on: Connection,
  now: Date,
  options: { all: boolean; live?: ReadonlySet<string> },
): Promise<string[]> {
  const reader = await withConnectionLock(on, ({ db }) =>
    db.runAndReadAll(
      `SELECT id FROM runs WHERE state IN (SELECT unnest($slots::VARCHAR[]))
         AND ($all OR lease_expires_at IS NULL OR lease_expires_at < $now)`,
      { slots: listValue([...SLOT_RUN_STATES]), all: options.all, now: timestampTZ(now) },
    ),
  );
  return reader
    .getRows()
    .map((row) => String(row[0]))
    .filter((id) => !options.live?.has(id));
}
