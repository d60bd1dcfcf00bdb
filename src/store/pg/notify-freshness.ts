/**
 * What the freshness check reads on PostgreSQL (the twins of the reads in
 * `../../notify/outbox-store.ts`'s DuckDB side): whether a session's bars are in, and which
 * sessions were announced Stale and not Recovered yet.
 */
import { type PgDb, pgQuery } from "./transaction.js";

/** Whether `bars_daily` holds any bar of `source` on `session` (`YYYY-MM-DD`). */
export async function hasBarsPg(db: PgDb, source: string, session: string): Promise<boolean> {
  const { rowCount } = await pgQuery(
    db,
    "SELECT 1 FROM bars_daily WHERE source = $1 AND date = $2::date LIMIT 1",
    [source, session],
  );
  return (rowCount ?? 0) > 0;
}

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
