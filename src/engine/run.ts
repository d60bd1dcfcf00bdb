import { setMaxListeners } from "node:events";
import type { DuckDBConnection } from "@duckdb/node-api";
import { parseDuration } from "../config/duration.js";
import { type Masker, maskerOf } from "../config/masker.js";
import { envReferenceName } from "../config/secrets.js";
import { type CompiledTask, compileTask } from "../pipeline/compile.js";
import type { PipelineDocument, TaskDocument } from "../pipeline/document.js";
import { type EvalContext, isTruthy } from "../pipeline/expression/index.js";
import { type Plan, type PlannedTask, planContext } from "../pipeline/plan.js";
import type { LogLevel, StepContext, StepSpec } from "../pipeline/step-spec.js";
import { type AnyStore, isPgStore } from "../store/backend.js";
import {
  isFinalTaskState,
  newRunId,
  type RunState,
  type TaskRunRow,
  type TaskState,
} from "../store/index.js";
import { stepSinksPg } from "../store/pg/bars-writer.js";
import type { PgDb } from "../store/pg/transaction.js";
import { runRecordsOf } from "../store/run-records.js";
import { stepSinks } from "../store/sinks.js";
import { type AttemptEnv, messageOf, type Outcome, RunAborted, runAttempts } from "./attempt.js";
import { type Clock, systemClock } from "./clock.js";
import { RunConnections } from "./connections.js";
import { instancesByTask, tasksContext } from "./outputs.js";
import { Readiness } from "./readiness.js";
import { endRun, notStarted, startRun } from "./run-state.js";

/** What the engine reports as it goes (progress display, logs). */
export type EngineEvent =
  | { type: "run"; id: string; state: RunState; error?: string }
  | { type: "task"; id: string; step: string; state: TaskState; attempt: number; error?: string }
  | { type: "log"; taskId: string | null; level: LogLevel; message: string };

export interface ExecuteOptions {
  /** The DuckDB file, or PostgreSQL (steps then compute in its in-memory DuckDB, `scratch()`). */
  store: AnyStore;
  doc: PipelineDocument;
  plan: Plan;
  steps: ReadonlyMap<string, StepSpec>;
  /** Folder of the pipeline file (relative paths in parameters). */
  baseDir: string;
  /** The pipeline file as the user named it, kept with the run. */
  file?: string;
  env: Record<string, string | undefined>;
  deployment?: string;
  /** Aborting it cancels the run (Ctrl-C): running tasks get their AbortSignal. */
  signal?: AbortSignal;
  onEvent?: (event: EngineEvent) => void;
  /** Run id to use (default: a new time-ordered id). */
  runId?: string;
  /** The run row exists already (created by the scheduler): update it instead of inserting one. */
  existingRun?: boolean;
  /** Timestamps, retry delays and timeouts (default: the system's). */
  clock?: Clock;
  /** How long a timed-out or cancelled step may take to stop before the run gives up on it. Default 1 s. */
  stopGraceMs?: number;
}

export interface TaskResult {
  id: string;
  task: string;
  step: string;
  state: TaskState;
  attempts: number;
  outputs: Record<string, unknown>;
  error?: string;
  startedAt?: Date;
  endedAt?: Date;
  /** The full cache key, for tasks with `cache`. */
  cacheKey?: string;
}

export interface RunResult {
  id: string;
  pipeline: string;
  state: RunState;
  error?: string;
  tasks: TaskResult[];
}

const DEFAULT_MAX_PARALLEL = 8;
const STOP_GRACE_MS = 1000;

/** A task instance while the run executes. */
interface Instance {
  planned: PlannedTask;
  doc: TaskDocument;
  step: StepSpec | undefined;
  compiled: CompiledTask;
  /** Instance indexes this one needs. */
  needs: number[];
  result: TaskResult;
}

/** What every step of a run sees. */
interface RunScope {
  runId: string;
  runDate: string;
  baseDir: string;
  env: Record<string, string | undefined>;
  log(taskId: string, level: LogLevel, message: string): void;
}

/** Runs a planned pipeline to the end, recording every state in the store. Never throws for task failures. */
export async function executeRun(options: ExecuteOptions): Promise<RunResult> {
  const { store, doc, plan } = options;
  const clock = options.clock ?? systemClock;
  const runId = options.runId ?? newRunId();
  const emit = options.onEvent ?? (() => {});
  const startedAt = clock.now();
  // Every line, output and error of the run passes through it before it leaves (store, events, result).
  const masker = maskerOf(options.env);
  masker.add(secretParameterValues(doc, options.steps, options.env));
  if (!(await startRun(options, runId, startedAt))) return notStarted(store, runId, doc.name, startedAt);
  emit({ type: "run", id: runId, state: "Running" });
  const records = runRecordsOf(store);
  const recorder = records.recorder(runId);
  recorder.startAutoFlush(250);

  const abort = runAbort(options.signal, clock, doc.timeout);
  const instances = instancesOf(doc, plan, options.steps);
  const byTask = instancesByTask(instances);
  const readiness = new Readiness(
    instances.map((x) => ({
      needs: x.needs,
      continueOnError: x.doc.continue_on_error === true,
      ...(x.doc.concurrency ? { concurrency: x.doc.concurrency } : {}),
    })),
    { maxParallel: doc.max_parallel ?? DEFAULT_MAX_PARALLEL, concurrencyLimits: doc.concurrency_limits },
  );
  const base: EvalContext = {
    ...planContext(plan.params, plan.runDate, options.env),
    run: { id: runId, date: plan.runDate, pipeline: doc.name, deployment: options.deployment ?? null },
  };
  const scope: RunScope = {
    runId,
    runDate: plan.runDate,
    baseDir: options.baseDir,
    env: options.env,
    log: (taskId, level, text) => {
      const message = masker.mask(text);
      recorder.log(taskId, level, message, clock.now());
      emit({ type: "log", taskId, level, message });
    },
  };
  const attemptEnv: AttemptEnv = {
    clock,
    stopGraceMs: options.stopGraceMs ?? STOP_GRACE_MS,
    runSignal: abort.signal,
    findCached: (key, notBefore) => records.findCachedTask(key, notBefore),
  };
  const pg = isPgStore(store) ? store.pool : undefined;
  const connections = new RunConnections(isPgStore(store) ? await store.scratch() : store, abort.signal);

  let done!: () => void;
  const allDone = new Promise<void>((resolve) => {
    done = resolve;
  });

  const record = (inst: Instance, state: TaskState, said?: string) => {
    const r = inst.result;
    r.state = state;
    const now = clock.now();
    if (state === "Running" && !r.startedAt) r.startedAt = now;
    if (isFinalTaskState(state)) {
      r.endedAt = now;
      maskResult(masker, r);
    }
    const message = said === undefined ? undefined : masker.mask(said);
    recorder.task(taskRow(runId, r), now, message);
    emit({
      type: "task",
      id: r.id,
      step: r.step,
      state,
      attempt: r.attempts,
      ...(message ? { error: message } : {}),
    });
  };

  const finish = (i: number, state: TaskState, error?: string) => {
    const inst = instances[i]!;
    if (error !== undefined) inst.result.error = error;
    record(inst, state, error);
    readiness.end(i, state);
    if (readiness.done) done();
    else pump();
  };

  const contextOf = (i: number): EvalContext => {
    const inst = instances[i]!;
    const ctx: EvalContext = { ...base, status: { ...readiness.status(i), cancelled: abort.cancelled } };
    if (inst.planned.item !== undefined) ctx.item = inst.planned.item;
    const refs = inst.compiled.referencedTasks;
    if (refs.length) ctx.tasks = tasksContext(inst, refs, instances, byTask);
    return ctx;
  };

  const runInstance = async (i: number): Promise<Outcome> => {
    const inst = instances[i]!;
    const run = inst.step?.run;
    if (!inst.step || !run)
      return {
        state: "Failed",
        error: `step ${inst.planned.uses} cannot run yet in this version of tickflow`,
      };
    const db = await connections.take();
    try {
      return await runAttempts(
        {
          doc: inst.doc,
          compiled: inst.compiled,
          ctx: contextOf(i),
          params: inst.step.params,
          cacheScope: `${doc.name}/${inst.planned.task}`,
          result: inst.result,
          runStep: (params, attempt, signal) => {
            const step = run(stepContext(scope, inst.planned.id, attempt, signal, db, pg), params);
            // An attempt that outlives its timeout may still use `db`; once its signal aborts, its
            // statements are stopped at once, whatever the step does.
            connections.track(db, step, signal);
            return step;
          },
          onState: (state, message) => record(inst, state, message),
        },
        attemptEnv,
      );
    } finally {
      connections.giveBack(db);
    }
  };

  const start = async (i: number) => {
    let outcome: Outcome;
    try {
      outcome = await runInstance(i);
    } catch (err) {
      // Only our own machinery (the database, say) gets here; the task still ends, as Failed.
      outcome = { state: "Failed", error: messageOf(err) };
    }
    finish(i, outcome.state, outcome.error);
  };

  // finish() calls pump() and pump() calls finish(): a guard keeps that a loop, not a recursion
  // (10,000 skipped instances would otherwise overflow the stack).
  let pumping = false;
  const pump = () => {
    if (pumping) return;
    pumping = true;
    try {
      for (let i = readiness.next(); i !== undefined; i = readiness.next()) decide(i);
    } finally {
      pumping = false;
    }
  };
  /** A ready instance is cancelled, skipped by its `if`, waits for its concurrency limit, or starts. */
  const decide = (i: number) => {
    const inst = instances[i]!;
    if (abort.signal.aborted) return finish(i, "Cancelled", abort.timedOut);
    let go: boolean;
    try {
      // The default `if` (success()) needs no expression context.
      go = inst.doc.if === undefined ? readiness.needsSucceeded(i) : isTruthy(inst.compiled.if(contextOf(i)));
    } catch (err) {
      return finish(i, "Failed", `if: ${messageOf(err)}`);
    }
    if (!go) return finish(i, "Skipped");
    if (readiness.claim(i)) void start(i);
  };

  if (instances.length === 0) done();
  else pump();
  await allDone;
  abort.dispose();
  connections.end();

  const failed = instances.find((x) => x.result.state === "Failed" && !x.doc.continue_on_error);
  const timedOut = abort.timedOut;
  const state: RunState = abort.cancelled ? "Cancelled" : timedOut || failed ? "Failed" : "Completed";
  const reason = abort.cancelled
    ? "cancelled"
    : (timedOut ?? (failed ? `task ${failed.result.id} failed: ${failed.result.error ?? ""}` : undefined));
  const error = reason === undefined ? undefined : masker.mask(reason);
  const endedAt = clock.now();
  await recorder.close();
  await endRun(store, runId, state, error, endedAt);
  emit({ type: "run", id: runId, state, ...(error ? { error } : {}) });
  return {
    id: runId,
    pipeline: doc.name,
    state,
    ...(error ? { error } : {}),
    tasks: instances.map((x) => x.result),
  };
}

/**
 * The signal running tasks get: the caller's cancel (Ctrl-C) and the pipeline's own timeout both
 * abort it, with a `RunAborted` saying how they end (Cancelled or Failed).
 */
function runAbort(cancel: AbortSignal | undefined, clock: Clock, timeout: string | undefined) {
  const controller = new AbortController();
  // Every running task listens to it (up to max_parallel at once): not a leak.
  setMaxListeners(0, controller.signal);
  let cancelled = false;
  let timedOut: string | undefined;
  const onCancel = () => {
    cancelled = true;
    controller.abort(new RunAborted("Cancelled", "cancelled"));
  };
  const timeoutMs = timeout ? parseDuration(timeout) : undefined;
  const deadline = timeoutMs === undefined ? undefined : clock.timeout(timeoutMs);
  const onTimeout = () => {
    timedOut = `run timed out after ${timeout}`;
    controller.abort(new RunAborted("Failed", timedOut));
  };
  if (cancel?.aborted) onCancel();
  cancel?.addEventListener("abort", onCancel, { once: true });
  deadline?.addEventListener("abort", onTimeout, { once: true });
  return {
    signal: controller.signal,
    get cancelled() {
      return cancelled;
    },
    /** The run's error once its timeout has passed. */
    get timedOut() {
      return timedOut;
    },
    dispose() {
      cancel?.removeEventListener("abort", onCancel);
      deadline?.removeEventListener("abort", onTimeout);
    },
  };
}

/** The plan's instances, Pending, each with its task compiled (once per task). */
function instancesOf(doc: PipelineDocument, plan: Plan, steps: ReadonlyMap<string, StepSpec>): Instance[] {
  const compiled = new Map<string, CompiledTask>();
  for (const [id, task] of Object.entries(doc.tasks)) compiled.set(id, compileTask(task));
  const index = new Map(plan.tasks.map((t, i) => [t.id, i]));
  return plan.tasks.map((planned) => ({
    planned,
    doc: doc.tasks[planned.task]!,
    step: steps.get(planned.uses),
    compiled: compiled.get(planned.task)!,
    needs: planned.needs.map((n) => index.get(n)!),
    result: {
      id: planned.id,
      task: planned.task,
      step: planned.uses,
      state: "Pending",
      attempts: 0,
      outputs: {},
    },
  }));
}

/** What a step's attempt runs with: the one place a StepContext is made. */
function stepContext(
  scope: RunScope,
  taskId: string,
  attempt: number,
  signal: AbortSignal,
  db: DuckDBConnection,
  pg: PgDb | undefined,
): StepContext {
  return {
    runId: scope.runId,
    taskId,
    runDate: scope.runDate,
    attempt,
    signal,
    db,
    ...(pg ? { pg } : {}),
    sinks: pg ? stepSinksPg(pg, signal) : stepSinks(db, signal),
    baseDir: scope.baseDir,
    env: scope.env,
    log: (level, message) => scope.log(taskId, level, message),
  };
}

/** What the secret parameters get (`api_key: ${{ env.NAME }}`, the only form allowed), whatever NAME is. */
function secretParameterValues(
  doc: PipelineDocument,
  steps: ReadonlyMap<string, StepSpec>,
  env: Record<string, string | undefined>,
): (string | undefined)[] {
  return Object.values(doc.tasks).flatMap((task) =>
    (steps.get(task.uses)?.secrets ?? []).map((param) => {
      const name = envReferenceName(task.with?.[param]);
      return name === undefined ? undefined : env[name];
    }),
  );
}

/** A task's outputs, error and cache key with the run's secrets masked, once it has ended. */
function maskResult(masker: Masker, r: TaskResult): void {
  if (!masker.active) return;
  r.outputs = masker.maskValue(r.outputs);
  if (r.error !== undefined) r.error = masker.mask(r.error);
  if (r.cacheKey !== undefined) r.cacheKey = masker.mask(r.cacheKey);
}

function taskRow(runId: string, r: TaskResult): TaskRunRow {
  return {
    run_id: runId,
    task_id: r.id,
    step: r.step,
    state: r.state,
    attempts: r.attempts,
    started_at: r.startedAt ?? null,
    ended_at: r.endedAt ?? null,
    error: r.error ?? null,
    outputs: r.outputs,
    cache_key: r.cacheKey ?? null,
  };
}
