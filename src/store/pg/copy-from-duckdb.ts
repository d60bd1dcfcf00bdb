/**
 * Moving an installation from its DuckDB file to PostgreSQL (`tickflow db copy`): every table of
 * SPEC section 4, row for row, in one PostgreSQL transaction (all of it lands, or nothing).
 *
 * - Both schemas must be at the same version (the tables and columns are then the same).
 * - The target must hold no rows in the copied tables, unless `force`: then they are emptied first
 *   (TRUNCATE, in the same transaction: a failed copy leaves them as they were).
 * - The tables are locked (EXCLUSIVE: readers go on, writers wait) from the check to the end, so a
 *   daemon already on the target cannot slip rows in between.
 * - Rows stream from DuckDB a chunk at a time (2048 rows) into `COPY ... FROM STDIN` in the text
 *   format (`copy-text.ts`: doubles, timestamps and dates exact); never a whole table in memory.
 *   Each table's keys and indexes are dropped before its load and re-created after it, with the
 *   same names and definitions (building an index once is cheaper than growing it row by row).
 *   DuckDB's side is read in one transaction (one snapshot); each table's copied count is checked
 *   against DuckDB's.
 * - `indicator_values` is wide: its output columns, added over time, are added on PostgreSQL first,
 *   and the `indicators` view re-created over them.
 * - No sequence or identity column exists on either backend (ids are made by tickflow), so there is
 *   nothing to move past the copied ids.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { formatDuration } from "../../config/duration.js";
import { StoreError } from "../errors.js";
import { INDICATOR_TABLE, indicatorColumns, quoteIdent } from "../indicators.js";
import { schemaVersion } from "../migrate.js";
import { copyFieldOf, copyLines } from "./copy-text.js";
import { copyTextRowsPg, ensureIndicatorColumnsPg } from "./indicators.js";
import { pgSchemaVersion } from "./migrate.js";
import type { PgStore } from "./pool.js";
import { type PgDb, type PgTx, pgQuery, withPgTransaction } from "./transaction.js";

/** Tables of the DuckDB file that are not copied, and why. */
export const NOT_COPIED: Readonly<Record<string, string>> = {
  schema_migrations: "each backend records its own migrations",
  daemons: "the processes of the old installation, not data: each daemon writes its own row",
};

/** Where the copy is: a table's rows so far (`done` at its end). */
export interface CopyProgress {
  table: string;
  rows: number;
  /** The table's rows in the DuckDB file. */
  total: number;
  done: boolean;
}

export interface CopyOptions {
  /** Empty the target's tables first instead of refusing a target with rows. */
  force?: boolean;
  /** How long to wait for others' locks on the target's tables (a daemon on it). Default 30 s. */
  lockWaitMs?: number;
  /** Called when a table starts, after each chunk, and when it is done. */
  onProgress?: (progress: CopyProgress) => void;
}

export interface CopySummary {
  schemaVersion: number;
  /** Every copied table (name order) with its rows and the milliseconds it took. */
  tables: { table: string; rows: number; ms: number; altered: number }[];
  rows: number;
  ms: number;
}

/** The DuckDB side: a connection to the file (opened read-only) and the path messages name. */
export interface CopySource {
  db: DuckDBConnection;
  path: string;
}

/** The base tables of the DuckDB file that are copied, in name order. */
export async function duckdbTablesToCopy(db: DuckDBConnection): Promise<string[]> {
  const reader = await db.runAndReadAll(
    `SELECT table_name FROM duckdb_tables()
     WHERE database_name = current_database() AND schema_name = 'main' AND NOT temporary
     ORDER BY table_name`,
  );
  return reader
    .getRows()
    .map((row) => String(row[0]))
    .filter((table) => !(table in NOT_COPIED));
}

/** A table's column names, in table order. */
async function duckdbColumns(db: DuckDBConnection, table: string): Promise<string[]> {
  return (await db.runAndReadAll(`SELECT * FROM ${quoteIdent(table)} LIMIT 0`)).columnNames();
}

async function duckdbRowCount(db: DuckDBConnection, table: string): Promise<number> {
  const reader = await db.runAndReadAll(`SELECT count(*) FROM ${quoteIdent(table)}`);
  return Number(reader.getRows()[0]?.[0] ?? 0);
}

/** A table's column names on PostgreSQL, in table order (empty: no such table). */
async function pgColumns(db: PgDb, table: string): Promise<string[]> {
  const result = await pgQuery<{ column_name: string }>(
    db,
    `SELECT column_name FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return result.rows.map((r) => r.column_name);
}

/** The tables of `tables` holding rows, with their counts. */
async function nonEmptyTablesPg(db: PgDb, tables: readonly string[]): Promise<Map<string, number>> {
  const counts = tables.map((t, i) => `SELECT ${i} AS i, count(*)::bigint AS n FROM ${quoteIdent(t)}`);
  const result = await pgQuery<{ i: number; n: string }>(db, `${counts.join(" UNION ALL ")} ORDER BY i`);
  return new Map(result.rows.filter((r) => r.n !== "0").map((r) => [tables[r.i]!, Number(r.n)]));
}

/** Writers wait until the transaction ends; readers go on. Waits `waitMs` at most for others' locks. */
async function lockTablesPg(
  tx: PgTx,
  tables: readonly string[],
  waitMs: number,
  display: string,
): Promise<void> {
  await pgQuery(tx, `SET LOCAL lock_timeout = ${Math.max(1, Math.round(waitMs))}`);
  try {
    await pgQuery(tx, `LOCK TABLE ${tables.map(quoteIdent).join(", ")} IN EXCLUSIVE MODE`);
  } catch (err) {
    if ((err as { code?: string }).code !== "55P03") throw err;
    throw new StoreError(
      `cannot copy: the tables of ${display} stayed in use for ${formatDuration(waitMs)} (a daemon running on it?): stop what uses it and try again`,
      display,
      { cause: err },
    );
  }
  await pgQuery(tx, "SET LOCAL lock_timeout = 0");
}

async function truncateTablesPg(tx: PgTx, tables: readonly string[]): Promise<void> {
  await pgQuery(tx, `TRUNCATE ${tables.map(quoteIdent).join(", ")}`);
}

/** What makes a table's unique keys and indexes, to re-create after a bulk load. */
interface TableIndexes {
  constraints: { name: string; definition: string }[];
  indexes: { name: string; definition: string }[];
}

/**
 * Drops `table`'s primary key, unique constraints and other indexes, and returns what re-creates
 * them as they were (same names, same definitions). Loading an empty table and building each index
 * once, sorted, is about twice as fast as growing the indexes row by row (what pg_restore does).
 */
async function dropIndexesPg(tx: PgTx, table: string): Promise<TableIndexes> {
  const constraints = await pgQuery<{ name: string; definition: string }>(
    tx,
    `SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint
     WHERE conrelid = $1::regclass AND contype IN ('p', 'u') ORDER BY conname`,
    [quoteIdent(table)],
  );
  const indexes = await pgQuery<{ name: string; definition: string }>(
    tx,
    `SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition
     FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
     WHERE x.indrelid = $1::regclass
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
     ORDER BY i.relname`,
    [quoteIdent(table)],
  );
  for (const c of constraints.rows) {
    await pgQuery(tx, `ALTER TABLE ${quoteIdent(table)} DROP CONSTRAINT ${quoteIdent(c.name)}`);
  }
  for (const i of indexes.rows) await pgQuery(tx, `DROP INDEX ${quoteIdent(i.name)}`);
  return { constraints: constraints.rows, indexes: indexes.rows };
}

/** Re-creates what `dropIndexesPg` dropped. A duplicate key in the loaded rows fails here. */
async function restoreIndexesPg(tx: PgTx, table: string, saved: TableIndexes): Promise<void> {
  for (const c of saved.constraints) {
    await pgQuery(
      tx,
      `ALTER TABLE ${quoteIdent(table)} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.definition}`,
    );
  }
  for (const i of saved.indexes) await pgQuery(tx, i.definition);
}

/**
 * Streams `columns` of DuckDB's `table` into PostgreSQL's through COPY, a chunk at a time.
 * Returns the rows PostgreSQL took and the text values changed to fit it (U+0000).
 */
async function copyTableToPg(
  tx: PgTx,
  duck: DuckDBConnection,
  table: string,
  columns: readonly string[],
  onRows: (rows: number) => void,
): Promise<{ rows: number; altered: number }> {
  const result = await duck.stream(`SELECT ${columns.map(quoteIdent).join(", ")} FROM ${quoteIdent(table)}`);
  let altered = 0;
  const fields = result.columnTypes().map((type, i) => copyFieldOf(type, columns[i]!, () => altered++));
  async function* lines(): AsyncGenerator<string> {
    let rows = 0;
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) return;
      rows += chunk.rowCount;
      yield copyLines(chunk, fields);
      onRows(rows);
    }
  }
  const rows = await copyTextRowsPg(tx, quoteIdent(table), columns, lines());
  return { rows, altered };
}

/**
 * Copies every table of the DuckDB file `source` into `target` (migrated already), in one
 * transaction.
 *
 * @throws StoreError naming both databases when the schema versions differ, when the target holds
 *   rows (without `force`; naming the tables), when its tables stay locked by others, or when a
 *   table or column is missing on PostgreSQL; naming the table when its copy fails (a value
 *   PostgreSQL cannot store, a duplicate key). Nothing is written then.
 */
export async function copyDuckDbToPg(
  source: CopySource,
  target: PgStore,
  options: CopyOptions = {},
): Promise<CopySummary> {
  const started = performance.now();
  const duck = source.db;
  const fromVersion = await schemaVersion(duck);
  const toVersion = await pgSchemaVersion(target.pool);
  if (fromVersion !== toVersion) throw versionMismatch(source.path, fromVersion, target.display, toVersion);

  // One snapshot of the file for the whole copy (a read-only file has no writer, but be exact).
  await duck.run("BEGIN TRANSACTION");
  try {
    const tables = await duckdbTablesToCopy(duck);
    const plan: TablePlan[] = [];
    for (const table of tables) {
      plan.push({
        table,
        columns: await duckdbColumns(duck, table),
        total: await duckdbRowCount(duck, table),
      });
    }
    const copied = await withPgTransaction(target.pool, async (tx) => {
      await checkTablesExist(tx, tables, target.display);
      await lockTablesPg(tx, tables, options.lockWaitMs ?? 30_000, target.display);
      const held = await nonEmptyTablesPg(tx, tables);
      if (held.size > 0 && !options.force) throw targetNotEmpty(target.display, held);
      if (held.size > 0) await truncateTablesPg(tx, tables);
      // The file's output columns PostgreSQL lacks, and the view over them (joining this transaction).
      if (tables.includes(INDICATOR_TABLE)) await ensureIndicatorColumnsPg(tx, await indicatorColumns(duck));
      for (const { table, columns } of plan) await checkColumnsExist(tx, table, columns, target.display);
      const done: CopySummary["tables"] = [];
      for (const entry of plan) {
        const tableStarted = performance.now();
        const { rows, altered } = await copyOneTable(tx, duck, entry, source.path, options.onProgress);
        done.push({ table: entry.table, rows, ms: performance.now() - tableStarted, altered });
      }
      return done;
    });
    // Fresh planner statistics (autovacuum would get there, later); not worth failing the copy over.
    await pgQuery(target.pool, `ANALYZE ${tables.map(quoteIdent).join(", ")}`).catch(() => undefined);
    return {
      schemaVersion: toVersion,
      tables: copied,
      rows: copied.reduce((sum, t) => sum + t.rows, 0),
      ms: performance.now() - started,
    };
  } finally {
    await duck.run("ROLLBACK").catch(() => undefined);
  }
}

/** A table to copy: its DuckDB columns and rows. */
interface TablePlan {
  table: string;
  columns: string[];
  total: number;
}

/** One table's load (keys and indexes rebuilt after it), checked against DuckDB's count. */
async function copyOneTable(
  tx: PgTx,
  duck: DuckDBConnection,
  { table, columns, total }: TablePlan,
  path: string,
  onProgress: CopyOptions["onProgress"],
): Promise<{ rows: number; altered: number }> {
  onProgress?.({ table, rows: 0, total, done: false });
  let copied: { rows: number; altered: number };
  try {
    const indexes = total > 0 ? await dropIndexesPg(tx, table) : undefined;
    copied = await copyTableToPg(tx, duck, table, columns, (n) =>
      onProgress?.({ table, rows: n, total, done: false }),
    );
    if (indexes) await restoreIndexesPg(tx, table, indexes);
  } catch (err) {
    throw tableFailed(table, err, path);
  }
  if (copied.rows !== total) {
    throw new StoreError(
      `cannot copy table ${table}: PostgreSQL took ${copied.rows} rows of ${total}; nothing was copied`,
      path,
    );
  }
  onProgress?.({ table, rows: copied.rows, total, done: true });
  return copied;
}

async function checkTablesExist(db: PgDb, tables: readonly string[], display: string): Promise<void> {
  const result = await pgQuery<{ t: string }>(
    db,
    "SELECT t FROM unnest($1::text[]) t WHERE to_regclass(quote_ident(t)) IS NULL ORDER BY t",
    [tables],
  );
  if (result.rows.length > 0) {
    const missing = result.rows.map((r) => r.t).join(", ");
    throw new StoreError(`cannot copy: ${display} has no table ${missing}`, display);
  }
}

async function checkColumnsExist(
  db: PgDb,
  table: string,
  columns: readonly string[],
  display: string,
): Promise<void> {
  const present = new Set(await pgColumns(db, table));
  const missing = columns.filter((c) => !present.has(c));
  if (missing.length > 0) {
    throw new StoreError(
      `cannot copy: ${display} has no column ${missing.map((c) => `${table}.${c}`).join(", ")}`,
      display,
    );
  }
}

function versionMismatch(path: string, fromVersion: number, display: string, toVersion: number): StoreError {
  const fix =
    fromVersion < toVersion
      ? `migrate the file first (tickflow db migrate --db ${path})`
      : "the file was written by a newer tickflow: copy it with that version";
  return new StoreError(
    `cannot copy ${path} (schema version ${fromVersion}) to ${display} (schema version ${toVersion}): the schema versions must be equal; ${fix}`,
    path,
  );
}

function targetNotEmpty(display: string, held: ReadonlyMap<string, number>): StoreError {
  const list = [...held].map(([table, n]) => `${table} (${n} ${n === 1 ? "row" : "rows"})`).join(", ");
  return new StoreError(
    `cannot copy: ${display} already holds data: ${list}; --force empties these tables first`,
    display,
  );
}

/** A table's copy failed: which table, PostgreSQL's detail (the key), and that nothing landed. */
function tableFailed(table: string, err: unknown, path: string): StoreError {
  const message = err instanceof Error ? err.message : String(err);
  const detail = (err as { detail?: unknown }).detail;
  const more = typeof detail === "string" && detail ? ` (${detail})` : "";
  return new StoreError(`cannot copy table ${table}: ${message}${more}; nothing was copied`, path, {
    cause: err,
  });
}
