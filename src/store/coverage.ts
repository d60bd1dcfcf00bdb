/**
 * A source's symbols x days (the console's coverage grid): per symbol, its first and last bar and
 * which days of a range have a bar or an error finding. One statement for a whole page of symbols.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { asNumber, dateValue, rowObjects } from "./values.js";

export interface CoverageRow {
  symbol: string;
  /** The symbol's first and last bar (any date), `YYYY-MM-DD`. */
  first_date: string;
  last_date: string;
  /** Days of the range with a bar, as days after `from`. */
  loaded: number[];
  /** Days of the range with a quality finding of severity `error`, as days after `from`. */
  errors: number[];
}

/**
 * Symbols of `source` in name order, `limit` from `offset`, with the days from `from` to `to`
 * (both inclusive, `YYYY-MM-DD`) that have a bar or an error; `total`: the source's symbols.
 */
export async function coverageRows(
  db: DuckDBConnection,
  options: { source: string; from: string; to: string; offset: number; limit: number },
): Promise<{ total: number; rows: CoverageRow[] }> {
  const limit = Math.max(0, Math.trunc(options.limit));
  const offset = Math.max(0, Math.trunc(options.offset));
  const values = { source: options.source, from: dateValue(options.from), to: dateValue(options.to) };
  const reader = await db.runAndReadAll(
    `WITH symbols AS (
       SELECT symbol, min(date) AS first_date, max(date) AS last_date FROM bars_daily
       WHERE source = $source GROUP BY symbol
     ), page AS (
       SELECT symbol, first_date, last_date, count(*) OVER () AS total FROM symbols
       ORDER BY symbol LIMIT ${limit} OFFSET ${offset}
     ), loaded AS (
       SELECT symbol, list(CAST(date - $from AS INTEGER)) AS days FROM bars_daily
       WHERE source = $source AND date BETWEEN $from AND $to AND symbol IN (SELECT symbol FROM page)
       GROUP BY symbol
     ), errors AS (
       SELECT symbol, list(DISTINCT CAST(date - $from AS INTEGER)) AS days FROM quality_results
       WHERE source = $source AND severity = 'error' AND date BETWEEN $from AND $to
         AND symbol IN (SELECT symbol FROM page)
       GROUP BY symbol
     )
     SELECT p.symbol, p.first_date::VARCHAR AS first_date, p.last_date::VARCHAR AS last_date, p.total,
       coalesce(l.days, []) AS loaded, coalesce(e.days, []) AS errors
     FROM page p LEFT JOIN loaded l ON l.symbol = p.symbol LEFT JOIN errors e ON e.symbol = p.symbol
     ORDER BY p.symbol`,
    values,
  );
  const rows = rowObjects(reader);
  let total = rows.length > 0 ? asNumber(rows[0]!.total) : 0;
  if (rows.length === 0 && offset > 0) {
    const counted = await db.runAndReadAll(
      "SELECT count(DISTINCT symbol) FROM bars_daily WHERE source = $source",
      { source: options.source },
    );
    total = asNumber(counted.getRows()[0]?.[0]);
  }
  return {
    total,
    rows: rows.map((r) => ({
      symbol: String(r.symbol),
      first_date: String(r.first_date),
      last_date: String(r.last_date),
      loaded: (r.loaded as unknown[]).map(asNumber),
      errors: (r.errors as unknown[]).map(asNumber),
    })),
  };
}
