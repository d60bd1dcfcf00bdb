import { setMaxListeners } from "node:events";
import type { DuckDBConnection } from "@duckdb/node-api";
import { parseDuration } from "../config/duration.js";
import type { PipelineDocument, TaskDocument } from "../pipeline/document.js";
import {
  type EvalContext,
  ExpressionError,
  evaluate,
  isTruthy,
  parseExpression,
  parseTemplate,
  references,
  renderTemplate,
} from "../pipeline/expression/index.js";
import { type Plan, type PlannedTask, planContext } from "../pipeline/plan.js";
import type { LogLevel, StepContext, StepSpec } from "../pipeline/step-spec.js";
import {
  findCachedTask,
  insertRun,
  newRunId,
  RunRecorder,
  type Store,
  type TaskRunRow,
  updateRun,
} from "../store/index.js";
import { stepSinks } from "../store/sinks.js";
import { retryDelayMs, sleep } from "./retry.js";
import type { RunState, TaskState } from "./states.js";

/** What the engine reports as it goes (progress display, logs). */
export type EngineEvent =
  | { type: "run"; id: string; state: RunState; error?: string }
  | { type: "task"; id: string; state: TaskState; attempt: number; error?: string }
  | { type: "log"; taskId: string | null; level: LogLevel; message: string };

export interface ExecuteOptions {
  store: Store;
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

/** A task instance while the run executes. */
interface Instance {
  planned: PlannedTask;
  doc: TaskDocument;
  step: StepSpec | undefined;
  /** Instance indexes this one needs / that need it. */
  needs: number[];
  dependants: number[];
  waitingFor: number;
  /** Some instance upstream (transitively) failed: what `failure()` answers. */
  upstreamFailed: boolean;
  result: TaskResult;
}

/** Parsed once per task, used by each of its instances. */
interface CompiledTask {
  with: (ctx: EvalContext) => unknown;
  if: (ctx: EvalContext) => unknown;
  cacheKey?: (ctx: EvalContext) => unknown;
  /** Tasks named in its expressions (`tasks.X...`). */
  referencedTasks: string[];
}

/** Runs a planned pipeline to the end, recording every state in the store. Never throws for task failures. */
export async function executeRun(options: ExecuteOptions): Promise<RunResult> {
  const { store, doc, plan, steps, env } = options;
  const runId = options.runId ?? newRunId();
  const recorder = new RunRecorder(store.db, runId);
  const emit = options.onEvent ?? (() => {});
  const startedAt = new Date();
  if (options.existingRun) {
    await updateRun(store.db, runId, { state: "Running", started_at: startedAt });
  } else {
    await insertRun(store.db, {
      id: runId,
      pipeline: doc.name,
      deployment: options.deployment ?? null,
      state: "Running",
      parameters: plan.params,
      logical_date: plan.runDate,
      created_at: startedAt,
      started_at: startedAt,
      ended_at: null,
      error: null,
      pipeline_file: options.file ?? null,
    });
  }
  recorder.transition(null, "Running", 0, startedAt);
  emit({ type: "run", id: runId, state: "Running" });
  recorder.startAutoFlush(250);

  // Cancellation (Ctrl-C) and the pipeline's own timeout both abort running tasks; they end the run differently.
  const runController = new AbortController();
  // Every running task listens to it (up to max_parallel at once): not a leak.
  setMaxListeners(0, runController.signal);
  let cancelled = false;
  let runError: string | undefined;
  const onCancel = () => {
    cancelled = true;
    runController.abort(new CancelledError("run cancelled"));
  };
  if (options.signal?.aborted) onCancel();
  options.signal?.addEventListener("abort", onCancel, { once: true });
  const runTimeoutMs = doc.timeout ? parseDuration(doc.timeout) : undefined;
  const runTimer =
    runTimeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          runError = `run timed out after ${doc.timeout}`;
          runController.abort(new CancelledError(runError));
        }, runTimeoutMs);

  const base: EvalContext = {
    ...planContext(plan.params, plan.runDate, env),
    run: { id: runId, date: plan.runDate, pipeline: doc.name, deployment: options.deployment ?? null },
  };
  const compiled = new Map<string, CompiledTask>();
  for (const [id, task] of Object.entries(doc.tasks)) compiled.set(id, compileTask(task));

  const index = new Map(plan.tasks.map((t, i) => [t.id, i]));
  const instances: Instance[] = plan.tasks.map((planned) => ({
    planned,
    doc: doc.tasks[planned.task]!,
    step: steps.get(planned.uses),
    needs: planned.needs.map((n) => index.get(n)!),
    dependants: [],
    waitingFor: planned.needs.length,
    upstreamFailed: false,
    result: {
      id: planned.id,
      task: planned.task,
      step: planned.uses,
      state: "Pending",
      attempts: 0,
      outputs: {},
    },
  }));
  for (const [i, inst] of instances.entries()) for (const n of inst.needs) instances[n]!.dependants.push(i);
  const byTask = new Map<string, number[]>();
  for (const [i, inst] of instances.entries()) {
    const list = byTask.get(inst.planned.task) ?? [];
    list.push(i);
    byTask.set(inst.planned.task, list);
  }

  const maxParallel = doc.max_parallel ?? DEFAULT_MAX_PARALLEL;
  // Each running task gets a connection of its own: a connection runs one statement at a time,
  // its interrupt() stops whatever it runs, and an appender on a busy one blocks the event loop.
  const idleConnections: DuckDBConnection[] = [];
  const acquire = async () => idleConnections.pop() ?? (await store.connect());
  const release = (c: DuckDBConnection) => idleConnections.push(c);
  const limits = new Map<string, { capacity: number; used: number; waiting: number[] }>();
  const limitOf = (inst: Instance) => {
    const name = inst.doc.concurrency;
    if (!name) return undefined;
    let limit = limits.get(name);
    if (!limit) {
      limit = { capacity: doc.concurrency_limits?.[name] ?? 1, used: 0, waiting: [] };
      limits.set(name, limit);
    }
    return limit;
  };

  const ready: number[] = [];
  let readyHead = 0;
  for (const [i, inst] of instances.entries()) if (inst.waitingFor === 0) ready.push(i);
  let running = 0;
  let finished = 0;
  let done!: () => void;
  const allDone = new Promise<void>((resolve) => {
    done = resolve;
  });

  const record = (inst: Instance, state: TaskState, message?: string) => {
    const r = inst.result;
    r.state = state;
    const now = new Date();
    if (state === "Running" && !r.startedAt) r.startedAt = now;
    if (isFinal(state)) r.endedAt = now;
    recorder.transition(r.id, state, r.attempts, now, message);
    recorder.task(taskRow(runId, r, inst));
    emit({ type: "task", id: r.id, state, attempt: r.attempts, ...(message ? { error: message } : {}) });
  };

  const finish = (i: number, state: TaskState, error?: string) => {
    const inst = instances[i]!;
    if (error !== undefined) inst.result.error = error;
    record(inst, state, error);
    finished++;
    const failedHere = state === "Failed" && !inst.doc.continue_on_error;
    for (const d of inst.dependants) {
      const dep = instances[d]!;
      if (failedHere || inst.upstreamFailed) dep.upstreamFailed = true;
      if (--dep.waitingFor === 0) ready.push(d);
    }
    if (finished === instances.length) done();
    else pump();
  };

  const statusOf = (inst: Instance) => ({
    success: inst.needs.every((n) => succeeded(instances[n]!)),
    failure: inst.upstreamFailed,
    cancelled,
  });

  const contextOf = (inst: Instance): EvalContext => {
    const ctx: EvalContext = { ...base, status: statusOf(inst) };
    if (inst.planned.item !== undefined) ctx.item = inst.planned.item;
    const refs = compiled.get(inst.planned.task)!.referencedTasks;
    if (refs.length) ctx.tasks = tasksContext(inst, refs, instances, byTask);
    return ctx;
  };

  const start = async (i: number) => {
    const inst = instances[i]!;
    const limit = limitOf(inst);
    running++;
    try {
      finishLater(i, await runInstance(inst, contextOf(inst)));
    } catch (err) {
      // Only our own machinery (the database, say) gets here; the task still ends, as Failed.
      finishLater(i, { state: "Failed", error: messageOf(err) });
    } finally {
      running--;
      if (limit) {
        limit.used--;
        const next = limit.waiting.shift();
        if (next !== undefined) ready.push(next);
      }
    }
  };

  // A finished instance's dependants are released after `running` and its limit slot are freed.
  const finishLater = (i: number, outcome: { state: TaskState; error?: string }) => {
    queueMicrotask(() => finish(i, outcome.state, outcome.error));
  };

  // finish() calls pump() and pump() calls finish(): a guard keeps that a loop, not a recursion
  // (10,000 skipped instances would otherwise overflow the stack).
  let pumping = false;
  const pump = () => {
    if (pumping) return;
    pumping = true;
    try {
      drain();
    } finally {
      pumping = false;
    }
  };
  const drain = () => {
    while (readyHead < ready.length && running < maxParallel) {
      const i = ready[readyHead++]!;
      const inst = instances[i]!;
      if (cancelled || runController.signal.aborted) {
        finish(i, "Cancelled", runError);
        continue;
      }
      let go: boolean;
      try {
        // The default `if` (success()) needs no expression context.
        go =
          inst.doc.if === undefined
            ? statusOf(inst).success
            : isTruthy(compiled.get(inst.planned.task)!.if(contextOf(inst)));
      } catch (err) {
        finish(i, "Failed", `if: ${messageOf(err)}`);
        continue;
      }
      if (!go) {
        finish(i, "Skipped");
        continue;
      }
      const limit = limitOf(inst);
      if (limit) {
        if (limit.used >= limit.capacity) {
          limit.waiting.push(i);
          continue;
        }
        limit.used++;
      }
      void start(i);
    }
    if (readyHead > 4096 && readyHead * 2 > ready.length) {
      ready.splice(0, readyHead);
      readyHead = 0;
    }
  };

  const runInstance = async (
    inst: Instance,
    ctx: EvalContext,
  ): Promise<{ state: TaskState; error?: string }> => {
    const task = compiled.get(inst.planned.task)!;
    const step = inst.step;
    if (!step?.run)
      return {
        state: "Failed",
        error: `step ${inst.planned.uses} cannot run yet in this version of tickflow`,
      };
    let params: Record<string, unknown>;
    try {
      const parsed = step.params.safeParse(task.with(ctx));
      if (!parsed.success) {
        const why = parsed.error.issues.map((x) => `${x.path.join(".") || "with"}: ${x.message}`).join("; ");
        return { state: "Failed", error: `invalid parameters: ${why}` };
      }
      params = parsed.data as Record<string, unknown>;
    } catch (err) {
      return { state: "Failed", error: `with: ${messageOf(err)}` };
    }

    let cacheKey: string | undefined;
    if (task.cacheKey && inst.doc.cache) {
      try {
        cacheKey = `${doc.name}/${inst.planned.task}/${String(task.cacheKey(ctx))}`;
      } catch (err) {
        return { state: "Failed", error: `cache.key: ${messageOf(err)}` };
      }
      inst.result.cacheKey = cacheKey;
      const expireMs = inst.doc.cache.expire ? parseDuration(inst.doc.cache.expire) : undefined;
      const notBefore = expireMs === undefined ? undefined : new Date(Date.now() - expireMs);
      const hit = await findCachedTask(store.db, cacheKey, notBefore);
      if (hit) {
        inst.result.outputs = hit.outputs;
        return { state: "Cached" };
      }
    }

    const db = await acquire();
    try {
      return await attemptAll(inst, params, db);
    } finally {
      release(db);
    }
  };

  const attemptAll = async (
    inst: Instance,
    params: Record<string, unknown>,
    db: DuckDBConnection,
  ): Promise<{ state: TaskState; error?: string }> => {
    const run = inst.step!.run!;
    const attempts = (inst.doc.retries ?? 0) + 1;
    const timeoutMs = inst.doc.timeout ? parseDuration(inst.doc.timeout) : undefined;
    for (let attempt = 1; ; attempt++) {
      inst.result.attempts = attempt;
      record(inst, "Running");
      const signal =
        timeoutMs === undefined
          ? runController.signal
          : AbortSignal.any([runController.signal, AbortSignal.timeout(timeoutMs)]);
      const stepCtx: StepContext = {
        runId,
        taskId: inst.planned.id,
        runDate: plan.runDate,
        attempt,
        signal,
        db,
        sinks: stepSinks(db),
        baseDir: options.baseDir,
        env,
        log: (level, message) => {
          recorder.log(inst.planned.id, level, message, new Date());
          emit({ type: "log", taskId: inst.planned.id, level, message });
        },
      };
      try {
        const outputs = await untilAborted(run(stepCtx, params), signal);
        inst.result.outputs = outputs ?? {};
        return { state: "Completed" };
      } catch (err) {
        if (runController.signal.aborted) {
          return { state: cancelled ? "Cancelled" : "Failed", error: runError ?? "cancelled" };
        }
        const error = isTimeout(signal) ? `timed out after ${inst.doc.timeout}` : messageOf(err);
        if (attempt >= attempts) return { state: "Failed", error };
        record(inst, "Retrying", error);
        try {
          await sleep(retryDelayMs(inst.doc.retry_delay, attempt), runController.signal);
        } catch {
          return { state: cancelled ? "Cancelled" : "Failed", error: runError ?? "cancelled" };
        }
      }
    }
  };

  if (instances.length === 0) done();
  else pump();
  await allDone;
  if (runTimer) clearTimeout(runTimer);
  options.signal?.removeEventListener("abort", onCancel);

  const failed = instances.find((x) => x.result.state === "Failed" && !x.doc.continue_on_error);
  const state: RunState = cancelled ? "Cancelled" : runError || failed ? "Failed" : "Completed";
  const error = cancelled
    ? "cancelled"
    : (runError ?? (failed ? `task ${failed.result.id} failed: ${failed.result.error ?? ""}` : undefined));
  const endedAt = new Date();
  recorder.transition(null, state, 0, endedAt, error);
  await recorder.close();
  await updateRun(store.db, runId, { state, ended_at: endedAt, error: error ?? null });
  emit({ type: "run", id: runId, state, ...(error ? { error } : {}) });
  return {
    id: runId,
    pipeline: doc.name,
    state,
    ...(error ? { error } : {}),
    tasks: instances.map((x) => x.result),
  };
}

class CancelledError extends Error {}

function isFinal(state: TaskState): boolean {
  return state !== "Pending" && state !== "Running" && state !== "Retrying";
}

/** A need lets its dependants run by default: completed, cached, or failed with continue_on_error. */
function succeeded(inst: Instance): boolean {
  const s = inst.result.state;
  return s === "Completed" || s === "Cached" || (s === "Failed" && inst.doc.continue_on_error === true);
}

function messageOf(err: unknown): string {
  if (err instanceof ExpressionError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

function isTimeout(signal: AbortSignal): boolean {
  return signal.aborted && (signal.reason as { name?: string } | undefined)?.name === "TimeoutError";
}

/** The step's promise, or a rejection as soon as the signal aborts (a step that ignores it cannot hang the run). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** Templates of a task parsed once: `with` as a tree of renderers, `if`, and the cache key. */
function compileTask(task: TaskDocument): CompiledTask {
  const referenced = new Set<string>();
  const note = (expr: Parameters<typeof references>[0]) => {
    for (const r of references(expr))
      if (r.root === "tasks" && r.path[0] !== undefined) referenced.add(String(r.path[0]));
  };
  const compileValue = (value: unknown): ((ctx: EvalContext) => unknown) => {
    if (typeof value === "string") {
      const template = parseTemplate(value);
      if (!template) return () => value;
      for (const p of template.parts) if (p.kind === "expr") note(p.expr);
      return (ctx) => renderTemplate(template, ctx);
    }
    if (Array.isArray(value)) {
      const items = value.map(compileValue);
      return (ctx) => items.map((f) => f(ctx));
    }
    if (value && typeof value === "object") {
      const entries = Object.entries(value).map(([k, v]) => [k, compileValue(v)] as const);
      return (ctx) => Object.fromEntries(entries.map(([k, f]) => [k, f(ctx)]));
    }
    return () => value;
  };
  let ifFn: (ctx: EvalContext) => unknown;
  if (task.if === undefined) ifFn = (ctx) => ctx.status?.success ?? true;
  else if (typeof task.if === "boolean") {
    const v = task.if;
    ifFn = () => v;
  } else if (task.if.includes("${{")) ifFn = compileValue(task.if);
  else {
    const expr = parseExpression(task.if);
    note(expr);
    ifFn = (ctx) => evaluate(expr, ctx);
  }
  const compiled: CompiledTask = { with: compileValue(task.with ?? {}), if: ifFn, referencedTasks: [] };
  if (task.cache) compiled.cacheKey = compileValue(task.cache.key);
  compiled.referencedTasks = [...referenced];
  return compiled;
}

/**
 * What `tasks.X` means to an instance: X's own result; for a `for_each` X, the instance paired
 * with this one (same item), or else every instance's outputs gathered into lists.
 */
function tasksContext(
  inst: Instance,
  refs: string[],
  instances: Instance[],
  byTask: Map<string, number[]>,
): Record<string, { outputs: Record<string, unknown>; state?: string }> {
  const out: Record<string, { outputs: Record<string, unknown>; state?: string }> = {};
  for (const name of refs) {
    const group = byTask.get(name);
    if (!group) continue;
    const own = group.length === 1 && instances[group[0]!]!.planned.item === undefined;
    if (own) {
      const r = instances[group[0]!]!.result;
      out[name] = { outputs: r.outputs, state: r.state };
      continue;
    }
    const paired = inst.needs.filter((n) => instances[n]!.planned.task === name);
    if (paired.length === 1 && inst.planned.item !== undefined) {
      const r = instances[paired[0]!]!.result;
      out[name] = { outputs: r.outputs, state: r.state };
      continue;
    }
    const outputs: Record<string, unknown[]> = {};
    let state = "Completed";
    for (const [k, i] of group.entries()) {
      const r = instances[i]!.result;
      for (const [key, v] of Object.entries(r.outputs)) {
        outputs[key] ??= Array(group.length).fill(null);
        outputs[key][k] = v;
      }
      if (r.state === "Failed") state = "Failed";
    }
    out[name] = { outputs, state };
  }
  return out;
}

function taskRow(runId: string, r: TaskResult, inst: Instance): TaskRunRow {
  return {
    run_id: runId,
    task_id: r.id,
    step: inst.planned.uses,
    state: r.state,
    attempts: r.attempts,
    started_at: r.startedAt ?? null,
    ended_at: r.endedAt ?? null,
    error: r.error ?? null,
    outputs: r.outputs,
    cache_key: r.cacheKey ?? null,
  };
}
