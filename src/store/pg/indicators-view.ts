/**
 * PostgreSQL's `indicators` view: the long form `(source, symbol, date, name, value)` of SPEC section
 * 4 over `indicator_values`' value columns, as DuckDB's UNPIVOT gives it (`../indicators.ts`), NULLs
 * left out. The same columns and types whatever the value columns, so CREATE OR REPLACE VIEW works.
 */
import { INDICATOR_TABLE, quoteIdent, SERIES_TABLE } from "../indicators.js";

/** A SQL string literal: single quotes doubled. */
function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** The statement re-creating the view over `columns` (the output names, in table order). */
export function indicatorsViewSqlPg(columns: readonly string[]): string {
  if (columns.length === 0) {
    return `CREATE OR REPLACE VIEW indicators AS
  SELECT s.source, s.symbol, v.date, CAST(NULL AS text) AS name, CAST(NULL AS double precision) AS value
  FROM ${INDICATOR_TABLE} v JOIN ${SERIES_TABLE} s ON s.id = v.series WHERE false`;
  }
  const pairs = columns.map((c) => `(${quoteLiteral(c)}::text, v.${quoteIdent(c)})`).join(", ");
  return `CREATE OR REPLACE VIEW indicators AS
  SELECT s.source, s.symbol, v.date, u.name, u.value
  FROM ${INDICATOR_TABLE} v JOIN ${SERIES_TABLE} s ON s.id = v.series
  CROSS JOIN LATERAL (VALUES ${pairs}) u(name, value)
  WHERE u.value IS NOT NULL`;
}
