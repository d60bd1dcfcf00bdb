/**
 * The indicators of SPEC section 3, computed in memory over one symbol's bars (Float64Array, no
 * database). `computeIndicator(kind, params, bars)` returns one array per output, in the order of
 * `indicatorOutputNames` (src/steps/indicators-compute.ts); each is as long as the bars, NaN
 * before the indicator's first output row (`lookback`).
 */
import { ema, sma, wma } from "./averages.js";
import { macd, roc, rsi, stoch, willr } from "./momentum.js";
import { adx, atr, bbands } from "./volatility.js";
import { obv, vwap } from "./volume.js";

export { ema, nanArray, sma, wma } from "./averages.js";
export { macd, roc, rsi, stoch, willr } from "./momentum.js";
export { adx, atr, bbands } from "./volatility.js";
export { obv, vwap } from "./volume.js";

/** One symbol's bars, oldest first, all of equal length. */
export interface BarSeries {
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

/**
 * The outputs of one indicator (`kind` as in `parseIndicatorName`, `params` its numbers), in the
 * order of `indicatorOutputNames`.
 */
export function computeIndicator(kind: string, params: readonly number[], bars: BarSeries): Float64Array[] {
  const [a = 0, b = 0, c = 0] = params;
  const { high, low, close, volume } = bars;
  switch (kind) {
    case "sma":
      return [sma(close, a)];
    case "ema":
      return [ema(close, a)];
    case "wma":
      return [wma(close, a)];
    case "rsi":
      return [rsi(close, a)];
    case "macd": {
      const m = macd(close, a, b, c);
      return [m.macd, m.signal, m.hist];
    }
    case "bbands": {
      const bands = bbands(close, a, b);
      return [bands.upper, bands.middle, bands.lower];
    }
    case "atr":
      return [atr(high, low, close, a)];
    case "adx":
      return [adx(high, low, close, a)];
    case "stoch": {
      const s = stoch(high, low, close, a, b, c);
      return [s.k, s.d];
    }
    case "willr":
      return [willr(high, low, close, a)];
    case "roc":
      return [roc(close, a)];
    case "obv":
      return [obv(close, volume)];
    case "vwap":
      return [vwap(high, low, close, volume, a)];
    default:
      throw new Error(`unknown indicator kind ${JSON.stringify(kind)}`);
  }
}

/** The row of an indicator's first output (TA-Lib's lookback with unstable periods 0): rows before it have none. */
export function lookback(kind: string, params: readonly number[]): number {
  const [a = 0, b = 0, c = 0] = params;
  switch (kind) {
    case "sma":
    case "ema":
    case "wma":
    case "bbands":
    case "willr":
    case "vwap":
      return a - 1;
    case "rsi":
    case "roc":
    case "atr":
      return a;
    case "adx":
      return 2 * a - 1;
    case "macd":
      return Math.max(a, b) - 1 + (c - 1);
    case "stoch":
      return a - 1 + (b - 1) + (c - 1);
    case "obv":
      return 0;
    default:
      throw new Error(`unknown indicator kind ${JSON.stringify(kind)}`);
  }
}

/**
 * Whether an indicator's value depends on every earlier row (EMA family, Wilder smoothing, OBV),
 * rather than only on the last `lookback` + 1 rows.
 */
export function dependsOnAllHistory(kind: string): boolean {
  return ["ema", "rsi", "macd", "atr", "adx", "obv"].includes(kind);
}
