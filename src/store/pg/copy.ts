/**
 * Bulk loads into PostgreSQL: rows as CSV text through `COPY ... FROM STDIN` (pg-copy-streams), one
 * round trip for any number of rows. CSV keeps every value exact: a double is written as JS's
 * shortest text that reads back as the same double (`String(x)`, `-0` kept), which PostgreSQL's
 * float8 input reads back exactly; `NaN` and `Infinity` are PostgreSQL's words too.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import copyStreams from "pg-copy-streams";
import type { PgTx } from "./transaction.js";

/** A value of one CSV field: text (always quoted, so "" is the empty string), a number, or NULL. */
export type CsvValue = string | number | bigint | null;

/** One CSV field: NULL is an unquoted empty field. */
export function csvField(value: CsvValue | undefined): string {
  if (value == null) return ""; // undefined too: an optional field left out
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "bigint") return String(value);
  return `"${value.replaceAll('"', '""')}"`;
}

/** One CSV line, its fields in the order of the COPY's columns. */
export function csvLine(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(",")}\n`;
}

/**
 * Copies CSV text (`blocks`: whole lines, any number per block) into `table (columns)` on the
 * transaction's client; an abort of `signal` stops the copy (which fails the transaction).
 *
 * @returns the rows copied
 */
export async function copyCsvPg(
  tx: PgTx,
  table: string,
  columns: readonly string[],
  blocks: Iterable<string> | AsyncIterable<string>,
  signal?: AbortSignal,
): Promise<number> {
  const copy = tx.client.query(
    copyStreams.from(`COPY ${table} (${columns.join(", ")}) FROM STDIN WITH (FORMAT csv)`),
  );
  await pipeline(Readable.from(blocks, { objectMode: false }), copy, signal ? { signal } : {});
  return copy.rowCount;
}

/** Lines joined into blocks of about 1 MiB: a stream write per line would cost more than the line. */
export function* csvBlocks(lines: Iterable<string>): Generator<string> {
  let block: string[] = [];
  let size = 0;
  for (const line of lines) {
    block.push(line);
    size += line.length;
    if (size >= 1 << 20) {
      yield block.join("");
      block = [];
      size = 0;
    }
  }
  if (block.length > 0) yield block.join("");
}

/**
 * Rows (CSV fields, no newline) as blocks of about 1 MiB, each row written as `before + row + after`
 * (`after` ending the line): columns every row shares (a source, a timestamp) cost no copy of the rows.
 */
export function* csvRowBlocks(rows: Iterable<string>, before = "", after = "\n"): Generator<string> {
  let block = "";
  for (const row of rows) {
    block += before + row + after;
    if (block.length >= 1 << 20) {
      yield block;
      block = "";
    }
  }
  if (block.length > 0) yield block;
}
