/**
 * Bars and corporate actions into PostgreSQL: rows staged in a TEMP table (`ON COMMIT DROP`: it
 * lives as long as the transaction, on whichever pooled connection that is), then upserted with
 * `ON CONFLICT ... DO UPDATE` of every column (what DuckDB's INSERT OR REPLACE does), the
 * `bar_symbols` summary recorded first from the same staging. Shared by `BarsWriterPg` and the
 * `file.bars` import. When none of the keys exists yet (a first ingestion, the next sessions of
 * known symbols), `BarsWriterPg` COPYs straight into bars_daily instead (`insertNewBarsPg`): half
 * the time of staging and upserting (bench/postgres-ingest.mjs). The staged rows must hold each key once (PostgreSQL refuses to update a row
 * twice in one statement): both writers see to it.
 */
import { type NewBarsSpan, recordBarsWritePg, recordNewBarsPg } from "./bar-symbols.js";
import { copyCsvPg, csvField, csvRowBlocks } from "./copy.js";
import { type PgTx, pgQuery } from "./transaction.js";

/** A staging table's columns, in COPY order: bars_daily's without source and ingested_at. */
export const BAR_STAGING_COLUMNS = [
  "symbol",
  "date",
  "open",
  "high",
  "low",
  "close",
  "volume",
  "vwap",
  "trades",
  "adj_close",
] as const;

export const ACTION_STAGING_COLUMNS = ["symbol", "date", "kind", "value", "currency"] as const;

let stagingCounter = 0;

/** A new TEMP table for bars, dropped at the end of the transaction; returns its name. */
export async function createBarsStagingPg(tx: PgTx): Promise<string> {
  const name = `tickflow_bars_${++stagingCounter}`;
  await tx.client.query(`CREATE TEMP TABLE ${name} (symbol text, date date, open double precision,
    high double precision, low double precision, close double precision, volume double precision,
    vwap double precision, trades bigint, adj_close double precision) ON COMMIT DROP`);
  return name;
}

/** A new TEMP table for corporate actions, dropped at the end of the transaction; returns its name. */
export async function createActionsStagingPg(tx: PgTx): Promise<string> {
  const name = `tickflow_actions_${++stagingCounter}`;
  await tx.client.query(
    `CREATE TEMP TABLE ${name} (symbol text, date date, kind text, value double precision, currency text) ON COMMIT DROP`,
  );
  return name;
}

/** Upserts the staged bars under `source`, recording them in `bar_symbols` first; returns the rows. */
export async function upsertBarsPg(tx: PgTx, source: string, staging: string): Promise<number> {
  await recordBarsWritePg(tx, source, `SELECT symbol, date FROM ${staging}`);
  const values = BAR_STAGING_COLUMNS.slice(2);
  const result = await tx.client.query(
    `INSERT INTO bars_daily (source, ${BAR_STAGING_COLUMNS.join(", ")}, ingested_at)
     SELECT $1, ${BAR_STAGING_COLUMNS.join(", ")}, now() FROM ${staging}
     ON CONFLICT (source, symbol, date) DO UPDATE SET
       ${[...values, "ingested_at"].map((c) => `${c} = EXCLUDED.${c}`).join(", ")}`,
    [source],
  );
  return result.rowCount ?? 0;
}

/** Upserts the staged corporate actions under `source`; returns the rows. */
export async function upsertActionsPg(tx: PgTx, source: string, staging: string): Promise<number> {
  const result = await tx.client.query(
    `INSERT INTO corporate_actions (source, ${ACTION_STAGING_COLUMNS.join(", ")}, ingested_at)
     SELECT $1, ${ACTION_STAGING_COLUMNS.join(", ")}, now() FROM ${staging}
     ON CONFLICT (source, symbol, date, kind) DO UPDATE SET
       value = EXCLUDED.value, currency = EXCLUDED.currency, ingested_at = EXCLUDED.ingested_at`,
    [source],
  );
  return result.rowCount ?? 0;
}

const NEW_BARS_SAVEPOINT = "tickflow_new_bars";

/**
 * Writes bars none of whose keys bars_daily holds straight into it: one COPY (no staging, no
 * upsert), `bar_symbols` raised from `spans` (the rows' symbols, first and last dates and counts).
 * `rows` are CSV rows in `BAR_STAGING_COLUMNS` order without their newline; each key once.
 *
 * Returns false, having written nothing, when some key is held: by a committed row (checked first,
 * per symbol over its span: index probes), or by a row another transaction commits meanwhile (the
 * COPY then fails on the primary key and is rolled back to a savepoint). The caller then stages
 * and upserts in the same transaction.
 */
export async function insertNewBarsPg(
  tx: PgTx,
  source: string,
  rows: Iterable<string>,
  spans: readonly NewBarsSpan[],
): Promise<boolean> {
  const check = await pgQuery<{ now: string; taken: boolean }>(
    tx,
    `SELECT now()::text AS now, EXISTS (
       SELECT 1 FROM unnest($2::text[], $3::date[], $4::date[]) AS s(symbol, first_date, last_date)
       JOIN bars_daily b ON b.source = $1 AND b.symbol = s.symbol AND b.date BETWEEN s.first_date AND s.last_date
     ) AS taken`,
    [source, spans.map((s) => s.symbol), spans.map((s) => s.first), spans.map((s) => s.last)],
  );
  const { now, taken } = check.rows[0]!;
  if (taken) return false;
  await pgQuery(tx, `SAVEPOINT ${NEW_BARS_SAVEPOINT}`);
  try {
    // ingested_at: the transaction's now(), as the upsert writes it (its text read back exactly).
    await copyCsvPg(
      tx,
      "bars_daily",
      ["source", ...BAR_STAGING_COLUMNS, "ingested_at"],
      csvRowBlocks(rows, `${csvField(source)},`, `,${now}\n`),
    );
  } catch (err) {
    if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
    await pgQuery(tx, `ROLLBACK TO SAVEPOINT ${NEW_BARS_SAVEPOINT}`);
    return false;
  }
  await pgQuery(tx, `RELEASE SAVEPOINT ${NEW_BARS_SAVEPOINT}`);
  await recordNewBarsPg(tx, source, spans);
  return true;
}

/** SQLSTATE of a duplicate key. */
const UNIQUE_VIOLATION = "23505";
