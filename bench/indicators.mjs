// Benchmark: indicators.compute, a full refresh of 1,000 symbols x 2,520 sessions (10 years) for
// sma_20, ema_12, ema_26, rsi_14, macd_12_26_9, bbands_20_2 and atr_14 (11 outputs, ~27.6M values),
// storage included; against the npm package technicalindicators computing the same set (not
// storing it). Ours is timed twice: `tickflow run` on a pipeline file (whole process: start-up,
// planning, run history) and the step's `run` called in this process with a real context.
// The bars are generated in DuckDB (untimed). Needs `npm run build:ts` (dist/).
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import technicalindicators from "technicalindicators";

const { ATR, BollingerBands, EMA, MACD, RSI, SMA } = technicalindicators;
const dist = (path) => new URL(`../dist/${path}`, import.meta.url).href;
const { openStore } = await import(dist("store/open.js"));
const { stepContext } = await import(dist("store/testing.js"));
const { indicatorsCompute } = await import(dist("steps/indicators-compute.js"));

const SYMBOLS = Number(process.env.BENCH_SYMBOLS ?? 1000);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 2520);
const INDICATORS = ["sma_20", "ema_12", "ema_26", "rsi_14", "macd_12_26_9", "bbands_20_2", "atr_14"];
const bin = new URL("../bin/tickflow.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "tickflow-bench-indicators-"));

const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;
const seconds = (t) => `${(t / 1000).toFixed(2)} s`;
const cpuMs = (usage) => (usage.user + usage.system) / 1000;

try {
  // 1. Bars: a deterministic random walk per symbol, generated and stored by DuckDB (untimed).
  const base = join(dir, "bars.duckdb");
  let store = await openStore(base);
  await store.db.run(`
    INSERT INTO bars_daily (source, symbol, date, open, high, low, close, volume)
    WITH steps AS (
      SELECT s, d, ((hash(s * 100003 + d) % 2000001)::DOUBLE / 1000000 - 1) * 0.03 AS r,
             (hash(s * 7919 + d * 31) % 1000)::DOUBLE / 1000 AS u
      FROM range(${SYMBOLS}) a(s), range(${SESSIONS}) b(d)
    ), walk AS (
      SELECT s, d, u, 20 + (s % 200) * 2 * exp(sum(r) OVER (PARTITION BY s ORDER BY d)) AS close FROM steps
    )
    SELECT 'bench', 'S' || lpad(s::VARCHAR, 4, '0'), DATE '2015-01-01' + d::INTEGER,
      round(close * (1 + (u - 0.5) * 0.01), 2), round(close * (1 + u * 0.02), 2), round(close * (1 - u * 0.02), 2),
      round(close, 2), 100000 + (u * 900000)::INTEGER
    FROM walk`);
  const bars = await store.db.runAndReadAll("SELECT high, low, close FROM bars_daily ORDER BY symbol, date");
  const columns = bars.getColumns();
  await store.close();
  const n = columns[0].length;
  console.log(`indicators: ${SYMBOLS} symbols x ${SESSIONS} sessions (${n} bars), ${INDICATORS.join(", ")}`);

  // 2. tickflow, whole process: `tickflow run` of a pipeline with the step, full refresh.
  const cliDb = join(dir, "cli.duckdb");
  copyFileSync(base, cliDb);
  const pipeline = join(dir, "indicators.yaml");
  writeFileSync(
    pipeline,
    `kind: pipeline
name: bench-indicators
tasks:
  compute:
    uses: indicators.compute
    with:
      source: bench
      full_refresh: true
      indicators: [${INDICATORS.join(", ")}]
`,
  );
  let start = process.hrtime.bigint();
  execFileSync(process.execPath, [bin, "run", pipeline, "--db", cliDb], { stdio: "pipe" });
  const cli = ms(start);
  const counted = execFileSync(
    process.execPath,
    [bin, "query", "--db", cliDb, "--format", "csv", "SELECT count(*) AS n FROM indicators"],
    { stdio: "pipe" },
  )
    .toString()
    .trim()
    .split("\n")
    .at(-1);

  // 3. tickflow, in this process: the step's run with a real context over a fresh copy.
  const stepDb = join(dir, "step.duckdb");
  copyFileSync(base, stepDb);
  store = await openStore(stepDb);
  const ctx = stepContext(store.db);
  let cpu = process.cpuUsage();
  start = process.hrtime.bigint();
  const out = await indicatorsCompute.run(
    ctx,
    indicatorsCompute.params.parse({ source: "bench", indicators: INDICATORS, full_refresh: true }),
  );
  const inProcess = ms(start);
  const inProcessCpu = cpuMs(process.cpuUsage(cpu));
  // An incremental run right after: nothing new, so no symbol is read.
  start = process.hrtime.bigint();
  await indicatorsCompute.run(
    ctx,
    indicatorsCompute.params.parse({ source: "bench", indicators: INDICATORS }),
  );
  const incremental = ms(start);
  // The daily case: one new session for every symbol. Incremental recomputes each series from its
  // first bar (exactly what a full refresh gives) and writes only the new date.
  await store.db.run(`INSERT INTO bars_daily (source, symbol, date, open, high, low, close, volume)
    SELECT source, symbol, date + 1, open, high * 1.01, low, close * 1.005, volume FROM bars_daily
    WHERE source = 'bench' AND date = (SELECT max(date) FROM bars_daily WHERE source = 'bench')`);
  start = process.hrtime.bigint();
  const daily = await indicatorsCompute.run(
    ctx,
    indicatorsCompute.params.parse({ source: "bench", indicators: INDICATORS }),
  );
  const oneSession = ms(start);
  await store.close();

  // 4. technicalindicators, computing only (the bars already in JS arrays, untimed).
  const [high, low, close] = columns.map((c) => c.map(Number));
  cpu = process.cpuUsage();
  start = process.hrtime.bigint();
  let values = 0;
  for (let s = 0; s < SYMBOLS; s++) {
    const from = s * SESSIONS;
    const to = from + SESSIONS;
    const c = close.slice(from, to);
    const h = high.slice(from, to);
    const l = low.slice(from, to);
    values += SMA.calculate({ period: 20, values: c }).length;
    values += EMA.calculate({ period: 12, values: c }).length;
    values += EMA.calculate({ period: 26, values: c }).length;
    values += RSI.calculate({ period: 14, values: c }).length;
    values +=
      3 *
      MACD.calculate({
        values: c,
        fastPeriod: 12,
        slowPeriod: 26,
        signalPeriod: 9,
        SimpleMAOscillator: false,
        SimpleMASignal: false,
      }).length;
    values += 3 * BollingerBands.calculate({ period: 20, stdDev: 2, values: c }).length;
    values += ATR.calculate({ period: 14, high: h, low: l, close: c }).length;
  }
  const ti = ms(start);
  const tiCpu = cpuMs(process.cpuUsage(cpu));

  console.log(
    `  tickflow run (whole process, storage included): ${seconds(cli)}  (${counted} values in the view)`,
  );
  console.log(
    `  step run in process (storage included):          ${seconds(inProcess)}  (${out.rows} values; CPU ${seconds(inProcessCpu)}, DuckDB threads included)`,
  );
  console.log(`  incremental re-run, nothing new:                 ${seconds(incremental)}`);
  console.log(
    `  incremental after one new session per symbol:    ${seconds(oneSession)}  (${daily.rows} values written)`,
  );
  console.log(
    `  technicalindicators, computing only:             ${seconds(ti)}  (${values} values; CPU ${seconds(tiCpu)})`,
  );
  console.log(
    `  load average when done: ${(await import("node:os"))
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  console.log(
    `  ratio technicalindicators / tickflow: ${(ti / cli).toFixed(2)}x (whole process), ${(ti / inProcess).toFixed(2)}x (in process)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
