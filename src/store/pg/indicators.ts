/**
 * Indicator values on PostgreSQL: `../indicators.ts`' twin. The same wide layout
 * (`indicator_values(series, date, <one double precision column per output name>)`,
 * `indicator_series(id, source, symbol)`, the `indicators` long-form view over them), with a primary
 * key `(series, date)` here, so a batch is COPYed into a TEMP staging table and upserted.
 *
 * Concurrency: two tasks may compute at once (other symbols, other indicators). Adding columns and
 * re-creating the view, and numbering new series, each happen under a transaction-level advisory
 * lock, re-reading the catalog once it is held: concurrent `ALTER TABLE`/`CREATE OR REPLACE VIEW`
 * would otherwise fail ("tuple concurrently updated") or lose a column from the view, and two
 * `max(id) + 1` numberings would collide.
 */
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import copyStreams from "pg-copy-streams";
import { INDICATOR_TABLE, type IndicatorBars, quoteIdent, SERIES_TABLE } from "../indicators.js";
import { isPgTx, type PgDb, type PgTx, pgQuery, withPgTransaction } from "./transaction.js";

/** Keys of the advisory locks (`hashtextextended(key, 0)`). */
export const INDICATOR_COLUMNS_LOCK = "tickflow:indicator_columns";
export const INDICATOR_SERIES_LOCK = "tickflow:indicator_series";
/** Followed by a series id: the lock of that series' values. */
export const INDICATOR_VALUES_LOCK_PREFIX = "tickflow:indicator_values:";

/** PostgreSQL's longest identifier (NAMEDATALEN - 1 bytes); a longer name would be cut silently. */
const MAX_IDENTIFIER_BYTES = 63;

const KEY_COLUMNS = new Set(["series", "date"]);

/** Takes an advisory lock held until the transaction ends. */
async function lockForTransaction(tx: PgTx, key: string): Promise<void> {
  await pgQuery(tx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [key]);
}

/** The value columns of indicator_values (output names), in table order. */
export async function indicatorColumnsPg(db: PgDb): Promise<string[]> {
  const result = await pgQuery<{ name: string }>(
    db,
    `SELECT attname AS name FROM pg_attribute
     WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [INDICATOR_TABLE],
  );
  return result.rows.map((r) => r.name).filter((name) => !KEY_COLUMNS.has(name));
}

/**
 * The `indicators` view over the given value columns: DuckDB's UNPIVOT as a lateral VALUES list,
 * NULLs left out as UNPIVOT leaves them out. Its columns never change, so CREATE OR REPLACE works.
 */
export function indicatorsViewSqlPg(columns: readonly string[]): string {
  if (columns.length === 0) {
    return `CREATE OR REPLACE VIEW indicators AS
  SELECT s.source, s.symbol, v.date, CAST(NULL AS text) AS name, CAST(NULL AS double precision) AS value
  FROM ${INDICATOR_TABLE} v JOIN ${SERIES_TABLE} s ON s.id = v.series WHERE false`;
  }
  const pairs = columns.map((c) => `(${quoteLiteral(c)}::text, v.${quoteIdent(c)})`).join(", ");
  return `CREATE OR REPLACE VIEW indicators AS
  SELECT s.source, s.symbol, v.date, u.name, u.value
  FROM ${INDICATOR_TABLE} v JOIN ${SERIES_TABLE} s ON s.id = v.series
  CROSS JOIN LATERAL (VALUES ${pairs}) AS u(name, value)
  WHERE u.value IS NOT NULL`;
}

/**
 * Adds a double precision column for each output name indicator_values lacks, and re-creates the
 * view over all columns, in one transaction under the columns lock. Returns every value column.
 *
 * @throws Error naming the output when it is longer than a PostgreSQL identifier.
 */
export async function ensureIndicatorColumnsPg(db: PgDb, names: readonly string[]): Promise<string[]> {
  for (const name of names) {
    if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) {
      throw new Error(
        `indicator output ${JSON.stringify(name)} is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte column names: use shorter parameters`,
      );
    }
  }
  const known = await indicatorColumnsPg(db);
  if (names.every((n) => known.includes(n))) return known;
  return withPgTransaction(db, async (tx) => {
    await lockForTransaction(tx, INDICATOR_COLUMNS_LOCK);
    // Re-read under the lock: another task may have added some meanwhile.
    const existing = await indicatorColumnsPg(tx);
    const missing = names.filter((n, i) => !existing.includes(n) && names.indexOf(n) === i);
    if (missing.length === 0) return existing;
    for (const name of missing) {
      await pgQuery(
        tx,
        `ALTER TABLE ${INDICATOR_TABLE} ADD COLUMN IF NOT EXISTS ${quoteIdent(name)} double precision`,
      );
    }
    const all = [...existing, ...missing];
    await pgQuery(tx, indicatorsViewSqlPg(all));
    return all;
  });
}

/**
 * Gives every (source, symbol) of bars_daily of `source` (only `symbols` when given) a row in
 * indicator_series, numbered as DuckDB's `ensureSeries` numbers them (after the largest id, in
 * symbol order, byte-wise as DuckDB sorts).
 */
export async function ensureSeriesPg(
  db: PgDb,
  source: string,
  symbols: readonly string[] | undefined,
): Promise<void> {
  await withPgTransaction(db, async (tx) => {
    await lockForTransaction(tx, INDICATOR_SERIES_LOCK);
    // A statement of its own after the lock: under READ COMMITTED it sees series committed meanwhile.
    await pgQuery(
      tx,
      `INSERT INTO ${SERIES_TABLE} (id, source, symbol)
       SELECT (SELECT coalesce(max(id), 0) FROM ${SERIES_TABLE}) + row_number() OVER (ORDER BY symbol COLLATE "C"), $1, symbol
       FROM (SELECT DISTINCT symbol FROM bars_daily WHERE source = $1 AND ($2::text[] IS NULL OR symbol = ANY($2))) b
       WHERE NOT EXISTS (SELECT 1 FROM ${SERIES_TABLE} s WHERE s.source = $1 AND s.symbol = b.symbol)`,
      [source, symbols === undefined ? null : [...symbols]],
    );
  });
}

/** Per symbol of `source` (only `symbols` when given), in byte order: its series, bar count and last bar (days since 1970-01-01). */
export async function symbolBarCountsPg(
  db: PgDb,
  source: string,
  symbols: readonly string[] | undefined,
): Promise<{ symbol: string; series: number; bars: number; lastBar: number }[]> {
  const result = await pgQuery<{ symbol: string; series: number; bars: number; last_bar: number }>(
    db,
    `SELECT b.symbol, s.id AS series, count(*)::integer AS bars, max(b.date) - DATE '1970-01-01' AS last_bar
     FROM bars_daily b JOIN ${SERIES_TABLE} s ON s.source = b.source AND s.symbol = b.symbol
     WHERE b.source = $1 AND ($2::text[] IS NULL OR b.symbol = ANY($2))
     GROUP BY b.symbol, s.id ORDER BY b.symbol COLLATE "C"`,
    [source, symbols === undefined ? null : [...symbols]],
  );
  return result.rows.map((r) => ({ symbol: r.symbol, series: r.series, bars: r.bars, lastBar: r.last_bar }));
}

/**
 * Per series of `source`, the last date (days since 1970-01-01) with a value in each of `columns`,
 * or null when the column has none.
 */
export async function lastIndicatorDaysPg(
  db: PgDb,
  source: string,
  columns: readonly string[],
): Promise<Map<number, (number | null)[]>> {
  const last = new Map<number, (number | null)[]>();
  if (columns.length === 0) return last;
  const selects = columns.map(
    (c) => `max(v.date) FILTER (WHERE v.${quoteIdent(c)} IS NOT NULL) - DATE '1970-01-01'`,
  );
  const result = await queryArrays(
    db,
    `SELECT v.series, ${selects.join(", ")} FROM ${INDICATOR_TABLE} v
     JOIN ${SERIES_TABLE} s ON s.id = v.series WHERE s.source = $1 GROUP BY v.series`,
    [source],
  );
  for (const row of result) {
    last.set(
      Number(row[0]),
      row.slice(1).map((v) => (v === null ? null : Number(v))),
    );
  }
  return last;
}

/**
 * The bars of `symbols` of `source` in one statement, as columns: `COPY (...) TO STDOUT` in binary,
 * read straight into typed arrays (doubles as their 8 bytes: exact, no text). Through pg's row
 * parser (an array per row, each double parsed from text) it took ~1.3 s per 500,000 bars, a third
 * of a full refresh; this way ~0.3 s (bench/postgres-indicators.mjs).
 */
export async function readIndicatorBarsPg(
  db: PgDb,
  source: string,
  symbols: readonly string[],
): Promise<IndicatorBars> {
  const client = isPgTx(db) ? db.client : await db.connect();
  try {
    // COPY takes no parameters: the values go in as literals, escaped by the driver.
    const list = symbols.map((symbol) => client.escapeLiteral(symbol)).join(", ");
    const query = `SELECT (s.idx - 1)::integer, (b.date - DATE '1970-01-01')::integer, b.high, b.low, b.close, b.volume
      FROM unnest(ARRAY[${list}]::text[]) WITH ORDINALITY AS s(symbol, idx)
      JOIN bars_daily b ON b.source = ${client.escapeLiteral(source)} AND b.symbol = s.symbol
      ORDER BY s.idx, b.date`;
    const chunks: Buffer[] = [];
    await pipeline(
      client.query(copyStreams.to(`COPY (${query}) TO STDOUT (FORMAT binary)`)),
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          chunks.push(chunk);
          done();
        },
      }),
    );
    return indicatorBarsOfCopy(Buffer.concat(chunks));
  } finally {
    if (!isPgTx(db)) client.release();
  }
}

/** Bytes before the first tuple of COPY's binary format: signature, flags, header extension length. */
const COPY_BINARY_HEADER = 19;

/**
 * Rows of `(integer, integer, 4 x double precision)` in COPY's binary format (each tuple: a 16-bit
 * field count, then per field a 32-bit length, -1 for NULL, and the big-endian value) as columns;
 * a NULL price is NaN. Ends at the trailer (a field count of -1).
 */
export function indicatorBarsOfCopy(data: Buffer): IndicatorBars {
  // First pass: the number of tuples (NULLs make them of varying length).
  let n = 0;
  for (let at = COPY_BINARY_HEADER + data.readUInt32BE(COPY_BINARY_HEADER - 4); ; n++) {
    const fields = data.readInt16BE(at);
    if (fields === -1) break;
    at += 2;
    for (let f = 0; f < fields; f++) {
      const length = data.readInt32BE(at);
      at += 4 + Math.max(0, length);
    }
  }
  const out: IndicatorBars = {
    idx: new Int32Array(n),
    day: new Int32Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
  };
  const prices = [out.high, out.low, out.close, out.volume];
  let at = COPY_BINARY_HEADER + data.readUInt32BE(COPY_BINARY_HEADER - 4);
  for (let i = 0; i < n; i++) {
    at += 2 + 4; // field count (6), the first length (4)
    out.idx[i] = data.readInt32BE(at);
    at += 4 + 4;
    out.day[i] = data.readInt32BE(at);
    at += 4;
    for (let c = 0; c < 4; c++) {
      const length = data.readInt32BE(at);
      at += 4;
      if (length < 0) prices[c]![i] = Number.NaN;
      else {
        prices[c]![i] = data.readDoubleBE(at);
        at += length;
      }
    }
  }
  return out;
}

/**
 * A TEMP table (dropped at commit) for one batch's values: `(series, day, <the written columns>)`,
 * `day` in days since 1970-01-01 (cheaper to write than a date's text). Returns its name.
 */
export async function createIndicatorStagePg(tx: PgTx, written: readonly string[]): Promise<string> {
  const name = `indicators_stage_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const columns = written.map((c) => `${quoteIdent(c)} double precision`).join(", ");
  await pgQuery(
    tx,
    `CREATE TEMP TABLE ${name} (series integer NOT NULL, day integer NOT NULL${columns ? `, ${columns}` : ""}) ON COMMIT DROP`,
  );
  return name;
}

/** The start of COPY's binary format: its signature, flags (none) and header extension length (0). */
const COPY_BINARY_START = Buffer.concat([Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), Buffer.alloc(8)]);

/** The end of COPY's binary format: a field count of -1. */
const COPY_BINARY_END = Buffer.from([0xff, 0xff]);

/**
 * COPYs rows in COPY's text format (tab-separated, `\N` for NULL, one `\n`-ended line each) into
 * `table` (its `columns`, in order). Returns the rows PostgreSQL took.
 */
export async function copyTextRowsPg(
  tx: PgTx,
  table: string,
  columns: readonly string[],
  text: Iterable<string> | AsyncIterable<string>,
): Promise<number> {
  const copy = tx.client.query(
    copyStreams.from(`COPY ${table} (${columns.map(quoteIdent).join(", ")}) FROM STDIN`),
  );
  await pipeline(Readable.from(text, { objectMode: false }), copy);
  return copy.rowCount;
}

/**
 * COPYs rows in COPY's binary format (`tuples`: whole rows, each a 16-bit field count then per
 * field a 32-bit length, -1 for NULL, and the value in the column type's binary form) into `table`
 * (its `columns`, in order); the signature and the trailer are added here.
 */
export async function copyBinaryRowsPg(
  tx: PgTx,
  table: string,
  columns: readonly string[],
  tuples: Iterable<Buffer>,
): Promise<void> {
  const copy = tx.client.query(
    copyStreams.from(`COPY ${table} (${columns.map(quoteIdent).join(", ")}) FROM STDIN (FORMAT binary)`),
  );
  function* framed(): Generator<Buffer> {
    yield COPY_BINARY_START;
    yield* tuples;
    yield COPY_BINARY_END;
  }
  await pipeline(Readable.from(framed(), { objectMode: false }), copy);
}

/**
 * Serialises the writers of these series: one advisory lock per series, held to the end of the
 * transaction, taken in id order (no deadlock). Tasks computing other indicators of the same
 * symbols then never interleave a full refresh's check-then-delete with their writes.
 */
export async function lockIndicatorSeriesPg(tx: PgTx, series: readonly number[]): Promise<void> {
  const ids = [...series].sort((a, b) => a - b);
  // unnest's rows come in array order: the locks are taken in the order given.
  await pgQuery(
    tx,
    `SELECT count(pg_advisory_xact_lock(hashtextextended($1 || id, 0))) FROM unnest($2::integer[]) AS id`,
    [INDICATOR_VALUES_LOCK_PREFIX, ids],
  );
}

/** Deletes every stored row of these series. */
export async function deleteIndicatorRowsPg(tx: PgTx, series: readonly number[]): Promise<void> {
  await pgQuery(tx, `DELETE FROM ${INDICATOR_TABLE} WHERE series = ANY($1::integer[])`, [[...series]]);
}

/**
 * Moves a staged batch into indicator_values. Incremental: an upsert in which a NULL staged value
 * keeps the stored one. Full refresh (`full`): the written columns of the batch's series are
 * replaced outright (a stored value with no new one goes; the other columns stay) and rows left
 * without any value are dropped. Run it in the transaction that staged the batch, after
 * `lockIndicatorSeriesPg`.
 */
export async function mergeIndicatorStagePg(
  tx: PgTx,
  options: {
    stage: string;
    series: readonly number[];
    written: readonly string[];
    others: readonly string[];
    full: boolean;
  },
): Promise<void> {
  const { stage, written, others, full } = options;
  const series = [...options.series];
  const columns = written.map(quoteIdent);
  const insertInto = (target: string) => `INSERT INTO ${target} (series, date, ${columns.join(", ")})
    SELECT series, DATE '1970-01-01' + day, ${columns.join(", ")} FROM ${stage}`;
  if (!full) {
    const keep = columns.map((c) => `${c} = coalesce(EXCLUDED.${c}, v.${c})`).join(", ");
    await pgQuery(
      tx,
      `${insertInto(`${INDICATOR_TABLE} AS v`)} ON CONFLICT (series, date) DO UPDATE SET ${keep}`,
    );
    return;
  }
  await pgQuery(
    tx,
    `UPDATE ${INDICATOR_TABLE} v SET ${columns.map((c) => `${c} = NULL`).join(", ")}
     WHERE v.series = ANY($1::integer[])
       AND NOT EXISTS (SELECT 1 FROM ${stage} n WHERE n.series = v.series AND DATE '1970-01-01' + n.day = v.date)`,
    [series],
  );
  const allNull = [...written, ...others].map((c) => `${quoteIdent(c)} IS NULL`).join(" AND ");
  await pgQuery(tx, `DELETE FROM ${INDICATOR_TABLE} WHERE series = ANY($1::integer[]) AND ${allNull}`, [
    series,
  ]);
  const replace = columns.map((c) => `${c} = EXCLUDED.${c}`).join(", ");
  await pgQuery(tx, `${insertInto(INDICATOR_TABLE)} ON CONFLICT (series, date) DO UPDATE SET ${replace}`);
}

/** Whether any stored row of `series` holds a value in one of `others`. */
export async function othersStoredPg(
  db: PgDb,
  series: readonly number[],
  others: readonly string[],
): Promise<boolean> {
  if (others.length === 0) return false;
  const any = others.map((c) => `${quoteIdent(c)} IS NOT NULL`).join(" OR ");
  const result = await pgQuery<{ found: boolean }>(
    db,
    `SELECT EXISTS (SELECT 1 FROM ${INDICATOR_TABLE} WHERE series = ANY($1::integer[]) AND (${any})) AS found`,
    [[...series]],
  );
  return result.rows[0]?.found === true;
}

/** A query's rows as arrays (no object per row). */
async function queryArrays(db: PgDb, text: string, values: unknown[]): Promise<unknown[][]> {
  const runner = isPgTx(db) ? db.client : db;
  const result = await runner.query<unknown[]>({ text, values, rowMode: "array" });
  return result.rows;
}

/** A SQL string literal: single quotes doubled. */
function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
