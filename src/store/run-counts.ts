/** How many runs there were, by state (the console's overview). */
import type { DuckDBConnection } from "@duckdb/node-api";
import { RUN_TIME } from "./runs.js";
import type { RunState } from "./states.js";
import { asNumber, rowObjects, timestampTZ } from "./values.js";

/** Runs that started, or else were due, from `since` to `now`, counted by state. */
export async function runCountsByState(
  db: DuckDBConnection,
  since: Date,
  now: Date,
): Promise<Partial<Record<RunState, number>>> {
  const reader = await db.runAndReadAll(
    `SELECT state, count(*) AS n FROM runs WHERE ${RUN_TIME} >= $since AND ${RUN_TIME} <= $now
     GROUP BY state ORDER BY state`,
    { since: timestampTZ(since), now: timestampTZ(now) },
  );
  return Object.fromEntries(rowObjects(reader).map((r) => [String(r.state), asNumber(r.n)]));
}
