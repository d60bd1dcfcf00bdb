import { z } from "zod";
import { defineStep } from "../pipeline/step-spec.js";
import { scrubSecret } from "../sources/http/step-client.js";
import {
  createPolygonClient,
  fetchActions,
  fetchAggregates,
  mergeSameDay,
} from "../sources/polygon/index.js";
import { checkDateRange, dateRangeShape, httpShape, onObjects, sourceName, symbols } from "./common.js";
import { abortError, failureMessage, ingestAll, resolveRange } from "./ingest.js";

export const polygonApiKey = z
  .string()
  .min(1)
  .describe(
    "Polygon (Massive) API key, sent as Authorization: Bearer. Write it as ${{ env.NAME }}, never as a literal. Default: the POLYGON_API_KEY environment variable.",
  )
  .optional();

export const polygonDailyBars = defineStep({
  name: "polygon.daily_bars",
  summary:
    "Fetch daily OHLCV bars per symbol from Polygon's aggregates API into bars_daily, optionally with splits and dividends.",
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
      corporate_actions: z
        .boolean()
        .default(false)
        .describe(
          "Also fetch the symbol's splits (/v3/reference/splits) and dividends (/v3/reference/dividends) in the same range into corporate_actions, written together with its bars (validate.ohlcv's price_jump check needs the splits). Costs two more requests per symbol, which the free tier's 5 requests a minute makes slow. Default: false.",
        ),
    })
    .superRefine((value, ctx) => checkDateRange(value, ctx, "ingest"), onObjects),
  secrets: ["api_key"],
  outputs: {
    bars: { type: "integer", description: "Bars written (inserted or replaced) in bars_daily." },
    symbols: { type: "integer", description: "Symbols that returned at least one bar." },
    empty_symbols: { type: "array", description: "Symbols for which the API returned no bars in the range." },
    corporate_actions: {
      type: "integer",
      description: "Splits and dividends written to corporate_actions (0 unless corporate_actions: true).",
    },
    requests: { type: "integer", description: "HTTP requests made, pages and retries included." },
  },
  async run(ctx, params) {
    const { from, to } = resolveRange(params, ctx.runDate);
    const client = createPolygonClient(ctx, params);
    const symbolList = [...new Set(params.symbols)];
    try {
      const results = await ingestAll(
        symbolList,
        ctx.sinks.bars(params.source),
        async (symbol) => {
          const fetched = await fetchAggregates(client, symbol, {
            from,
            to,
            adjusted: params.adjusted,
            limit: params.limit,
            signal: ctx.signal,
          });
          ctx.log("debug", `${symbol}: ${fetched.bars.length} bars from ${fetched.pages} page(s)`);
          if (!params.corporate_actions) return { bars: fetched.bars };
          // Fetched after the bars, before anything is written: a failure here writes none of them.
          const options = { from, to, signal: ctx.signal };
          const splits = await fetchActions(client, "splits", symbol, options);
          const dividends = await fetchActions(client, "dividends", symbol, options);
          const all = [...splits.actions, ...dividends.actions];
          // The query names the ticker; a row of another one (should Polygon send it) is not this symbol's.
          const actions = mergeSameDay(all.filter((action) => action.symbol === symbol));
          if (actions.length < all.length) {
            ctx.log(
              "debug",
              `${symbol}: ${all.length - actions.length} action row(s) merged or of other tickers`,
            );
          }
          ctx.log(
            "debug",
            `${symbol}: ${splits.actions.length} split(s), ${dividends.actions.length} dividend(s)`,
          );
          return { bars: fetched.bars, actions };
        },
        { concurrency: params.concurrency, signal: ctx.signal },
      );
      if (ctx.signal.aborted) throw abortError(ctx.signal);
      let bars = 0;
      let actions = 0;
      let withBars = 0;
      const empty: string[] = [];
      const failures: string[] = [];
      results.forEach((result, i) => {
        const symbol = symbolList[i] ?? "";
        if (result.status === "rejected") {
          const message = scrubSecret(failureMessage(symbol, result.reason), client.key);
          failures.push(message);
          ctx.log("error", message);
        } else {
          actions += result.value.actions;
          if (result.value.bars === 0) {
            empty.push(symbol);
          } else {
            bars += result.value.bars;
            withBars++;
          }
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
        `wrote ${bars} bars of ${withBars} symbols${params.corporate_actions ? ` and ${actions} corporate action(s)` : ""} from ${from} to ${to} (${client.http.requests} requests)`,
      );
      return {
        bars,
        symbols: withBars,
        empty_symbols: empty,
        corporate_actions: actions,
        requests: client.http.requests,
      };
    } finally {
      await client.close();
    }
  },
});
