import { z } from "zod";
import { defineStep } from "../pipeline/step-spec.js";
import { stepHttpClient } from "../sources/http/step-client.js";
import { fetchChart } from "../sources/yahoo/fetch.js";
import { checkDateRange, dateRangeShape, httpShape, onObjects, sourceName, symbols } from "./common.js";
import { abortError, failureMessage, ingestAll, resolveRange } from "./ingest.js";

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
  async run(ctx, params) {
    const range = resolveRange(params, ctx.runDate);
    const client = stepHttpClient(ctx, params, { api: "yahoo" });
    const symbolList = [...new Set(params.symbols)];
    let nullsSkipped = 0;
    try {
      const results = await ingestAll(
        symbolList,
        ctx.sinks.bars(params.source),
        async (symbol) => {
          const chart = await fetchChart(client, params.base_url, symbol, range, { signal: ctx.signal });
          nullsSkipped += chart.nullsSkipped;
          if (chart.nullsSkipped > 0) {
            ctx.log("warn", `${symbol}: skipped ${chart.nullsSkipped} bar(s) with null prices`);
          }
          return { bars: chart.bars, actions: params.corporate_actions ? chart.actions : [] };
        },
        {
          concurrency: params.concurrency,
          signal: ctx.signal,
          onWritten: (symbol, written) =>
            ctx.log(
              "info",
              `${symbol}: ${written.bars} bar(s) ${range.from}..${range.to}${params.corporate_actions ? `, ${written.actions} corporate action(s)` : ""}`,
            ),
        },
      );
      if (ctx.signal.aborted) throw abortError(ctx.signal);
      let bars = 0;
      let withBars = 0;
      let actions = 0;
      const failures: string[] = [];
      results.forEach((result, i) => {
        if (result.status === "rejected") {
          const message = failureMessage(symbolList[i] ?? "", result.reason);
          ctx.log("error", message);
          failures.push(message);
        } else {
          bars += result.value.bars;
          actions += result.value.actions;
          if (result.value.bars > 0) withBars++;
        }
      });
      if (failures.length > 0) {
        throw new Error(
          failures.length === 1
            ? (failures[0] as string)
            : `${failures.length} of ${symbolList.length} symbols failed: ${failures.join("; ")}`,
        );
      }
      return {
        bars,
        symbols: withBars,
        nulls_skipped: nullsSkipped,
        corporate_actions: actions,
        requests: client.requests,
      };
    } finally {
      await client.close();
    }
  },
});
