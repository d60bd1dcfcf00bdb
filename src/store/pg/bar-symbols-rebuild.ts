/**
 * `bar_symbols` on PostgreSQL after a change to bars_daily that no tickflow writer summarised (a
 * `sql` step's script): emptied before it (readers then see it disagree with the bars), recomputed
 * after it. The incremental path of tickflow's own writers is `bar-symbols.ts`.
 */
import { BAR_SYMBOLS_FROM_BARS, BAR_SYMBOLS_TABLE } from "../bar-symbols.js";
import { type PgDb, pgQuery, withPgTransaction } from "./transaction.js";

/**
 * Recomputes the summary from bars_daily, in one transaction (the caller's, when `db` is one).
 * The EXCLUSIVE lock (readers still read) makes writers that update the summary incrementally
 * wait until the rebuild commits, so none of their rows is deleted under them or collides with
 * the rebuilt ones.
 */
export async function rebuildBarSymbolsPg(db: PgDb): Promise<void> {
  await withPgTransaction(db, async (tx) => {
    await pgQuery(tx, `LOCK TABLE ${BAR_SYMBOLS_TABLE} IN EXCLUSIVE MODE`);
    await pgQuery(tx, `DELETE FROM ${BAR_SYMBOLS_TABLE}`);
    await pgQuery(
      tx,
      `INSERT INTO ${BAR_SYMBOLS_TABLE} (source, symbol, first_date, last_date, bars) ${BAR_SYMBOLS_FROM_BARS}`,
    );
  });
}

/** Empties the summary: readers see it disagree with bars_daily until `rebuildBarSymbolsPg`. */
export async function invalidateBarSymbolsPg(db: PgDb): Promise<void> {
  await pgQuery(db, `DELETE FROM ${BAR_SYMBOLS_TABLE}`);
}
