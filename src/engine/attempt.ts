import type { z } from "zod";
import { parseDuration } from "../config/duration.js";
import type { CompiledTask } from "../pipeline/compile.js";
import type { TaskDocument } from "../pipeline/document.js";
import type { EvalContext } from "../pipeline/expression/index.js";
import type { TaskState } from "../store/index.js";
import { type Clock, isTimeout } from "./clock.js";
import { retryDelayMs } from "./retry.js";

/** The reason the run's signal aborts with: a cancel ends running tasks Cancelled, the pipeline timeout Failed. */
export class RunAborted extends Error {
  constructor(
    readonly state: "Cancelled" | "Failed",
    message: string,
  ) {
    super(message);
  }
}

/** How an instance ended. */
export interface Outcome {
  state: TaskState;
  error?: string;
}

/** One task instance to run: its task, its context, and where its results go. */
export interface InstanceWork {
  doc: TaskDocument;
  compiled: CompiledTask;
  /** Renders its `with` and cache key. */
  ctx: EvalContext;
  /** The step's parameter schema. */
  params: z.ZodType;
  /** Scopes its cache key: `pipeline/task`. */
  cacheScope: string;
  /** Set as it goes: attempts made, outputs (the step's or a cache hit's), the full cache key. */
  result: { attempts: number; outputs: Record<string, unknown>; cacheKey?: string };
  /** One attempt of the step. */
  runStep(
    params: Record<string, unknown>,
    attempt: number,
    signal: AbortSignal,
  ): Promise<Record<string, unknown> | undefined>;
  /** An attempt starts (Running), or one failed and another follows (Retrying, with its error). */
  onState(state: "Running" | "Retrying", message?: string): void;
}

/** What every instance of a run shares. */
export interface AttemptEnv {
  clock: Clock;
  /**
   * After a timeout or a cancel, how long an attempt waits for its step to stop (its HTTP requests
   * and statements are aborted at once) before it gives up on it: work still running must not be
   * cut off (its connection closed under it), but a step that ignores its signal cannot hang the run.
   */
  stopGraceMs: number;
  /** Aborts, with a `RunAborted`, when the run is cancelled or times out. */
  runSignal: AbortSignal;
  /** The outputs of a Completed instance with this cache key that ended at `notBefore` or later. */
  findCached(
    key: string,
    notBefore: Date | undefined,
  ): Promise<{ outputs: Record<string, unknown> } | undefined>;
}

/**
 * Runs an instance to its end: parameters (invalid ones fail at once, never retried), the cache,
 * then attempts, `retries` more after the first, `retry_delay` apart, each within `timeout`.
 * Never throws for the step's failure.
 */
export async function runAttempts(work: InstanceWork, env: AttemptEnv): Promise<Outcome> {
  const { doc, result } = work;
  let params: Record<string, unknown>;
  try {
    const parsed = work.params.safeParse(work.compiled.with(work.ctx));
    if (!parsed.success) {
      const why = parsed.error.issues.map((x) => `${x.path.join(".") || "with"}: ${x.message}`).join("; ");
      return { state: "Failed", error: `invalid parameters: ${why}` };
    }
    params = parsed.data as Record<string, unknown>;
  } catch (err) {
    return { state: "Failed", error: `with: ${messageOf(err)}` };
  }

  if (work.compiled.cacheKey && doc.cache) {
    try {
      result.cacheKey = `${work.cacheScope}/${String(work.compiled.cacheKey(work.ctx))}`;
    } catch (err) {
      return { state: "Failed", error: `cache.key: ${messageOf(err)}` };
    }
    const expireMs = doc.cache.expire ? parseDuration(doc.cache.expire) : undefined;
    const notBefore = expireMs === undefined ? undefined : new Date(env.clock.now().getTime() - expireMs);
    const hit = await env.findCached(result.cacheKey, notBefore);
    if (hit) {
      result.outputs = hit.outputs;
      return { state: "Cached" };
    }
  }

  const { clock, runSignal } = env;
  const attempts = (doc.retries ?? 0) + 1;
  const timeoutMs = doc.timeout ? parseDuration(doc.timeout) : undefined;
  for (let attempt = 1; ; attempt++) {
    result.attempts = attempt;
    work.onState("Running");
    const signal =
      timeoutMs === undefined ? runSignal : AbortSignal.any([runSignal, clock.timeout(timeoutMs)]);
    let step: Promise<Record<string, unknown> | undefined>;
    try {
      step = work.runStep(params, attempt, signal);
    } catch (err) {
      step = Promise.reject(err);
    }
    try {
      const outputs = await untilAborted(step, signal);
      result.outputs = outputs ?? {};
      return { state: "Completed" };
    } catch (err) {
      if (signal.aborted) await settledWithin(step, clock, env.stopGraceMs);
      if (runSignal.aborted) return abortedRun(runSignal);
      const error = isTimeout(signal) ? `timed out after ${doc.timeout}` : messageOf(err);
      if (attempt >= attempts) return { state: "Failed", error };
      work.onState("Retrying", error);
      try {
        await clock.sleep(retryDelayMs(doc.retry_delay, attempt), runSignal);
      } catch {
        return abortedRun(runSignal);
      }
    }
  }
}

/** How a running instance ends when the run aborts. */
function abortedRun(runSignal: AbortSignal): Outcome {
  const reason: unknown = runSignal.reason;
  return reason instanceof RunAborted
    ? { state: reason.state, error: reason.message }
    : { state: "Cancelled", error: "cancelled" };
}

/** Resolves once `work` has settled, or after `ms` on the clock, whichever comes first. */
async function settledWithin(work: Promise<unknown>, clock: Clock, ms: number): Promise<void> {
  const settled = new AbortController();
  const done = () => settled.abort();
  work.then(done, done);
  // Ends early (rejects) when the work settles: no timer is left to keep the process alive.
  await clock.sleep(ms, settled.signal).catch(() => undefined);
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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
