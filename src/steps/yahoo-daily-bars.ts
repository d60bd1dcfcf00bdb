import { z } from "zod";
import { defineStep } from "../pipeline/step-spec.js";
import { checkDateRange, dateRangeShape, httpShape, onObjects, sourceName, symbols } from "./common.js";

export const yahooDailyBars = defineStep({
  name: "yahoo.daily_bars",
  summary: "Fetch daily bars per symbol from Yahoo Finance's chart API, with dividends and splits.",
  params: z
    .strictObject({
      symbols: symbols.describe(
        "Ticker symbols as Yahoo spells them (e.g. AAPL, BRK-B, ^GSPC), one request each.",
      ),
      ...dateRangeShape,
      ...httpShape({ baseUrl: "https://query2.finance.yahoo.com", rateLimit: 60, concurrency: 2 }),
      source: sourceName
        .default("yahoo")
        .describe("Label stored in bars_daily.source (and corporate_actions.source). Default: yahoo."),
      corporate_actions: z
        .boolean()
        .default(true)
        .describe("Also store the dividends and splits Yahoo reports in corporate_actions. Default: true."),
    })
    .superRefine((value, ctx) => checkDateRange(value, ctx, "ingest"), onObjects),
  outputs: {
    bars: { type: "integer", description: "Bars written (inserted or replaced) in bars_daily." },
    symbols: { type: "integer", description: "Symbols that returned at least one bar." },
    nulls_skipped: { type: "integer", description: "Bars skipped because Yahoo returned nulls for them." },
    corporate_actions: {
      type: "integer",
      description: "Dividends and splits written to corporate_actions.",
    },
    requests: { type: "integer", description: "HTTP requests made, retries included." },
  },
});
