/**
 * Moving averages as TA-Lib computes them (TA_SMA, TA_EMA, TA_WMA), over Float64Array. Every
 * function returns an array as long as its input: NaN before TA-Lib's first output row, then the
 * values, computed in the same order of floating-point operations as TA-Lib's C code.
 */

/** A new output array: NaN everywhere (no value yet). */
export function nanArray(length: number): Float64Array {
  return new Float64Array(length).fill(Number.NaN);
}

/**
 * TA_INT_SMA over `input[from..]` into `out`: a running sum, first value at `from + period - 1`.
 * The building block of SMA, Bollinger Bands and the stochastic's smoothing.
 */
export function smaInto(input: Float64Array, from: number, period: number, out: Float64Array): void {
  const n = input.length;
  const first = from + period - 1;
  if (first >= n) return;
  let total = 0;
  let i = from;
  while (i < first) total += input[i++]!;
  let trailing = from;
  while (i < n) {
    total += input[i]!;
    const value = total;
    total -= input[trailing++]!;
    out[i++] = value / period;
  }
}

/** Simple moving average: TA_SMA. First value at period - 1. */
export function sma(input: Float64Array, period: number): Float64Array {
  const out = nanArray(input.length);
  smaInto(input, 0, period, out);
  return out;
}

/**
 * TA_INT_EMA with TA-Lib's default compatibility: the seed is the SMA of `period` values ending
 * at `start` (so of input[start - period + 1 .. start]), then prev = (x - prev) * k + prev. Values
 * from `start` on. `start` must be at least `from + period - 1`.
 */
export function emaInto(
  input: Float64Array,
  start: number,
  period: number,
  k: number,
  out: Float64Array,
): void {
  const n = input.length;
  if (start >= n) return;
  let today = start - (period - 1);
  let sum = 0;
  for (let i = period; i > 0; i--) sum += input[today++]!;
  let prev = sum / period;
  out[start] = prev;
  while (today < n) {
    prev = (input[today]! - prev) * k + prev;
    out[today++] = prev;
  }
}

/** TA-Lib's PER_TO_K: the EMA smoothing factor of a period. */
export function perToK(period: number): number {
  return 2 / (period + 1);
}

/** Exponential moving average: TA_EMA, seeded with the SMA of the first `period` values. First value at period - 1. */
export function ema(input: Float64Array, period: number): Float64Array {
  const out = nanArray(input.length);
  emaInto(input, period - 1, period, perToK(period), out);
  return out;
}

/** Weighted moving average (weights 1..period, the latest heaviest): TA_WMA. First value at period - 1. */
export function wma(input: Float64Array, period: number): Float64Array {
  const n = input.length;
  const out = nanArray(n);
  if (period === 1) {
    out.set(input);
    return out;
  }
  const start = period - 1;
  if (start >= n) return out;
  const divider = (period * (period + 1)) >> 1;
  let periodSum = 0;
  let periodSub = 0;
  let inIdx = 0;
  let trailing = 0;
  let i = 1;
  while (inIdx < start) {
    const value = input[inIdx++]!;
    periodSub += value;
    periodSum += value * i;
    i++;
  }
  let trailingValue = 0;
  while (inIdx < n) {
    const value = input[inIdx]!;
    periodSub += value;
    periodSub -= trailingValue;
    periodSum += value * period;
    trailingValue = input[trailing++]!;
    out[inIdx++] = periodSum / divider;
    periodSum -= periodSub;
  }
  return out;
}
