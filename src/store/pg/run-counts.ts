/** `runCountsByState` on PostgreSQL (the console's overview). */
import { RUN_TIME } from "../runs.js";
import type { RunState } from "../states.js";
import { asNumber } from "../values.js";
import { type PgDb, pgQuery } from "./transaction.js";

/** Runs that started, or else were due, from `since` to `now`, counted by state. */
export async function runCountsByStatePg(
  db: PgDb,
  since: Date,
  now: Date,
): Promise<Partial<Record<RunState, number>>> {
  const result = await pgQuery(
    db,
    `SELECT state, count(*) AS n FROM runs WHERE ${RUN_TIME} >= $1 AND ${RUN_TIME} <= $2
     GROUP BY state`,
    [since, now],
  );
  return Object.fromEntries(result.rows.map((r) => [String(r.state), asNumber(r.n)]));
}
