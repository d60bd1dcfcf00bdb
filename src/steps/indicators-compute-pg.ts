/**
 * `indicators.compute` on PostgreSQL (`ctx.pg`): the DuckDB path's work (`indicators-work.ts`: the
 * same symbols, batches, values and rule for which are written), with bars read from PostgreSQL and
 * values stored there (`../store/pg/indicators.ts`). Per batch, one transaction: the values are
 * computed symbol by symbol as COPY streams them into a TEMP staging table, then upserted.
 * While one batch is written, the next one's bars are read (on another connection of the pool).
 */
import type { StepContext } from "../pipeline/step-spec.js";
import { abortReason } from "../store/interrupt.js";
import {
  copyTextRowsPg,
  createIndicatorStagePg,
  ensureIndicatorColumnsPg,
  ensureSeriesPg,
  lastIndicatorDaysPg,
  mergeIndicatorStagePg,
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

/** COPY text handed to the stream at a time (bytes, about). */
const COPY_PIECE = 1 << 20;

export async function computeIndicatorsPg(
  ctx: StepContext,
  db: PgDb,
  options: ComputeOptions,
  plan: IndicatorPlan,
): Promise<{ rows: number; symbols: number }> {
  const { written } = plan;
  const all = await ensureIndicatorColumnsPg(db, written);
  const others = all.filter((c) => !written.includes(c));
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
      await withPgTransaction(db, async (tx) => {
        const stage = await createIndicatorStagePg(tx, written);
        await copyTextRowsPg(tx, stage, copyText(plan, batch, bars, last, counted, ctx.signal));
        await mergeIndicatorStagePg(tx, {
          stage,
          series: withBars.map((b) => b.series),
          written,
          others,
          full: options.fullRefresh,
        });
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
 * The batch's values as COPY text for the staging table `(series, day, <written>)`, computed symbol
 * by symbol as the stream asks for them; `counted.values` counts the values written. A row goes
 * when one of its values is written (`isWritten`); its other values are NULL.
 */
function* copyText(
  plan: IndicatorPlan,
  batch: readonly BatchSymbol[],
  bars: readonly (SymbolBars | undefined)[],
  last: ReadonlyMap<number, readonly (number | null)[]>,
  counted: { values: number },
  signal: AbortSignal,
): Generator<string> {
  const width = plan.written.length;
  let piece = "";
  for (const [i, symbolBars] of bars.entries()) {
    if (symbolBars === undefined) continue;
    if (signal.aborted) throw abortReason(signal);
    const { series } = batch[i]!;
    const outputs = computeOutputs(plan, symbolBars);
    const after = writtenAfter(width, last.get(series));
    const days = symbolBars.days;
    for (let r = 0; r < days.length; r++) {
      const day = days[r]!;
      let line = "";
      let any = false;
      for (let c = 0; c < width; c++) {
        const v = outputs[c]![r]!;
        if (isWritten(day, after[c]!, v)) {
          line += `\t${copyDouble(v)}`;
          any = true;
          counted.values++;
        } else line += "\t\\N";
      }
      if (!any) continue;
      piece += `${series}\t${day}${line}\n`;
      if (piece.length >= COPY_PIECE) {
        yield piece;
        piece = "";
      }
    }
  }
  if (piece.length > 0) yield piece;
}

/**
 * A double in COPY's text: JavaScript's shortest round-trip form, which float8in reads back to the
 * same double (`Infinity` too); -0 spelled out, since String(-0) is "0" (DuckDB keeps the sign).
 */
export function copyDouble(v: number): string {
  return Object.is(v, -0) ? "-0" : String(v);
}
