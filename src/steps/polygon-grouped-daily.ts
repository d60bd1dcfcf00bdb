import { z } from "zod";
import { defineStep } from "../pipeline/step-spec.js";
import { checkDateRange, dateRangeShape, httpShape, onObjects, sourceName, symbols } from "./common.js";
import { polygonApiKey } from "./polygon-daily-bars.js";

export const polygonGroupedDaily = defineStep({
  name: "polygon.grouped_daily",
  summary: "Fetch the whole US stock market's daily bars from Polygon, one request per trading session.",
  params: z
    .strictObject({
      symbols: symbols
        .describe("Keep only these ticker symbols. Default: every symbol of the market.")
        .optional(),
      ...dateRangeShape,
      adjusted: z
        .boolean()
        .default(true)
        .describe("Ask for split-adjusted prices (Polygon's adjusted=true). Default: true."),
      include_otc: z
        .boolean()
        .default(false)
        .describe("Include OTC securities (Polygon's include_otc). Default: false."),
      ...httpShape({ baseUrl: "https://api.polygon.io", rateLimit: 5, concurrency: 2 }),
      api_key: polygonApiKey,
      source: sourceName
        .default("polygon")
        .describe("Label stored in bars_daily.source for these bars. Default: polygon."),
    })
    .superRefine((value, ctx) => checkDateRange(value, ctx, "ingest"), onObjects),
  secrets: ["api_key"],
  outputs: {
    bars: { type: "integer", description: "Bars written (inserted or replaced) in bars_daily." },
    sessions: { type: "integer", description: "Trading sessions fetched." },
    requests: { type: "integer", description: "HTTP requests made, retries included." },
  },
});
