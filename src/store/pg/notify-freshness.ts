/**
 * What the freshness check reads on PostgreSQL (the twins of the reads in
 * `../../notify/outbox-store.ts`'s DuckDB side): which sessions were announced Stale and not
 * Recovered yet (whether a session's bars are in: `hasSessionBarsPg`).
 */
import { type PgDb, pgQuery } from "./transaction.js";

/** Sessions of `source` announced Stale to `channel` and not Recovered yet. */
export async function staleSessionsPg(db: PgDb, source: string, channel: string): Promise<string[]> {
  const prefix = `freshness:${source}:`;
  const { rows } = await pgQuery<{ session: string }>(
    db,
    `SELECT s.facts->>'session' AS session FROM notify_outbox s
     WHERE s.event = 'Stale' AND s.channel = $1 AND starts_with(s.key, $2)
       AND NOT EXISTS (SELECT 1 FROM notify_outbox r
         WHERE r.key = $2 || (s.facts->>'session') || ':Recovered:' || $1)`,
    [channel, prefix],
  );
  return rows.map((r) => String(r.session));
}
