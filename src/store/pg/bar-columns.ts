/**
 * One symbol's bars as columns with indicator series aligned on the same dates (the console's
 * chart), on PostgreSQL: the twin of `../bar-columns.ts`, over the same wide layout
 * (`indicator_values`, one column per output name; `indicator_series`).
 */
import type { BarColumns } from "../bar-columns.js";
import { toNumber } from "../bar-columns.js";
import { INDICATOR_TABLE, quoteIdent, SERIES_TABLE } from "../indicators.js";
import { asNumber } from "../values.js";
import { indicatorColumnsPg } from "./indicators.js";
import { type PgDb, pgQuery } from "./transaction.js";

/** Names in `wanted` that are no indicator column (nothing computed them, for any symbol). */
export async function unknownIndicatorsPg(db: PgDb, wanted: readonly string[]): Promise<string[]> {
  if (wanted.length === 0) return [];
  const known = new Set(await indicatorColumnsPg(db));
  return wanted.filter((n) => !known.has(n));
}

/** The series id of (source, symbol); undefined when it has none. */
async function seriesOfPg(db: PgDb, source: string, symbol: string): Promise<number | undefined> {
  const result = await pgQuery(db, `SELECT id FROM ${SERIES_TABLE} WHERE source = $1 AND symbol = $2`, [
    source,
    symbol,
  ]);
  return result.rows[0] === undefined ? undefined : asNumber(result.rows[0].id);
}

/**
 * The bars of (source, symbol), dates ascending, from `from` to `to` (`YYYY-MM-DD`, both
 * inclusive, each optional), with the `indicators` columns (which must exist: `unknownIndicatorsPg`).
 */
export async function barColumnsPg(
  db: PgDb,
  source: string,
  symbol: string,
  options: { from?: string; to?: string; indicators: readonly string[] },
): Promise<BarColumns> {
  const series = await seriesOfPg(db, source, symbol);
  const columns = await indicatorColumnsPg(db);
  let available: string[] = [];
  if (series !== undefined && columns.length > 0) {
    const counts = await pgQuery(
      db,
      `SELECT ${columns.map((c) => `count(${quoteIdent(c)}) AS ${quoteIdent(`n_${c}`)}`).join(", ")} FROM ${INDICATOR_TABLE} WHERE series = $1`,
      [series],
    );
    const row = counts.rows[0] ?? {};
    available = columns.filter((c) => asNumber(row[`n_${c}`]) > 0);
  }
  const values: unknown[] = [source, symbol];
  const where = ["b.source = $1", "b.symbol = $2"];
  if (options.from !== undefined) {
    values.push(options.from);
    where.push(`b.date >= $${values.length}::date`);
  }
  if (options.to !== undefined) {
    values.push(options.to);
    where.push(`b.date <= $${values.length}::date`);
  }
  const wanted = options.indicators;
  let join = "";
  if (wanted.length > 0) {
    values.push(series ?? -1);
    join = `LEFT JOIN ${INDICATOR_TABLE} v ON v.series = $${values.length} AND v.date = b.date`;
  }
  const picked = wanted.map((n, i) => `, v.${quoteIdent(n)} AS i${i}`).join("");
  const result = await pgQuery(
    db,
    `SELECT b.date::text AS date, b.open, b.high, b.low, b.close, b.volume${picked}
     FROM bars_daily b ${join} WHERE ${where.join(" AND ")} ORDER BY b.date`,
    values,
  );
  const column = (name: string) => result.rows.map((r) => r[name]);
  return {
    date: column("date").map(String),
    open: column("open").map(toNumber),
    high: column("high").map(toNumber),
    low: column("low").map(toNumber),
    close: column("close").map(toNumber),
    volume: column("volume").map(toNumber),
    indicators: Object.fromEntries(wanted.map((n, i) => [n, column(`i${i}`).map(toNumber)])),
    available,
  };
}
