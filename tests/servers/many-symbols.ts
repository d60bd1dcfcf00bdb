/**
 * A Polygon-format server with many symbols of daily bars (on the fault server), and a pipeline
 * that ingests them all: a long ingestion to cancel in the middle. One symbol can be made to stall.
 */
import { sessionsBetween } from "../../src/calendar/index.js";
import { type FaultServer, startFaultServer } from "./fault-server.js";

export const FROM = "2022-01-03";
export const TO = "2025-12-31";
export const SESSIONS = sessionsBetween(FROM, TO);

export interface ManySymbols {
  server: FaultServer;
  symbols: string[];
  /** While true, the third symbol's request never gets an answer. */
  stall: boolean;
  /** A pipeline file's text that ingests every symbol from the server. */
  pipeline(name: string): string;
}

export async function startManySymbols(count = 300): Promise<ManySymbols> {
  const server = await startFaultServer();
  const symbols = Array.from({ length: count }, (_, i) => `S${String(i + 1).padStart(3, "0")}`);
  const results = SESSIONS.map((d, i) => {
    const c = 100 + (i % 50);
    return { t: Date.parse(`${d}T05:00:00Z`), o: c, h: c + 1, l: c - 1, c, v: 1000 + i, vw: c, n: 7 };
  });
  const many: ManySymbols = {
    server,
    symbols,
    stall: false,
    pipeline: (name) => `kind: pipeline
name: ${name}
tasks:
  fetch:
    uses: polygon.daily_bars
    with:
      symbols: [${symbols.join(", ")}]
      start: "${FROM}"
      end: "${TO}"
      base_url: ${server.origin}
      api_key: \${{ env.POLYGON_API_KEY }}
      rate_limit: 0
      concurrency: 8
`,
  };
  for (const symbol of symbols) {
    server.handle(`/v2/aggs/ticker/${symbol}/range/1/day/${FROM}/${TO}`, () =>
      symbol === symbols[2] && many.stall
        ? { kind: "stall" }
        : { kind: "json", body: { ticker: symbol, status: "OK", resultsCount: results.length, results } },
    );
  }
  return many;
}
