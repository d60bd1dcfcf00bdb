/** A symbol's corporate actions and quality findings on PostgreSQL (the console's chart markers). */
import { type SymbolEvents, toSymbolEvents } from "../symbol-events.js";
import { type PgDb, pgQuery } from "./transaction.js";

/**
 * The corporate actions of (source, symbol) by date, and its quality findings (those of the
 * source, and those naming no source), newest run's first, at most `maxQuality`.
 */
export async function symbolEventsPg(
  db: PgDb,
  source: string,
  symbol: string,
  maxQuality: number,
): Promise<SymbolEvents> {
  const actions = await pgQuery(
    db,
    `SELECT date::text AS date, kind, value FROM corporate_actions
     WHERE source = $1 AND symbol = $2 ORDER BY date, kind COLLATE "C"`,
    [source, symbol],
  );
  const quality = await pgQuery(
    db,
    `SELECT run_id, date::text AS date, check_name, severity, message FROM quality_results
     WHERE symbol = $2 AND (source = $1 OR source IS NULL)
     ORDER BY created_at DESC NULLS LAST, run_id COLLATE "C" DESC NULLS LAST, date, check_name COLLATE "C"
     LIMIT ${Math.max(0, Math.trunc(maxQuality))}`,
    [source, symbol],
  );
  return toSymbolEvents(actions.rows, quality.rows);
}
