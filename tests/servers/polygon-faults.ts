/**
 * Polygon's aggregates endpoint with every fault the ingestion issue lists, one symbol per fault, on
 * a `FaultServer`: the symbols of `POLYGON_RECOVER` end retried to success (3 bars each), those of
 * `POLYGON_FAIL` fail clearly. Shared by the CLI's ingestion test (DuckDB) and the step-level one
 * run on both backends.
 */
import type { FaultResponse, FaultServer } from "./fault-server.js";

export const POLYGON_FAULTS_FROM = "2024-01-02";
export const POLYGON_FAULTS_TO = "2024-01-04";
const SESSIONS_MS = [
  Date.parse("2024-01-02T05:00:00Z"),
  Date.parse("2024-01-03T05:00:00Z"),
  Date.parse("2024-01-04T05:00:00Z"),
];

const row = (t: number, c: number) => ({ t, o: c, h: c + 1, l: c - 1, c, v: 1000 + c, vw: c, n: 7 });
const body = (symbol: string, times = SESSIONS_MS) => ({
  ticker: symbol,
  status: "OK",
  resultsCount: times.length,
  results: times.map((t, i) => row(t, 10 + i)),
});
const ok = (symbol: string): FaultResponse => ({ kind: "json", body: body(symbol) });

/** Per symbol: the responses of its first requests, then `ok` for ever after (or the last fault again). */
const SCRIPTS: Record<string, { first: FaultResponse[]; after: "ok" | "repeat" }> = {
  OK: { first: [], after: "ok" },
  R429: {
    first: [{ kind: "status", status: 429, headers: { "retry-after": "0" }, body: "slow down" }],
    after: "ok",
  },
  R500: { first: [{ kind: "status", status: 500, body: "oops" }], after: "ok" },
  RESET: { first: [{ kind: "reset" }], after: "ok" },
  STALL: { first: [{ kind: "stall", ms: 5000 }], after: "ok" },
  F403: {
    first: [
      {
        kind: "json",
        status: 403,
        body: { status: "NOT_AUTHORIZED", message: "You are not entitled to this data." },
      },
    ],
    after: "repeat",
  },
  TRUNC: { first: [{ kind: "truncated", body: body("TRUNC") }], after: "repeat" },
  HTML: { first: [{ kind: "html", status: 502, title: "502 Bad Gateway" }], after: "repeat" },
  SHAPE: { first: [{ kind: "json", body: { status: "OK", results: "nope" } }], after: "repeat" },
  NULLS: {
    first: [
      {
        kind: "json",
        body: { status: "OK", results: [row(SESSIONS_MS[0]!, 1), { ...row(SESSIONS_MS[1]!, 2), c: null }] },
      },
    ],
    after: "repeat",
  },
};
export const POLYGON_RECOVER = ["OK", "R429", "R500", "RESET", "STALL", "PAGED"];
export const POLYGON_FAIL = ["F403", "TRUNC", "HTML", "SHAPE", "NULLS", "PARTIAL"];

/** The aggregates path of `symbol` over the faults' range. */
export const polygonAggsPath = (symbol: string) =>
  `/v2/aggs/ticker/${symbol}/range/1/day/${POLYGON_FAULTS_FROM}/${POLYGON_FAULTS_TO}`;

/** Scripts the faults on `server`; `key` is what PAGED's next_url carries in its query, as Polygon's does. */
export function scriptPolygonFaults(server: FaultServer, key: string): void {
  for (const [symbol, script] of Object.entries(SCRIPTS)) {
    let n = 0;
    server.handle(polygonAggsPath(symbol), () => {
      const i = n++;
      if (i < script.first.length) return script.first[i]!;
      return script.after === "ok" ? ok(symbol) : script.first[script.first.length - 1]!;
    });
  }
  // Paginated: page 2 completes it.
  server.handle(polygonAggsPath("PAGED"), () => ({
    kind: "json",
    body: {
      ...body("PAGED", SESSIONS_MS.slice(0, 2)),
      next_url: `${server.origin}/paged/2?cursor=abc&apiKey=${key}`,
    },
  }));
  server.handle("/paged/2", () => ({ kind: "json", body: body("PAGED", SESSIONS_MS.slice(2)) }));
  // Page 1 fine, page 2 cut off: nothing of the symbol may land.
  server.handle(polygonAggsPath("PARTIAL"), () => ({
    kind: "json",
    body: { ...body("PARTIAL", SESSIONS_MS.slice(0, 2)), next_url: `${server.origin}/partial/2?cursor=x` },
  }));
  server.handle("/partial/2", () => ({ kind: "truncated", body: body("PARTIAL", SESSIONS_MS.slice(2)) }));
}
