import { z } from "zod";
import { defineStep } from "../pipeline/step-spec.js";
import { stepHttpClient } from "../sources/http/step-client.js";
import type { ParsedChart } from "../sources/yahoo/chart.js";
import { chartRange, fetchChart } from "../sources/yahoo/fetch.js";
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
  async run(ctx, params) {
    const range = chartRange(params, ctx.runDate);
    const client = stepHttpClient(ctx, params);

    const symbolList = [...new Set(params.symbols)];
    let bars = 0;
    let withBars = 0;
    let nullsSkipped = 0;
    let actions = 0;
    const failures: string[] = [];
    // Fetches run concurrently (the client caps them); the writer batches what they bring.
    const writer = ctx.sinks.bars(params.source);
    const write = async (chart: ParsedChart): Promise<void> => {
      const written = await writer.write({
        bars: chart.bars,
        actions: params.corporate_actions ? chart.actions : [],
      });
      bars += written.bars;
      actions += written.actions;
      if (written.bars > 0) withBars++;
    };
    try {
      const settled = await Promise.allSettled(
        symbolList.map(async (symbol) => {
          try {
            const chart = await fetchChart(client, params.base_url, symbol, range, { signal: ctx.signal });
            nullsSkipped += chart.nullsSkipped;
            if (chart.nullsSkipped > 0) {
              ctx.log("warn", `${symbol}: skipped ${chart.nullsSkipped} bar(s) with null prices`);
            }
            await write(chart);
            ctx.log(
              "info",
              `${symbol}: ${chart.bars.length} bar(s) ${range.start}..${range.end}${params.corporate_actions ? `, ${chart.actions.length} corporate action(s)` : ""}`,
            );
          } catch (err) {
            if (ctx.signal.aborted) throw err;
            const message = err instanceof Error ? err.message : String(err);
            const named = message.includes(symbol) ? message : `${symbol}: ${message}`;
            ctx.log("error", named);
            failures.push(named);
          }
        }),
      );
      // Cancelled: every symbol has stopped; give the abort reason.
      const aborted = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (aborted !== undefined) throw aborted.reason;
    } finally {
      await writer.close();
      await client.close();
    }
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
  },
});
