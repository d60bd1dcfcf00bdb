import { describe, expect, it } from "vitest";
import { indicatorOutputNames, parseIndicatorName } from "../steps/indicators-compute.js";
import { loadGolden, tolerance } from "./golden.js";
import { computeIndicator, ema, lookback, macd, obv, rsi, sma, vwap } from "./index.js";

const golden = loadGolden();
const names = Object.keys(golden.symbols[0]!.outputs);

/** The index of the first non-NaN value, or the length when there is none. */
function firstValue(values: Float64Array): number {
  const i = values.findIndex((v) => !Number.isNaN(v));
  return i < 0 ? values.length : i;
}

describe("indicators against TA-Lib (tests/fixtures/indicators)", () => {
  it("covers every indicator kind TA-Lib has", () => {
    const kinds = new Set(names.map((n) => parseIndicatorName(n)!.kind));
    expect([...kinds].sort()).toEqual(
      ["adx", "atr", "bbands", "ema", "macd", "obv", "roc", "rsi", "sma", "stoch", "willr", "wma"].sort(),
    );
  });

  for (const symbol of golden.symbols) {
    const bars = {
      high: Float64Array.from(symbol.high),
      low: Float64Array.from(symbol.low),
      close: Float64Array.from(symbol.close),
      volume: Float64Array.from(symbol.volume),
    };
    for (const name of names) {
      it(`${symbol.symbol} ${name}: every row, first output row exact`, () => {
        const parsed = parseIndicatorName(name)!;
        const expected = symbol.outputs[name]!;
        const outputs = computeIndicator(parsed.kind, parsed.params, bars);
        expect(outputs).toHaveLength(indicatorOutputNames(name).length);
        expect(lookback(parsed.kind, parsed.params)).toBe(expected.begIndex);
        outputs.forEach((actual, k) => {
          const want = expected.values[k]!;
          expect(firstValue(actual), `${indicatorOutputNames(name)[k]} first row`).toBe(expected.begIndex);
          expect(actual.length - expected.begIndex).toBe(want.length);
          let worst = 0;
          let worstRow = -1;
          for (let j = 0; j < want.length; j++) {
            const row = expected.begIndex + j;
            const diff = Math.abs(actual[row]! - want[j]!);
            const allowed = tolerance(parsed.kind, symbol.close[row]!, want[j]!);
            if (!(diff <= allowed) && (worstRow < 0 || diff > worst)) {
              worst = diff;
              worstRow = row;
            }
          }
          expect(
            worstRow,
            `${indicatorOutputNames(name)[k]} row ${worstRow}: ${actual[worstRow]} vs ${want[worstRow - expected.begIndex]}`,
          ).toBe(-1);
        });
      });
    }
  }

  it("gives exactly 0 (or a zero band width) wherever TA-Lib does, and the data set has such rows", () => {
    const zeros: Record<string, number> = {};
    for (const symbol of golden.symbols) {
      const bars = {
        high: Float64Array.from(symbol.high),
        low: Float64Array.from(symbol.low),
        close: Float64Array.from(symbol.close),
        volume: Float64Array.from(symbol.volume),
      };
      for (const name of names) {
        const parsed = parseIndicatorName(name)!;
        const expected = symbol.outputs[name]!;
        const outputs = computeIndicator(parsed.kind, parsed.params, bars);
        for (let j = 0; j < expected.values[0]!.length; j++) {
          const row = expected.begIndex + j;
          const zero =
            parsed.kind === "bbands"
              ? expected.values[0]![j] === expected.values[1]![j]
              : expected.values[0]![j] === 0;
          if (!zero) continue;
          zeros[parsed.kind] = (zeros[parsed.kind] ?? 0) + 1;
          if (parsed.kind === "bbands") expect(outputs[0]![row]).toBe(outputs[1]![row]);
          else expect(outputs[0]![row]).toBe(0);
        }
      }
    }
    for (const kind of ["rsi", "willr", "stoch", "bbands", "roc", "atr", "adx"]) {
      expect(zeros[kind] ?? 0, kind).toBeGreaterThan(0);
    }
  });
});

describe("indicators on small inputs", () => {
  const x = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

  it("gives no value before the first output row, and none at all when the series is too short", () => {
    expect([...sma(x, 3)].slice(0, 4)).toEqual([Number.NaN, Number.NaN, 2, 3]);
    expect([...ema(x, 3)].slice(0, 3)).toEqual([Number.NaN, Number.NaN, 2]);
    expect([...sma(x, 11)].every(Number.isNaN)).toBe(true);
    expect([...rsi(x, 10)].every(Number.isNaN)).toBe(true);
    expect([...macd(x, 3, 5, 7).macd].every(Number.isNaN)).toBe(true);
    expect(sma(new Float64Array(0), 3)).toHaveLength(0);
  });

  it("seeds the EMA with the SMA of the first N values", () => {
    const e = ema(x, 4);
    expect(e[3]).toBe(2.5);
    expect(e[4]).toBeCloseTo((5 - 2.5) * 0.4 + 2.5, 15);
  });

  it("starts OBV at the first volume", () => {
    const close = Float64Array.from([10, 11, 11, 9]);
    const volume = Float64Array.from([100, 20, 30, 5]);
    expect([...obv(close, volume)]).toEqual([100, 120, 120, 115]);
  });

  it("vwap_N: sum(typical price x volume) / sum(volume) over N rows, first value at N - 1, 0 without volume", () => {
    const high = Float64Array.from([11, 12, 13, 14]);
    const low = Float64Array.from([9, 10, 11, 12]);
    const close = Float64Array.from([10, 11, 12, 13]);
    const volume = Float64Array.from([1, 3, 0, 0]);
    const v = vwap(high, low, close, volume, 2);
    expect(Number.isNaN(v[0]!)).toBe(true);
    expect(v[1]).toBeCloseTo((10 * 1 + 11 * 3) / 4, 12);
    expect(v[2]).toBeCloseTo(11, 12);
    expect(v[3]).toBe(0);
    expect(lookback("vwap", [2])).toBe(1);
  });
});
