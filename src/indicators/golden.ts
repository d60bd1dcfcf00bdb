/**
 * The TA-Lib golden values of tests/fixtures/indicators (see SOURCE.md there), for tests.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

export interface GoldenSymbol {
  symbol: string;
  dates: string[];
  open: number[];
  high: number[];
  low: number[];
  close: number[];
  volume: number[];
  /** Per indicator name: TA-Lib's first output row and one array per output, from that row on. */
  outputs: Record<string, { begIndex: number; values: number[][] }>;
}

export interface Golden {
  talib: string;
  sessions: number;
  symbols: GoldenSymbol[];
}

let cached: Golden | undefined;

export function loadGolden(): Golden {
  cached ??= JSON.parse(
    gunzipSync(
      readFileSync(new URL("../../tests/fixtures/indicators/talib-golden.json.gz", import.meta.url)),
    ).toString("utf8"),
  ) as Golden;
  return cached;
}

/**
 * The tolerance of a comparison: 1e-9 x close for series in price units, 1e-9 absolute for
 * oscillators (RSI, ADX, stochastic, %R, ROC), 1e-9 relative for OBV (volume units).
 */
export function tolerance(kind: string, close: number, value: number): number {
  switch (kind) {
    case "rsi":
    case "adx":
    case "stoch":
    case "willr":
    case "roc":
      return 1e-9;
    case "obv":
      return 1e-9 * Math.max(1, Math.abs(value));
    default:
      return 1e-9 * Math.abs(close);
  }
}
