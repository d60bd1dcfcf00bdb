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
  copyTextRowsPg,
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

/** COPY text handed to the stream at a time (bytes, about). */
const COPY_PIECE = 1 << 20;

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
        const values = (dayText: (day: number) => string) =>
          copyText(plan, batch, bars, last, counted, ctx.signal, dayText);
        if (options.fullRefresh && !(await othersStoredPg(tx, series, others))) {
          // Nothing stored to keep: the series' rows go, the new ones are COPYed in place.
          await deleteIndicatorRowsPg(tx, series);
          await copyTextRowsPg(tx, INDICATOR_TABLE, ["series", "date", ...written], values(isoDay));
          return;
        }
        const stage = await createIndicatorStagePg(tx, written);
        await copyTextRowsPg(tx, stage, ["series", "day", ...written], values(String));
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
 * The batch's values as COPY text for `(series, <day as dayText writes it>, <written>)`, computed symbol
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
  dayText: (day: number) => string,
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
      piece += `${series}\t${dayText(day)}${line}\n`;
      if (piece.length >= COPY_PIECE) {
        yield piece;
        piece = "";
      }
    }
  }
  if (piece.length > 0) yield piece;
}

/** A day (since 1970-01-01) as `YYYY-MM-DD`, each formatted once. */
const isoDays = new Map<number, string>();
function isoDay(day: number): string {
  let text = isoDays.get(day);
  if (text === undefined) {
    text = new Date(day * 86_400_000).toISOString().slice(0, 10);
    isoDays.set(day, text);
  }
  return text;
}

/**
 * A double in COPY's text: JavaScript's shortest round-trip form, which float8in reads back to the
 * same double (`Infinity` too); -0 spelled out, since String(-0) is "0" (DuckDB keeps the sign).
 */
export function copyDouble(v: number): string {
  return Object.is(v, -0) ? "-0" : String(v);
}
