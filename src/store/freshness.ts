/** How far each source's bars reach (the console's overview and coverage), from `bar_symbols`. */
import type { DuckDBConnection } from "@duckdb/node-api";
import { barSymbolsRelation } from "./bar-symbols.js";
import { asNumber, asString, rowObjects } from "./values.js";

export interface SourceExtent {
  source: string;
  /** The latest date with a bar, `YYYY-MM-DD`. */
  latest: string | null;
  /** Symbols with bars. */
  symbols: number;
}

/** Every source of `bars_daily` with its latest date and its number of symbols, by name. */
export async function sourceExtents(db: DuckDBConnection): Promise<SourceExtent[]> {
  const reader = await db.runAndReadAll(
    `SELECT source, max(last_date)::VARCHAR AS latest, count(*) AS symbols
     FROM ${await barSymbolsRelation(db)} GROUP BY source ORDER BY source`,
  );
  return rowObjects(reader).map((r) => ({
    source: String(r.source),
    latest: asString(r.latest),
    symbols: asNumber(r.symbols),
  }));
}
