/**
 * The physical layout of indicator values (migration 2): `indicator_values(source, symbol, date,
 * <one DOUBLE column per output name>)`, one row per (source, symbol, date), no key (the writer
 * keeps rows unique), and the `indicators(source, symbol, date, name, value)` view over it, an
 * UNPIVOT of the columns (which leaves NULLs out: no row for a warm-up date).
 */
import type { DuckDBConnection } from "@duckdb/node-api";

export const INDICATOR_TABLE = "indicator_values";
const KEY_COLUMNS = new Set(["source", "symbol", "date"]);

/** A SQL identifier: double quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The value columns of indicator_values (output names), in table order. */
export async function indicatorColumns(db: DuckDBConnection): Promise<string[]> {
  const reader = await db.runAndReadAll(
    `SELECT column_name FROM duckdb_columns()
     WHERE database_name = current_database() AND schema_name = 'main' AND table_name = '${INDICATOR_TABLE}'
     ORDER BY column_index`,
  );
  return reader
    .getRows()
    .map((r) => String(r[0]))
    .filter((c) => !KEY_COLUMNS.has(c));
}

/** The `indicators` view over the given value columns (the long form of SPEC section 4). */
export function indicatorsViewSql(columns: readonly string[]): string {
  if (columns.length === 0) {
    return `CREATE OR REPLACE VIEW indicators AS
  SELECT source, symbol, date, CAST(NULL AS VARCHAR) AS name, CAST(NULL AS DOUBLE) AS value
  FROM ${INDICATOR_TABLE} WHERE false`;
  }
  return `CREATE OR REPLACE VIEW indicators AS
  SELECT source, symbol, date, name, value FROM (
    UNPIVOT ${INDICATOR_TABLE} ON ${columns.map(quoteIdent).join(", ")} INTO NAME name VALUE value
  )`;
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
      await db.run(`ALTER TABLE ${INDICATOR_TABLE} ADD COLUMN ${quoteIdent(name)} DOUBLE`);
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
 * Per symbol of `source`, the last date (days since 1970-01-01) with a value in each of `columns`,
 * or null when the column has none.
 */
export async function lastIndicatorDays(
  db: DuckDBConnection,
  source: string,
  columns: readonly string[],
): Promise<Map<string, (number | null)[]>> {
  const last = new Map<string, (number | null)[]>();
  if (columns.length === 0) return last;
  const selects = columns.map(
    (c) => `CAST(max(date) FILTER (WHERE ${quoteIdent(c)} IS NOT NULL) - DATE '1970-01-01' AS INTEGER)`,
  );
  const reader = await db.runAndReadAll(
    `SELECT symbol, ${selects.join(", ")} FROM ${INDICATOR_TABLE} WHERE source = $source GROUP BY symbol`,
    { source },
  );
  for (const row of reader.getRows()) {
    last.set(
      String(row[0]),
      row.slice(1).map((v) => (v === null ? null : Number(v))),
    );
  }
  return last;
}

/**
 * One batch of computed values, staged in TEMP tables of the writing connection: `symbols`
 * `(idx INTEGER, symbol VARCHAR, from_date DATE)` holds the batch's symbols and, per symbol, the
 * first date it rewrites (NULL: nothing to write); `values` has indicator_values' own columns.
 */
export interface IndicatorStaging {
  symbols: string;
  values: string;
}

/** How many stored rows of the batch's symbols lie in the rewritten range; whether any holds a column outside `written`. */
export async function overlappingRows(
  db: DuckDBConnection,
  source: string,
  symbolsTable: string,
  others: readonly string[],
  run: (sql: string, params?: Record<string, string>) => Promise<{ getRows(): unknown[][] }> = (
    sql,
    params,
  ) => db.runAndReadAll(sql, params),
): Promise<{ rows: number; withOthers: number }> {
  const other =
    others.length === 0 ? "false" : others.map((c) => `v.${quoteIdent(c)} IS NOT NULL`).join(" OR ");
  const reader = await run(
    `SELECT count(*)::INTEGER, count(*) FILTER (WHERE ${other})::INTEGER
     FROM ${INDICATOR_TABLE} v JOIN ${symbolsTable} r ON v.symbol = r.symbol
     WHERE v.source = $source AND r.from_date IS NOT NULL AND v.date >= r.from_date`,
    { source },
  );
  const [rows = 0, withOthers = 0] = (reader.getRows()[0] ?? []).map(Number);
  return { rows, withOthers };
}

/** Deletes the stored rows of the batch's symbols in the rewritten range. */
export async function deleteRewrittenRows(
  db: DuckDBConnection,
  source: string,
  symbolsTable: string,
  run: (sql: string, params?: Record<string, string>) => Promise<unknown> = (sql, params) =>
    db.run(sql, params),
): Promise<void> {
  await run(
    `DELETE FROM ${INDICATOR_TABLE} v USING ${symbolsTable} r
     WHERE v.source = $source AND v.symbol = r.symbol AND r.from_date IS NOT NULL AND v.date >= r.from_date`,
    { source },
  );
}

/**
 * Merges a staged batch into indicator_values when stored rows overlap it, keeping one row per
 * (source, symbol, date): the stored rows in the rewritten range are read, deleted, and appended
 * again merged with the staged ones. `written` are the computed columns; others keep their values.
 * With `full` the computed columns replace the stored ones (a stored value with no new one goes);
 * otherwise a NULL staged value keeps the stored one. Rows left without any value are dropped.
 * Run it inside the caller's transaction.
 */
export async function mergeIndicatorBatch(
  db: DuckDBConnection,
  options: {
    source: string;
    staging: IndicatorStaging;
    written: readonly string[];
    all: readonly string[];
    full: boolean;
    run?: (sql: string, params?: Record<string, string>) => Promise<unknown>;
  },
): Promise<void> {
  const run = options.run ?? ((sql, params) => db.run(sql, params));
  const { source, staging, written, all, full } = options;
  const writtenSet = new Set(written);
  const old = `${staging.values}_old`;
  await run(
    `CREATE OR REPLACE TEMP TABLE ${old} AS
     SELECT v.* FROM ${INDICATOR_TABLE} v JOIN ${staging.symbols} r ON v.symbol = r.symbol
     WHERE v.source = $source AND r.from_date IS NOT NULL AND v.date >= r.from_date`,
    { source },
  );
  try {
    await deleteRewrittenRows(db, source, staging.symbols, run);
    const value = (c: string) => {
      const q = quoteIdent(c);
      if (!writtenSet.has(c)) return `o.${q} AS ${q}`;
      return full ? `n.${q} AS ${q}` : `coalesce(n.${q}, o.${q}) AS ${q}`;
    };
    const anyValue = all.map((c) => `${quoteIdent(c)} IS NOT NULL`).join(" OR ");
    await run(
      `INSERT INTO ${INDICATOR_TABLE} BY NAME
       SELECT * FROM (
         SELECT $source AS source, coalesce(n.symbol, o.symbol) AS symbol, coalesce(n.date, o.date) AS date,
           ${all.map(value).join(", ")}
         FROM ${staging.values} n FULL JOIN ${old} o ON n.symbol = o.symbol AND n.date = o.date
       ) WHERE ${anyValue}`,
      { source },
    );
  } finally {
    await db.run(`DROP TABLE IF EXISTS ${old}`).catch(() => undefined);
  }
}
