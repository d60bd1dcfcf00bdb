/**
 * What one `indicators.compute` run computes, whichever backend stores it: the planned outputs,
 * the symbols with something new, their batches, and the values of one symbol's series with the
 * rule deciding which of them are written. The step's DuckDB path (`indicators-compute.ts`) and
 * its PostgreSQL path (`indicators-compute-pg.ts`) differ only in how bars are read and values stored.
 */
import { type BarSeries, computeIndicator } from "../indicators/index.js";
import type { IndicatorBars } from "../store/indicators.js";

/** Bars read (and values written) per transaction: bounds memory; a killed run loses at most one batch. */
export const BATCH_BARS = 500_000;

export interface ComputeOptions {
  source: string;
  symbols?: string[] | undefined;
  indicators: readonly string[];
  fullRefresh: boolean;
  /** Bars per batch (one transaction each); tests make it small. */
  batchBars?: number;
}

/** One indicator to compute. */
export interface PlannedIndicator {
  kind: string;
  params: number[];
  /** Indexes of its outputs in `written`. */
  columns: number[];
}

/** The run's work: every output name written (each once, in order), and the indicators giving them. */
export interface IndicatorPlan {
  written: string[];
  planned: PlannedIndicator[];
}

/** One symbol's bars, oldest first, with their dates as days since 1970-01-01. */
export interface SymbolBars extends BarSeries {
  days: Int32Array;
}

/** A symbol of the source with its series id, bar count and last bar (days since 1970-01-01). */
export interface SymbolCount {
  symbol: string;
  series: number;
  bars: number;
  lastBar: number;
}

/** A symbol of a batch and its series id. */
export interface BatchSymbol {
  symbol: string;
  series: number;
}

/**
 * The symbols to compute. Incremental (`last` from the store): a symbol whose every output already
 * has a value on (or after) its last bar has nothing new, and its bars are not even read.
 */
export function pendingSymbols(
  counts: readonly SymbolCount[],
  last: ReadonlyMap<number, readonly (number | null)[]>,
): SymbolCount[] {
  return counts.filter(({ series, lastBar }) => {
    const stored = last.get(series);
    return stored === undefined || stored.some((day) => day === null || day < lastBar);
  });
}

/** Consecutive symbols grouped into batches of at most `batchBars` bars (a symbol alone may exceed it). */
export function batchesOf(symbols: readonly SymbolCount[], batchBars: number): BatchSymbol[][] {
  const batches: BatchSymbol[][] = [];
  for (let start = 0; start < symbols.length; ) {
    let end = start;
    let bars = 0;
    while (end < symbols.length && (end === start || bars + symbols[end]!.bars <= batchBars)) {
      bars += symbols[end]!.bars;
      end++;
    }
    batches.push(symbols.slice(start, end).map(({ symbol, series }) => ({ symbol, series })));
    start = end;
  }
  return batches;
}

/**
 * Every written output over a symbol's whole series, indexed like `plan.written` (EMA-family and
 * Wilder-smoothed values depend on all history: this is what makes an incremental run exactly
 * equal a full refresh).
 */
export function computeOutputs(plan: IndicatorPlan, bars: BarSeries): Float64Array[] {
  const outputs: Float64Array[] = new Array(plan.written.length);
  for (const p of plan.planned) {
    computeIndicator(p.kind, p.params, bars).forEach((output, k) => {
      outputs[p.columns[k]!] = output;
    });
  }
  return outputs;
}

/** Per output, the day after which its values are written: the last one stored, or none. */
export function writtenAfter(outputs: number, lastDays: readonly (number | null)[] | undefined): number[] {
  return Array.from({ length: outputs }, (_, c) => lastDays?.[c] ?? Number.NEGATIVE_INFINITY);
}

/** Whether a computed value is written: a value (not NaN: warm-up, NULL prices) after the output's last stored day. */
export function isWritten(day: number, after: number, value: number): boolean {
  return day > after && !Number.isNaN(value);
}

/** The step's closing log line. */
export function computedMessage(
  options: ComputeOptions,
  outputs: number,
  symbols: number,
  rows: number,
): string {
  return `${options.fullRefresh ? "recomputed" : "computed"} ${outputs} indicator output(s) for ${symbols} symbol(s) of ${options.source}: ${rows} value(s) written`;
}

/** The batch's bars split per symbol, indexed like the batch (undefined: a symbol without bars). */
export function barsBySymbol(columns: IndicatorBars, count: number): (SymbolBars | undefined)[] {
  const { idx, day, high, low, close, volume } = columns;
  const n = idx.length;
  const series: (SymbolBars | undefined)[] = new Array(count).fill(undefined);
  for (let from = 0; from < n; ) {
    const symbol = idx[from]!;
    let to = from + 1;
    while (to < n && idx[to] === symbol) to++;
    series[symbol] = {
      days: day.slice(from, to),
      high: high.slice(from, to),
      low: low.slice(from, to),
      close: close.slice(from, to),
      volume: volume.slice(from, to),
    };
    from = to;
  }
  return series;
}
