/**
 * The physical layout of indicator values (migration 2): `indicator_values(series, date, <one
 * DOUBLE column per output name>)`, one row per (series, date), no key (the writer keeps rows
 * unique); `indicator_series(id, source, symbol)` names each series; and the
 * `indicators(source, symbol, date, name, value)` view over them, an UNPIVOT of the value columns
 * (which leaves NULLs out: no row for a warm-up date).
 */
import type { DuckDBConnection } from "@duckdb/node-api";

export const INDICATOR_TABLE = "indicator_values";
export const SERIES_TABLE = "indicator_series";
const KEY_COLUMNS = new Set(["series", "date"]);

type Run = (sql: string, params?: Record<string, string>) => Promise<{ getRows(): unknown[][] }>;

/**
 * Bars of several symbols as columns, as the step reads them from either backend: ordered by
 * symbol (`idx`, its index in the list asked for) then date (`day`, days since 1970-01-01); NaN
 * for a NULL price or volume.
 */
export interface IndicatorBars {
  idx: Int32Array;
  day: Int32Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

/** A SQL identifier: double quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The value columns of indicator_values (output names), in table order. */
export async function indicatorColumns(db: DuckDBConnection): Promise<string[]> {
  // The names of an empty result, in table order: ~0.3 ms, where duckdb_columns() took 2-10.
  const reader = await db.runAndReadAll(`SELECT * FROM ${INDICATOR_TABLE} LIMIT 0`);
  return reader.columnNames().filter((c) => !KEY_COLUMNS.has(c));
}

/** The `indicators` view over the given value columns (the long form of SPEC section 4). */
export function indicatorsViewSql(columns: readonly string[]): string {
  if (columns.length === 0) {
    return `CREATE OR REPLACE VIEW indicators AS
  SELECT s.source, s.symbol, v.date, CAST(NULL AS VARCHAR) AS name, CAST(NULL AS DOUBLE) AS value
  FROM ${INDICATOR_TABLE} v JOIN ${SERIES_TABLE} s ON s.id = v.series WHERE false`;
  }
  return `CREATE OR REPLACE VIEW indicators AS
  SELECT s.source, s.symbol, u.date, u.name, u.value FROM (
    UNPIVOT ${INDICATOR_TABLE} ON ${columns.map(quoteIdent).join(", ")} INTO NAME name VALUE value
  ) u JOIN ${SERIES_TABLE} s ON s.id = u.series`;
}

/**
 * Adds a DOUBLE column for each output name indicator_values lacks, and re-creates the view over
 * all columns, in one transaction. Returns every value column.
 */
export async function ensureIndicatorColumns(
  db: DuckDBConnection,
  names: readonly string[],
): Promise<string[]> {
  const existing = await indicatorColumns(db);
  const missing = names.filter((n, i) => !existing.includes(n) && names.indexOf(n) === i);
  if (missing.length === 0) return existing;
  await db.run("BEGIN TRANSACTION");
  try {
    for (const name of missing) {
      // Stored uncompressed: indicator values are noise to ALP (the double codec), which spent a
      // quarter of a full refresh compressing them for little gain (bench/indicators.mjs).
      await db.run(
        `ALTER TABLE ${INDICATOR_TABLE} ADD COLUMN ${quoteIdent(name)} DOUBLE USING COMPRESSION uncompressed`,
      );
    }
    await db.run(indicatorsViewSql([...existing, ...missing]));
    await db.run("COMMIT");
  } catch (err) {
    await db.run("ROLLBACK").catch(() => undefined);
    throw err;
  }
  return [...existing, ...missing];
}

/**
 * Gives every (source, symbol) of `bars_daily` that `where` selects (a condition on bars_daily,
 * e.g. `AND symbol IN (...)`, or empty) a row in indicator_series.
 */
export async function ensureSeries(
  db: DuckDBConnection,
  source: string,
  where: string,
  run: Run = (sql, params) => db.runAndReadAll(sql, params),
): Promise<void> {
  await run(
    `INSERT INTO ${SERIES_TABLE} (id, source, symbol)
     SELECT (SELECT coalesce(max(id), 0) FROM ${SERIES_TABLE}) + row_number() OVER (ORDER BY symbol), $source, symbol
     FROM (SELECT DISTINCT symbol FROM bars_daily WHERE source = $source ${where}) b
     WHERE NOT EXISTS (SELECT 1 FROM ${SERIES_TABLE} s WHERE s.source = $source AND s.symbol = b.symbol)`,
    { source },
  );
}

/**
 * Per series of `source`, the last date (days since 1970-01-01) with a value in each of `columns`,
 * or null when the column has none.
 */
export async function lastIndicatorDays(
  db: DuckDBConnection,
  source: string,
  columns: readonly string[],
): Promise<Map<number, (number | null)[]>> {
  const last = new Map<number, (number | null)[]>();
  if (columns.length === 0) return last;
  const selects = columns.map(
    (c) => `CAST(max(v.date) FILTER (WHERE v.${quoteIdent(c)} IS NOT NULL) - DATE '1970-01-01' AS INTEGER)`,
  );
  const reader = await db.runAndReadAll(
    `SELECT v.series, ${selects.join(", ")} FROM ${INDICATOR_TABLE} v
     JOIN ${SERIES_TABLE} s ON s.id = v.series WHERE s.source = $source GROUP BY v.series`,
    { source },
  );
  for (const row of reader.getRows()) {
    last.set(
      Number(row[0]),
      row.slice(1).map((v) => (v === null ? null : Number(v))),
    );
  }
  return last;
}

/**
 * One batch of computed values, staged in TEMP tables of the writing connection: `range`
 * `(series INTEGER, from_date DATE)` holds the batch's series and, per series, the first date it
 * rewrites (NULL: nothing to write); `values` has indicator_values' own columns.
 */
export interface IndicatorStaging {
  range: string;
  values: string;
}

/** How many stored rows of the batch lie in the rewritten range; how many of them hold a column of `others`. */
export async function overlappingRows(
  db: DuckDBConnection,
  rangeTable: string,
  others: readonly string[],
  run: Run = (sql, params) => db.runAndReadAll(sql, params),
): Promise<{ rows: number; withOthers: number }> {
  const other =
    others.length === 0 ? "false" : others.map((c) => `v.${quoteIdent(c)} IS NOT NULL`).join(" OR ");
  const reader = await run(
    `SELECT count(*)::INTEGER, count(*) FILTER (WHERE ${other})::INTEGER
     FROM ${INDICATOR_TABLE} v JOIN ${rangeTable} r ON v.series = r.series
     WHERE r.from_date IS NOT NULL AND v.date >= r.from_date`,
  );
  const [rows = 0, withOthers = 0] = (reader.getRows()[0] ?? []).map(Number);
  return { rows, withOthers };
}

/** Deletes the stored rows of the batch in the rewritten range. */
export async function deleteRewrittenRows(
  db: DuckDBConnection,
  rangeTable: string,
  run: Run = (sql, params) => db.runAndReadAll(sql, params),
): Promise<void> {
  await run(
    `DELETE FROM ${INDICATOR_TABLE} v USING ${rangeTable} r
     WHERE v.series = r.series AND r.from_date IS NOT NULL AND v.date >= r.from_date`,
  );
}

/**
 * Merges a staged batch into indicator_values when stored rows overlap it, keeping one row per
 * (series, date): the stored rows in the rewritten range are read, deleted, and appended again
 * merged with the staged ones. `written` are the computed columns; others keep their values.
 * With `full` the computed columns replace the stored ones (a stored value with no new one goes);
 * otherwise a NULL staged value keeps the stored one. Rows left without any value are dropped.
 * Run it inside the caller's transaction.
 */
export async function mergeIndicatorBatch(
  db: DuckDBConnection,
  options: {
    staging: IndicatorStaging;
    written: readonly string[];
    all: readonly string[];
    full: boolean;
    run?: Run;
  },
): Promise<void> {
  const run: Run = options.run ?? ((sql, params) => db.runAndReadAll(sql, params));
  const { staging, written, all, full } = options;
  const writtenSet = new Set(written);
  const old = `${staging.values}_old`;
  await run(
    `CREATE OR REPLACE TEMP TABLE ${old} AS
     SELECT v.* FROM ${INDICATOR_TABLE} v JOIN ${staging.range} r ON v.series = r.series
     WHERE r.from_date IS NOT NULL AND v.date >= r.from_date`,
  );
  try {
    await deleteRewrittenRows(db, staging.range, run);
    const value = (c: string) => {
      const q = quoteIdent(c);
      if (!writtenSet.has(c)) return `o.${q} AS ${q}`;
      return full ? `n.${q} AS ${q}` : `coalesce(n.${q}, o.${q}) AS ${q}`;
    };
    const anyValue = all.map((c) => `${quoteIdent(c)} IS NOT NULL`).join(" OR ");
    await run(
      `INSERT INTO ${INDICATOR_TABLE} BY NAME
       SELECT * FROM (
         SELECT coalesce(n.series, o.series) AS series, coalesce(n.date, o.date) AS date, ${all.map(value).join(", ")}
         FROM ${staging.values} n FULL JOIN ${old} o ON n.series = o.series AND n.date = o.date
       ) WHERE ${anyValue}`,
    );
  } finally {
    await db.run(`DROP TABLE IF EXISTS ${old}`).catch(() => undefined);
  }
}
