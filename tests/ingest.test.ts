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
import { type FaultServer, startFaultServer } from "./servers/fault-server.js";
import {
  POLYGON_FAIL,
  POLYGON_FAULTS_FROM,
  POLYGON_FAULTS_TO,
  POLYGON_RECOVER,
  polygonAggsPath,
  scriptPolygonFaults,
} from "./servers/polygon-faults.js";

const KEY = "pk_INGEST_s3cr3t_9f8e7d6c5b4a";
const FROM = POLYGON_FAULTS_FROM;
const TO = POLYGON_FAULTS_TO;
const RECOVER = POLYGON_RECOVER;
const FAIL = POLYGON_FAIL;
const SYMBOLS = [...RECOVER, ...FAIL];
const aggsPath = polygonAggsPath;

let server: FaultServer;
let dir: string;
let cleanup: () => Promise<void>;
let db: string;
let pipeline: string;
const runs: CliResult[] = [];

beforeAll(async () => {
  server = await startFaultServer();
  scriptPolygonFaults(server, KEY);

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
