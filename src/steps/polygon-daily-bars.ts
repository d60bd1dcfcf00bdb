import { z } from "zod";
import { defineStep } from "../pipeline/step-spec.js";
import { scrubSecret } from "../sources/http/step-client.js";
import {
  abortError,
  createPolygonClient,
  failureMessage,
  fetchAggregates,
  ingestAll,
  resolveRange,
} from "../sources/polygon/index.js";
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
  async run(ctx, params) {
    // Loaded here, not at the top: the store loads DuckDB, which validate and plan never need.
    const { BarsWriter } = await import("../store/bars-writer.js");
    const { from, to } = resolveRange(params, ctx.runDate);
    const client = createPolygonClient(ctx, params);
    const symbolList = [...new Set(params.symbols)];
    try {
      const results = await ingestAll(
        symbolList,
        params.concurrency,
        new BarsWriter(ctx.db, params.source),
        async (symbol) => {
          const fetched = await fetchAggregates(client, symbol, {
            from,
            to,
            adjusted: params.adjusted,
            limit: params.limit,
            signal: ctx.signal,
          });
          ctx.log("debug", `${symbol}: ${fetched.bars.length} bars from ${fetched.pages} page(s)`);
          return { bars: fetched.bars };
        },
        ctx.signal,
      );
      if (ctx.signal.aborted) throw abortError(ctx.signal);
      let bars = 0;
      let withBars = 0;
      const empty: string[] = [];
      const failures: string[] = [];
      results.forEach((result, i) => {
        const symbol = symbolList[i] ?? "";
        if (result.status === "rejected") {
          const message = scrubSecret(failureMessage(symbol, result.reason), client.key);
          failures.push(message);
          ctx.log("error", message);
        } else if (result.value.bars === 0) {
          empty.push(symbol);
        } else {
          bars += result.value.bars;
          withBars++;
        }
      });
      if (empty.length > 0) ctx.log("warn", `no bars from ${from} to ${to} for: ${empty.join(", ")}`);
      if (failures.length > 0) {
        throw new Error(
          scrubSecret(
            failures.length === 1
              ? `symbol ${failures[0]}`
              : `${failures.length} of ${symbolList.length} symbols failed: ${failures.join("; ")}`,
            client.key,
          ),
        );
      }
      ctx.log(
        "info",
        `wrote ${bars} bars of ${withBars} symbols from ${from} to ${to} (${client.http.requests} requests)`,
      );
      return { bars, symbols: withBars, empty_symbols: empty, requests: client.http.requests };
    } finally {
      await client.close();
    }
  },
});
