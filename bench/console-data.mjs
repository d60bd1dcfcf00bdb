// Benchmark: the console's JSON routes over a big database, through the real Hono app
// (`app.request()`, the whole middleware chain and JSON answer). The database (100,000 runs,
// 1,000,000 task runs, ~10,000,000 bars: 4,000 symbols x 10 years of XNYS sessions, 3 indicators
// for every symbol, some quality findings) is generated once with DuckDB's appender and cached in
// bench/.cache (gitignored; delete the file to rebuild). p50/p95 of: the runs list's first page
// and a deep keyset page, a run's detail, one symbol's 10 years of bars with 3 indicators, a
// coverage grid of 500 symbols x 252 sessions, the overview (150 ms: the first paint's budget). Alone: `node bench/console-data.mjs`
// (after `npm run build:ts`).
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { DuckDBDataChunk, DuckDBDateValue, DuckDBTimestampTZValue } from "@duckdb/node-api";
import { createApi } from "../dist/api/app.js";
import { sessionsBetween } from "../dist/calendar/index.js";
import { LocalControlPlane } from "../dist/control/local.js";
import { LocalConsoleViews } from "../dist/control/local-views.js";
import { newRunId, openStore, rebuildBarSymbols } from "../dist/store/index.js";
import { ensureIndicatorColumns, ensureSeries } from "../dist/store/indicators.js";

const RUNS = 100_000;
const TASKS_PER_RUN = 10;
const SYMBOLS = 4000;
const FIRST_DAY = "2015-07-01";
const LAST_DAY = "2025-06-30";
const NOW = new Date("2025-07-01T12:00:00Z");
const ITERATIONS = 40;
const cacheDir = new URL("./.cache/", import.meta.url).pathname;
const file = join(cacheDir, "console-data-v1.duckdb");

const us = (ms) => new DuckDBTimestampTZValue(BigInt(Math.round(ms)) * 1000n);
const day = (iso) => new DuckDBDateValue(Math.round(Date.parse(`${iso}T00:00:00Z`) / 86_400_000));
const symbolName = (i) => `S${String(i).padStart(4, "0")}`;

/** Appends `n` rows to `table` with the appender, a 2048-row data chunk at a time; `row(i)` gives the values. */
async function append(db, table, n, row) {
  const appender = await db.createAppender(table);
  const types = [];
  for (let c = 0; c < appender.columnCount; c++) types.push(appender.columnType(c));
  for (let offset = 0; offset < n; offset += 2048) {
    const count = Math.min(2048, n - offset);
    const chunk = DuckDBDataChunk.create(types, count);
    const vectors = types.map((_, c) => chunk.getColumnVector(c));
    for (let i = 0; i < count; i++) {
      const values = row(offset + i);
      for (let c = 0; c < vectors.length; c++) vectors[c].setItem(i, values[c] ?? null);
    }
    for (const v of vectors) v.flush();
    appender.appendDataChunk(chunk);
  }
  appender.flushSync();
  appender.closeSync();
}

async function generate() {
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${file}.partial`;
  rmSync(partial, { force: true });
  rmSync(`${partial}.wal`, { force: true });
  const started = performance.now();
  const store = await openStore(partial);
  const db = store.db;
  const states = [
    "Completed",
    "Completed",
    "Completed",
    "Completed",
    "Completed",
    "Completed",
    "Failed",
    "Completed",
    "Cancelled",
    "Completed",
  ];
  const first = NOW.getTime() - RUNS * 600_000; // one run every 10 minutes, up to NOW
  const ids = Array.from({ length: RUNS }, (_, i) => newRunId(first + i * 600_000));
  await append(db, "runs", RUNS, (i) => {
    const at = first + i * 600_000;
    const state = i >= RUNS - 5 ? "Scheduled" : states[i % states.length];
    const ran = state !== "Scheduled";
    return [
      ids[i],
      `pipeline-${i % 20}`,
      `dep-${i % 100}`,
      state,
      `{"days_back":${i % 7}}`,
      day(new Date(at).toISOString().slice(0, 10)),
      us(at - 1000),
      ran ? us(at + 500) : null,
      ran ? us(at + 60_000) : null,
      state === "Failed" ? `task fetch[S${i % 4000}] failed: HTTP 503` : null,
      "/srv/pipelines/daily.yaml",
      us(at),
      null,
      "default",
      "default",
      null,
      null,
    ];
  });
  await append(db, "task_runs", RUNS * TASKS_PER_RUN, (k) => {
    const i = Math.floor(k / TASKS_PER_RUN);
    const t = k % TASKS_PER_RUN;
    const at = first + i * 600_000;
    return [
      ids[i],
      t === 0 ? "validate" : `fetch[${symbolName((i * 9 + t) % SYMBOLS)}]`,
      t === 0 ? "validate.ohlcv" : "polygon.daily_bars",
      "Completed",
      1,
      us(at + 1000 + t * 100),
      us(at + 2000 + t * 100),
      null,
      `{"rows":${t * 10}}`,
      null,
    ];
  });
  const sessions = sessionsBetween(FIRST_DAY, LAST_DAY);
  const days = sessions.map(day);
  const ingested = us(NOW.getTime());
  // Symbol by symbol, as a backfill of the history writes them.
  await append(db, "bars_daily", SYMBOLS * sessions.length, (k) => {
    const s = Math.floor(k / sessions.length);
    const d = k % sessions.length;
    const close = 50 + (s % 200) + 10 * Math.sin((d + s) / 30);
    return [
      "polygon",
      symbolName(s),
      days[d],
      close - 0.5,
      close + 1,
      close - 1,
      close,
      1e6 + ((s * 7919 + d) % 100_000),
      close,
      1000n,
      close,
      ingested,
    ];
  });
  // Three indicators for every symbol, derived in SQL from the bars (as the step would compute them).
  await ensureIndicatorColumns(db, ["sma_20", "ema_50", "rsi_14"]);
  await ensureSeries(db, "polygon", "");
  await db.run(`INSERT INTO indicator_values (series, date, sma_20, ema_50, rsi_14)
    SELECT s.id, b.date,
      CASE WHEN row_number() OVER w > 19 THEN avg(b.close) OVER (w ROWS 19 PRECEDING) END,
      CASE WHEN row_number() OVER w > 49 THEN avg(b.close) OVER (w ROWS 49 PRECEDING) END,
      CASE WHEN row_number() OVER w > 14 THEN 50 + (b.close - avg(b.close) OVER (w ROWS 13 PRECEDING)) END
    FROM bars_daily b JOIN indicator_series s ON s.source = b.source AND s.symbol = b.symbol
    WINDOW w AS (PARTITION BY s.id ORDER BY b.date)
    ORDER BY s.id, b.date`);
  // Quality findings: one validation run's, ~1 per 2,000 bars, some errors.
  const validation = ids[RUNS - 10];
  await append(db, "quality_results", 5000, (i) => [
    validation,
    "polygon",
    symbolName((i * 37) % SYMBOLS),
    days[(i * 101) % days.length],
    i % 3 === 0 ? "ohlc_consistency" : "price_jump",
    i % 3 === 0 ? "error" : "warn",
    `finding ${i}`,
    us(NOW.getTime() - 3_600_000),
  ]);
  // Written with the appender, not a tickflow writer: the per-symbol summary is rebuilt once.
  await rebuildBarSymbols(db);
  await db.run("CHECKPOINT");
  await store.close();
  renameSync(partial, file);
  console.log(`  generated ${file} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** p50/p95 of `ITERATIONS` requests (after 3 to warm up); `path(i)` may vary the request. */
async function measure(app, path) {
  for (let i = 0; i < 3; i++) await request(app, path(i));
  const times = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const t = performance.now();
    await request(app, path(i + 3));
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p95: percentile(times, 95) };
}

async function request(app, path) {
  const response = await app.request(path);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

console.log(
  "console data: the console's JSON routes over 100,000 runs, 1,000,000 task runs, 10,000,000 bars",
);
if (!existsSync(file)) await generate();
{
  // A cache made by an older schema: opened once for writing, it is migrated.
  const writable = await openStore(file);
  await writable.close();
}
const store = await openStore(file, { readOnly: true });
try {
  const app = createApi({
    control: new LocalControlPlane(store, { now: () => NOW }),
    views: new LocalConsoleViews(store, { now: () => NOW }),
    writable: false,
    token: undefined,
    health: async () => ({ status: "read-only" }),
    metrics: async () => "",
    onError: (m) => console.error(m),
  });
  // A cursor 50,000 runs deep, walked page by page as a client would.
  let cursor = null;
  for (let i = 0; i < 50; i++)
    cursor = (await request(app, `/api/runs/page?limit=1000${cursor ? `&before=${cursor}` : ""}`)).next;
  const recent = (await request(app, "/api/runs/page?limit=1000")).runs.map((r) => r.id);
  const bars = await request(app, "/api/data/polygon/S1234/bars?indicators=sma_20,ema_50,rsi_14");
  const grid = await request(app, "/api/coverage?source=polygon&to=2025-06-30&limit=500");
  console.log(
    `  (bars: ${bars.date.length} days x ${Object.keys(bars.indicators).length} indicators; coverage: ${grid.symbols.length} symbols x ${grid.days.length} days of ${grid.total})`,
  );
  const cases = [
    ["runs list, first page (50)", 50, () => "/api/runs/page?limit=50"],
    ["runs list, keyset page 50,000 deep", 50, () => `/api/runs/page?limit=50&before=${cursor}`],
    ["run detail (10 tasks)", 50, (i) => `/api/runs/${recent[(i * 37) % recent.length]}`],
    [
      "bars, 10 years + 3 indicators",
      100,
      (i) =>
        `/api/data/polygon/S${String((i * 97) % SYMBOLS).padStart(4, "0")}/bars?indicators=sma_20,ema_50,rsi_14`,
    ],
    [
      "coverage 500 x 252",
      300,
      (i) => `/api/coverage?source=polygon&to=2025-06-30&limit=500&offset=${(i % 8) * 500}`,
    ],
    // No target of its own in the issue: the console's first paint (< 1 s) starts with it.
    ["overview", 150, () => "/api/overview"],
  ];
  console.log(
    `  load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(", ")} on ${cpus().length} cores`,
  );
  for (const [name, target, path] of cases) {
    const { p50, p95 } = await measure(app, path);
    const verdict =
      target === undefined
        ? "(no target)"
        : `target p95 < ${target} ms: ${(p95 / target).toFixed(2)}x ${p95 < target ? "met" : "MISSED"}`;
    console.log(
      `  ${name.padEnd(38)} p50 ${p50.toFixed(1).padStart(7)} ms  p95 ${p95.toFixed(1).padStart(7)} ms   ${verdict}`,
    );
  }
} finally {
  await store.close();
}
