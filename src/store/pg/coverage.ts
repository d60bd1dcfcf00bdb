/** `coverageRows` on PostgreSQL (the console's coverage grid): the page from `bar_symbols`, then the days. */
import type { CoverageRow } from "../coverage.js";
import { asNumber } from "../values.js";
import { type PgDb, pgQuery } from "./transaction.js";

/**
 * Symbols of `source` in name order, `limit` from `offset`, with the days from `from` to `to`
 * (both inclusive, `YYYY-MM-DD`) that have a bar or an error finding, as days after `from`;
 * `total`: the source's symbols.
 */
export async function coverageRowsPg(
  db: PgDb,
  options: { source: string; from: string; to: string; offset: number; limit: number },
): Promise<{ total: number; rows: CoverageRow[] }> {
  const limit = Math.max(0, Math.trunc(options.limit));
  const offset = Math.max(0, Math.trunc(options.offset));
  const page = (
    await pgQuery(
      db,
      `SELECT symbol, first_date::text AS first_date, last_date::text AS last_date, count(*) OVER () AS total
       FROM bar_symbols WHERE source = $1 ORDER BY symbol COLLATE "C" LIMIT ${limit} OFFSET ${offset}`,
      [options.source],
    )
  ).rows;
  if (page.length === 0) {
    const counted = await pgQuery(db, "SELECT count(*) AS n FROM bar_symbols WHERE source = $1", [
      options.source,
    ]);
    return { total: asNumber(counted.rows[0]?.n), rows: [] };
  }
  const symbols = page.map((r) => String(r.symbol));
  const loaded = await daysOf(db, "bars_daily", "", options, symbols);
  const errors = await daysOf(db, "quality_results", " AND severity = 'error'", options, symbols);
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

/** Per symbol of the page, the distinct days of `table` in the range (as days after `from`). */
async function daysOf(
  db: PgDb,
  table: "bars_daily" | "quality_results",
  extra: string,
  range: { source: string; from: string; to: string },
  symbols: readonly string[],
): Promise<Map<string, number[]>> {
  const result = await pgQuery(
    db,
    // The page's symbols by name (the primary key's second column): an index range per symbol.
    `SELECT symbol, array_agg(DISTINCT date - $2::date) AS days FROM ${table}
     WHERE source = $1 AND symbol = ANY($4::text[]) AND date BETWEEN $2::date AND $3::date${extra}
     GROUP BY symbol`,
    [range.source, range.from, range.to, symbols],
  );
  return new Map(result.rows.map((r) => [String(r.symbol), (r.days as unknown[]).map(asNumber)]));
}
