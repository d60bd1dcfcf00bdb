/**
 * Momentum oscillators as TA-Lib computes them (TA_RSI, TA_MACD, TA_ROC, TA_STOCH, TA_WILLR), over
 * Float64Array: NaN before TA-Lib's first output row, then TA-Lib's values (unstable periods 0,
 * default compatibility, SMA smoothing for the stochastic).
 */
import { emaInto, nanArray, perToK, smaInto } from "./averages.js";

/** TA-Lib's TA_IS_ZERO: |v| < 1e-14. */
export function isZero(v: number): boolean {
  return -1e-14 < v && v < 1e-14;
}

/**
 * Relative strength index with Wilder smoothing: TA_RSI. The first average gain and loss are the
 * means of the first `period` changes, so the first value is at `period`; 0 when nothing moved.
 */
export function rsi(close: Float64Array, period: number): Float64Array {
  const n = close.length;
  const out = nanArray(n);
  if (period >= n) return out;
  if (period === 1) {
    out.set(close.subarray(1), 1);
    return out;
  }
  let today = 0;
  let prevValue = close[today]!;
  let prevGain = 0;
  let prevLoss = 0;
  today++;
  for (let i = period; i > 0; i--) {
    const value = close[today++]!;
    const change = value - prevValue;
    prevValue = value;
    if (change < 0) prevLoss -= change;
    else prevGain += change;
  }
  prevLoss /= period;
  prevGain /= period;
  let total = prevGain + prevLoss;
  out[period] = isZero(total) ? 0 : 100 * (prevGain / total);
  while (today < n) {
    const value = close[today]!;
    const change = value - prevValue;
    prevValue = value;
    prevLoss *= period - 1;
    prevGain *= period - 1;
    if (change < 0) prevLoss -= change;
    else prevGain += change;
    prevLoss /= period;
    prevGain /= period;
    total = prevGain + prevLoss;
    out[today++] = isZero(total) ? 0 : 100 * (prevGain / total);
  }
  return out;
}

/**
 * MACD as TA_MACD computes it: both EMAs start at the slow one's first row (the fast EMA is
 * seeded late, with the SMA of the `fast` values ending there, so MACD is not EMA(fast) -
 * EMA(slow) on the first rows), the signal is the EMA of the MACD line seeded with the SMA of its
 * first `signal` values, hist = macd - signal. All three start at (slow - 1) + (signal - 1).
 */
export function macd(
  close: Float64Array,
  fast: number,
  slow: number,
  signal: number,
): { macd: Float64Array; signal: Float64Array; hist: Float64Array } {
  const n = close.length;
  if (slow < fast) [fast, slow] = [slow, fast];
  const line = nanArray(n);
  const sig = nanArray(n);
  const hist = nanArray(n);
  const start = slow - 1; // where both EMAs start
  const first = start + signal - 1; // the first output row
  if (first >= n) return { macd: line, signal: sig, hist };
  const slowEma = nanArray(n);
  const fastEma = nanArray(n);
  emaInto(close, start, slow, perToK(slow), slowEma);
  emaInto(close, start, fast, perToK(fast), fastEma);
  for (let i = start; i < n; i++) line[i] = fastEma[i]! - slowEma[i]!;
  emaInto(line, first, signal, perToK(signal), sig);
  for (let i = first; i < n; i++) hist[i] = line[i]! - sig[i]!;
  line.fill(Number.NaN, 0, first);
  return { macd: line, signal: sig, hist };
}

/** Rate of change in percent, ((x / x[-period]) - 1) * 100: TA_ROC; 0 when x[-period] is 0. First value at period. */
export function roc(close: Float64Array, period: number): Float64Array {
  const n = close.length;
  const out = nanArray(n);
  for (let i = period; i < n; i++) {
    const previous = close[i - period]!;
    out[i] = previous !== 0 ? (close[i]! / previous - 1.0) * 100.0 : 0;
  }
  return out;
}

/**
 * The highest high and lowest low over the `period` rows ending at each row from `period - 1`
 * on, tracked as TA-Lib does (rescanning the window only when the extreme leaves it).
 */
function extremes(
  high: Float64Array,
  low: Float64Array,
  period: number,
  each: (today: number, highest: number, lowest: number) => void,
): void {
  const n = high.length;
  let trailing = 0;
  let lowestIdx = -1;
  let highestIdx = -1;
  let lowest = 0;
  let highest = 0;
  for (let today = period - 1; today < n; today++, trailing++) {
    let tmp = low[today]!;
    if (lowestIdx < trailing) {
      lowestIdx = trailing;
      lowest = low[lowestIdx]!;
      for (let i = lowestIdx + 1; i <= today; i++) {
        tmp = low[i]!;
        if (tmp < lowest) {
          lowestIdx = i;
          lowest = tmp;
        }
      }
    } else if (tmp <= lowest) {
      lowestIdx = today;
      lowest = tmp;
    }
    tmp = high[today]!;
    if (highestIdx < trailing) {
      highestIdx = trailing;
      highest = high[highestIdx]!;
      for (let i = highestIdx + 1; i <= today; i++) {
        tmp = high[i]!;
        if (tmp > highest) {
          highestIdx = i;
          highest = tmp;
        }
      }
    } else if (tmp >= highest) {
      highestIdx = today;
      highest = tmp;
    }
    each(today, highest, lowest);
  }
}

/**
 * Slow stochastic: TA_STOCH with SMA smoothing (TA-Lib's default MAType). Fast %K over `kPeriod`
 * rows (0 on a flat range), %K = SMA(fast %K, slowK), %D = SMA(%K, slowD); both start at
 * (kPeriod - 1) + (slowK - 1) + (slowD - 1).
 */
export function stoch(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  kPeriod: number,
  slowK: number,
  slowD: number,
): { k: Float64Array; d: Float64Array } {
  const n = close.length;
  const fastK = nanArray(n);
  extremes(high, low, kPeriod, (today, highest, lowest) => {
    const diff = (highest - lowest) / 100.0;
    fastK[today] = diff !== 0 ? (close[today]! - lowest) / diff : 0;
  });
  const k = nanArray(n);
  const d = nanArray(n);
  smaInto(fastK, kPeriod - 1, slowK, k);
  const kStart = kPeriod - 1 + slowK - 1;
  if (kStart < n) smaInto(k, kStart, slowD, d);
  k.fill(Number.NaN, 0, Math.min(n, kStart + slowD - 1));
  return { k, d };
}

/** Williams' %R, -100 * (highest - close) / (highest - lowest): TA_WILLR; 0 on a flat range. First value at period - 1. */
export function willr(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  period: number,
): Float64Array {
  const out = nanArray(close.length);
  extremes(high, low, period, (today, highest, lowest) => {
    const diff = (highest - lowest) / -100.0;
    out[today] = diff !== 0 ? (highest - close[today]!) / diff : 0;
  });
  return out;
}
