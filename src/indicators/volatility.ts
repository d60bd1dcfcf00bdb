/**
 * Bollinger Bands, average true range and ADX as TA-Lib computes them (TA_BBANDS with SMA,
 * TA_ATR, TA_ADX; unstable periods 0), over Float64Array: NaN before TA-Lib's first output row.
 */
import { nanArray, smaInto } from "./averages.js";
import { isZero } from "./momentum.js";

/**
 * Bollinger Bands: middle = SMA(period), upper/lower = middle +/- k * the population standard
 * deviation over the same rows, computed as TA-Lib does (a running sum of squares minus the
 * squared mean; 0 when that is below 1e-14). First value at period - 1.
 */
export function bbands(
  close: Float64Array,
  period: number,
  k: number,
): { upper: Float64Array; middle: Float64Array; lower: Float64Array } {
  const n = close.length;
  const middle = nanArray(n);
  const upper = nanArray(n);
  const lower = nanArray(n);
  const first = period - 1;
  if (first >= n) return { upper, middle, lower };
  smaInto(close, 0, period, middle);
  let total2 = 0;
  let startSum = 0;
  for (let i = 0; i < first; i++) {
    const v = close[i]!;
    total2 += v * v;
  }
  for (let end = first; end < n; end++, startSum++) {
    let v = close[end]!;
    total2 += v * v;
    let mean2 = total2 / period;
    v = close[startSum]!;
    total2 -= v * v;
    const mean = middle[end]!;
    mean2 -= mean * mean;
    const deviation = mean2 < 1e-14 ? 0 : Math.sqrt(mean2);
    const width = deviation * k;
    upper[end] = mean + width;
    lower[end] = mean - width;
  }
  return { upper, middle, lower };
}

/** TA_TRANGE at row `i` (i >= 1): the greatest of high - low, |previous close - high| and |previous close - low|. */
function trueRange(high: Float64Array, low: Float64Array, close: Float64Array, i: number): number {
  const h = high[i]!;
  const l = low[i]!;
  const yc = close[i - 1]!;
  let greatest = h - l;
  const v2 = Math.abs(yc - h);
  if (v2 > greatest) greatest = v2;
  const v3 = Math.abs(yc - l);
  if (v3 > greatest) greatest = v3;
  return greatest;
}

/**
 * Average true range with Wilder smoothing: TA_ATR. The true range starts at row 1; the first ATR
 * (row `period`) is the mean of the first `period` true ranges, then atr = (atr * (period - 1) + tr) / period.
 */
export function atr(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  period: number,
): Float64Array {
  const n = close.length;
  const out = nanArray(n);
  if (period >= n) return out;
  if (period <= 1) {
    for (let i = 1; i < n; i++) out[i] = trueRange(high, low, close, i);
    return out;
  }
  let total = 0;
  for (let i = 1; i < period; i++) total += trueRange(high, low, close, i);
  total += trueRange(high, low, close, period);
  let prev = total / period;
  out[period] = prev;
  for (let i = period + 1; i < n; i++) {
    prev *= period - 1;
    prev += trueRange(high, low, close, i);
    prev /= period;
    out[i] = prev;
  }
  return out;
}

/**
 * Average directional index: TA_ADX. +DM, -DM and the true range are Wilder sums seeded over the
 * first period - 1 changes; DX is averaged over the next `period` rows for the first ADX (row
 * 2 * period - 1), then adx = (adx * (period - 1) + dx) / period. DX is skipped (the ADX carried)
 * where the true range or +DI + -DI is zero.
 */
export function adx(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  period: number,
): Float64Array {
  const n = close.length;
  const out = nanArray(n);
  const first = 2 * period - 1;
  if (first >= n) return out;
  let today = 0;
  let prevHigh = high[0]!;
  let prevLow = low[0]!;
  let prevClose = close[0]!;
  let prevMinusDM = 0;
  let prevPlusDM = 0;
  let prevTR = 0;
  for (let i = period - 1; i > 0; i--) {
    today++;
    let tmp = high[today]!;
    const diffP = tmp - prevHigh;
    prevHigh = tmp;
    tmp = low[today]!;
    const diffM = prevLow - tmp;
    prevLow = tmp;
    if (diffM > 0 && diffP < diffM) prevMinusDM += diffM;
    else if (diffP > 0 && diffP > diffM) prevPlusDM += diffP;
    prevTR += trueRangeOf(prevHigh, prevLow, prevClose);
    prevClose = close[today]!;
  }
  /** One row of Wilder smoothing; returns DX, or NaN where TA-Lib skips it. */
  const step = (): number => {
    today++;
    let tmp = high[today]!;
    const diffP = tmp - prevHigh;
    prevHigh = tmp;
    tmp = low[today]!;
    const diffM = prevLow - tmp;
    prevLow = tmp;
    prevMinusDM -= prevMinusDM / period;
    prevPlusDM -= prevPlusDM / period;
    if (diffM > 0 && diffP < diffM) prevMinusDM += diffM;
    else if (diffP > 0 && diffP > diffM) prevPlusDM += diffP;
    prevTR = prevTR - prevTR / period + trueRangeOf(prevHigh, prevLow, prevClose);
    prevClose = close[today]!;
    if (isZero(prevTR)) return Number.NaN;
    const minusDI = 100.0 * (prevMinusDM / prevTR);
    const plusDI = 100.0 * (prevPlusDM / prevTR);
    const sum = minusDI + plusDI;
    if (isZero(sum)) return Number.NaN;
    return 100.0 * (Math.abs(minusDI - plusDI) / sum);
  };
  let sumDX = 0;
  for (let i = period; i > 0; i--) {
    const dx = step();
    if (!Number.isNaN(dx)) sumDX += dx;
  }
  let prevADX = sumDX / period;
  out[today] = prevADX;
  while (today < n - 1) {
    const dx = step();
    if (!Number.isNaN(dx)) prevADX = (prevADX * (period - 1) + dx) / period;
    out[today] = prevADX;
  }
  return out;
}

/** TA-Lib's TRUE_RANGE macro: today's high and low against yesterday's close. */
function trueRangeOf(h: number, l: number, yc: number): number {
  let out = h - l;
  const v2 = Math.abs(h - yc);
  if (v2 > out) out = v2;
  const v3 = Math.abs(l - yc);
  if (v3 > out) out = v3;
  return out;
}
