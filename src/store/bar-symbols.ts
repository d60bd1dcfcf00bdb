/**
 * `bar_symbols`: per (source, symbol) of bars_daily, its first and last date and its number of
 * bars, so the console's overview, coverage grid and symbol search read a few thousand rows
 * instead of scanning every bar (10,000,000 bars: ~70-250 ms a scan on 2 cores).
 *
 * Kept exact by every tickflow writer of bars_daily, in the transaction that writes:
 * - `BarsWriter` and the `file.bars` import call `recordBarsWrite` before their INSERT OR REPLACE
 *   (first/last widened; count raised by the rows whose key is new); on PostgreSQL, `BarsWriterPg`
 *   and the import call `recordBarsWritePg` (`pg/bar-symbols.ts`, the same statement) before their
 *   ON CONFLICT upserts;
 * - retention (`src/retention/apply.ts`) calls `rebuildBarSymbols` after deleting bars;
 * - a `sql` step whose text names bars_daily empties the summary before the script (so a script
 *   that fails half-way leaves it visibly stale) and rebuilds it after.
 *
 * And checked on every read (`barSymbolsRelation`): the summary's total bars, first and last date
 * must equal bars_daily's `count(*)`, `min(date)` and `max(date)`, which DuckDB answers from the
 * table's statistics without a scan (< 1 ms). When they differ (bars written by another program,
 * a rebuild that did not happen) readers compute the same rows from bars_daily: slower, never wrong.
 * `rebuildBarSymbols` puts it right; `barSymbolsDifferences` lists what is off.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { asNumber, rowObjects } from "./values.js";

export const BAR_SYMBOLS_TABLE = "bar_symbols";

/** The summary computed from bars_daily (what `bar_symbols` must hold), on either backend. */
export const BAR_SYMBOLS_FROM_BARS = `SELECT source, symbol, min(date) AS first_date, max(date) AS last_date, count(*) AS bars
  FROM bars_daily GROUP BY source, symbol`;

/**
 * A relation with the columns of `bar_symbols` (source, symbol, first_date, last_date, bars) to
 * read from: the table when it agrees with bars_daily, else the same rows computed from bars_daily.
 */
export async function barSymbolsRelation(db: DuckDBConnection): Promise<string> {
  const [row] = (
    await db.runAndReadAll(
      `SELECT b.n = s.n AND b.first IS NOT DISTINCT FROM s.first AND b.last IS NOT DISTINCT FROM s.last AS ok
       FROM (SELECT count(*) AS n, min(date) AS first, max(date) AS last FROM bars_daily) b,
         (SELECT coalesce(sum(bars), 0) AS n, min(first_date) AS first, max(last_date) AS last FROM ${BAR_SYMBOLS_TABLE}) s`,
    )
  ).getRows();
  return row?.[0] === true ? BAR_SYMBOLS_TABLE : `(${BAR_SYMBOLS_FROM_BARS})`;
}

/**
 * Before bars are written with INSERT OR REPLACE (in the same transaction): adds the rows of
 * `rows` (a relation or subquery with `symbol` and `date`, one row per key) to the summary of
 * `source`. Only keys bars_daily does not hold yet are counted (a replaced bar is not a new one).
 */
export async function recordBarsWrite(db: DuckDBConnection, source: string, rows: string): Promise<void> {
  await db.run(barSymbolsUpsert("$source", rows), { source });
}

/**
 * The statement of `recordBarsWrite`, in the SQL both backends speak: `source` is the parameter
 * holding the source (`$source` in DuckDB, `$1` in PostgreSQL), `rows` the relation of new keys.
 */
export function barSymbolsUpsert(source: string, rows: string): string {
  // The table's own columns qualified: PostgreSQL finds a bare name ambiguous next to EXCLUDED.
  return `INSERT INTO ${BAR_SYMBOLS_TABLE} (source, symbol, first_date, last_date, bars)
     SELECT ${source}, n.symbol, min(n.date), max(n.date), count(*) FILTER (WHERE b.date IS NULL)
     FROM (SELECT DISTINCT symbol, date FROM (${rows}) r) n
     LEFT JOIN (SELECT symbol, date FROM bars_daily WHERE source = ${source}) b
       ON b.symbol = n.symbol AND b.date = n.date
     GROUP BY n.symbol
     ON CONFLICT (source, symbol) DO UPDATE SET
       first_date = least(${BAR_SYMBOLS_TABLE}.first_date, EXCLUDED.first_date),
       last_date = greatest(${BAR_SYMBOLS_TABLE}.last_date, EXCLUDED.last_date),
       bars = ${BAR_SYMBOLS_TABLE}.bars + EXCLUDED.bars`;
}

/** Recomputes the summary from bars_daily (in the caller's transaction, when there is one). */
export async function rebuildBarSymbols(db: DuckDBConnection): Promise<void> {
  await db.run(`DELETE FROM ${BAR_SYMBOLS_TABLE}`);
  await db.run(
    `INSERT INTO ${BAR_SYMBOLS_TABLE} (source, symbol, first_date, last_date, bars) ${BAR_SYMBOLS_FROM_BARS}`,
  );
}

/** Empties the summary: readers see it disagree with bars_daily until `rebuildBarSymbols`. */
export async function invalidateBarSymbols(db: DuckDBConnection): Promise<void> {
  await db.run(`DELETE FROM ${BAR_SYMBOLS_TABLE}`);
}

export interface BarSymbolsDifference {
  source: string;
  symbol: string;
  /** What the summary holds (null: no row) and what bars_daily says (null: no bars). */
  summary: { first_date: string; last_date: string; bars: number } | null;
  actual: { first_date: string; last_date: string; bars: number } | null;
}

/**
 * The (source, symbol) rows where the summary and bars_daily disagree, in the SQL both backends
 * speak (`text` is DuckDB's name for VARCHAR too): `s_*` the summary's side, `a_*` bars_daily's.
 */
export const BAR_SYMBOLS_DIFFERENCES = `SELECT coalesce(s.source, a.source) AS source, coalesce(s.symbol, a.symbol) AS symbol,
       s.first_date::text AS s_first, s.last_date::text AS s_last, s.bars AS s_bars,
       a.first_date::text AS a_first, a.last_date::text AS a_last, a.bars AS a_bars
     FROM ${BAR_SYMBOLS_TABLE} s FULL JOIN (${BAR_SYMBOLS_FROM_BARS}) a ON a.source = s.source AND a.symbol = s.symbol
     WHERE s.first_date IS DISTINCT FROM a.first_date OR s.last_date IS DISTINCT FROM a.last_date
       OR s.bars IS DISTINCT FROM a.bars
     ORDER BY 1, 2`;

/** One row of `BAR_SYMBOLS_DIFFERENCES` as a `BarSymbolsDifference`. */
export function barSymbolsDifferenceOf(r: Record<string, unknown>): BarSymbolsDifference {
  const side = (first: unknown, last: unknown, bars: unknown) =>
    first === null ? null : { first_date: String(first), last_date: String(last), bars: asNumber(bars) };
  return {
    source: String(r.source),
    symbol: String(r.symbol),
    summary: side(r.s_first, r.s_last, r.s_bars),
    actual: side(r.a_first, r.a_last, r.a_bars),
  };
}

/** The (source, symbol) rows where `bar_symbols` and bars_daily disagree (none: it is exact). */
export async function barSymbolsDifferences(db: DuckDBConnection): Promise<BarSymbolsDifference[]> {
  return rowObjects(await db.runAndReadAll(BAR_SYMBOLS_DIFFERENCES)).map(barSymbolsDifferenceOf);
}
