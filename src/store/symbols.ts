/** Which symbols have bars (the console's symbol search), from `bar_symbols`. */
import type { DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import { barSymbolsRelation } from "./bar-symbols.js";
import { asNumber, rowObjects } from "./values.js";

export interface SymbolRow {
  source: string;
  symbol: string;
  /** `YYYY-MM-DD`. */
  first_date: string;
  last_date: string;
  /** Days with a bar. */
  sessions: number;
}

/**
 * Symbols of `bars_daily` whose name contains `q` (case-insensitive; every symbol when empty),
 * those that start with it first, then by name and source; at most `limit`.
 */
export async function findSymbols(
  db: DuckDBConnection,
  options: { q: string; source?: string; limit: number },
): Promise<SymbolRow[]> {
  const values: Record<string, DuckDBValue> = { q: options.q.toLowerCase() };
  const where = ["contains(lower(symbol), $q)"];
  if (options.source !== undefined) {
    where.push("source = $source");
    values.source = options.source;
  }
  const reader = await db.runAndReadAll(
    `SELECT source, symbol, first_date::VARCHAR AS first_date, last_date::VARCHAR AS last_date, bars AS sessions
     FROM ${await barSymbolsRelation(db)} WHERE ${where.join(" AND ")}
     ORDER BY NOT starts_with(lower(symbol), $q), symbol, source
     LIMIT ${Math.max(0, Math.trunc(options.limit))}`,
    values,
  );
  return rowObjects(reader).map((r) => ({
    source: String(r.source),
    symbol: String(r.symbol),
    first_date: String(r.first_date),
    last_date: String(r.last_date),
    sessions: asNumber(r.sessions),
  }));
}

/** Whether (source, symbol) has any bar. */
export async function hasBars(db: DuckDBConnection, source: string, symbol: string): Promise<boolean> {
  const reader = await db.runAndReadAll(
    `SELECT 1 FROM ${await barSymbolsRelation(db)} WHERE source = $source AND symbol = $symbol LIMIT 1`,
    { source, symbol },
  );
  return reader.currentRowCount > 0;
}
