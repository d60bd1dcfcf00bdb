/**
 * One read-only SQL statement from a user on PostgreSQL (`tickflow query`, `POST /api/query`):
 * `readOnlyChunks`' twin (../read-only-query.ts), with its answer (`ReadOnlyResult`), its
 * refusals (`QueryRefused`) and its timeout (a `TimeoutError`).
 *
 * - On a client of its own, in a `READ ONLY` transaction (rolled back at the end): PostgreSQL
 *   refuses any write in it, whatever the statement calls. It is no sandbox: functions such as
 *   `pg_sleep` or `pg_cancel_backend` still run; a role with only SELECT rights is the real guard.
 * - The first word must be a read (SELECT, WITH, VALUES, TABLE, EXPLAIN, SHOW); the statement is
 *   sent with the extended protocol, which refuses more than one statement.
 * - Rows come a chunk at a time from a cursor (`DECLARE ... CURSOR FOR`, then `FETCH n`), so a
 *   caller can print a million rows without holding them; EXPLAIN and SHOW (no cursor takes them)
 *   answer in one piece.
 * - The statement timeout is PostgreSQL's `statement_timeout`, set before each statement to what
 *   is left of the budget: the server's time counts, not the reader's between chunks.
 * - Values as JSON as DuckDB's are: bigint and numeric numbers when exact, else strings; dates
 *   `YYYY-MM-DD`; timestamps ISO 8601 UTC (a timestamp without zone read as UTC); json parsed;
 *   NaN and infinities as strings; other types as PostgreSQL's text.
 */
import pg from "pg";
import { QueryRefused, type ReadOnlyOptions, type ReadOnlyResult } from "../read-only-query.js";
import type { JsonValue } from "../values.js";

/** Rows a FETCH reads at a time (DuckDB's chunks hold 2048). */
const CHUNK_ROWS = 2048;

/** What a statement may start with: the reads. The cursor takes all but EXPLAIN and SHOW. */
const CURSOR_READS = new Set(["SELECT", "WITH", "VALUES", "TABLE"]);
const PLAIN_READS = new Set(["EXPLAIN", "SHOW"]);

const CURSOR = "tickflow_query";

/** The statement's first word, upper case, past comments, white space and opening parentheses. */
export function firstKeyword(sql: string): string {
  const rest = sql.replace(/^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*/, "");
  return /^[A-Za-z]+/.exec(rest)?.[0]?.toUpperCase() ?? "";
}

/**
 * Runs `sql` on a client of `pool` and yields its rows a chunk at a time (see the file's comment).
 * Every chunk carries the columns; the first is yielded even when there are no rows, and the last
 * says whether rows were left out. Ending the iteration early ends the transaction.
 * @throws QueryRefused for anything but one read; PostgreSQL's error for a failing one; a
 *   `TimeoutError` past the statement timeout.
 */
export async function* readOnlyChunksPg(
  pool: pg.Pool,
  sql: string,
  options: ReadOnlyOptions,
): AsyncGenerator<ReadOnlyResult> {
  const { limit } = options;
  const statement = sql.trim().replace(/;+\s*$/, "");
  const word = firstKeyword(statement);
  if (!CURSOR_READS.has(word) && !PLAIN_READS.has(word)) {
    throw new QueryRefused(
      `only reads are allowed here (SELECT, WITH ... SELECT, VALUES, TABLE, EXPLAIN, SHOW), not ${word || "this"}`,
    );
  }
  let budget = options.timeoutMs ?? Number.POSITIVE_INFINITY;
  const client = await pool.connect();
  let broken: Error | undefined;
  // One statement within what is left of the budget; PostgreSQL's time counts, not the reader's.
  const timed = async (text: string): Promise<pg.QueryArrayResult> => {
    if (budget <= 0) throw timeoutError();
    if (Number.isFinite(budget)) {
      await client.query("SELECT set_config('statement_timeout', $1, true)", [String(Math.ceil(budget))]);
    }
    const started = performance.now();
    try {
      // The extended protocol: one statement only (the simple one would run a second).
      const config = {
        text,
        rowMode: "array",
        types: JSON_TYPES,
        queryMode: "extended",
      } as pg.QueryArrayConfig;
      return await client.query(config);
    } catch (err) {
      throw statementError(err);
    } finally {
      budget -= performance.now() - started;
    }
  };
  try {
    await client.query("BEGIN TRANSACTION READ ONLY");
    // Timestamps as text the parsers read: ISO, in UTC.
    await client.query("SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'");
    let read = 0;
    let columns: ReadOnlyResult["columns"] | undefined;
    let fetch: () => Promise<pg.QueryArrayResult>;
    if (CURSOR_READS.has(word)) {
      await timed(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${statement}`);
      // One row past the cap tells whether rows were left out.
      fetch = () =>
        timed(`FETCH ${limit > 0 ? Math.min(CHUNK_ROWS, limit - read + 1) : CHUNK_ROWS} FROM ${CURSOR}`);
    } else {
      let answered: pg.QueryArrayResult | undefined;
      fetch = async () => {
        if (answered) return { ...answered, rows: [] };
        answered = await timed(statement);
        return answered;
      };
    }
    let yielded = false;
    for (;;) {
      const chunk = await fetch();
      columns ??= await columnTypes(client, chunk.fields);
      if (chunk.rows.length === 0) break;
      if (limit > 0 && read === limit) {
        yield { columns, rows: [], truncated: true, limit };
        return;
      }
      const take = limit > 0 ? Math.min(chunk.rows.length, limit - read) : chunk.rows.length;
      const names = columns.map((c) => c.name);
      const rows: Record<string, JsonValue>[] = new Array(take);
      for (let r = 0; r < take; r++) {
        const values = chunk.rows[r]!;
        const row: Record<string, JsonValue> = {};
        for (let c = 0; c < names.length; c++) row[names[c]!] = values[c] as JsonValue;
        rows[r] = row;
      }
      read += take;
      yielded = true;
      const truncated = take < chunk.rows.length;
      yield { columns, rows, truncated, limit };
      if (truncated) return;
    }
    if (!yielded) yield { columns: columns ?? [], rows: [], truncated: false, limit };
  } finally {
    await client.query("ROLLBACK").catch((err: Error) => {
      broken = err; // the connection is gone: the pool must not hand it out again
    });
    client.release(broken);
  }
}

/** The columns' names and PostgreSQL's names of their types (`bigint`, `timestamp with time zone`). */
async function columnTypes(
  client: pg.PoolClient,
  fields: readonly pg.FieldDef[],
): Promise<ReadOnlyResult["columns"]> {
  if (fields.length === 0) return [];
  const named = await client.query<{ name: string }>(
    "SELECT format_type(t.oid, t.mod) AS name FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS t(oid, mod, n) ORDER BY n",
    [fields.map((f) => f.dataTypeID), fields.map((f) => f.dataTypeModifier)],
  );
  return fields.map((f, i) => ({ name: f.name, type: named.rows[i]?.name ?? String(f.dataTypeID) }));
}

function timeoutError(): Error {
  return new DOMException("The operation was aborted due to timeout", "TimeoutError");
}

/** PostgreSQL's refusals as ours: the timeout, and a second statement. */
function statementError(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === "57014" && /statement timeout/.test(message)) return timeoutError();
  if (code === "42601" && /multiple commands/.test(message)) {
    return new QueryRefused("expected one SQL statement, found more");
  }
  return err;
}

/** A wide integer or a numeric as a JSON number when exact, else its text. */
function exactNumber(text: string): JsonValue {
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  if (/^-?\d+$/.test(text)) return Number.isSafeInteger(n) ? n : text;
  return n;
}

function floatValue(text: string): JsonValue {
  const n = Number.parseFloat(text);
  return Number.isFinite(n) ? n : text;
}

/** A timestamp's text (`2024-01-02 03:04:05.123456+00`, or without the zone: read as UTC) as ISO 8601 UTC. */
function instant(text: string): JsonValue {
  const iso = text.replace(" ", "T");
  const ms = Date.parse(/[+-]\d\d(:?\d\d)?$/.test(iso) ? iso.replace(/([+-]\d\d)$/, "$1:00") : `${iso}Z`);
  return Number.isNaN(ms) ? text : new Date(ms).toISOString();
}

const identity = (text: string) => text;

/** pg's own text parser of a type (its arrays: elements parsed by their type). */
const builtin = (oid: number) => pg.types.getTypeParser(oid as never, "text");

/** Parsers by type oid; other types stay PostgreSQL's text. */
const PARSERS: Record<number, (text: string) => unknown> = {
  16: builtin(16), // boolean
  20: exactNumber, // bigint
  21: Number, // smallint
  23: Number, // integer
  26: Number, // oid
  700: floatValue, // real
  701: floatValue, // double precision
  1700: exactNumber, // numeric
  1082: identity, // date
  1114: instant, // timestamp
  1184: instant, // timestamptz
  114: JSON.parse, // json
  3802: JSON.parse, // jsonb
  1000: builtin(1000), // boolean[]
  1005: builtin(1005), // smallint[]
  1007: builtin(1007), // integer[]
  1009: builtin(1009), // text[]
  1015: builtin(1015), // varchar[]
  1021: builtin(1021), // real[]
  1022: builtin(1022), // double precision[]
};

/** This query's parsers (pg's `types` option): the pool's and the process's stay as they are. */
const JSON_TYPES = {
  getTypeParser: (oid: number) => PARSERS[oid] ?? identity,
} as pg.CustomTypesConfig;
