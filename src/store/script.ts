/**
 * Running user SQL (the `sql` and `export` steps): several statements one after another in
 * autocommit mode, named parameters bound to `$name`, cancellation through an AbortSignal, and the
 * result's first row as plain JSON.
 */
import {
  type DuckDBConnection,
  type DuckDBMaterializedResult,
  type DuckDBPreparedStatement,
  ResultReturnType,
  StatementType,
} from "@duckdb/node-api";
import { abortReason, interruptibly } from "./interrupt.js";
import { paramKey, type SqlParam } from "./sql-text.js";
import { type JsonValue, toJsonValue } from "./values.js";

export { type SqlParam, singleStatement } from "./sql-text.js";

export interface ScriptOptions {
  /** Values of the `$name` placeholders, by name. */
  params?: Readonly<Record<string, SqlParam>>;
  /** Aborting it interrupts the running statement (`connection.interrupt()`) and rejects. */
  signal?: AbortSignal;
}

export interface ScriptResult {
  /** Statements run. */
  statements: number;
  /** Rows the last statement returned, or the rows it changed (INSERT, UPDATE, DELETE, COPY). */
  rows: number;
  /** The last statement's first row, columns by name, as JSON values; {} when it returned none. */
  first: Record<string, JsonValue>;
  /** Names in `params` that no statement used. */
  unusedParams: string[];
}

/**
 * Runs `sql`, which may hold several statements, one after another, each committed on its own
 * (a failing statement does not undo the ones before it; a script's own BEGIN ... COMMIT still
 * groups). Each statement is prepared just before it runs, so it may use what earlier ones
 * created. The last statement's result is materialized: to count a large result, SELECT count(*).
 *
 * @throws Error with DuckDB's message, prefixed `statement N of M: ` when there are several; the
 *   signal's reason (or Error("cancelled")) when aborted.
 */
export async function runScript(
  db: DuckDBConnection,
  sql: string,
  options: ScriptOptions = {},
): Promise<ScriptResult> {
  const { signal } = options;
  const params = options.params ?? {};
  if (signal?.aborted) throw abortReason(signal);
  let extracted: Awaited<ReturnType<DuckDBConnection["extractStatements"]>>;
  try {
    extracted = await db.extractStatements(sql);
  } catch (err) {
    throw new Error(messageOf(err).replace(/^Failed to extract statements: /, ""), { cause: err });
  }
  const count = extracted.count;
  const used = new Set<string>();
  const prefix = (i: number) => (count > 1 ? `statement ${i + 1} of ${count}: ` : "");
  let result: ScriptResult = { statements: 0, rows: 0, first: {}, unusedParams: [] };
  let openedTransaction = false;
  try {
    for (let i = 0; i < count; i++) {
      if (signal?.aborted) throw abortReason(signal);
      let prepared: DuckDBPreparedStatement;
      try {
        prepared = await extracted.prepare(i);
      } catch (err) {
        throw new Error(prefix(i) + messageOf(err), { cause: err });
      }
      try {
        if (prepared.statementType === StatementType.TRANSACTION) openedTransaction = true;
        try {
          bindParams(prepared, params, used);
        } catch (err) {
          throw new Error(prefix(i) + messageOf(err), { cause: err });
        }
        const materialized = await runInterruptibly(db, prepared, signal, prefix(i));
        result = { ...summarize(materialized), statements: i + 1, unusedParams: [] };
      } finally {
        prepared.destroySync();
      }
    }
  } catch (err) {
    // A script that began a transaction and failed inside it would leave the connection in an
    // aborted transaction, refusing every later statement of every step that shares it.
    if (openedTransaction) await db.run("ROLLBACK").catch(() => {});
    throw err;
  }
  result.unusedParams = Object.keys(params).filter((name) => !used.has(name));
  return result;
}

/** Binds every placeholder of the statement from `params` (by name); records the names used. */
function bindParams(
  prepared: DuckDBPreparedStatement,
  params: Readonly<Record<string, SqlParam>>,
  used: Set<string>,
): void {
  for (let index = 1; index <= prepared.parameterCount; index++) {
    const key = paramKey(params, prepared.parameterName(index));
    used.add(key);
    const value = params[key];
    if (value === null || value === undefined) prepared.bindNull(index);
    else prepared.bindValue(index, value);
  }
}

/** Runs a prepared statement, interruptible by `signal`; errors get `prefix`. */
async function runInterruptibly(
  db: DuckDBConnection,
  prepared: DuckDBPreparedStatement,
  signal: AbortSignal | undefined,
  prefix: string,
): Promise<DuckDBMaterializedResult> {
  return interruptibly(db, signal, async () => {
    try {
      return await prepared.run();
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new Error(prefix + messageOf(err), { cause: err });
    }
  });
}

/** The numbers a statement's result gives: rows returned (or changed), and the first row. */
function summarize(result: DuckDBMaterializedResult): { rows: number; first: Record<string, JsonValue> } {
  if (result.returnType === ResultReturnType.CHANGED_ROWS) return { rows: result.rowsChanged, first: {} };
  if (result.returnType !== ResultReturnType.QUERY_RESULT) return { rows: 0, first: {} };
  return { rows: result.rowCount, first: firstRow(result) };
}

/** The first row of a materialized result as JSON values, by (deduplicated) column name. */
export function firstRow(result: DuckDBMaterializedResult): Record<string, JsonValue> {
  for (let c = 0; c < result.chunkCount; c++) {
    const chunk = result.getChunk(c);
    if (chunk.rowCount === 0) continue;
    const names = result.deduplicatedColumnNames();
    const types = result.columnTypes();
    const values = chunk.getRowValues(0);
    const row: Record<string, JsonValue> = {};
    for (let i = 0; i < names.length; i++) row[names[i]!] = toJsonValue(values[i] ?? null, types[i]!);
    return row;
  }
  return {};
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
