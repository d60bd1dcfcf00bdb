import { z } from "zod";
import { defineStep } from "../pipeline/step-spec.js";
import { checkDateRange, dateRangeShape, httpShape, onObjects, sourceName, symbols } from "./common.js";

export const polygonApiKey = z
  .string()
  .min(1)
  .describe(
    "Polygon (Massive) API key, sent as Authorization: Bearer. Write it as ${{ env.NAME }}, never as a literal. Default: the POLYGON_API_KEY environment variable.",
  )
  .optional();

export const polygonDailyBars = defineStep({
  name: "polygon.daily_bars",
  summary: "Fetch daily OHLCV bars per symbol from Polygon's aggregates API into bars_daily.",
  params: z
    .strictObject({
      symbols: symbols.describe("Ticker symbols to fetch, one aggregates request (plus pages) per symbol."),
      ...dateRangeShape,
      adjusted: z
        .boolean()
        .default(true)
        .describe("Ask for split-adjusted prices (Polygon's adjusted=true). Default: true."),
      ...httpShape({ baseUrl: "https://api.polygon.io", rateLimit: 5, concurrency: 2 }),
      api_key: polygonApiKey,
      source: sourceName
        .default("polygon")
        .describe("Label stored in bars_daily.source for these bars. Default: polygon."),
      limit: z
        .number()
        .int()
        .min(1)
        .max(50000)
        .default(50000)
        .describe("Rows per page (Polygon's limit, 1 to 50000); more pages follow next_url. Default: 50000."),
    })
    .superRefine((value, ctx) => checkDateRange(value, ctx, "ingest"), onObjects),
  secrets: ["api_key"],
  outputs: {
    bars: { type: "integer", description: "Bars written (inserted or replaced) in bars_daily." },
    symbols: { type: "integer", description: "Symbols that returned at least one bar." },
    empty_symbols: { type: "array", description: "Symbols for which the API returned no bars in the range." },
    requests: { type: "integer", description: "HTTP requests made, pages and retries included." },
  },
});
