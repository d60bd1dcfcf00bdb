/**
 * `runScript`'s twin on PostgreSQL (the `sql` step, `export`'s query): user SQL in PostgreSQL's
 * dialect, several statements one after another in autocommit mode on one connection, named
 * parameters `$name` (numbered `$1..` for PostgreSQL), cancellation through an AbortSignal, and the
 * last statement's first row as the same plain JSON as on DuckDB.
 */
import type pg from "pg";
import { abortReason } from "../interrupt.js";
import type { ScriptOptions, ScriptResult } from "../script.js";
import { replacePlaceholders, type SqlParam, splitStatements } from "../sql-text.js";
import type { JsonValue } from "../values.js";
import { cancellablyPg } from "./cancel.js";
import { PG_JSON_TYPES } from "./json-values.js";

/** Commands whose row count is the rows they changed (DuckDB's CHANGED_ROWS). */
const CHANGING_COMMANDS = new Set(["INSERT", "UPDATE", "DELETE", "MERGE", "COPY"]);

/**
 * Runs `sql`, which may hold several statements, each committed on its own (a failing statement
 * does not undo the ones before it; a script's own BEGIN ... COMMIT still groups), all on one
 * connection of `pool` (so later statements see its temp tables and settings, which end with the
 * script: the connection is reset before it goes back to the pool).
 *
 * @throws Error with PostgreSQL's message, prefixed `statement N of M: ` when there are several;
 *   the signal's reason (or Error("cancelled")) when aborted; an Error when the script ends inside
 *   a transaction it opened (rolled back: a BEGIN without COMMIT).
 */
export async function runScriptPg(
  pool: pg.Pool,
  sql: string,
  options: ScriptOptions = {},
): Promise<ScriptResult> {
  const { signal } = options;
  const params = options.params ?? {};
  if (signal?.aborted) throw abortReason(signal);
  const statements = splitStatements(sql);
  const prefix = (i: number) => (statements.length > 1 ? `statement ${i + 1} of ${statements.length}: ` : "");
  const used = new Set<string>();
  let result: ScriptResult = { statements: 0, rows: 0, first: {}, unusedParams: [] };
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    try {
      for (const [i, statement] of statements.entries()) {
        if (signal?.aborted) throw abortReason(signal);
        let query: { text: string; values: unknown[] };
        try {
          query = positional(statement, params, used);
        } catch (err) {
          throw new Error(prefix(i) + messageOf(err), { cause: err });
        }
        const res = await cancellablyPg(pool, client, signal, () =>
          client.query({ ...query, rowMode: "array", types: PG_JSON_TYPES }).catch((err: unknown) => {
            if (signal?.aborted) throw err;
            throw new Error(prefix(i) + messageOf(err), { cause: err });
          }),
        );
        result = { ...summarize(res), statements: i + 1, unusedParams: [] };
      }
      if (client.getTransactionStatus() !== "I") {
        throw new Error("the script ends inside a transaction (BEGIN without COMMIT): rolled back");
      }
    } catch (err) {
      // A failure inside the script's own transaction must not leave it open (or aborted).
      if (client.getTransactionStatus() !== "I") {
        await client.query("ROLLBACK").catch((rollback: Error) => {
          broken = rollback;
        });
      }
      throw err;
    }
    // Temp tables, settings and session locks of the script end with it.
    await client.query("DISCARD ALL");
  } catch (err) {
    // The connection failed, or may still get a late cancel: not given back to the pool.
    if (signal?.aborted) broken ??= new Error("cancelled");
    throw err;
  } finally {
    client.release(broken);
  }
  result.unusedParams = Object.keys(params).filter((name) => !used.has(name));
  return result;
}

/**
 * One statement for PostgreSQL with its `$name` placeholders numbered (see `positional`).
 * @throws Error naming a placeholder without a value, or a positional one.
 */
export function positionalQuery(
  statement: string,
  params: Readonly<Record<string, SqlParam>>,
): { text: string; values: unknown[] } {
  return positional(statement, params, new Set());
}

/**
 * `statement` with its `$name` placeholders numbered (`$1`, ... once per name) and their values.
 * A number or boolean gets a cast, as DuckDB gives its parameters the value's type (`SELECT $n`
 * is a number there); a string none, so PostgreSQL reads it as whatever the context needs (a
 * date compared with a date column); a null is the keyword NULL.
 */
function positional(
  statement: string,
  params: Readonly<Record<string, SqlParam>>,
  used: Set<string>,
): { text: string; values: unknown[] } {
  const numbers = new Map<string, number>();
  const values: unknown[] = [];
  const text = replacePlaceholders(statement, params, (key) => {
    used.add(key);
    // A parameter PostgreSQL cannot type from its context fails (`$x IS NULL`); a NULL needs no
    // type: the keyword is the value, never user text.
    if ((params[key] ?? null) === null) return "NULL";
    let n = numbers.get(key);
    if (n === undefined) {
      values.push(params[key] ?? null);
      n = values.length;
      numbers.set(key, n);
    }
    return `$${n}${castOf(params[key] ?? null)}`;
  });
  return { text, values };
}

function castOf(value: SqlParam): string {
  if (typeof value === "boolean") return "::boolean";
  if (typeof value === "number") return Number.isSafeInteger(value) ? "::bigint" : "::double precision";
  return "";
}

/** Rows returned (or changed), and the first row by (deduplicated) column name. */
function summarize(res: pg.QueryResult<unknown[]>): { rows: number; first: Record<string, JsonValue> } {
  if (res.fields.length > 0) {
    const row = res.rows[0];
    if (row === undefined) return { rows: res.rows.length, first: {} };
    const names = deduplicatedNames(res.fields.map((f) => f.name));
    const first: Record<string, JsonValue> = {};
    names.forEach((name, i) => {
      first[name] = (row[i] ?? null) as JsonValue;
    });
    return { rows: res.rows.length, first };
  }
  return { rows: CHANGING_COMMANDS.has(res.command) ? (res.rowCount ?? 0) : 0, first: {} };
}

/** Repeated column names as DuckDB names them: `a`, `a:1`, `a:2`. */
export function deduplicatedNames(names: readonly string[]): string[] {
  const seen = new Map<string, number>();
  const taken = new Set(names);
  return names.map((name) => {
    const n = seen.get(name);
    if (n === undefined) {
      seen.set(name, 0);
      return name;
    }
    let k = n + 1;
    while (taken.has(`${name}:${k}`)) k++;
    seen.set(name, k);
    taken.add(`${name}:${k}`);
    return `${name}:${k}`;
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
