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

  new Gauge({
    name: "tickflow_build_info",
    help: "The running tickflow's version (always 1).",
    labelNames: ["version"],
    registers,
  }).set({ version: options.version }, 1);
  new Gauge({
    name: "tickflow_runs_active",
    help: "Runs executing in this daemon.",
    registers,
    collect() {
      this.set(options.runsActive());
    },
  });
  new Gauge({
    name: "tickflow_runs_active_limit",
    help: "Most runs this daemon executes at once.",
    registers,
  }).set(options.runsLimit);

  const runsFinished = new Counter({
    name: "tickflow_runs_finished_total",
    help: "Runs that reached a final state (Completed, Failed, Cancelled, Crashed) since the daemon started.",
    labelNames: ["deployment", "state"],
    registers,
  });
  const runDuration = new Histogram({
    name: "tickflow_run_duration_seconds",
    help: "Time from taking a run to its end, for runs this daemon executed.",
    labelNames: ["deployment"],
    buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400],
    registers,
  });
  const startDelay = new Histogram({
    name: "tickflow_run_start_delay_seconds",
    help: "Time from when a run was due (its scheduled time) to when a worker took it, by work pool.",
    labelNames: ["pool"],
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600],
    registers,
  });
  const late = new Counter({
    name: "tickflow_runs_late_total",
    help: "Runs the scheduler marked or created Late (not started in time).",
    labelNames: ["deployment"],
    registers,
  });
  const lastSuccess = new Gauge({
    name: "tickflow_deployment_last_success_timestamp_seconds",
    help: "When the deployment's latest Completed run ended (Unix time), from the run history.",
    labelNames: ["deployment"],
    registers,
  });

  const attempts = new Counter({
    name: "tickflow_task_attempts_total",
    help: "Task attempts by step and how they ended (Completed, Failed, Cancelled).",
    labelNames: ["step", "outcome"],
    registers,
  });
  const retries = new Counter({
    name: "tickflow_task_retries_total",
    help: "Task attempts that failed and were retried, by step.",
    labelNames: ["step"],
    registers,
  });

  const httpRequests = new Counter({
    name: "tickflow_http_requests_total",
    help: "Vendor API requests by API and status class (2xx, 4xx, 5xx; timeout, error or cancelled without one).",
    labelNames: ["api", "status_class"],
    registers,
  });
  const httpRetries = new Counter({
    name: "tickflow_http_retries_total",
    help: "Vendor API requests retried.",
    labelNames: ["api"],
    registers,
  });
  const httpWait = new Counter({
    name: "tickflow_http_wait_seconds_total",
    help: "Seconds vendor requests waited: for the source's rate limit, a server's Retry-After, or backoff.",
    labelNames: ["api", "reason"],
    registers,
  });

  const bars = new Counter({
    name: "tickflow_bars_written_total",
    help: "Daily bars committed to bars_daily, by source.",
    labelNames: ["source"],
    registers,
  });
  const findings = new Counter({
    name: "tickflow_quality_findings_total",
    help: "Findings recorded in quality_results, by check and severity.",
    labelNames: ["check", "severity"],
    registers,
  });

  const schedulerPass = new Histogram({
    name: "tickflow_scheduler_pass_duration_seconds",
    help: "Duration of a scheduler pass (creating due runs, marking late ones).",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });

  const pool = (name: string, help: string) =>
    new Gauge({ name: `tickflow_work_pool_${name}`, help, labelNames: ["pool"], registers });
  const queue = (name: string, help: string) =>
    new Gauge({ name: `tickflow_work_queue_${name}`, help, labelNames: ["pool", "queue"], registers });
  const poolSlots = pool(
    "slots_in_use",
    "Runs holding a slot of the work pool (Pending, Running, Cancelling).",
  );
  const poolLimit = pool("slots_limit", "The work pool's concurrency limit (absent: unlimited).");
  const poolQueued = pool(
    "queued_runs",
    "Runs of the work pool due and waiting to be taken (Scheduled, Late).",
  );
  const queueSlots = queue("slots_in_use", "Runs holding a slot of the work queue.");
  const queueLimit = queue("slots_limit", "The work queue's concurrency limit (absent: unlimited).");
  const queueQueued = queue("queued_runs", "Runs of the work queue due and waiting to be taken.");
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
