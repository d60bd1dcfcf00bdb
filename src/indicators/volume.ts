/**
 * Volume indicators: on-balance volume as TA_OBV computes it, and a rolling VWAP (TA-Lib has no
 * VWAP; tickflow's definition is below). Over Float64Array: NaN before the first output row.
 */
import { nanArray } from "./averages.js";

/** On-balance volume: TA_OBV. Starts at volume[0] on row 0, then adds (close up) or subtracts (close down) each volume. */
export function obv(close: Float64Array, volume: Float64Array): Float64Array {
  const n = close.length;
  const out = nanArray(n);
  if (n === 0) return out;
  let prevOBV = volume[0]!;
  let prevReal = close[0]!;
  for (let i = 0; i < n; i++) {
    const value = close[i]!;
    if (value > prevReal) prevOBV += volume[i]!;
    else if (value < prevReal) prevOBV -= volume[i]!;
    out[i] = prevOBV;
    prevReal = value;
  }
  return out;
}

/**
 * Rolling volume-weighted average price over `period` sessions (not in TA-Lib; tickflow's
 * definition): sum(typical price * volume) / sum(volume) over the `period` rows ending at each
 * row, typical price = (high + low + close) / 3. First value at period - 1; 0 where the window's
 * volume is 0. Each window is summed afresh (no running sum), so no rounding error accumulates.
 */
export function vwap(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  volume: Float64Array,
  period: number,
): Float64Array {
  const n = close.length;
  const out = nanArray(n);
  if (period > n) return out;
  const pv = new Float64Array(n);
  for (let i = 0; i < n; i++) pv[i] = ((high[i]! + low[i]! + close[i]!) / 3) * volume[i]!;
  for (let i = period - 1; i < n; i++) {
    let sumPV = 0;
    let sumV = 0;
    for (let j = i - period + 1; j <= i; j++) {
      sumPV += pv[j]!;
      sumV += volume[j]!;
    }
    out[i] = sumV !== 0 ? sumPV / sumV : 0;
  }
  return out;
}
