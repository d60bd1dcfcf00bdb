// A Polygon-format aggregates server for benchmarks, run as its own process (so it does not share
// the measured process's CPU): every /v2/aggs/ticker/{T}/range/1/day/... answers the same
// SESSIONS daily bars for T, with no rate limit. Prints its port on stdout.
import { createServer } from "node:http";
import { sessionsBetween } from "../../dist/calendar/index.js";

const sessions = sessionsBetween("2016-01-04", "2025-12-31");
const dayMs = (d) => Date.parse(`${d}T05:00:00Z`);
let price = 100;
const results = sessions.map((d, i) => {
  price *= 1 + Math.sin(i) * 0.01;
  const o = +price.toFixed(4);
  return {
    v: 1000000 + i,
    vw: o,
    o,
    c: +(o * 1.001).toFixed(4),
    h: +(o * 1.01).toFixed(4),
    l: +(o * 0.99).toFixed(4),
    t: dayMs(d),
    n: 5000 + i,
  };
});
const cache = new Map();
const server = createServer((req, res) => {
  const m = /^\/v2\/aggs\/ticker\/([^/]+)\/range\//.exec(req.url ?? "");
  if (!m) {
    res.writeHead(404).end("{}");
    return;
  }
  let body = cache.get(m[1]);
  if (!body) {
    body = Buffer.from(
      JSON.stringify({
        ticker: m[1],
        queryCount: results.length,
        resultsCount: results.length,
        adjusted: true,
        results,
        status: "OK",
        request_id: "bench",
        count: results.length,
      }),
    );
    cache.set(m[1], body);
  }
  res.writeHead(200, { "content-type": "application/json", "content-length": body.length }).end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
process.on("SIGTERM", () => process.exit(0));
