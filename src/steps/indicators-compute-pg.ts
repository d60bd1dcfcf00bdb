/**
 * `indicators.compute` on PostgreSQL (`ctx.pg`): the DuckDB path's work (`indicators-work.ts`: the
 * same symbols, batches, values and rule for which are written), with bars read from PostgreSQL and
 * values stored there (`../store/pg/indicators.ts`). Per batch, one transaction holding the locks
 * of its series: the values are computed symbol by symbol as COPY streams them, into a TEMP
 * staging table then upserted, or, for a full refresh with nothing else stored in those series'
 * rows, straight into indicator_values once the old rows are deleted. While one batch is written,
 * the next one's bars are read (on another connection of the pool).
 */
import type { StepContext } from "../pipeline/step-spec.js";
import { INDICATOR_TABLE } from "../store/indicators.js";
import { abortReason } from "../store/interrupt.js";
import {
  copyBinaryRowsPg,
  createIndicatorStagePg,
  deleteIndicatorRowsPg,
  ensureIndicatorColumnsPg,
  ensureSeriesPg,
  indicatorColumnsPg,
  lastIndicatorDaysPg,
  lockIndicatorSeriesPg,
  mergeIndicatorStagePg,
  othersStoredPg,
  readIndicatorBarsPg,
  symbolBarCountsPg,
} from "../store/pg/indicators.js";
import { type PgDb, withPgTransaction } from "../store/pg/transaction.js";
import {
  BATCH_BARS,
  type BatchSymbol,
  barsBySymbol,
  batchesOf,
  type ComputeOptions,
  computedMessage,
  computeOutputs,
  type IndicatorPlan,
  isWritten,
  pendingSymbols,
  type SymbolBars,
  writtenAfter,
} from "./indicators-work.js";

/** COPY data handed to the stream at a time (bytes, about). */
const COPY_PIECE = 1 << 20;

/** Days from 1970-01-01 to 2000-01-01: a binary `date` counts from the latter. */
const PG_EPOCH_DAY = 10_957;

export async function computeIndicatorsPg(
  ctx: StepContext,
  db: PgDb,
  options: ComputeOptions,
  plan: IndicatorPlan,
): Promise<{ rows: number; symbols: number }> {
  const { written } = plan;
  await ensureIndicatorColumnsPg(db, written);
  await ensureSeriesPg(db, options.source, options.symbols);
  const counts = await symbolBarCountsPg(db, options.source, options.symbols);
  const last = options.fullRefresh
    ? new Map<number, (number | null)[]>()
    : await lastIndicatorDaysPg(db, options.source, written);
  const batches = batchesOf(pendingSymbols(counts, last), options.batchBars ?? BATCH_BARS);

  const read = async (batch: BatchSymbol[]) => {
    const columns = await readIndicatorBarsPg(
      db,
      options.source,
      batch.map((b) => b.symbol),
    );
    return barsBySymbol(columns, batch.length);
  };
  let rows = 0;
  let symbolsDone = 0;
  let reading = batches.length > 0 ? read(batches[0]!) : undefined;
  try {
    for (let k = 0; k < batches.length; k++) {
      const batch = batches[k]!;
      const bars = await reading!;
      reading = k + 1 < batches.length ? read(batches[k + 1]!) : undefined;
      if (ctx.signal.aborted) throw abortReason(ctx.signal);
      const withBars = batch.filter((_, i) => bars[i] !== undefined);
      const counted = { values: 0 };
      const series = withBars.map((b) => b.series);
      await withPgTransaction(db, async (tx) => {
        await lockIndicatorSeriesPg(tx, series);
        // The columns as they are now: another task may have added (and, before this lock, filled)
        // some since this one began; a full refresh must keep their values.
        const others = (await indicatorColumnsPg(tx)).filter((c) => !written.includes(c));
        const values = (dayFrom: number) => copyRows(plan, batch, bars, last, counted, ctx.signal, dayFrom);
        if (options.fullRefresh && !(await othersStoredPg(tx, series, others))) {
          // Nothing stored to keep: the series' rows go, the new ones are COPYed in place.
          await deleteIndicatorRowsPg(tx, series);
          await copyBinaryRowsPg(tx, INDICATOR_TABLE, ["series", "date", ...written], values(PG_EPOCH_DAY));
          return;
        }
        const stage = await createIndicatorStagePg(tx, written);
        await copyBinaryRowsPg(tx, stage, ["series", "day", ...written], values(0));
        await mergeIndicatorStagePg(tx, { stage, series, written, others, full: options.fullRefresh });
      });
      rows += counted.values;
      symbolsDone += withBars.length;
    }
  } finally {
    // A batch failed: the read under way must not end as an unhandled rejection.
    reading?.catch(() => undefined);
  }
  ctx.log("info", computedMessage(options, written.length, symbolsDone, rows));
  return { rows, symbols: symbolsDone };
}

/**
 * The batch's values as rows of COPY's binary format for `(series integer, <day - dayFrom> as a
 * date or integer, <written> double precision)`, computed symbol by symbol as the stream asks for
 * them; `counted.values` counts the values written. A row goes when one of its values is written
 * (`isWritten`); its other values are NULL. Binary, not text: a double travels as its 8 bytes
 * (exact, -0 and infinities included) instead of JavaScript's shortest text that PostgreSQL then
 * parses: the COPY of a full refresh took ~1.5 s per 500,000 bars as text (bench/postgres-indicators.mjs).
 */
function* copyRows(
  plan: IndicatorPlan,
  batch: readonly BatchSymbol[],
  bars: readonly (SymbolBars | undefined)[],
  last: ReadonlyMap<number, readonly (number | null)[]>,
  counted: { values: number },
  signal: AbortSignal,
  dayFrom: number,
): Generator<Buffer> {
  const width = plan.written.length;
  // Most a row takes: field count, series and day (length + 4 bytes each), each value (length + 8).
  const rowBytes = 2 + 2 * 8 + width * 12;
  let piece = Buffer.allocUnsafe(Math.max(COPY_PIECE, rowBytes));
  let at = 0;
  for (const [i, symbolBars] of bars.entries()) {
    if (symbolBars === undefined) continue;
    if (signal.aborted) throw abortReason(signal);
    const { series } = batch[i]!;
    const outputs = computeOutputs(plan, symbolBars);
    const after = writtenAfter(width, last.get(series));
    const days = symbolBars.days;
    for (let r = 0; r < days.length; r++) {
      const day = days[r]!;
      let any = false;
      for (let c = 0; c < width && !any; c++) any = isWritten(day, after[c]!, outputs[c]![r]!);
      if (!any) continue;
      if (at + rowBytes > piece.length) {
        yield piece.subarray(0, at);
        piece = Buffer.allocUnsafe(piece.length);
        at = 0;
      }
      at = piece.writeInt16BE(2 + width, at);
      at = piece.writeInt32BE(4, at);
      at = piece.writeInt32BE(series, at);
      at = piece.writeInt32BE(4, at);
      at = piece.writeInt32BE(day - dayFrom, at);
      for (let c = 0; c < width; c++) {
        const v = outputs[c]![r]!;
        if (isWritten(day, after[c]!, v)) {
          at = piece.writeInt32BE(8, at);
          at = piece.writeDoubleBE(v, at);
          counted.values++;
        } else at = piece.writeInt32BE(-1, at); // NULL
      }
    }
  }
  if (at > 0) yield piece.subarray(0, at);
}
