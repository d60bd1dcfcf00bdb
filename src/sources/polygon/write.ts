/**
 * Writes Polygon bars into bars_daily: rows go into a TEMP staging table, then one transaction
 * INSERT OR REPLACEs them, so a symbol (or a grouped day) lands whole or not at all. Writes on one
 * connection are serialised (steps fetch concurrently but share ctx.db).
 */
import { BIGINT, DOUBLE, type DuckDBConnection, VARCHAR } from "@duckdb/node-api";
import { appendColumns, withConnectionLock } from "../../store/index.js";
import type { PolygonBar } from "./parse.js";

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Bars keyed by (symbol, date), the last one winning. */
function dedupe(bars: readonly PolygonBar[]): PolygonBar[] {
  const byKey = new Map<string, PolygonBar>();
  for (const bar of bars) byKey.set(`${bar.symbol}\u0000${bar.date}`, bar);
  return [...byKey.values()];
}

/**
 * Inserts or replaces `bars` under `source` in one transaction; returns the rows written.
 * Throws (writing nothing) when the database refuses them.
 */
export async function writeBars(
  db: DuckDBConnection,
  source: string,
  bars: readonly PolygonBar[],
): Promise<number> {
  const rows = dedupe(bars);
  if (rows.length === 0) return 0;
  return withConnectionLock(db, async () => {
    const staging = `polygon_staging_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
    await db.run(
      `CREATE TEMP TABLE ${staging} (symbol VARCHAR, date VARCHAR, open DOUBLE, high DOUBLE, low DOUBLE,
        close DOUBLE, volume DOUBLE, vwap DOUBLE, trades BIGINT)`,
    );
    try {
      // Bulk through the appender: building VALUES lists as SQL text cost more than the whole fetch.
      await appendColumns(
        db,
        staging,
        [
          { type: VARCHAR, values: rows.map((b) => b.symbol) },
          { type: VARCHAR, values: rows.map((b) => b.date) },
          { type: DOUBLE, values: rows.map((b) => b.open) },
          { type: DOUBLE, values: rows.map((b) => b.high) },
          { type: DOUBLE, values: rows.map((b) => b.low) },
          { type: DOUBLE, values: rows.map((b) => b.close) },
          { type: DOUBLE, values: rows.map((b) => b.volume) },
          { type: DOUBLE, values: rows.map((b) => b.vwap) },
          {
            type: BIGINT,
            values: rows.map((b) => (b.trades === null ? null : BigInt(Math.round(b.trades)))),
          },
        ],
        { schema: "main", catalog: "temp" },
      );
      await db.run("BEGIN TRANSACTION");
      try {
        await db.run(`INSERT OR REPLACE INTO bars_daily
          (source, symbol, date, open, high, low, close, volume, vwap, trades, adj_close, ingested_at)
          SELECT ${sqlString(source)}, symbol, CAST(date AS DATE), open, high, low, close, volume, vwap, trades, NULL, now()
          FROM temp.main.${staging}`);
        await db.run("COMMIT");
      } catch (err) {
        await db.run("ROLLBACK").catch(() => undefined);
        throw err;
      }
      return rows.length;
    } finally {
      await db.run(`DROP TABLE IF EXISTS ${staging}`).catch(() => undefined);
    }
  });
}
