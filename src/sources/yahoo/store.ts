/**
 * Writes one symbol's Yahoo bars (and its dividends and splits) in one transaction: appended to TEMP
 * staging tables, then INSERT OR REPLACE into bars_daily / corporate_actions. All or nothing.
 */
import { DOUBLE, type DuckDBConnection, VARCHAR } from "@duckdb/node-api";
import { appendColumns } from "../../store/index.js";
import type { YahooAction, YahooBar } from "./chart.js";

let stagingCounter = 0;

export interface WriteSymbolInput {
  source: string;
  symbol: string;
  bars: readonly YahooBar[];
  /** Written to corporate_actions; empty (or omitted) for none. */
  actions?: readonly YahooAction[];
  currency: string | null;
}

/** Writes the bars and actions of one symbol in one transaction; returns the rows written. */
export async function writeSymbol(
  db: DuckDBConnection,
  input: WriteSymbolInput,
): Promise<{ bars: number; actions: number }> {
  const actions = input.actions ?? [];
  if (input.bars.length === 0 && actions.length === 0) return { bars: 0, actions: 0 };
  const id = `${process.pid}_${++stagingCounter}`;
  const barsStaging = `yahoo_bars_staging_${id}`;
  const actionsStaging = `yahoo_actions_staging_${id}`;
  const temp = { schema: "main", catalog: "temp" };
  try {
    await db.run(
      `CREATE OR REPLACE TEMP TABLE ${barsStaging} (date VARCHAR, open DOUBLE, high DOUBLE, low DOUBLE,
        close DOUBLE, volume DOUBLE, adj_close DOUBLE)`,
    );
    await db.run(`CREATE OR REPLACE TEMP TABLE ${actionsStaging} (date VARCHAR, kind VARCHAR, value DOUBLE)`);
    const bars = input.bars;
    await appendColumns(
      db,
      barsStaging,
      [
        { type: VARCHAR, values: bars.map((b) => b.date) },
        { type: DOUBLE, values: bars.map((b) => b.open) },
        { type: DOUBLE, values: bars.map((b) => b.high) },
        { type: DOUBLE, values: bars.map((b) => b.low) },
        { type: DOUBLE, values: bars.map((b) => b.close) },
        { type: DOUBLE, values: bars.map((b) => b.volume) },
        { type: DOUBLE, values: bars.map((b) => b.adj_close) },
      ],
      temp,
    );
    await appendColumns(
      db,
      actionsStaging,
      [
        { type: VARCHAR, values: actions.map((a) => a.date) },
        { type: VARCHAR, values: actions.map((a) => a.kind) },
        { type: DOUBLE, values: actions.map((a) => a.value) },
      ],
      temp,
    );
    const source = quoteString(input.source);
    const symbol = quoteString(input.symbol);
    const currency = input.currency === null ? "NULL" : quoteString(input.currency);
    await db.run("BEGIN TRANSACTION");
    try {
      await db.run(`INSERT OR REPLACE INTO bars_daily
        (source, symbol, date, open, high, low, close, volume, vwap, trades, adj_close, ingested_at)
        SELECT ${source}, ${symbol}, CAST(date AS DATE), open, high, low, close, volume, NULL, NULL, adj_close, now()
        FROM temp.main.${barsStaging}`);
      await db.run(`INSERT OR REPLACE INTO corporate_actions
        (source, symbol, date, kind, value, currency, ingested_at)
        SELECT ${source}, ${symbol}, CAST(date AS DATE), kind, value,
          CASE WHEN kind = 'dividend' THEN ${currency} ELSE NULL END, now()
        FROM temp.main.${actionsStaging}`);
      await db.run("COMMIT");
    } catch (err) {
      await db.run("ROLLBACK").catch(() => undefined);
      throw err;
    }
    return { bars: bars.length, actions: actions.length };
  } finally {
    await db.run(`DROP TABLE IF EXISTS temp.main.${barsStaging}`).catch(() => undefined);
    await db.run(`DROP TABLE IF EXISTS temp.main.${actionsStaging}`).catch(() => undefined);
  }
}

/** A SQL string literal: single quotes doubled. */
function quoteString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
