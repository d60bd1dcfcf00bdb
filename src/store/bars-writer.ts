/**
 * Group commit for bars_daily (and corporate_actions) on DuckDB: the queue and batching are
 * `GroupCommitWriter`'s (`group-commit.ts`, shared with PostgreSQL's `pg/bars-writer.ts`); a batch is
 * appended to TEMP staging tables, then moved with INSERT OR REPLACE in one transaction.
 */
import { BIGINT, DATE, DOUBLE, type DuckDBConnection, VARCHAR } from "@duckdb/node-api";
import type { Bar, CorporateAction } from "../market/bars.js";
import { appendChunks, type RowColumn, rowsToChunks } from "./append.js";
import { recordBarsWrite } from "./bar-symbols.js";
import { withConnectionLock } from "./connection-lock.js";
import { type BarsBatch, type BarsWriterOptions, GroupCommitWriter, tradesOf } from "./group-commit.js";
import { dateValue } from "./values.js";

export type { BarsWriterOptions } from "./group-commit.js";

let stagingCounter = 0;

export class BarsWriter extends GroupCommitWriter {
  private staging: string | undefined;

  constructor(
    private readonly db: DuckDBConnection,
    source: string,
    options: BarsWriterOptions = {},
  ) {
    super(source, options);
  }

  /** Drops the staging tables. */
  protected async release(): Promise<void> {
    if (this.staging === undefined) return;
    const staging = this.staging;
    this.staging = undefined;
    await withConnectionLock(this.db, async () => {
      await this.db.run(`DROP TABLE IF EXISTS temp.main.${staging}_bars`).catch(() => undefined);
      await this.db.run(`DROP TABLE IF EXISTS temp.main.${staging}_actions`).catch(() => undefined);
    });
  }

  protected writeRows({ bars, actions }: BarsBatch): Promise<void> {
    return withConnectionLock(this.db, async () => {
      const staging = await this.ensureStaging();
      const temp = { schema: "main", catalog: "temp" };
      try {
        await appendChunks(this.db, `${staging}_bars`, rowsToChunks(bars, BAR_COLUMNS), temp);
        await appendChunks(this.db, `${staging}_actions`, rowsToChunks(actions, ACTION_COLUMNS), temp);
        await this.db.run("BEGIN TRANSACTION");
        try {
          const source = sqlString(this.source);
          if (bars.length > 0) {
            await recordBarsWrite(this.db, this.source, `SELECT symbol, date FROM temp.main.${staging}_bars`);
            await this.db.run(`INSERT OR REPLACE INTO bars_daily
              (source, symbol, date, open, high, low, close, volume, vwap, trades, adj_close, ingested_at)
              SELECT ${source}, symbol, date, open, high, low, close, volume, vwap, trades, adj_close, now()
              FROM temp.main.${staging}_bars`);
          }
          if (actions.length > 0) {
            await this.db.run(`INSERT OR REPLACE INTO corporate_actions
              (source, symbol, date, kind, value, currency, ingested_at)
              SELECT ${source}, symbol, date, kind, value, currency, now()
              FROM temp.main.${staging}_actions`);
          }
          await this.db.run("COMMIT");
        } catch (err) {
          await this.db.run("ROLLBACK").catch(() => undefined);
          throw err;
        }
      } finally {
        await this.db.run(`DELETE FROM temp.main.${staging}_bars`).catch(() => undefined);
        await this.db.run(`DELETE FROM temp.main.${staging}_actions`).catch(() => undefined);
      }
    });
  }

  private async ensureStaging(): Promise<string> {
    if (this.staging !== undefined) return this.staging;
    const staging = `bars_writer_${process.pid}_${++stagingCounter}`;
    await this.db.run(`CREATE TEMP TABLE ${staging}_bars (symbol VARCHAR, date DATE, open DOUBLE,
      high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, vwap DOUBLE, trades BIGINT, adj_close DOUBLE)`);
    await this.db.run(
      `CREATE TEMP TABLE ${staging}_actions (symbol VARCHAR, date DATE, kind VARCHAR, value DOUBLE, currency VARCHAR)`,
    );
    this.staging = staging;
    return staging;
  }
}

/** The staging tables' columns, in their order. */
const BAR_COLUMNS: RowColumn<Bar>[] = [
  { type: VARCHAR, value: (b) => b.symbol },
  { type: DATE, value: (b) => dateValue(b.date) },
  { type: DOUBLE, value: (b) => b.open },
  { type: DOUBLE, value: (b) => b.high },
  { type: DOUBLE, value: (b) => b.low },
  { type: DOUBLE, value: (b) => b.close },
  { type: DOUBLE, value: (b) => b.volume },
  { type: DOUBLE, value: (b) => b.vwap ?? null },
  { type: BIGINT, value: tradesOf },
  { type: DOUBLE, value: (b) => b.adj_close ?? null },
];

const ACTION_COLUMNS: RowColumn<CorporateAction>[] = [
  { type: VARCHAR, value: (a) => a.symbol },
  { type: DATE, value: (a) => dateValue(a.date) },
  { type: VARCHAR, value: (a) => a.kind },
  { type: DOUBLE, value: (a) => a.value },
  { type: VARCHAR, value: (a) => a.currency },
];

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
