import { z } from "zod";
import type { StepOutput } from "../pipeline/step-spec.js";
import { defineStep } from "../pipeline/step-spec.js";
import { checkDateRange, onObjects, optionalDateRangeShape, sourceName, symbols } from "./common.js";

/** The data checks, named as in `quality_results.check_name`. */
export const QUALITY_CHECKS = [
  "nulls",
  "ohlc_consistency",
  "non_positive_price",
  "negative_volume",
  "duplicates",
  "missing_sessions",
  "stale_price",
  "price_jump",
  "cross_source",
] as const;

export type QualityCheck = (typeof QUALITY_CHECKS)[number];

export const SEVERITIES = ["error", "warn", "off"] as const;
export type Severity = (typeof SEVERITIES)[number];

const CHECKS: Record<QualityCheck, { severity: Exclude<Severity, "off">; what: string }> = {
  nulls: { severity: "error", what: "a null open, high, low, close or volume" },
  ohlc_consistency: { severity: "error", what: "OHLC inconsistency: not low <= open, close <= high" },
  non_positive_price: { severity: "error", what: "a price <= 0" },
  negative_volume: { severity: "error", what: "a volume < 0" },
  duplicates: { severity: "error", what: "more than one row per (source, symbol, date)" },
  missing_sessions: {
    severity: "warn",
    what: "an NYSE session without a bar between a symbol's first and last bar in the range",
  },
  stale_price: { severity: "warn", what: "the same close for stale_sessions sessions in a row" },
  price_jump: {
    severity: "warn",
    what: "a close-to-close move beyond max_jump_pct that no split in corporate_actions explains",
  },
  cross_source: {
    severity: "warn",
    what: "a close that differs from compare_with's by more than tolerance_bps (skipped without compare_with)",
  },
};

export const DEFAULT_CHECK_SEVERITIES = Object.fromEntries(
  QUALITY_CHECKS.map((check) => [check, CHECKS[check].severity]),
) as Record<QualityCheck, Severity>;

const checksShape = Object.fromEntries(
  QUALITY_CHECKS.map((check) => [
    check,
    z
      .enum(SEVERITIES)
      .default(CHECKS[check].severity)
      .describe(
        `Severity of ${check} findings (${CHECKS[check].what}): error, warn or off. Default: ${CHECKS[check].severity}.`,
      ),
  ]),
) as Record<QualityCheck, z.ZodDefault<z.ZodEnum<{ [S in Severity]: S }>>>;

const checkOutputs = Object.fromEntries(
  QUALITY_CHECKS.map((check) => [
    check,
    { type: "integer", description: `Findings of the ${check} check (0 when it is off).` },
  ]),
) as Record<QualityCheck, StepOutput>;

export const validateOhlcv = defineStep({
  name: "validate.ohlcv",
  summary: "Check bars_daily rows of a source for data problems; findings go to quality_results.",
  params: z
    .strictObject({
      source: sourceName.describe("The bars_daily.source to check, e.g. polygon."),
      symbols: symbols
        .describe("Check only these ticker symbols. Default: every symbol of the source.")
        .optional(),
      ...optionalDateRangeShape,
      checks: z
        .strictObject(checksShape)
        .default(() => ({ ...DEFAULT_CHECK_SEVERITIES }))
        .describe(
          "Severity of each check (error, warn or off); checks left out keep their default. Default: nulls, ohlc_consistency, non_positive_price, negative_volume, duplicates: error; missing_sessions, stale_price, price_jump, cross_source: warn.",
        ),
      stale_sessions: z
        .number()
        .int()
        .min(2)
        .default(5)
        .describe(
          "Consecutive sessions with an unchanged close that make a stale_price finding. Default: 5.",
        ),
      max_jump_pct: z
        .number()
        .gt(0)
        .default(25)
        .describe(
          "Largest close-to-close move, in percent, that is not a price_jump finding (25 = 25%). Default: 25.",
        ),
      compare_with: sourceName
        .describe(
          "Another bars_daily.source (e.g. yahoo) to compare closes with, for the cross_source check. Default: none (the check is skipped).",
        )
        .optional(),
      tolerance_bps: z
        .number()
        .min(0)
        .default(50)
        .describe(
          "Largest close difference against compare_with, in basis points (50 = 0.5%), that is not a cross_source finding. Default: 50.",
        ),
      fail_on: z
        .enum(["error", "warn", "never"])
        .default("error")
        .describe(
          "When the task fails: error (any error finding), warn (any error or warn finding) or never (findings are only recorded). Default: error.",
        ),
    })
    .superRefine((value, ctx) => {
      checkDateRange(value, ctx, "filter");
      if (value.compare_with !== undefined && value.compare_with === value.source) {
        ctx.addIssue({
          code: "custom",
          path: ["compare_with"],
          message: "compare_with must name another source than source",
        });
      }
    }, onObjects),
  outputs: {
    ...checkOutputs,
    errors: { type: "integer", description: "Findings with severity error." },
    warnings: { type: "integer", description: "Findings with severity warn." },
    rows_checked: { type: "integer", description: "bars_daily rows examined." },
  },
});
