import { type DuckDBConnection, DuckDBDataChunk, type DuckDBType, type DuckDBValue } from "@duckdb/node-api";

/** DuckDB's vector size: the most rows one data chunk holds. */
const CHUNK_ROWS = 2048;

/** One column to append: its DuckDB type (the table's) and its values, all columns of equal length. */
export interface AppendColumn {
  type: DuckDBType;
  values: readonly DuckDBValue[];
}

/** Fills one data chunk with rows `offset .. offset + count` of the columns. */
function fillChunk(
  types: readonly DuckDBType[],
  columns: readonly (readonly DuckDBValue[])[],
  offset: number,
  count: number,
): DuckDBDataChunk {
  const chunk = DuckDBDataChunk.create(types, count);
  for (let c = 0; c < columns.length; c++) {
    const vector = chunk.getColumnVector(c);
    const values = columns[c]!;
    for (let i = 0; i < count; i++) vector.setItem(i, values[offset + i] ?? null);
    vector.flush();
  }
  return chunk;
}

/**
 * Rows buffered column by column and turned into DuckDB data chunks 2048 rows at a time, as they
 * come: most of the work of converting JS values happens while rows are recorded, a chunk at a
 * time, and an append later only hands finished chunks to DuckDB.
 */
export class ChunkBuffer {
  private columns: DuckDBValue[][];
  private sealed: DuckDBDataChunk[] = [];
  private sealedRows = 0;

  constructor(readonly types: readonly DuckDBType[]) {
    this.columns = types.map(() => []);
  }

  /** Rows buffered. */
  get length(): number {
    return this.sealedRows + this.columns[0]!.length;
  }

  /** One row, its values in the order of `types`. */
  add(row: readonly DuckDBValue[]): void {
    const columns = this.columns;
    for (let c = 0; c < columns.length; c++) columns[c]!.push(row[c] ?? null);
    if (columns[0]!.length >= CHUNK_ROWS) this.seal();
  }

  /** Takes every buffered row, as chunks. */
  take(): DuckDBDataChunk[] {
    this.seal();
    const chunks = this.sealed;
    this.sealed = [];
    this.sealedRows = 0;
    return chunks;
  }

  /** Puts back chunks that `take` returned and could not be written, ahead of newer rows. */
  restore(chunks: DuckDBDataChunk[]): void {
    this.sealed = [...chunks, ...this.sealed];
    this.sealedRows += chunks.reduce((n, c) => n + c.rowCount, 0);
  }

  private seal(): void {
    const count = this.columns[0]!.length;
    if (count === 0) return;
    this.sealed.push(fillChunk(this.types, this.columns, 0, count));
    this.sealedRows += count;
    this.columns = this.types.map(() => []);
  }
}

/**
 * Appends data chunks (whose columns are the table's, in its order) with DuckDB's appender. The
 * rows are committed together when it returns (inside the transaction open on `db`, if any).
 */
export async function appendChunks(
  db: DuckDBConnection,
  table: string,
  chunks: readonly DuckDBDataChunk[],
  where: { schema?: string; catalog?: string } = {},
): Promise<number> {
  if (chunks.length === 0) return 0;
  const appender = await db.createAppender(table, where.schema ?? null, where.catalog ?? null);
  let rows = 0;
  try {
    for (const chunk of chunks) {
      appender.appendDataChunk(chunk);
      rows += chunk.rowCount;
    }
    appender.flushSync();
  } catch (err) {
    try {
      appender.closeSync();
    } catch {
      // After a failed flush, closing fails the same way: keep the first error.
    }
    throw err;
  }
  appender.closeSync();
  return rows;
}

/** Columns (of equal length) as data chunks of up to 2048 rows. */
export function columnsToChunks(columns: readonly AppendColumn[]): DuckDBDataChunk[] {
  const rows = columns[0]?.values.length ?? 0;
  for (const column of columns) {
    if (column.values.length !== rows) throw new Error("columns of unequal length");
  }
  const types = columns.map((c) => c.type);
  const values = columns.map((c) => c.values);
  const chunks: DuckDBDataChunk[] = [];
  for (let offset = 0; offset < rows; offset += CHUNK_ROWS) {
    chunks.push(fillChunk(types, values, offset, Math.min(CHUNK_ROWS, rows - offset)));
  }
  return chunks;
}

/** How one column of a row-shaped source reads its value. */
export interface RowColumn<T> {
  type: DuckDBType;
  value: (row: T) => DuckDBValue;
}

/**
 * Rows as data chunks of up to 2048 rows, a column at a time (`columns` in the table's order):
 * no per-column copy of the rows is made, unlike `columnsToChunks`.
 */
export function rowsToChunks<T>(rows: readonly T[], columns: readonly RowColumn<T>[]): DuckDBDataChunk[] {
  const types = columns.map((c) => c.type);
  const chunks: DuckDBDataChunk[] = [];
  for (let offset = 0; offset < rows.length; offset += CHUNK_ROWS) {
    const count = Math.min(CHUNK_ROWS, rows.length - offset);
    const chunk = DuckDBDataChunk.create(types, count);
    columns.forEach(({ value }, c) => {
      const vector = chunk.getColumnVector(c);
      for (let i = 0; i < count; i++) vector.setItem(i, value(rows[offset + i]!));
      vector.flush();
    });
    chunks.push(chunk);
  }
  return chunks;
}

/**
 * Bulk-appends columns to a table with DuckDB's appender, a data chunk (2048 rows) at a time: far
 * fewer native calls than appending value by value. The columns must be the table's, in its order.
 */
export function appendColumns(
  db: DuckDBConnection,
  table: string,
  columns: readonly AppendColumn[],
  where: { schema?: string; catalog?: string } = {},
): Promise<number> {
  return appendChunks(db, table, columnsToChunks(columns), where);
}
