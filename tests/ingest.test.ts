/**
 * Ingestion through the real CLI, a real DuckDB file and a 127.0.0.1 Polygon-format server that
 * injects every fault the ingestion issue lists: each ends retried to success or as a clear failure
 * naming symbol and URL, no partial symbol lands, the key appears nowhere (output, logs, any table,
 * the database file's bytes), and a second run over the same dates leaves identical rows.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, tempDir, tickflow } from "./helpers/cli.js";
import { type FaultResponse, type FaultServer, startFaultServer } from "./servers/fault-server.js";

const KEY = "pk_INGEST_s3cr3t_9f8e7d6c5b4a";
const FROM = "2024-01-02";
const TO = "2024-01-04";
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
const RECOVER = ["OK", "R429", "R500", "RESET", "STALL", "PAGED"];
const FAIL = ["F403", "TRUNC", "HTML", "SHAPE", "NULLS", "PARTIAL"];
const SYMBOLS = [...RECOVER, ...FAIL];

let server: FaultServer;
let dir: string;
let cleanup: () => Promise<void>;
let db: string;
let pipeline: string;
const runs: CliResult[] = [];

const aggsPath = (symbol: string) => `/v2/aggs/ticker/${symbol}/range/1/day/${FROM}/${TO}`;

beforeAll(async () => {
  server = await startFaultServer();
  for (const [symbol, script] of Object.entries(SCRIPTS)) {
    let n = 0;
    server.handle(aggsPath(symbol), () => {
      const i = n++;
      if (i < script.first.length) return script.first[i]!;
      return script.after === "ok" ? ok(symbol) : script.first[script.first.length - 1]!;
    });
  }
  // Paginated: the next_url carries the key in its query, as Polygon's does; page 2 completes it.
  server.handle(aggsPath("PAGED"), () => ({
    kind: "json",
    body: {
      ...body("PAGED", SESSIONS_MS.slice(0, 2)),
      next_url: `${server.origin}/paged/2?cursor=abc&apiKey=${KEY}`,
    },
  }));
  server.handle("/paged/2", () => ({ kind: "json", body: body("PAGED", SESSIONS_MS.slice(2)) }));
  // Page 1 fine, page 2 cut off: nothing of the symbol may land.
  server.handle(aggsPath("PARTIAL"), () => ({
    kind: "json",
    body: { ...body("PARTIAL", SESSIONS_MS.slice(0, 2)), next_url: `${server.origin}/partial/2?cursor=x` },
  }));
  server.handle("/partial/2", () => ({ kind: "truncated", body: body("PARTIAL", SESSIONS_MS.slice(2)) }));

  ({ dir, cleanup } = await tempDir());
  db = join(dir, "ingest.duckdb");
  pipeline = join(dir, "ingest.yaml");
  writeFileSync(
    pipeline,
    `kind: pipeline
name: ingest-faults
tasks:
  fetch:
    uses: polygon.daily_bars
    with:
      symbols: [${SYMBOLS.join(", ")}]
      start: "${FROM}"
      end: "${TO}"
      base_url: ${server.origin}
      api_key: \${{ env.POLYGON_API_KEY }}
      rate_limit: 0
      concurrency: 4
      timeout: 1s
      max_retries: 2
`,
  );
  const env = { ...process.env, POLYGON_API_KEY: KEY };
  for (let i = 0; i < 2; i++) runs.push(await tickflow(["run", pipeline, "--db", db, "--json"], { env }));
}, 120_000);

afterAll(async () => {
  await server.close();
  await cleanup();
});

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const r = await tickflow(["query", "--db", db, "--json", sql]);
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as Record<string, unknown>[];
}

describe("ingestion faults through the CLI", () => {
  it("retries the transient faults to success and fails the others, naming symbol and URL", () => {
    for (const run of runs) {
      expect(run.code).toBe(1);
      const record = JSON.parse(run.stdout) as { state: string; tasks: { state: string; error?: string }[] };
      expect(record.state).toBe("Failed");
      const error = record.tasks[0]?.error ?? "";
      expect(error).toMatch(/^6 of 12 symbols failed/);
      for (const symbol of FAIL) {
        const path = symbol === "PARTIAL" ? "/partial/2" : aggsPath(symbol);
        expect(error, symbol).toMatch(new RegExp(`${symbol}: [^;]*${path.replaceAll("/", "\\/")}`));
      }
      for (const symbol of RECOVER) expect(error).not.toMatch(new RegExp(`\\b${symbol}:`));
      expect(error).toContain("You are not entitled to this data.");
      expect(error).toContain("502 Bad Gateway");
    }
    // Transient faults were retried (a second request), permanent 4xx were not.
    expect(server.requestsTo(aggsPath("R429")).length).toBeGreaterThanOrEqual(2);
    expect(server.requestsTo(aggsPath("STALL")).length).toBeGreaterThanOrEqual(2);
    expect(server.requestsTo(aggsPath("F403")).length).toBe(2); // once per run
  });

  it("stores every recovered symbol whole and nothing of a failed one", async () => {
    const counts = await query(
      "SELECT symbol, count(*)::INT AS bars FROM bars_daily GROUP BY symbol ORDER BY symbol",
    );
    expect(counts).toEqual([...RECOVER].sort().map((symbol) => ({ symbol, bars: 3 })));
  });

  it("leaves the same rows after the second run (row count and a hash of every row)", async () => {
    // Hash after both runs, then once more after a third run on the now-quiet server.
    const hash = async () =>
      query(`SELECT count(*)::INT AS n, md5(string_agg(concat_ws('|', source, symbol, date, open, high, low,
        close, volume, vwap, trades, adj_close), ';' ORDER BY source, symbol, date)) AS h FROM bars_daily`);
    const before = await hash();
    const third = await tickflow(["run", pipeline, "--db", db, "--json"], {
      env: { ...process.env, POLYGON_API_KEY: KEY },
    });
    expect(third.code).toBe(1);
    expect(await hash()).toEqual(before);
    expect(before[0]?.n).toBe(18);
  });

  it("sends the key only as a header and shows it nowhere: output, logs, tables, database bytes", async () => {
    for (const request of server.requests) {
      expect(request.url).not.toContain(KEY);
      expect(request.headers.authorization).toBe(`Bearer ${KEY}`);
    }
    const runIds = runs.map((r) => (JSON.parse(r.stdout) as { id: string }).id);
    const logs = await Promise.all(runIds.map((id) => tickflow(["runs", "logs", id, "--db", db])));
    for (const log of logs) expect(log.stdout).toContain("F403");
    const tables = (await query("SELECT table_name FROM duckdb_tables() WHERE NOT internal")).map((t) =>
      String(t.table_name),
    );
    expect(tables).toEqual(expect.arrayContaining(["bars_daily", "runs", "task_runs", "run_logs"]));
    const dumps = await Promise.all(
      tables.map((t) => tickflow(["query", "--db", db, "--format", "csv", `SELECT * FROM "${t}"`])),
    );
    expect(dumps.map((d) => d.stdout).join("\n")).toContain("You are not entitled");
    const files = readdirSync(dir).filter((f) => f.startsWith("ingest.duckdb"));
    const haystack = [
      ...runs.flatMap((r) => [r.stdout, r.stderr]),
      ...logs.flatMap((l) => [l.stdout, l.stderr]),
      ...dumps.flatMap((d) => [d.stdout, d.stderr]),
      ...files.map((f) => readFileSync(join(dir, f)).toString("latin1")),
    ].join("\n");
    expect(haystack).not.toContain(KEY);
    expect(haystack).not.toContain(KEY.slice(3));
  });
});
