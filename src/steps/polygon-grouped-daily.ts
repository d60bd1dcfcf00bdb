import { z } from "zod";
import { sessionsBetween } from "../calendar/index.js";
import { defineStep } from "../pipeline/step-spec.js";
import { scrubSecret } from "../sources/http/step-client.js";
import { createPolygonClient, fetchGroupedDaily } from "../sources/polygon/index.js";
import { checkDateRange, dateRangeShape, httpShape, onObjects, sourceName, symbols } from "./common.js";
import { abortError, failureMessage, ingestAll, resolveRange } from "./ingest.js";
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
  async run(ctx, params) {
    const { from, to } = resolveRange(params, ctx.runDate);
    const sessions = sessionsBetween(from, to);
    const keep = params.symbols === undefined ? undefined : new Set(params.symbols);
    const client = createPolygonClient(ctx, params);
    try {
      const results = await ingestAll(
        sessions,
        ctx.sinks.bars(params.source),
        async (date) => {
          const fetched = await fetchGroupedDaily(client, date, {
            adjusted: params.adjusted,
            includeOtc: params.include_otc,
            signal: ctx.signal,
          });
          const elsewhere = fetched.filter((bar) => bar.date !== date).length;
          if (elsewhere > 0) {
            ctx.log(
              "warn",
              `${date}: ${elsewhere} of ${fetched.length} bars carry a timestamp of another New York date; stored under ${date}`,
            );
          }
          const bars = fetched
            .filter((bar) => keep === undefined || keep.has(bar.symbol))
            .map((bar) => ({ ...bar, date }));
          if (bars.length === 0)
            ctx.log("warn", `${date}: no bars${keep ? " for the requested symbols" : ""}`);
          return { bars };
        },
        { concurrency: params.concurrency, signal: ctx.signal },
      );
      if (ctx.signal.aborted) throw abortError(ctx.signal);
      let bars = 0;
      const failures: string[] = [];
      results.forEach((result, i) => {
        if (result.status === "rejected") {
          const message = scrubSecret(failureMessage(sessions[i] ?? "", result.reason), client.key);
          failures.push(message);
          ctx.log("error", message);
        } else {
          bars += result.value.bars;
        }
      });
      if (failures.length > 0) {
        throw new Error(
          scrubSecret(
            failures.length === 1
              ? `session ${failures[0]}`
              : `${failures.length} of ${sessions.length} sessions failed: ${failures.join("; ")}`,
            client.key,
          ),
        );
      }
      ctx.log(
        "info",
        `wrote ${bars} bars of ${sessions.length} sessions from ${from} to ${to} (${client.http.requests} requests)`,
      );
      return { bars, sessions: sessions.length, requests: client.http.requests };
    } finally {
      await client.close();
    }
  },
});
