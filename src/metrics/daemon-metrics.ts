/**
 * The daemon's Prometheus registry (prom-client): every `tickflow_*` family, the process's own
 * (`process_*`, `nodejs_*`), and the text `/metrics` answers. The daemon reports runs, attempts
 * and scheduler passes through the methods here; code that also runs in `tickflow run` reports
 * through `record.ts`, whose sink this installs. Values kept in the database (pools, queued runs,
 * the last success) are read at each scrape, so they hold across restarts and never drift.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { EngineEvent } from "../engine/run.js";
import type { WorkPoolRow } from "../store/index.js";
import { FINAL_RUN_STATES } from "../store/states.js";
import { type MetricsSink, setMetricsSink } from "./record.js";

/** What the database says at a scrape. */
export interface DatabaseGauges {
  pools: readonly WorkPoolRow[];
  /** Every registered deployment, with when its latest Completed run ended (null: none yet). */
  deployments: readonly { deployment: string; at: Date | null }[];
  /** Per source of a freshness rule: seconds its bars are overdue (0: fresh). */
  freshness?: ReadonlyMap<string, number>;
}

export interface DaemonMetricsOptions {
  version: string;
  /** Runs executing in this daemon now. */
  runsActive: () => number;
  /** Most runs this daemon executes at once. */
  runsLimit: number;
  /** Reads the database's gauges; called once per scrape. */
  read: () => Promise<DatabaseGauges>;
}

export interface DaemonMetrics {
  /** A run was taken at `at`; it was due at `scheduledAt`. */
  runStarted(run: { workPool: string | null; scheduledAt: Date }, at: Date): void;
  /** A run ended in `state`; `seconds` it took, when this daemon ran it. */
  runEnded(deployment: string | null, state: string, seconds?: number): void;
  /** The scheduler marked (or created) runs Late: one deployment name per run. */
  runsLate(deployments: readonly (string | null)[]): void;
  schedulerPass(seconds: number): void;
  /** An `onEvent` for one run: counts its task attempts (by step and outcome) and retries. */
  taskEvents(): (event: EngineEvent) => void;
  /** The exposition text, after reading the database's gauges. */
  scrape(): Promise<string>;
  /** Stops taking the reports of `record.ts`. */
  close(): void;
}

const OFF_NAME_DEFAULTS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

/** Runs of no deployment (a retried pipeline run) carry this deployment label. */
const NO_DEPLOYMENT = "";

export function createDaemonMetrics(options: DaemonMetricsOptions): DaemonMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters, which `promtool check metrics` rejects; `nodejs_active_handles`
  // and `nodejs_active_resources` (by type) say the same.
  for (const name of OFF_NAME_DEFAULTS) registry.removeSingleMetric(name);
  const registers = [registry];
  // Every family is `tickflow_<name>`; a histogram's buckets suit what it measures.
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name: `tickflow_${name}`, help, labelNames, registers });
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge<L>({ name: `tickflow_${name}`, help, labelNames, registers });
  const histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ) => new Histogram<L>({ name: `tickflow_${name}`, help, labelNames, buckets, registers });

  gauge("build_info", "The running tickflow's version (always 1).", ["version"]).set(
    { version: options.version },
    1,
  );
  new Gauge({
    name: "tickflow_runs_active",
    help: "Runs executing in this daemon.",
    registers,
    collect() {
      this.set(options.runsActive());
    },
  });
  gauge("runs_active_limit", "Most runs this daemon executes at once.", []).set(options.runsLimit);

  const runsFinished = counter(
    "runs_finished_total",
    "Runs that reached a final state (Completed, Failed, Cancelled, Crashed) since the daemon started.",
    ["deployment", "state"],
  );
  const runDuration = histogram(
    "run_duration_seconds",
    "Time from taking a run to its end, for runs this daemon executed.",
    ["deployment"],
    [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400],
  );
  const startDelay = histogram(
    "run_start_delay_seconds",
    "Time from when a run was due (its scheduled time) to when a worker took it, by work pool.",
    ["pool"],
    [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600],
  );
  const late = counter(
    "runs_late_total",
    "Runs the scheduler marked or created Late (not started in time).",
    ["deployment"],
  );
  const lastSuccess = gauge(
    "deployment_last_success_timestamp_seconds",
    "When the deployment's latest Completed run ended (Unix time), from the run history.",
    ["deployment"],
  );
  const freshness = gauge(
    "data_freshness_seconds",
    "Seconds since the deadline of the latest session due whose bars of this source are missing (0: in), per freshness rules.",
    ["source"],
  );
  const attempts = counter(
    "task_attempts_total",
    "Task attempts by step and how they ended (Completed, Failed, Cancelled).",
    ["step", "outcome"],
  );
  const retries = counter("task_retries_total", "Task attempts that failed and were retried, by step.", [
    "step",
  ]);
  const httpRequests = counter(
    "http_requests_total",
    "Vendor API requests by API and status class (2xx, 4xx, 5xx; timeout, error or cancelled without one).",
    ["api", "status_class"],
  );
  const httpRetries = counter("http_retries_total", "Vendor API requests retried.", ["api"]);
  const httpWait = counter(
    "http_wait_seconds_total",
    "Seconds vendor requests waited: for the source's rate limit, a server's Retry-After, or backoff.",
    ["api", "reason"],
  );
  const bars = counter("bars_written_total", "Daily bars committed to bars_daily, by source.", ["source"]);
  const findings = counter(
    "quality_findings_total",
    "Findings recorded in quality_results, by check and severity.",
    ["check", "severity"],
  );
  const schedulerPass = histogram(
    "scheduler_pass_duration_seconds",
    "Duration of a scheduler pass (creating due runs, marking late ones).",
    [],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  const poolSlots = gauge(
    "work_pool_slots_in_use",
    "Runs holding a slot of the work pool (Pending, Running, Cancelling).",
    ["pool"],
  );
  const poolLimit = gauge("work_pool_slots_limit", "The work pool's concurrency limit (absent: unlimited).", [
    "pool",
  ]);
  const poolQueued = gauge(
    "work_pool_queued_runs",
    "Runs of the work pool due and waiting to be taken (Scheduled, Late).",
    ["pool"],
  );
  const queueSlots = gauge("work_queue_slots_in_use", "Runs holding a slot of the work queue.", [
    "pool",
    "queue",
  ]);
  const queueLimit = gauge(
    "work_queue_slots_limit",
    "The work queue's concurrency limit (absent: unlimited).",
    ["pool", "queue"],
  );
  const queueQueued = gauge("work_queue_queued_runs", "Runs of the work queue due and waiting to be taken.", [
    "pool",
    "queue",
  ]);
  const fromDatabase = [lastSuccess, poolSlots, poolLimit, poolQueued, queueSlots, queueLimit, queueQueued];

  const sink: MetricsSink = {
    httpRequest: (api, statusClass) => httpRequests.inc({ api, status_class: statusClass }),
    httpRetry: (api) => httpRetries.inc({ api }),
    httpWait: (api, reason, seconds) => httpWait.inc({ api, reason }, seconds),
    barsWritten: (source, n) => bars.inc({ source }, n),
    qualityFindings: (check, severity, n) => findings.inc({ check, severity }, n),
  };
  setMetricsSink(sink);

  return {
    runStarted(run, at) {
      const delay = Math.max(0, (at.getTime() - run.scheduledAt.getTime()) / 1000);
      startDelay.observe({ pool: run.workPool ?? "" }, delay);
    },
    runEnded(deployment, state, seconds) {
      const labels = { deployment: deployment ?? NO_DEPLOYMENT };
      runsFinished.inc({ ...labels, state });
      if (seconds !== undefined) runDuration.observe(labels, seconds);
    },
    runsLate(deployments) {
      for (const d of deployments) late.inc({ deployment: d ?? NO_DEPLOYMENT });
    },
    schedulerPass(seconds) {
      schedulerPass.observe(seconds);
    },
    taskEvents() {
      // The step of each instance with an attempt under way: an attempt counts once, when it ends
      // (Retrying: it failed; or the instance's final state). An instance that ends with none under
      // way (skipped, cached, bad parameters, cancelled while waiting to retry) made no attempt then.
      const running = new Map<string, string>();
      return (event) => {
        if (event.type !== "task") return;
        if (event.state === "Running") {
          running.set(event.id, event.step);
          return;
        }
        const step = running.get(event.id);
        if (step === undefined) return;
        running.delete(event.id);
        if (event.state === "Retrying") {
          attempts.inc({ step, outcome: "Failed" });
          retries.inc({ step });
        } else attempts.inc({ step, outcome: event.state });
      };
    },
    async scrape() {
      const read = await options.read();
      // Reset first: a pool, queue or deployment removed from the files leaves no stale series.
      for (const g of fromDatabase) g.reset();
      for (const { deployment, at } of read.deployments) {
        if (at !== null) lastSuccess.set({ deployment }, at.getTime() / 1000);
        // Counters of every deployment start at 0, so that `increase()` sees its first failure.
        for (const state of FINAL_RUN_STATES) runsFinished.inc({ deployment, state }, 0);
        late.inc({ deployment }, 0);
      }
      freshness.reset();
      for (const [source, seconds] of read.freshness ?? []) freshness.set({ source }, seconds);
      for (const p of read.pools) {
        poolSlots.set({ pool: p.name }, p.slots_in_use);
        poolQueued.set({ pool: p.name }, p.queued);
        if (p.concurrency_limit !== null) poolLimit.set({ pool: p.name }, p.concurrency_limit);
        for (const q of p.queues) {
          const labels = { pool: p.name, queue: q.name };
          queueSlots.set(labels, q.slots_in_use);
          queueQueued.set(labels, q.queued);
          if (q.concurrency_limit !== null) queueLimit.set(labels, q.concurrency_limit);
        }
      }
      return registry.metrics();
    },
    close() {
      // Another daemon of this process (tests) may have installed its own since: leave that one.
      const current = setMetricsSink(undefined);
      if (current !== sink) setMetricsSink(current);
    },
  };
}
