/**
 * `bar_symbols` on PostgreSQL: the same summary, kept exact the same way as on DuckDB
 * (`../bar-symbols.ts`, whose statements these share): every writer of bars_daily records its new
 * keys in the transaction that writes them, before its upsert.
 */
import {
  BAR_SYMBOLS_DIFFERENCES,
  BAR_SYMBOLS_FROM_BARS,
  BAR_SYMBOLS_TABLE,
  type BarSymbolsDifference,
  barSymbolsDifferenceOf,
  barSymbolsUpsert,
} from "../bar-symbols.js";
import { type PgDb, pgQuery, withPgTransaction } from "./transaction.js";

/**
 * Before bars are upserted (in the same transaction): adds the rows of `rows` (a relation or
 * subquery with `symbol` and `date`) to the summary of `source`; only keys bars_daily does not hold
 * yet are counted (a replaced bar is not a new one).
 */
export async function recordBarsWritePg(db: PgDb, source: string, rows: string): Promise<void> {
  await pgQuery(db, barSymbolsUpsert("$1", rows), [source]);
}

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

/** The (source, symbol) rows where `bar_symbols` and bars_daily disagree (none: it is exact). */
export async function barSymbolsDifferencesPg(db: PgDb): Promise<BarSymbolsDifference[]> {
  return (await pgQuery(db, BAR_SYMBOLS_DIFFERENCES)).rows.map(barSymbolsDifferenceOf);
}
