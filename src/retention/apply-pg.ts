/**
 * `applyRule` on PostgreSQL: the rule's rows counted, archived and deleted in one PostgreSQL
 * transaction (REPEATABLE READ: the counts, the rows archived and the rows deleted come from one
 * snapshot), the archive written by the scratch DuckDB from the rows read before the DELETE, and
 * the same checks as on DuckDB before the commit. No CHECKPOINT: PostgreSQL's autovacuum frees the
 * space.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type pg from "pg";
import { rebuildBarSymbolsPg } from "../store/pg/bar-symbols.js";
import { countRowsPg, deleteRowsPg } from "../store/pg/retention.js";
import { copyToScratch } from "../store/pg/to-scratch.js";
import { type PgDb, type PgTx, pgQuery, withPgTransaction } from "../store/pg/transaction.js";
import {
  type ApplyOptions,
  applyCheckedParts,
  archiveRows,
  countParquetRows,
  dryRunOutcome,
  type RuleOps,
  type RuleOutcome,
  withArchiveStaging,
} from "./apply.js";
import type { Part } from "./parts.js";

let staged = 0;

/**
 * Applies a rule's parts (see retentionParts) to the PostgreSQL store behind `pool`, archiving
 * through `duck` (a connection of the scratch DuckDB). Files are moved into place before the
 * commit; a failure (the commit's included) rolls back and removes them.
 */
export async function applyRulePg(
  pool: pg.Pool,
  duck: DuckDBConnection,
  parts: readonly Part[],
  options: ApplyOptions,
): Promise<RuleOutcome> {
  const { signal } = options;
  const opsIn = (db: PgDb): RuleOps => ({
    count: (relation, where) => {
      signal?.throwIfAborted();
      return countRowsPg(db, relation, where);
    },
    // Only inside the transaction (`db` is then a PgTx): the rows read from its snapshot.
    archive: (part, folder) => archivePartPg(db as PgTx, pool, duck, part, folder, options.stem, signal),
    archivedRows: (folder) => countParquetRows(duck, folder, signal),
    deleteRows: async (part) => {
      signal?.throwIfAborted();
      await deleteRowsPg(db, part);
    },
    rebuildBarSymbols: () => rebuildBarSymbolsPg(db),
  });
  if (options.dryRun) return dryRunOutcome(opsIn(pool), parts);
  return withArchiveStaging(options, (staging, published) =>
    withPgTransaction(pool, async (tx) => {
      await pgQuery(tx, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
      const outcome = await applyCheckedParts(opsIn(tx), parts, options, staging, published);
      signal?.throwIfAborted();
      return outcome;
    }),
  );
}

/**
 * The part's rows (its archive query, read in `tx`) copied into the scratch DuckDB, then written
 * to `folder` as Parquet by year as on DuckDB.
 * @returns the rows written.
 */
async function archivePartPg(
  tx: PgTx,
  pool: pg.Pool,
  duck: DuckDBConnection,
  part: Part,
  folder: string,
  stem: string,
  signal: AbortSignal | undefined,
): Promise<number> {
  const table = `retention_${process.pid}_${++staged}`;
  try {
    await copyToScratch(tx, { text: part.archiveQuery }, duck, table, { signal, cancelVia: pool });
    return await archiveRows(
      duck,
      { ...part, archiveQuery: `SELECT * FROM temp.main.${table}` },
      folder,
      stem,
      signal,
    );
  } finally {
    await duck.run(`DROP TABLE IF EXISTS temp.main.${table}`).catch(() => {});
  }
}
