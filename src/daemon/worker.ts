/**
 * Executes one run a worker took: loads and plans its pipeline with the run's parameters and
 * logical date, then runs it in this process on the daemon's store. A pipeline that no longer
 * loads or plans fails the run with the reason (it never throws).
 */
import { dirname } from "node:path";
import { parseDuration } from "../config/duration.js";
import { maskerOf } from "../config/masker.js";
import { type EngineEvent, executeRun, type RunResult } from "../engine/run.js";
import { loadPipeline } from "../pipeline/load.js";
import { resolveParameters } from "../pipeline/parameters.js";
import { type Plan, planPipeline } from "../pipeline/plan.js";
import type { LogLevel } from "../pipeline/step-spec.js";
import { builtinSteps } from "../steps/index.js";
import { type AnyStore, runRecordsOf } from "../store/index.js";
import type { ClaimedRun } from "./claim.js";
import type { DaemonLog } from "./daemon.js";
import { atLeast } from "./log.js";

const steps = new Map(builtinSteps.map((s) => [s.name, s]));

export interface WorkOptions {
  /** Aborting it cancels the run (runs cancel, daemon shutdown). */
  signal: AbortSignal;
  /** The service's environment plus the pool's job_defaults.env. */
  env: Record<string, string | undefined>;
  /** The pool's job_defaults.timeout: the run is cancelled past it. */
  timeout?: string;
  /** Today in the exchange's time zone, for runs without a logical date. */
  today: string;
  /** The daemon's log: the run's lines at warn and above (all at debug), its retries and failed tasks. */
  log?: DaemonLog;
  /** The least level the daemon's log writes. */
  logLevel?: LogLevel;
  /** What the engine reports as the run goes (the daemon's metrics count attempts from it). */
  onEvent?: (event: EngineEvent) => void;
}

/** Runs a claimed run to its end; returns its final state and error. */
export async function workRun(
  store: AnyStore,
  run: ClaimedRun,
  options: WorkOptions,
): Promise<{ state: string; error?: string }> {
  // Before the engine started it (the pipeline no longer loads), or when the engine itself broke.
  const failed = async (reason: string, started = false) => {
    // Planning evaluates for_each, whose errors may quote a value (from_json's do).
    const error = maskerOf(options.env).mask(reason);
    const now = new Date();
    await runRecordsOf(store).transitionRuns(
      { ids: [run.id] },
      {
        to: "Failed",
        from: ["Pending", "Running", "Cancelling"],
        at: now,
        message: error,
        set: {
          ...(started ? {} : { started_at: now }),
          ended_at: now,
          error,
          lease_owner: null,
          lease_expires_at: null,
        },
      },
    );
    return { state: "Failed", error };
  };
  const loaded = await loadPipeline(run.pipelineFile, builtinSteps, { withDefaults: false });
  const problems = loaded.diagnostics.filter((d) => d.severity === "error");
  if (!loaded.doc || problems.length > 0) {
    return failed(
      `pipeline ${run.pipelineFile} does not load: ${problems.map((p) => `${p.line}:${p.col}: ${p.message}`).join("; ")}`,
    );
  }
  const doc = loaded.doc;
  const params = resolveParameters(doc.parameters ?? {}, run.parameters, {});
  if (params.problems.length > 0) {
    return failed(`parameters: ${params.problems.map((p) => `${p.name}: ${p.message}`).join("; ")}`);
  }
  let signal = options.signal;
  const timeoutMs = options.timeout === undefined ? undefined : parseDuration(options.timeout);
  if (timeoutMs !== undefined) signal = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  let result: RunResult;
  try {
    const plan = planPipeline(doc, params.values, run.logicalDate ?? options.today, options.env);
    const logEvent = options.log
      ? toDaemonLog(run, plan, options.log, options.logLevel ?? "info")
      : undefined;
    result = await executeRun({
      store,
      doc,
      plan,
      steps,
      baseDir: dirname(run.pipelineFile),
      file: run.pipelineFile,
      env: options.env,
      ...(run.deployment ? { deployment: run.deployment } : {}),
      signal,
      runId: run.id,
      existingRun: true,
      onEvent: (event) => {
        logEvent?.(event);
        options.onEvent?.(event);
      },
    });
  } catch (err) {
    return failed(err instanceof Error ? err.message : String(err), true);
  }
  return { state: result.state, ...(result.error ? { error: result.error } : {}) };
}

/**
 * A run's events as daemon log lines with the run's and the task's fields. The engine masked their
 * text with the run's secrets (the pool's environment included) before emitting them.
 */
function toDaemonLog(
  run: ClaimedRun,
  plan: Plan,
  log: DaemonLog,
  least: LogLevel,
): (event: EngineEvent) => void {
  const steps = new Map(plan.tasks.map((t) => [t.id, t.uses]));
  const copied: LogLevel = least === "debug" ? "debug" : "warn";
  const fields = (taskId: string | null) => ({
    run_id: run.id,
    ...(run.deployment ? { deployment: run.deployment } : {}),
    ...(taskId !== null ? { task_id: taskId, step: steps.get(taskId) } : {}),
  });
  return (event) => {
    if (event.type === "log") {
      if (atLeast(event.level, copied))
        log(
          event.level,
          event.taskId === null ? event.message : `${event.taskId}: ${event.message}`,
          fields(event.taskId),
        );
    } else if (event.type === "task" && (event.state === "Retrying" || event.state === "Failed")) {
      const what = event.state === "Retrying" ? `attempt ${event.attempt} failed, retrying` : "Failed";
      log("warn", `${event.id}: ${what}${event.error ? `: ${event.error}` : ""}`, fields(event.id));
    }
  };
}
