// Benchmark: Polygon daily-bar ingestion, 500 symbols x ~2,514 sessions from a local Polygon-format
// server with no rate limit. tickflow (`tickflow run` of a polygon.daily_bars pipeline, whole
// process) against a floor in the same run: the same requests with undici at the same concurrency,
// JSON.parse, and one DuckDB appender into a table defined as bars_daily is (primary key included;
// in-process, no checks, no upsert), flushed and closed. A second floor appends into the same
// columns without the primary key, to show what the index costs.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBDateValue, DuckDBInstance, DuckDBTimestampTZValue } from "@duckdb/node-api";
import { Pool } from "undici";

const SYMBOLS = 500;
const CONCURRENCY = 8;
const bin = new URL("../bin/tickflow.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "tickflow-bench-ingest-"));
const server = spawn(process.execPath, [new URL("./lib/polygon-server.mjs", import.meta.url).pathname], {
  stdio: ["ignore", "pipe", "inherit"],
});
const port = await new Promise((resolve) =>
  server.stdout.once("data", (d) => resolve(Number(String(d).trim()))),
);
const origin = `http://127.0.0.1:${port}`;
const symbols = Array.from({ length: SYMBOLS }, (_, i) => `S${String(i).padStart(3, "0")}`);

async function floor(withKey) {
  const file = join(dir, `floor-${withKey}.duckdb`);
  const instance = await DuckDBInstance.create(file);
  const db = await instance.connect();
  await db.run(
    `CREATE TABLE bars(source VARCHAR NOT NULL, symbol VARCHAR NOT NULL, date DATE NOT NULL, open DOUBLE,
      high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, vwap DOUBLE, trades BIGINT, adj_close DOUBLE,
      ingested_at TIMESTAMPTZ${withKey ? ", PRIMARY KEY (source, symbol, date)" : ""})`,
  );
  const ingestedAt = new DuckDBTimestampTZValue(BigInt(Date.now()) * 1000n);
  const appender = await db.createAppender("bars");
  const pool = new Pool(origin, { connections: CONCURRENCY });
  let next = 0;
  let bars = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < symbols.length) {
        const s = symbols[next++];
        const { body } = await pool.request({
          path: `/v2/aggs/ticker/${s}/range/1/day/2016-01-04/2025-12-31?adjusted=true&sort=asc&limit=50000`,
          method: "GET",
        });
        const json = JSON.parse(await body.text());
        for (const r of json.results) {
          appender.appendVarchar("polygon");
          appender.appendVarchar(s);
          appender.appendDate(new DuckDBDateValue(Math.floor((r.t - 5 * 3600_000) / 86_400_000)));
          appender.appendDouble(r.o);
          appender.appendDouble(r.h);
          appender.appendDouble(r.l);
          appender.appendDouble(r.c);
          appender.appendDouble(r.v);
          appender.appendDouble(r.vw);
          appender.appendBigInt(BigInt(r.n));
          appender.appendNull();
          appender.appendTimestampTZ(ingestedAt);
          appender.endRow();
          bars++;
        }
      }
    }),
  );
  appender.flushSync();
  appender.closeSync();
  db.closeSync();
  instance.closeSync();
  const ms = performance.now() - started;
  await pool.close();
  rmSync(file, { force: true });
  return { ms, bars };
}

function tickflowRun() {
  const file = join(dir, "ingest.yaml");
  writeFileSync(
    file,
    `kind: pipeline
name: ingest
parameters:
  symbols: {type: array, items: {type: string}, default: [${symbols.join(", ")}]}
tasks:
  fetch:
    uses: polygon.daily_bars
    with:
      symbols: \${{ params.symbols }}
      start: "2016-01-04"
      end: "2025-12-31"
      base_url: ${origin}
      api_key: \${{ env.POLYGON_API_KEY }}
      rate_limit: 0
      concurrency: ${CONCURRENCY}
`,
  );
  const db = join(dir, "tickflow.duckdb");
  const started = performance.now();
  const out = execFileSync(process.execPath, [bin, "run", file, "--db", db, "--json"], {
    env: { ...process.env, POLYGON_API_KEY: "bench-key" },
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 << 20,
  });
  const ms = performance.now() - started;
  const record = JSON.parse(out.toString());
  return { ms, bars: record.tasks[0].outputs.bars, state: record.state };
}

try {
  const f = await floor(true);
  const bare = await floor(false);
  const t = tickflowRun();
  const rate = (x) => Math.round((x.bars / x.ms) * 1000).toLocaleString("en-US");
  console.log(
    `ingest: polygon.daily_bars, ${SYMBOLS} symbols x ${f.bars / SYMBOLS} sessions, concurrency ${CONCURRENCY}, local server`,
  );
  console.log(
    `  floor (undici + JSON.parse + one appender, bars_daily's key)  ${f.ms.toFixed(0).padStart(6)} ms  ${rate(f).padStart(10)} bars/s`,
  );
  console.log(
    `  floor without the primary key (reference)                     ${bare.ms.toFixed(0).padStart(6)} ms  ${rate(bare).padStart(10)} bars/s`,
  );
  console.log(
    `  tickflow run (whole process, ${t.state})                      ${t.ms.toFixed(0).padStart(6)} ms  ${rate(t).padStart(10)} bars/s  (${t.bars} bars)`,
  );
  console.log(
    `  ratio tickflow/floor ${(t.ms / f.ms).toFixed(2)}x   target <= 1.25x: ${t.ms / f.ms <= 1.25 ? "met" : "MISSED"}   (vs the keyless floor ${(t.ms / bare.ms).toFixed(2)}x)`,
  );
} finally {
  server.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
