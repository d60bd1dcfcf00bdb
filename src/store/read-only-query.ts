/**
 * One read-only SQL statement from a user (`tickflow query`, `POST /api/query`): a single SELECT
 * (or EXPLAIN), run in a READ ONLY transaction so that nothing it calls can write, read a chunk at a
 * time up to a row cap, and interrupted once DuckDB has worked on it for `timeoutMs`.
 */
import { type DuckDBConnection, StatementType } from "@duckdb/node-api";
import { interruptibly } from "./interrupt.js";
import { type JsonValue, toJsonValue } from "./values.js";

export interface ReadOnlyResult {
  columns: { name: string; type: string }[];
  /** One object per row, values as JSON (timestamps ISO 8601 UTC, integers numbers). */
  rows: Record<string, JsonValue>[];
  /** The statement had more rows than `limit`. */
  truncated: boolean;
  /** The row cap; 0: none. */
  limit: number;
}

export interface ReadOnlyOptions {
  /** Most rows read; 0 reads them all. */
  limit: number;
  /** The statement timeout: DuckDB's time on it, not the reader's between chunks. */
  timeoutMs?: number;
}

/** A statement the user got wrong (not one statement, not a read): say so, do not run it. */
export class QueryRefused extends Error {}

const READS = new Set([StatementType.SELECT, StatementType.EXPLAIN]);

/**
 * Runs `sql` on `db`, which nothing else may use meanwhile (the caller's own connection), and
 * yields its rows a DuckDB chunk at a time, so that a caller can print a million rows without
 * holding them. Every chunk carries the columns; the first is yielded even when there are no rows,
 * and the last says whether rows were left out. Ending the iteration early ends the transaction.
 * @throws QueryRefused for anything but one SELECT/EXPLAIN; DuckDB's error for a failing one; a
 *   `TimeoutError` past the statement timeout.
 */
export async function* readOnlyChunks(
  db: DuckDBConnection,
  sql: string,
  options: ReadOnlyOptions,
): AsyncGenerator<ReadOnlyResult> {
  const { limit } = options;
  let budget = options.timeoutMs ?? Number.POSITIVE_INFINITY;
  // A slow reader (a pager, a pipe) must not use up the statement's time: only DuckDB's calls count.
  const duck = async <T>(work: () => Promise<T>): Promise<T> => {
    if (budget <= 0) throw new DOMException("The operation was aborted due to timeout", "TimeoutError");
    const started = performance.now();
    try {
      const signal = Number.isFinite(budget) ? AbortSignal.timeout(Math.ceil(budget)) : undefined;
      return await interruptibly(db, signal, work);
    } finally {
      budget -= performance.now() - started;
    }
  };
  await db.run("BEGIN TRANSACTION READ ONLY");
  try {
    const statements = await db.extractStatements(sql).catch((err: unknown) => {
      // DuckDB's parser message ("Parser Error: syntax error at or near ...") is the answer.
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(message.replace(/^Failed to extract statements: /, ""), { cause: err });
    });
    if (statements.count !== 1) {
      throw new QueryRefused(`expected one SQL statement, found ${statements.count}`);
    }
    const prepared = await duck(() => statements.prepare(0));
    if (!READS.has(prepared.statementType)) {
      throw new QueryRefused(
        `only reads are allowed here (SELECT, WITH ... SELECT, EXPLAIN, DESCRIBE, SHOW, PRAGMA), not ${StatementType[prepared.statementType]}`,
      );
    }
    const result = await duck(() => prepared.stream());
    const names = result.columnNames();
    const types = result.columnTypes();
    const columns = names.map((name, c) => ({ name, type: types[c]!.toString() }));
    let read = 0;
    let yielded = false;
    for (;;) {
      const chunk = await duck(() => result.fetchChunk());
      if (!chunk || chunk.rowCount === 0) break;
      if (limit > 0 && read === limit) {
        yield { columns, rows: [], truncated: true, limit };
        return;
      }
      const take = limit > 0 ? Math.min(chunk.rowCount, limit - read) : chunk.rowCount;
      const values = chunk.getColumns();
      const rows: Record<string, JsonValue>[] = new Array(take);
      for (let r = 0; r < take; r++) {
        const row: Record<string, JsonValue> = {};
        for (let c = 0; c < names.length; c++) row[names[c]!] = toJsonValue(values[c]![r]!, types[c]!);
        rows[r] = row;
      }
      read += take;
      yielded = true;
      const truncated = take < chunk.rowCount;
      yield { columns, rows, truncated, limit };
      if (truncated) return;
    }
    if (!yielded) yield { columns, rows: [], truncated: false, limit };
  } finally {
    await db.run("ROLLBACK").catch(() => undefined);
  }
}
