/**
 * `BarsWriter`'s twin on PostgreSQL: the same group commit (`../group-commit.ts`: queue, batches,
 * entries whole or not at all, back-pressure, cancellation, counts), each batch written in one
 * transaction by COPY into TEMP staging tables, then upserts (`bars-upsert.ts`) that keep
 * `bar_symbols` exact.
 */
import type { Bar, CorporateAction, StepSinks } from "../../market/bars.js";
import { type BarsBatch, type BarsWriterOptions, GroupCommitWriter, tradesOf } from "../group-commit.js";
import { storedDate } from "../values.js";
import {
  ACTION_STAGING_COLUMNS,
  BAR_STAGING_COLUMNS,
  createActionsStagingPg,
  createBarsStagingPg,
  upsertActionsPg,
  upsertBarsPg,
} from "./bars-upsert.js";
import { copyCsvPg, csvBlocks, csvLine } from "./copy.js";
import { type PgDb, withPgTransaction } from "./transaction.js";

export class BarsWriterPg extends GroupCommitWriter {
  constructor(
    private readonly db: PgDb,
    source: string,
    options: BarsWriterOptions = {},
  ) {
    super(source, options);
  }

  /** Nothing held between batches: each batch's staging goes with its transaction. */
  protected async release(): Promise<void> {}

  protected async writeRows({ bars, actions }: BarsBatch): Promise<void> {
    // Converted first: a value that cannot be stored (a bad date) fails before any statement.
    const barLines = bars.map(barLine);
    const actionLines = actions.map(actionLine);
    await withPgTransaction(this.db, async (tx) => {
      if (barLines.length > 0) {
        const staging = await createBarsStagingPg(tx);
        await copyCsvPg(tx, staging, BAR_STAGING_COLUMNS, csvBlocks(barLines));
        await upsertBarsPg(tx, this.source, staging);
      }
      if (actionLines.length > 0) {
        const staging = await createActionsStagingPg(tx);
        await copyCsvPg(tx, staging, ACTION_STAGING_COLUMNS, csvBlocks(actionLines));
        await upsertActionsPg(tx, this.source, staging);
      }
    });
  }
}

/** A bar as a CSV line in `BAR_STAGING_COLUMNS` order. */
function barLine(b: Bar): string {
  return csvLine([
    b.symbol,
    storedDate(b.date),
    b.open,
    b.high,
    b.low,
    b.close,
    b.volume,
    b.vwap ?? null,
    tradesOf(b),
    b.adj_close ?? null,
  ]);
}

/** A corporate action as a CSV line in `ACTION_STAGING_COLUMNS` order. */
function actionLine(a: CorporateAction): string {
  return csvLine([a.symbol, storedDate(a.date), a.kind, a.value, a.currency]);
}

/** Sinks writing to PostgreSQL through `db` (the pool), stopping when `signal` aborts. */
export function stepSinksPg(db: PgDb, signal?: AbortSignal): StepSinks {
  return { bars: (source) => new BarsWriterPg(db, source, signal ? { signal } : {}) };
}
