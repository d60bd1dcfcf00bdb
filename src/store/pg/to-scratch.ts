/**
 * Rows of a PostgreSQL query copied into a TEMP table of the scratch DuckDB (`PgStore.scratch()`),
 * where steps compute what DuckDB computes best (the quality checks, Parquet and CSV files). Read
 * through a cursor a batch at a time (memory stays one batch), appended with DuckDB's appender,
 * types kept: date -> DATE, timestamptz -> TIMESTAMPTZ and timestamp -> TIMESTAMP (microseconds
 * kept), double / real / numeric -> DOUBLE, smallint / integer -> INTEGER, bigint -> BIGINT,
 * boolean -> BOOLEAN, json / jsonb -> JSON, text and every other type -> VARCHAR (its text form).
 */
import {
  BIGINT,
  BOOLEAN,
  DATE,
  DOUBLE,
  type DuckDBConnection,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBType,
  type DuckDBValue,
  INTEGER,
  TIMESTAMP,
  TIMESTAMPTZ,
  VARCHAR,
} from "@duckdb/node-api";
import type pg from "pg";
import { appendChunks, ChunkBuffer } from "../append.js";
import { dateValue } from "../values.js";
import { cancellablyPg } from "./cancel.js";
import { type PgTx, pgQuery, withPgTransaction } from "./transaction.js";

/** A query and its `$1..` values. */
export interface PgQueryText {
  text: string;
  values?: unknown[];
}

export interface ScratchCopyOptions {
  /** Aborting it cancels the running FETCH (through `cancelVia`, another connection) and rejects. */
  signal?: AbortSignal | undefined;
  cancelVia?: pg.Pool | undefined;
  /** Rows per FETCH (default 10,000). */
  batchRows?: number;
}

/** A column of the copy: its (deduplicated) name and its DuckDB type's SQL name. */
export interface ScratchColumn {
  name: string;
  sql: string;
}

/** How one PostgreSQL type lands in DuckDB. */
interface Landing {
  sql: string;
  type: DuckDBType;
  value: (text: string) => DuckDBValue;
}

const TEXT: Landing = { sql: "VARCHAR", type: VARCHAR, value: (t) => t };
const number = (t: string) => Number(t);

const LANDINGS = new Map<number, Landing>([
  [16, { sql: "BOOLEAN", type: BOOLEAN, value: (t) => t === "t" }],
  [21, { sql: "INTEGER", type: INTEGER, value: number }],
  [23, { sql: "INTEGER", type: INTEGER, value: number }],
  [20, { sql: "BIGINT", type: BIGINT, value: (t) => BigInt(t) }],
  [700, { sql: "DOUBLE", type: DOUBLE, value: number }],
  [701, { sql: "DOUBLE", type: DOUBLE, value: number }],
  [1700, { sql: "DOUBLE", type: DOUBLE, value: number }],
  [1082, { sql: "DATE", type: DATE, value: (t) => dateValue(t) }],
  [1114, { sql: "TIMESTAMP", type: TIMESTAMP, value: (t) => new DuckDBTimestampValue(utcMicros(t)) }],
  [1184, { sql: "TIMESTAMPTZ", type: TIMESTAMPTZ, value: (t) => new DuckDBTimestampTZValue(utcMicros(t)) }],
  [114, { sql: "JSON", type: VARCHAR, value: (t) => t }],
  [3802, { sql: "JSON", type: VARCHAR, value: (t) => t }],
]);

/** Every value as PostgreSQL's text: each column's `Landing` converts it, keeping all digits. */
const RAW_TEXT: pg.CustomTypesConfig = {
  getTypeParser: (() => (text: string) => text) as unknown as pg.CustomTypesConfig["getTypeParser"],
};

let cursors = 0;

/**
 * Runs `query` in `tx` and copies its rows into a new TEMP table `table` of `duck` (a connection
 * of the scratch DuckDB), its columns named and typed after the query's. Several copies in one
 * REPEATABLE READ transaction read one snapshot.
 * @returns the rows copied and the table's columns.
 */
export async function copyToScratch(
  tx: PgTx,
  query: PgQueryText,
  duck: DuckDBConnection,
  table: string,
  options: ScratchCopyOptions = {},
): Promise<{ rows: number; columns: ScratchColumn[] }> {
  const client = tx.client;
  const batch = options.batchRows ?? 10_000;
  const cursor = `tickflow_scratch_${++cursors}`;
  const guarded = <T>(work: () => Promise<T>) =>
    options.cancelVia === undefined ? work() : cancellablyPg(options.cancelVia, client, options.signal, work);
  // Timestamps as UTC text: read back without the session's zone.
  await client.query("SET LOCAL TimeZone = 'UTC'");
  await guarded(() =>
    client.query({
      text: `DECLARE ${cursor} NO SCROLL CURSOR FOR ${query.text}`,
      values: query.values ?? [],
    }),
  );
  let landings: Landing[] | undefined;
  let columns: ScratchColumn[] = [];
  let rows = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const res = await guarded(() =>
      client.query<string[]>({ text: `FETCH ${batch} FROM ${cursor}`, rowMode: "array", types: RAW_TEXT }),
    );
    if (landings === undefined) {
      landings = res.fields.map((f) => LANDINGS.get(f.dataTypeID) ?? TEXT);
      const names = uniqueNames(res.fields.map((f) => f.name));
      columns = names.map((name, i) => ({ name, sql: landings![i]!.sql }));
      await duck.run(
        `CREATE TEMP TABLE ${quoteIdent(table)} (${columns.map((c) => `${quoteIdent(c.name)} ${c.sql}`).join(", ")})`,
      );
    }
    if (res.rows.length === 0) break;
    const buffer = new ChunkBuffer(landings.map((l) => l.type));
    for (const row of res.rows) {
      buffer.add(row.map((text, i) => (text === null ? null : landings![i]!.value(text))));
    }
    rows += await appendChunks(duck, table, buffer.take(), { schema: "main", catalog: "temp" });
    if (res.rows.length < batch) break;
  }
  await client.query(`CLOSE ${cursor}`);
  return { rows, columns };
}

/**
 * `copyToScratch` in a transaction of its own on `pool`, read-only (the statement is the user's:
 * it may not write), its FETCHes cancelled when `signal` aborts.
 */
export async function copyQueryToScratchPg(
  pool: pg.Pool,
  query: PgQueryText,
  duck: DuckDBConnection,
  table: string,
  signal?: AbortSignal,
): Promise<{ rows: number; columns: ScratchColumn[] }> {
  return withPgTransaction(pool, async (tx) => {
    await pgQuery(tx, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    return copyToScratch(tx, query, duck, table, { signal, cancelVia: pool });
  });
}

/** `2024-01-02 03:04:05.123456` or `...+00` (the session's zone is UTC) as microseconds since the epoch. */
export function utcMicros(text: string): bigint {
  const m = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:\+00(?::00)?)?$/.exec(text);
  if (m === null) throw new Error(`timestamp ${JSON.stringify(text)} has no DuckDB form`);
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  return BigInt(ms) * 1000n + BigInt((frac ?? "").padEnd(6, "0"));
}

/** Column names DuckDB accepts in one table: a repeated name gets `:1`, `:2`, as DuckDB's results do. */
function uniqueNames(names: readonly string[]): string[] {
  const taken = new Set<string>();
  return names.map((name) => {
    let unique = name;
    for (let k = 1; taken.has(unique.toLowerCase()); k++) unique = `${name}:${k}`;
    taken.add(unique.toLowerCase());
    return unique;
  });
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
