/**
 * Applying one retention rule: count (dry run), or archive then delete in one transaction,
 * checking that exactly the archived rows went.
 */
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { rebuildBarSymbols } from "../store/bar-symbols.js";
import { withConnectionLock } from "../store/connection-lock.js";
import { runScript } from "../store/script.js";
import { prepareArchive, publishStaged, removeFiles } from "./archive.js";
import { type Part, stringLiteral } from "./parts.js";

export interface RuleOutcome {
  /** Rows deleted (or, dry run, that would be) per table. */
  tables: Record<string, number>;
  deleted: number;
  archived: number;
  /** Archive files written (absolute paths). */
  files: string[];
}

export interface ApplyOptions {
  dryRun: boolean;
  /** Absolute archive folder; undefined: delete without archiving. */
  archive?: string | undefined;
  /** Unique file name stem for this rule's archive files (see archiveStem). */
  stem: string;
  signal?: AbortSignal | undefined;
}

/**
 * Applies a rule's parts (see retentionParts). With an archive, the rows are copied to Parquet in
 * the same transaction (same snapshot) that deletes them, the files are moved into place before the
 * commit, and the commit happens only when, for every part, rows archived = rows in the files =
 * rows deleted (counted through the readable relation, so a view over a wide table counts alike)
 * and no matching row is left. Otherwise everything is rolled back and the files removed.
 */
export async function applyRule(
  db: DuckDBConnection,
  parts: readonly Part[],
  options: ApplyOptions,
): Promise<RuleOutcome> {
  const { signal } = options;
  const ops: RuleOps = {
    count: (relation, where) => countRows(db, relation, where, signal),
    archive: (part, folder) => archiveRows(db, part, folder, options.stem, signal),
    archivedRows: (folder) => countParquetRows(db, folder, signal),
    deleteRows: async (part) => {
      await deleteRows(db, part, signal);
    },
    rebuildBarSymbols: () => rebuildBarSymbols(db),
  };
  return withConnectionLock(db, async () => {
    if (options.dryRun) return dryRunOutcome(ops, parts);
    return withArchiveStaging(options, async (staging, published) => {
      await runScript(db, "BEGIN TRANSACTION", { signal });
      try {
        const outcome = await applyCheckedParts(ops, parts, options, staging, published);
        await runScript(db, "COMMIT", { signal });
        return outcome;
      } catch (err) {
        await db.run("ROLLBACK").catch(() => {});
        throw err;
      }
    });
  });
}

/** What applying a rule needs of a backend, within the transaction that deletes. */
export interface RuleOps {
  /** Rows of `relation` (matching `where` when given). */
  count(relation: string, where?: string): Promise<number>;
  /** Writes the part's rows to `folder` as Parquet; returns the rows written. */
  archive(part: Part, folder: string): Promise<number>;
  /** Rows readable from the Parquet files under `folder`. */
  archivedRows(folder: string): Promise<number>;
  deleteRows(part: Part): Promise<void>;
  rebuildBarSymbols(): Promise<void>;
}

/** A dry run: the rows each part would delete. */
export async function dryRunOutcome(ops: RuleOps, parts: readonly Part[]): Promise<RuleOutcome> {
  const tables: Record<string, number> = {};
  for (const part of parts) tables[part.table] = await ops.count(part.relation, part.where);
  return { tables, deleted: sum(Object.values(tables)), archived: 0, files: [] };
}

/**
 * Runs `work` with the rule's staging folder (none without an archive) and the list it fills with
 * the files it moves into place: on failure they are removed; the staging folder goes either way.
 */
export async function withArchiveStaging<T>(
  options: ApplyOptions,
  work: (staging: string | undefined, published: string[]) => Promise<T>,
): Promise<T> {
  const staging = options.archive === undefined ? undefined : prepareArchive(options.archive, options.stem);
  const published: string[] = [];
  try {
    return await work(staging, published);
  } catch (err) {
    removeFiles(published);
    throw err;
  } finally {
    if (staging !== undefined) rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The rule inside its transaction, on either backend: counts, then the archive of each part (its
 * rows = the rows in its files = the rows due), the deletes, the per-symbol summary, the checks
 * (`checkDeleted`), and the files moved into place (added to `published`) before the caller commits.
 */
export async function applyCheckedParts(
  ops: RuleOps,
  parts: readonly Part[],
  options: ApplyOptions,
  staging: string | undefined,
  published: string[],
): Promise<RuleOutcome> {
  // Several parts (runs and their rows): one subfolder each.
  const subfolder = (part: Part) => (parts.length > 1 ? part.table : "");
  const before = new Map<Part, { total: number; matching: number }>();
  for (const part of parts) {
    before.set(part, {
      total: await ops.count(part.relation),
      matching: await ops.count(part.relation, part.where),
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
      const written = await ops.archive(part, folder);
      checkArchived(part, written, await ops.archivedRows(folder), matching);
      archived.set(part, written);
    }
  }
  for (const part of parts) await ops.deleteRows(part);
  // The per-symbol summary follows the bars in the same transaction (first dates move).
  if (parts.some((p) => p.deleteFrom === "bars_daily")) await ops.rebuildBarSymbols();
  const tables: Record<string, number> = {};
  for (const part of parts) {
    const was = before.get(part) ?? { total: 0, matching: 0 };
    const deleted = was.total - (await ops.count(part.relation));
    const left = await ops.count(part.relation, part.where);
    checkDeleted(part, {
      deleted,
      due: was.matching,
      left,
      archived: staging === undefined ? undefined : archived.get(part),
    });
    tables[part.table] = deleted;
  }
  if (staging !== undefined && options.archive !== undefined) {
    published.push(...publishStaged(staging, options.archive));
  }
  return {
    tables,
    deleted: sum(Object.values(tables)),
    archived: sum([...archived.values()]),
    files: [...published],
  };
}

/**
 * Before deleting: the rows written to the files, and readable back from them, are the rows due.
 * @throws Error naming the table when they differ (nothing is deleted).
 */
export function checkArchived(part: Part, written: number, inFiles: number, due: number): void {
  if (written !== due || inFiles !== due) {
    throw new Error(
      `${part.table}: archived ${written} rows (${inFiles} readable in the files) but ${due} are due: nothing deleted`,
    );
  }
}

/**
 * After deleting, before committing: the rows that went (total before - total after) are the rows
 * due, none matching is left, and, with an archive, they are the rows archived.
 * @throws Error naming the table otherwise (the caller rolls back).
 */
export function checkDeleted(
  part: Part,
  counts: { deleted: number; due: number; left: number; archived: number | undefined },
): void {
  const { deleted, due, left, archived } = counts;
  if (left !== 0 || deleted !== due) {
    throw new Error(
      `${part.table}: deleted ${deleted} rows, ${due} were due and ${left} are left: rolled back`,
    );
  }
  if (archived !== undefined && deleted !== archived) {
    throw new Error(`${part.table}: deleted ${deleted} rows but archived ${archived}: rolled back`);
  }
}

/** Rows of `relation` (matching `where` when given). */
export async function countRows(
  db: DuckDBConnection,
  relation: string,
  where: string | undefined,
  signal?: AbortSignal,
): Promise<number> {
  const sql = `SELECT count(*)::BIGINT AS n FROM ${relation}${where === undefined ? "" : ` WHERE ${where}`}`;
  const result = await runScript(db, sql, { signal });
  return Number(result.first.n ?? 0);
}

/** Writes the part's rows to `folder` as Parquet, one folder per year; returns the rows written. */
export async function archiveRows(
  db: DuckDBConnection,
  part: Part,
  folder: string,
  stem: string,
  signal?: AbortSignal,
): Promise<number> {
  const sql = `COPY (\n${part.archiveQuery}\n) TO ${stringLiteral(folder)} (FORMAT parquet, PARTITION_BY (year), FILENAME_PATTERN ${stringLiteral(`${stem}_{i}`)})`;
  return (await runScript(db, sql, { signal })).rows;
}

/** Rows readable from the Parquet files under `folder`. */
export async function countParquetRows(
  db: DuckDBConnection,
  folder: string,
  signal?: AbortSignal,
): Promise<number> {
  const glob = stringLiteral(join(folder, "**", "*.parquet"));
  const result = await runScript(
    db,
    `SELECT count(*)::BIGINT AS n FROM read_parquet(${glob}, hive_partitioning = true)`,
    {
      signal,
    },
  );
  return Number(result.first.n ?? 0);
}

/** Deletes the part's rows from its physical table; returns the rows DuckDB reports changed. */
export async function deleteRows(db: DuckDBConnection, part: Part, signal?: AbortSignal): Promise<number> {
  return (
    await runScript(db, `DELETE FROM ${part.deleteFrom} WHERE ${part.deleteWhere ?? part.where}`, { signal })
  ).rows;
}

/** CHECKPOINT (never inside a transaction): writes the WAL out and frees the deleted rows' space. */
export async function checkpoint(db: DuckDBConnection, signal?: AbortSignal): Promise<void> {
  await withConnectionLock(db, () => runScript(db, "CHECKPOINT", { signal }));
}

export function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
