/**
 * Bars and corporate actions into PostgreSQL: rows staged in a TEMP table (`ON COMMIT DROP`: it
 * lives as long as the transaction, on whichever pooled connection that is), then upserted with
 * `ON CONFLICT ... DO UPDATE` of every column (what DuckDB's INSERT OR REPLACE does), the
 * `bar_symbols` summary recorded first from the same staging. Shared by `BarsWriterPg` and the
 * `file.bars` import. The staged rows must hold each key once (PostgreSQL refuses to update a row
 * twice in one statement): both writers see to it.
 */
import { recordBarsWritePg } from "./bar-symbols.js";
import type { PgTx } from "./transaction.js";

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
