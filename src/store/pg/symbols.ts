/**
 * Which symbols have bars on PostgreSQL (the console's symbol search, overview and coverage): the
 * twins of `../symbols.ts` and `../freshness.ts`, read from `bar_symbols`. DuckDB checks the
 * summary against bars_daily's statistics on each read (free there); PostgreSQL has no such free
 * check (count(*) scans the table), so its readers trust the summary, which every tickflow writer
 * of bars keeps exact in the transaction that writes (see the bars writer's section).
 */
import type { SourceExtent } from "../freshness.js";
import type { SymbolRow } from "../symbols.js";
import { asNumber, asString } from "../values.js";
import { type PgDb, pgQuery } from "./transaction.js";

/**
 * Symbols whose name contains `q` (case-insensitive; every symbol when empty), those that start
 * with it first, then by name and source (byte order, as DuckDB's); at most `limit`.
 */
export async function findSymbolsPg(
  db: PgDb,
  options: { q: string; source?: string; limit: number },
): Promise<SymbolRow[]> {
  const values: unknown[] = [options.q.toLowerCase()];
  let where = "strpos(lower(symbol), $1) > 0";
  if (options.source !== undefined) {
    values.push(options.source);
    where += " AND source = $2";
  }
  const result = await pgQuery(
    db,
    `SELECT source, symbol, first_date::text AS first_date, last_date::text AS last_date, bars AS sessions
     FROM bar_symbols WHERE ${where}
     ORDER BY NOT starts_with(lower(symbol), $1), symbol COLLATE "C", source COLLATE "C"
     LIMIT ${Math.max(0, Math.trunc(options.limit))}`,
    values,
  );
  return result.rows.map((r) => ({
    source: String(r.source),
    symbol: String(r.symbol),
    first_date: String(r.first_date),
    last_date: String(r.last_date),
    sessions: asNumber(r.sessions),
  }));
}

/** Whether (source, symbol) has any bar. */
export async function hasBarsPg(db: PgDb, source: string, symbol: string): Promise<boolean> {
  const result = await pgQuery(db, "SELECT 1 FROM bar_symbols WHERE source = $1 AND symbol = $2", [
    source,
    symbol,
  ]);
  return result.rows.length > 0;
}

/** Every source with bars, its latest date and its number of symbols, by name. */
export async function sourceExtentsPg(db: PgDb): Promise<SourceExtent[]> {
  const result = await pgQuery(
    db,
    `SELECT source, max(last_date)::text AS latest, count(*) AS symbols
     FROM bar_symbols GROUP BY source ORDER BY source COLLATE "C"`,
  );
  return result.rows.map((r) => ({
    source: String(r.source),
    latest: asString(r.latest),
    symbols: asNumber(r.symbols),
  }));
}
