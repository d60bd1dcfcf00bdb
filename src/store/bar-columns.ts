/**
 * One symbol's bars as columns, with indicator series aligned on the same dates (the console's
 * chart). Indicator values are read from their wide table (`indicator_values`, one column per
 * name) for the symbol's series only, never through the `indicators` view (an UNPIVOT of every
 * column of every series).
 */
import type { DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import { INDICATOR_TABLE, indicatorColumns, quoteIdent, SERIES_TABLE } from "./indicators.js";
import { asNumber, dateValue } from "./values.js";

export interface BarColumns {
  date: string[];
  open: (number | null)[];
  high: (number | null)[];
  low: (number | null)[];
  close: (number | null)[];
  volume: (number | null)[];
  /** One array per asked indicator, aligned with `date` (null: no value that day). */
  indicators: Record<string, (number | null)[]>;
  /** Every indicator with a value for this symbol, in table order. */
  available: string[];
}

/** Names in `wanted` that are no indicator column (nothing computed them, for any symbol). */
export async function unknownIndicators(db: DuckDBConnection, wanted: readonly string[]): Promise<string[]> {
  if (wanted.length === 0) return [];
  const known = new Set(await indicatorColumns(db));
  return wanted.filter((n) => !known.has(n));
}

/** The series id of (source, symbol) in indicator_series; undefined when it has none. */
async function seriesOf(db: DuckDBConnection, source: string, symbol: string): Promise<number | undefined> {
  const reader = await db.runAndReadAll(
    `SELECT id FROM ${SERIES_TABLE} WHERE source = $source AND symbol = $symbol`,
    { source, symbol },
  );
  const row = reader.getRows()[0];
  return row === undefined ? undefined : asNumber(row[0]);
}

/**
 * The bars of (source, symbol), dates ascending, from `from` to `to` (`YYYY-MM-DD`, both
 * inclusive, each optional), with the `indicators` columns (which must exist: `unknownIndicators`).
 */
export async function barColumns(
  db: DuckDBConnection,
  source: string,
  symbol: string,
  options: { from?: string; to?: string; indicators: readonly string[] },
): Promise<BarColumns> {
  const series = await seriesOf(db, source, symbol);
  const columns = await indicatorColumns(db);
  let available: string[] = [];
  if (series !== undefined && columns.length > 0) {
    // The series as a literal (an INTEGER of our own table): a `$series` parameter is not a
    // constant the scan can check row groups' min/max against (~5 ms instead of ~1 over 10M rows).
    const counts = await db.runAndReadAll(
      `SELECT ${columns.map((c) => `count(${quoteIdent(c)})`).join(", ")} FROM ${INDICATOR_TABLE} WHERE series = ${series}`,
    );
    const row = counts.getRows()[0] ?? [];
    available = columns.filter((_, i) => asNumber(row[i]) > 0);
  }
  const values: Record<string, DuckDBValue> = { source, symbol };
  const where = ["b.source = $source", "b.symbol = $symbol"];
  if (options.from !== undefined) {
    where.push("b.date >= $from");
    values.from = dateValue(options.from);
  }
  if (options.to !== undefined) {
    where.push("b.date <= $to");
    values.to = dateValue(options.to);
  }
  const wanted = options.indicators;
  let join = "";
  if (wanted.length > 0) {
    // The series as a literal, as above: the scan of indicator_values is pruned by its zone maps.
    join = `LEFT JOIN (SELECT date, ${wanted.map(quoteIdent).join(", ")} FROM ${INDICATOR_TABLE} WHERE series = ${series ?? -1}) v ON v.date = b.date`;
  }
  const picked = wanted.map((n, i) => `v.${quoteIdent(n)} AS i${i}`);
  const reader = await db.runAndReadAll(
    `SELECT b.date::VARCHAR AS date, b.open, b.high, b.low, b.close, b.volume${picked.map((p) => `, ${p}`).join("")}
     FROM bars_daily b ${join} WHERE ${where.join(" AND ")} ORDER BY b.date`,
    values,
  );
  const [date = [], open = [], high = [], low = [], close = [], volume = [], ...rest] =
    reader.getColumnsJS() as unknown[][];
  return {
    date: date.map(String),
    open: open.map(toNumber),
    high: high.map(toNumber),
    low: low.map(toNumber),
    close: close.map(toNumber),
    volume: volume.map(toNumber),
    indicators: Object.fromEntries(wanted.map((n, i) => [n, (rest[i] ?? []).map(toNumber)])),
    available,
  };
}

/** A DOUBLE as a JSON number: null, NaN and infinities (which JSON cannot hold) as null. */
export function toNumber(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}
