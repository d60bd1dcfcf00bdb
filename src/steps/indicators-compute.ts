import { z } from "zod";
import { defineStep } from "../pipeline/step-spec.js";
import { sourceName, symbols } from "./common.js";

/** A period: a positive integer without leading zeros. */
const N = "[1-9]\\d*";
/** The Bollinger Bands width in standard deviations: 2 or 2.5, written without redundant zeros. */
const K = "(?:0|[1-9]\\d*)(?:\\.\\d*[1-9])?";

/**
 * The indicator names of SPEC section 3, as a JSON Schema / RegExp pattern. Periods are positive
 * integers without leading zeros, so every indicator has exactly one spelling (`sma_20`, not `sma_020`).
 */
export const INDICATOR_PATTERN = `^(?:(?:sma|ema|wma|rsi|atr|adx|willr|roc|vwap)_${N}|macd_${N}_${N}_${N}|bbands_${N}_${K}|stoch_${N}_${N}_${N}|obv)$`;
const INDICATOR_RE = new RegExp(INDICATOR_PATTERN);

export const INDICATOR_KINDS = [
  "sma",
  "ema",
  "wma",
  "rsi",
  "macd",
  "bbands",
  "atr",
  "adx",
  "stoch",
  "willr",
  "roc",
  "obv",
  "vwap",
] as const;
export type IndicatorKind = (typeof INDICATOR_KINDS)[number];

export interface ParsedIndicator {
  kind: IndicatorKind;
  /** The numbers after the kind, in order: [N], [F, S, G], [N, K], [K, SK, SD], or [] for obv. */
  params: number[];
}

/** The kind and parameters of an indicator name, or undefined when it does not match INDICATOR_PATTERN. */
export function parseIndicatorName(name: string): ParsedIndicator | undefined {
  if (!INDICATOR_RE.test(name)) return undefined;
  const [kind, ...rest] = name.split("_");
  return { kind: kind as IndicatorKind, params: rest.map(Number) };
}

/** Why a name that matches the pattern is still not a usable indicator, or undefined when it is. */
export function indicatorProblem(name: string): string | undefined {
  const parsed = parseIndicatorName(name);
  if (parsed === undefined) return undefined;
  const [a = 0, b = 0] = parsed.params;
  if (parsed.kind === "macd" && a >= b) {
    return `${name}: the fast period (${a}) must be shorter than the slow period (${b})`;
  }
  if (parsed.kind === "bbands" && b <= 0) return `${name}: the band width K must be greater than 0`;
  return undefined;
}

/** The `indicators.name` values one indicator writes (multi-output indicators name each output). */
export function indicatorOutputNames(name: string): string[] {
  const parsed = parseIndicatorName(name);
  if (parsed === undefined) return [name];
  const suffix = name.slice(parsed.kind.length);
  switch (parsed.kind) {
    case "macd":
      return [name, `macd_signal${suffix}`, `macd_hist${suffix}`];
    case "bbands":
      return [`bbands_upper${suffix}`, `bbands_middle${suffix}`, `bbands_lower${suffix}`];
    case "stoch":
      return [`stoch_k${suffix}`, `stoch_d${suffix}`];
    default:
      return [name];
  }
}

const indicatorName = z
  .string()
  .regex(INDICATOR_RE, {
    error: (issue) =>
      `unknown indicator ${JSON.stringify(issue.input)}: expected sma_N, ema_N, wma_N, rsi_N, macd_F_S_G, bbands_N_K, atr_N, adx_N, stoch_K_SK_SD, willr_N, roc_N, obv or vwap_N (periods are integers >= 1)`,
  })
  .superRefine((name, ctx) => {
    const problem = indicatorProblem(name);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  })
  .describe(
    "An indicator: sma_N, ema_N, wma_N, rsi_N, macd_F_S_G (fast, slow, signal), bbands_N_K (K standard deviations, e.g. bbands_20_2 or bbands_20_2.5), atr_N, adx_N, stoch_K_SK_SD, willr_N, roc_N, obv or vwap_N. Periods are in sessions.",
  );

export const indicatorsCompute = defineStep({
  name: "indicators.compute",
  summary: "Compute technical indicators (TA-Lib definitions) over bars_daily into the indicators table.",
  params: z.strictObject({
    source: sourceName.describe("The bars_daily.source to compute over, e.g. polygon."),
    symbols: symbols
      .describe("Compute only for these ticker symbols. Default: every symbol of the source.")
      .optional(),
    indicators: z
      .array(indicatorName)
      .min(1)
      .describe(
        "Indicators to compute, e.g. [sma_20, ema_12, rsi_14, macd_12_26_9, bbands_20_2, atr_14]. Multi-output indicators write one name per output (macd_signal_12_26_9, bbands_upper_20_2, stoch_k_14_3_3, ...).",
      ),
    full_refresh: z
      .boolean()
      .default(false)
      .describe(
        "Recompute every date instead of only the dates after the last computed one (plus each indicator's warm-up). Default: false.",
      ),
  }),
  outputs: {
    rows: {
      type: "integer",
      description: "Indicator values written (one per source, symbol, date and name).",
    },
    symbols: { type: "integer", description: "Symbols computed." },
  },
});
