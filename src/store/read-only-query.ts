/**
 * One read-only SQL statement from a user (`tickflow query`, `POST /api/query`): a single SELECT
 * (or EXPLAIN), run in a READ ONLY transaction so that nothing it calls can write, read a chunk at a
 * time up to a row cap, and interrupted when `signal` aborts (the statement timeout).
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
  limit: number;
}

/** A statement the user got wrong (not one statement, not a read): say so, do not run it. */
export class QueryRefused extends Error {}

const READS = new Set([StatementType.SELECT, StatementType.EXPLAIN]);

/**
 * Runs `sql` on `db`, which nothing else may use meanwhile (the caller's own connection).
 * @throws QueryRefused for anything but one SELECT/EXPLAIN; DuckDB's error for a failing one.
 */
export async function readOnlyQuery(
  db: DuckDBConnection,
  sql: string,
  options: { limit: number; signal?: AbortSignal },
): Promise<ReadOnlyResult> {
  const { limit } = options;
  return interruptibly(db, options.signal, async () => {
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
      const prepared = await statements.prepare(0);
      if (!READS.has(prepared.statementType)) {
        throw new QueryRefused(
          `only reads are allowed here (SELECT, WITH ... SELECT, EXPLAIN, DESCRIBE, SHOW, PRAGMA), not ${StatementType[prepared.statementType]}`,
        );
      }
      const result = await prepared.stream();
      const names = result.columnNames();
      const types = result.columnTypes();
      const rows: Record<string, JsonValue>[] = [];
      let truncated = false;
      for (
        let chunk = await result.fetchChunk();
        chunk && chunk.rowCount > 0;
        chunk = await result.fetchChunk()
      ) {
        const columns = chunk.getColumns();
        for (let r = 0; r < chunk.rowCount; r++) {
          if (rows.length === limit) {
            truncated = true;
            break;
          }
          const row: Record<string, JsonValue> = {};
          for (let c = 0; c < names.length; c++) row[names[c]!] = toJsonValue(columns[c]![r]!, types[c]!);
          rows.push(row);
        }
        if (truncated) break;
      }
      return {
        columns: names.map((name, c) => ({ name, type: types[c]!.toString() })),
        rows,
        truncated,
        limit,
      };
    } finally {
      await db.run("ROLLBACK").catch(() => undefined);
    }
  });
}
