// Benchmark: claims on PostgreSQL (issue 16). RUNS due runs; W workers at once, each looping as a
// worker does: `claimRunsPg` of one run (its own connection of the pool), then the run moved to
// Running and to Completed (`transitionRunsPg`), until nothing is due. Two layouts: every run in
// one work pool with a concurrency limit (claimers take turns on the pool's advisory lock), and runs
// of no pool (no limits, no lock: only FOR UPDATE SKIP LOCKED between claimers). Prints runs/s and
// the claim call's p50/p95 latency. Peers in the same process run: the same loop with 1 worker
// (scaling), and DuckDB's `claimRuns` (src/daemon/claim.ts, one process) over the same runs.
// Needs `npm run build:ts` (dist/) and PostgreSQL (else skipped: bench/lib/postgres.mjs).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchPostgres } from "./lib/postgres.mjs";

const dist = (path) => new URL(`../dist/${path}`, import.meta.url).href;
const { openStore } = await import(dist("store/open.js"));
const { createRuns, transitionRuns } = await import(dist("store/index.js"));
const { claimRuns } = await import(dist("daemon/claim.js"));
const { openPgPool } = await import(dist("store/pg/pool.js"));
const { migratePg } = await import(dist("store/pg/migrate.js"));
const { createRunsPg } = await import(dist("store/pg/create-runs.js"));
const { claimRunsPg } = await import(dist("store/pg/claim-runs.js"));
const { transitionRunsPg } = await import(dist("store/pg/run-transitions.js"));

const RUNS = Number(process.env.BENCH_RUNS ?? 1000);
/** DuckDB claims one at a time, reading every due run each time: a smaller backlog keeps it short. */
const DUCK_RUNS = Math.min(RUNS, 500);
const WORKERS = 8;
const POOL_LIMIT = 8;
const LEASE_MS = 60_000;

/** The due runs: in pool `bench` (limit POOL_LIMIT) or in none. */
function newRuns(pooled, count = RUNS) {
  const due = new Date(Date.now() - 3600_000);
  return Array.from({ length: count }, (_, i) => ({
    id: `run-${String(i).padStart(6, "0")}`,
    pipeline: "bench",
    deployment: "bench",
    state: "Scheduled",
    parameters: { i },
    logical_date: "2026-01-05",
    pipeline_file: "/bench/p.yaml",
    scheduled_at: new Date(due.getTime() + i),
    work_pool: pooled ? "bench" : null,
  }));
}

const DEPLOYMENT_SQL = `INSERT INTO deployments (name, pipeline, pipeline_file, work_pool, concurrency_limit,
  collision_strategy, missed_runs, paused, definition, updated_at)
  VALUES ('bench', 'bench', '/bench/p.yaml', NULL, NULL, 'enqueue', 'skip', false, '{}', now())`;
const POOL_SQL = `INSERT INTO work_pools (name, concurrency_limit, paused, definition)
  VALUES ('bench', ${POOL_LIMIT}, false, '{}')`;

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;

/** Claims with `workers` loops until nothing is due; returns runs done, wall ms and claim latencies. */
async function workLoops(workers, claimOne, finish) {
  const latencies = [];
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const owner = `worker-${w}`;
      for (;;) {
        const t = performance.now();
        const { claimed } = await claimOne(owner);
        latencies.push(performance.now() - t);
        if (claimed.length === 0) return;
        for (const run of claimed) await finish(run.id);
        done += claimed.length;
      }
    }),
  );
  const ms = performance.now() - started;
  return { done, ms, latencies: latencies.sort((a, b) => a - b) };
}

async function postgresCase(url, workers, pooled, scan) {
  const store = await openPgPool(url, { env: {}, max: workers + 2 });
  try {
    await migratePg(store.pool);
    await store.pool.query(
      "TRUNCATE runs, state_transitions, task_runs, deployments, work_pools, work_queues, notify_outbox",
    );
    await store.pool.query(DEPLOYMENT_SQL);
    await store.pool.query(POOL_SQL);
    await createRunsPg(store.pool, newRuns(pooled), new Date(), "bench");
    await store.pool.query("VACUUM ANALYZE runs");
    const result = await workLoops(
      workers,
      (owner) => {
        const now = new Date();
        return claimRunsPg(store.pool, {
          owner,
          now,
          leaseUntil: new Date(now.getTime() + LEASE_MS),
          limit: 1,
          ...(scan ? { scan } : {}),
          ...(pooled ? { pools: ["bench"] } : {}),
        });
      },
      async (id) => {
        await transitionRunsPg(store.pool, { ids: [id] }, { to: "Running", at: new Date() });
        await transitionRunsPg(store.pool, { ids: [id] }, { to: "Completed", at: new Date() });
      },
    );
    const [{ n }] = (
      await store.pool.query("SELECT count(*)::integer AS n FROM runs WHERE state = 'Completed'")
    ).rows;
    if (n !== RUNS || result.done !== RUNS)
      throw new Error(`claims: ${result.done} claimed, ${n} completed of ${RUNS}`);
    return result;
  } finally {
    await store.close();
  }
}

async function duckdbCase(pooled) {
  const dir = mkdtempSync(join(tmpdir(), "tickflow-bench-claims-"));
  const store = await openStore(join(dir, "claims.duckdb"));
  try {
    await store.db.run(DEPLOYMENT_SQL);
    await store.db.run(POOL_SQL);
    await createRuns(store.db, newRuns(pooled, DUCK_RUNS), new Date(), "bench");
    return await workLoops(
      1,
      (owner) => claimRuns(store.db, new Date(), owner, LEASE_MS, 1),
      async (id) => {
        await transitionRuns(store.db, { ids: [id] }, { to: "Running", at: new Date() });
        await transitionRuns(store.db, { ids: [id] }, { to: "Completed", at: new Date() });
      },
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const line = (label, r) =>
  `  ${label.padEnd(50)} ${String(Math.round((r.done / r.ms) * 1000)).padStart(6)} runs/s   claim p50 ${percentile(r.latencies, 0.5).toFixed(1).padStart(6)} ms  p95 ${percentile(r.latencies, 0.95).toFixed(1).padStart(6)} ms   (${(r.ms / 1000).toFixed(1)} s)`;

const pg = await benchPostgres();
if (pg.skipped) console.log(`postgres-claims: skipped: ${pg.skipped}`);
else {
  try {
    const url = await pg.database("claims");
    console.log(
      `postgres-claims: ${RUNS} due runs, each claimed (claimRunsPg, limit 1), then Running, then Completed`,
    );
    const limited8 = await postgresCase(url, WORKERS, true);
    console.log(line(`PostgreSQL, ${WORKERS} workers, one pool (limit ${POOL_LIMIT})`, limited8));
    const limited1 = await postgresCase(url, 1, true);
    console.log(line("PostgreSQL, 1 worker, one pool (peer)", limited1));
    const free8 = await postgresCase(url, WORKERS, false);
    console.log(line(`PostgreSQL, ${WORKERS} workers, no pool, no limits`, free8));
    const free1 = await postgresCase(url, 1, false);
    console.log(line("PostgreSQL, 1 worker, no pool (peer)", free1));
    // claimRunsPg locks up to `scan` (default 1,000) due rows per claim, whatever its limit.
    const narrow = await postgresCase(url, WORKERS, false, 8);
    console.log(line(`PostgreSQL, ${WORKERS} workers, no pool, scan 8 (not 1,000)`, narrow));
    const duck = await duckdbCase(true);
    console.log(line(`DuckDB claimRuns, 1 process, one pool, ${DUCK_RUNS} runs (ref.)`, duck));
    const rate = (r) => r.done / r.ms;
    console.log(
      `  scaling ${WORKERS} workers / 1: ${(rate(limited8) / rate(limited1)).toFixed(2)}x (one pool), ${(rate(free8) / rate(free1)).toFixed(2)}x (no pool)   PostgreSQL ${WORKERS} workers / DuckDB: ${(rate(limited8) / rate(duck)).toFixed(2)}x`,
    );
  } finally {
    await pg.close();
  }
}
