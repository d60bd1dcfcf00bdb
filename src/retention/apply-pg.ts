/**
 * `applyRule` on PostgreSQL: the rule's rows counted, archived and deleted in one PostgreSQL
 * transaction (REPEATABLE READ: the counts, the rows archived and the rows deleted come from one
 * snapshot), the archive written by the scratch DuckDB from the rows read before the DELETE, and
 * the same checks as on DuckDB before the commit. No CHECKPOINT: PostgreSQL's autovacuum frees the
 * space.
 */
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import type pg from "pg";
import { rebuildBarSymbolsPg } from "../store/pg/bar-symbols.js";
import { countRowsPg, deleteRowsPg } from "../store/pg/retention.js";
import { copyToScratch } from "../store/pg/to-scratch.js";
import { type PgTx, pgQuery, withPgTransaction } from "../store/pg/transaction.js";
import {
  type ApplyOptions,
  archiveRows,
  checkArchived,
  checkDeleted,
  countParquetRows,
  type RuleOutcome,
  sum,
} from "./apply.js";
import { prepareArchive, publishStaged, removeFiles } from "./archive.js";
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
  if (options.dryRun) {
    const tables: Record<string, number> = {};
    for (const part of parts) tables[part.table] = await countRowsPg(pool, part.relation, part.where);
    return { tables, deleted: sum(Object.values(tables)), archived: 0, files: [] };
  }
  const staging = options.archive === undefined ? undefined : prepareArchive(options.archive, options.stem);
  const subfolder = (part: Part) => (parts.length > 1 ? part.table : "");
  let published: string[] = [];
  try {
    return await withPgTransaction(pool, async (tx) => {
      await pgQuery(tx, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
      const before = new Map<Part, { total: number; matching: number }>();
      for (const part of parts) {
        signal?.throwIfAborted();
        before.set(part, {
          total: await countRowsPg(tx, part.relation),
          matching: await countRowsPg(tx, part.relation, part.where),
        });
      }
      const archived = new Map<Part, number>();
      if (staging !== undefined) {
        for (const part of parts) {
          const matching = before.get(part)?.matching ?? 0;
          if (matching === 0) {
            archived.set(part, 0);
            continue;
          }
          const folder = join(staging, subfolder(part));
          mkdirSync(dirname(folder), { recursive: true }); // DuckDB creates the last level only
          const written = await archivePartPg(tx, pool, duck, part, folder, options.stem, signal);
          checkArchived(part, written, await countParquetRows(duck, folder, signal), matching);
          archived.set(part, written);
        }
      }
      for (const part of parts) {
        signal?.throwIfAborted();
        await deleteRowsPg(tx, part);
      }
      // The per-symbol summary follows the bars in the same transaction (first dates move).
      if (parts.some((p) => p.deleteFrom === "bars_daily")) await rebuildBarSymbolsPg(tx);
      const tables: Record<string, number> = {};
      for (const part of parts) {
        const was = before.get(part) ?? { total: 0, matching: 0 };
        const deleted = was.total - (await countRowsPg(tx, part.relation));
        const left = await countRowsPg(tx, part.relation, part.where);
        checkDeleted(part, {
          deleted,
          due: was.matching,
          left,
          archived: staging === undefined ? undefined : archived.get(part),
        });
        tables[part.table] = deleted;
      }
      if (staging !== undefined && options.archive !== undefined) {
        published = publishStaged(staging, options.archive);
      }
      signal?.throwIfAborted();
      return {
        tables,
        deleted: sum(Object.values(tables)),
        archived: sum([...archived.values()]),
        files: published,
      };
    });
  } catch (err) {
    removeFiles(published);
    throw err;
  } finally {
    if (staging !== undefined) rmSync(staging, { recursive: true, force: true });
  }
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
