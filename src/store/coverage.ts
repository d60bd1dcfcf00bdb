/**
 * A source's symbols x days (the console's coverage grid): per symbol, its first and last bar and
 * which days of a range have a bar or an error finding: the page from `bar_symbols`, then one
 * statement each for its bars and its error findings in the range.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { barSymbolsRelation } from "./bar-symbols.js";
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
  const symbols = await barSymbolsRelation(db);
  const page = rowObjects(
    await db.runAndReadAll(
      `SELECT symbol, first_date::VARCHAR AS first_date, last_date::VARCHAR AS last_date, count(*) OVER () AS total
       FROM ${symbols} WHERE source = $source ORDER BY symbol LIMIT ${limit} OFFSET ${offset}`,
      { source: options.source },
    ),
  );
  if (page.length === 0) {
    const counted = await db.runAndReadAll(`SELECT count(*) FROM ${symbols} WHERE source = $source`, {
      source: options.source,
    });
    return { total: asNumber(counted.getRows()[0]?.[0]), rows: [] };
  }
  // The page is every symbol of the source from its first to its last one, by name: a range of
  // constants, which DuckDB checks against each row group's min/max of symbol (bars written
  // symbol by symbol, a backfill) as it does those of date (bars written day by day).
  const values = {
    source: options.source,
    from: dateValue(options.from),
    to: dateValue(options.to),
    first: String(page[0]!.symbol),
    last: String(page[page.length - 1]!.symbol),
  };
  // A bar's key is unique (no DISTINCT needed); findings may repeat a day.
  const days = async (table: string, extra: string, distinct: boolean) => {
    const reader = await db.runAndReadAll(
      `SELECT symbol, list(${distinct ? "DISTINCT " : ""}CAST(date - $from AS INTEGER)) AS days FROM ${table}
       WHERE source = $source AND date BETWEEN $from AND $to AND symbol BETWEEN $first AND $last${extra}
       GROUP BY symbol`,
      values,
    );
    return new Map(rowObjects(reader).map((r) => [String(r.symbol), (r.days as unknown[]).map(asNumber)]));
  };
  const loaded = await days("bars_daily", "", false);
  const errors = await days("quality_results", " AND severity = 'error'", true);
  return {
    total: asNumber(page[0]!.total),
    rows: page.map((r) => ({
      symbol: String(r.symbol),
      first_date: String(r.first_date),
      last_date: String(r.last_date),
      loaded: loaded.get(String(r.symbol)) ?? [],
      errors: errors.get(String(r.symbol)) ?? [],
    })),
  };
}
