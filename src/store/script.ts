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
import { type JsonValue, toJsonValue } from "./values.js";

/** A value bound to a `$name` placeholder. */
export type SqlParam = string | number | boolean | null;

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
    const name = prepared.parameterName(index);
    if (/^\d+$/.test(name)) {
      throw new Error(
        `positional parameters (? or $${name}) are not supported: use named ones such as $symbol`,
      );
    }
    const key = Object.hasOwn(params, name)
      ? name
      : Object.keys(params).find((k) => k.toLowerCase() === name.toLowerCase());
    if (key === undefined) {
      const known = Object.keys(params);
      throw new Error(
        `$${name} has no value: add it to params${known.length > 0 ? ` (given: ${known.join(", ")})` : ""}`,
      );
    }
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

/**
 * One statement without its trailing semicolons and comments, to nest inside another statement
 * such as `COPY ( ... ) TO`. String literals ('...', E'...', $$...$$), quoted identifiers and
 * comments are skipped while looking for semicolons.
 * @throws Error when `sql` holds more than one statement.
 */
export function singleStatement(sql: string): string {
  let codeEnd = 0; // just past the last piece of code
  let semicolon = false;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "-" && sql[i + 1] === "-") {
      const newline = sql.indexOf("\n", i);
      i = newline < 0 ? sql.length : newline + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const close = sql.indexOf("*/", i + 2);
      i = close < 0 ? sql.length : close + 2;
    } else if (c === ";") {
      semicolon = true;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else {
      if (semicolon) throw new Error("expected a single SQL statement, found several");
      i = endOfToken(sql, i);
      codeEnd = i;
    }
  }
  return sql.slice(0, codeEnd).trim();
}

/** Index just past the code token starting at `start`: a whole quoted string or identifier, else one character. */
function endOfToken(sql: string, start: number): number {
  const c = sql[start]!;
  if (c === "'" || c === '"') {
    const escapes = c === "'" && /[eE]/.test(sql[start - 1] ?? "") && !/\w/.test(sql[start - 2] ?? "");
    let i = start + 1;
    while (i < sql.length) {
      if (escapes && sql[i] === "\\") i += 2;
      else if (sql[i] === c && sql[i + 1] === c) i += 2;
      else if (sql[i] === c) return i + 1;
      else i++;
    }
    return sql.length;
  }
  if (c === "$") {
    const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(start, start + 64))?.[0];
    if (tag !== undefined) {
      const close = sql.indexOf(tag, start + tag.length);
      return close < 0 ? sql.length : close + tag.length;
    }
  }
  return start + 1;
}
