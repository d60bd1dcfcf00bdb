/**
 * The control plane over the database itself, on either backend: `tickflow` verbs when no daemon
 * holds the file, and what the daemons' APIs serve. Every state change goes through the store's
 * state owner (`createRuns`, `transitionRuns` and their PostgreSQL twins). Only the store
 * operations differ per backend (`ControlOps`: DuckDB's in `local.ts`, PostgreSQL's in `pg.ts`);
 * checks, refusals and the runs made by retry and "run now" are here, once.
 */
import { xnysDate } from "../calendar/index.js";
import type { BackfillResult } from "../daemon/backfill.js";
import { loadPipeline } from "../pipeline/load.js";
import { resolveParameters } from "../pipeline/parameters.js";
import { builtinSteps } from "../steps/index.js";
import {
  type DeploymentRow,
  isFinalRunState,
  type ListRunsOptions,
  type LogRow,
  type LogsOptions,
  type NewRun,
  newRunId,
  QueryRefused,
  type ReadOnlyOptions,
  type ReadOnlyResult,
  type RunRow,
  type RunSelector,
  type RunTransition,
  storageFault,
  type TaskRunRow,
  type TransitionRow,
  WAITING_RUN_STATES,
  type WorkPoolRow,
} from "../store/index.js";
import {
  ControlError,
  type ControlPlane,
  DEFAULT_QUERY_ROWS,
  type DeployChange,
  MAX_QUERY_ROWS,
  type QueryResult,
  type RunDetail,
  type RunFilter,
  type RunRequest,
} from "./control-plane.js";

/** Runs this process executes (the daemon's): a cancel reaches them through here. */
export interface LiveRuns {
  has(id: string): boolean;
  /** Aborts the run's execution; its engine records the end (Cancelled). */
  cancel(id: string): void;
}

/** The store operations the control plane is made of, on one backend. */
export interface ControlOps {
  /** @throws Error naming the candidates when the prefix is ambiguous. */
  findRun(idOrPrefix: string): Promise<RunRow | undefined>;
  listRuns(options: ListRunsOptions): Promise<RunRow[]>;
  taskRunsOf(runId: string): Promise<TaskRunRow[]>;
  transitionsOf(runId: string): Promise<TransitionRow[]>;
  logsOf(runId: string, options: LogsOptions): Promise<LogRow[]>;
  /** The ids that moved. */
  transitionRuns(select: RunSelector, t: RunTransition): Promise<string[]>;
  createRuns(runs: readonly NewRun[], at: Date, message: string): Promise<unknown>;
  findDeployment(name: string): Promise<DeploymentRow | undefined>;
  listDeployments(): Promise<DeploymentRow[]>;
  listWorkPools(now: Date): Promise<WorkPoolRow[]>;
  /** False when no deployment has this name. */
  setDeploymentPaused(name: string, paused: boolean, now: Date): Promise<boolean>;
  /** False when no pool has this name. */
  setWorkPoolPaused(name: string, paused: boolean): Promise<boolean>;
  /** Undefined when no deployment has this name; errors in the range are the caller's (400). */
  backfill(
    name: string,
    range: { from: string; to: string; missing: boolean },
    now: Date,
  ): Promise<BackfillResult | undefined>;
  deploy(registration: Parameters<ControlPlane["deploy"]>[0], now: Date): Promise<DeployChange[]>;
}

/** A backend of the control plane. */
export interface ControlBackend {
  /** What answers: the file's path, or the PostgreSQL URL with its password masked. */
  readonly path: string;
  /** Runs `fn` with the operations: DuckDB's in turns on the shared connection, PostgreSQL's on the pool. */
  session<T>(fn: (ops: ControlOps) => Promise<T>): Promise<T>;
  /** One read-only statement, a chunk of rows at a time, on a connection of its own. */
  readOnlyChunks(sql: string, options: ReadOnlyOptions): AsyncIterable<ReadOnlyResult>;
  close(): Promise<void>;
}

export interface ControlOptions {
  /** The clock (tests). */
  now?: () => Date;
  live?: LiveRuns;
  /** Most rows `query` returns; a request may ask for fewer. Default 10,000. */
  maxQueryRows?: number;
  /** Statement timeout of `query`. Default 30 s. */
  queryTimeoutMs?: number;
}

export class StoreControlPlane implements ControlPlane {
  readonly target: { kind: "database"; path: string };
  private readonly now: () => Date;

  constructor(
    private readonly backend: ControlBackend,
    private readonly options: ControlOptions = {},
  ) {
    this.target = { kind: "database", path: backend.path };
    this.now = options.now ?? (() => new Date());
  }

  /** `fn` with the backend's operations (DuckDB's take turns on the shared connection). */
  private locked<T>(fn: (ops: ControlOps) => Promise<T>): Promise<T> {
    return this.backend.session(fn);
  }

  listRuns(filter: RunFilter = {}): Promise<RunRow[]> {
    const limit = filter.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new ControlError(400, "limit must be a whole number from 1 to 1000");
    }
    return this.locked((ops) =>
      ops.listRuns({
        limit,
        ...(filter.state ? { state: filter.state } : {}),
        ...(filter.pipeline ? { pipeline: filter.pipeline } : {}),
        ...(filter.deployment ? { deployment: filter.deployment } : {}),
        ...(filter.since ? { since: filter.since } : {}),
        when: filter.upcoming ? "upcoming" : "ran",
        now: this.now(),
      }),
    );
  }

  async getRun(idOrPrefix: string): Promise<RunDetail> {
    return this.locked(async (ops) => {
      const run = await find(ops, idOrPrefix);
      return { ...run, tasks: await ops.taskRunsOf(run.id) };
    });
  }

  async runTransitions(idOrPrefix: string) {
    return this.locked(async (ops) => ops.transitionsOf((await find(ops, idOrPrefix)).id));
  }

  async runLogs(idOrPrefix: string, options: { after?: { ts: Date; seq: number }; limit?: number } = {}) {
    return this.locked(async (ops) =>
      ops.logsOf((await find(ops, idOrPrefix)).id, {
        ...(options.after ? { after: options.after } : {}),
        ...(options.limit !== undefined ? { limit: options.limit } : {}),
      }),
    );
  }

  async cancelRun(idOrPrefix: string) {
    return this.locked(async (ops) => {
      const run = await find(ops, idOrPrefix);
      const at = this.now();
      const ended = (message: string) => ({ ended_at: at, error: message });
      if ((WAITING_RUN_STATES as readonly string[]).includes(run.state)) {
        const message = "cancelled before it started";
        const moved = await ops.transitionRuns(
          { ids: [run.id] },
          { to: "Cancelled", from: WAITING_RUN_STATES, at, message, set: ended(message) },
        );
        if (moved.length > 0) return { id: run.id, state: "Cancelled" as const };
      } else if (this.options.live?.has(run.id)) {
        // Its process ends it: the engine stops the tasks and records Cancelled.
        await ops.transitionRuns(
          { ids: [run.id] },
          { to: "Cancelling", from: ["Pending", "Running"], at, message: "cancel requested" },
        );
        this.options.live.cancel(run.id);
        return { id: run.id, state: "Cancelling" as const };
      } else if (!isFinalRunState(run.state)) {
        // Taken or running, but by no process of this database (its process is gone).
        const message = "cancelled: no process was running it";
        const moved = await ops.transitionRuns(
          { ids: [run.id] },
          {
            to: "Cancelled",
            from: ["Pending", "Running", "Cancelling"],
            at,
            message,
            set: { ...ended(message), lease_owner: null, lease_expires_at: null },
          },
        );
        if (moved.length > 0) return { id: run.id, state: "Cancelled" as const };
      }
      const now = await find(ops, run.id);
      throw new ControlError(409, `run ${now.id} has already ended: ${now.state}`);
    });
  }

  async retryRun(idOrPrefix: string) {
    return this.locked(async (ops) => {
      const run = await find(ops, idOrPrefix);
      if (!isFinalRunState(run.state)) {
        throw new ControlError(
          409,
          `run ${run.id} is ${run.state}: only a run that has ended can be retried`,
        );
      }
      if (run.pipeline_file === null) {
        throw new ControlError(409, `run ${run.id} does not say which pipeline file it ran`);
      }
      const deployment = run.deployment === null ? undefined : await ops.findDeployment(run.deployment);
      const at = this.now();
      const id = newRunId(at.getTime());
      await ops.createRuns(
        [
          {
            id,
            pipeline: run.pipeline,
            deployment: deployment ? deployment.name : null,
            state: "Scheduled",
            parameters: run.parameters,
            logical_date: run.logical_date,
            scheduled_at: at,
            work_pool: deployment?.work_pool ?? null,
            work_queue: deployment?.work_queue ?? null,
            pipeline_file: deployment?.pipeline_file ?? run.pipeline_file,
          },
        ],
        at,
        `retry of ${run.id}`,
      );
      return { id, retry_of: run.id };
    });
  }

  listDeployments() {
    return this.locked((ops) => ops.listDeployments());
  }

  async runDeployment(name: string, request: RunRequest = {}) {
    const deployment = await this.locked((ops) => ops.findDeployment(name));
    if (!deployment) throw noDeployment(name);
    const given = { ...deployment.parameters, ...(request.parameters ?? {}) };
    const loaded = await loadPipeline(deployment.pipeline_file, builtinSteps, { withDefaults: false });
    if (!loaded.doc) {
      const first = loaded.diagnostics.find((d) => d.severity === "error");
      throw new ControlError(
        409,
        `the pipeline of deployment ${name} does not load: ${first ? `${first.file}:${first.line}:${first.col}: ${first.message}` : deployment.pipeline_file}`,
      );
    }
    const text = request.parameters_text ?? {};
    const resolved = resolveParameters(loaded.doc.parameters ?? {}, given, text);
    if (resolved.problems.length > 0) {
      const why = resolved.problems.map((p) => (p.name ? `${p.name}: ${p.message}` : p.message)).join("; ");
      throw new ControlError(400, `parameters of deployment ${name}: ${why}`);
    }
    // Kept as given (defaults apply when the run starts, as for scheduled runs), text converted.
    const parameters = Object.fromEntries(
      [...new Set([...Object.keys(given), ...Object.keys(text)])].map((k) => [k, resolved.values[k]]),
    );
    const at = this.now();
    const id = newRunId(at.getTime());
    await this.locked((ops) =>
      ops.createRuns(
        [
          {
            id,
            pipeline: deployment.pipeline,
            deployment: name,
            state: "Scheduled",
            parameters,
            logical_date: xnysDate(at),
            scheduled_at: at,
            work_pool: deployment.work_pool,
            work_queue: deployment.work_queue,
            pipeline_file: deployment.pipeline_file,
          },
        ],
        at,
        "created on demand",
      ),
    );
    return { id };
  }

  async setDeploymentPaused(name: string, paused: boolean) {
    const found = await this.locked((ops) => ops.setDeploymentPaused(name, paused, this.now()));
    if (!found) throw noDeployment(name);
    return { name, paused };
  }

  async backfill(name: string, range: { from: string; to: string; missing: boolean }) {
    const result = await this.locked(async (ops) => {
      try {
        return await ops.backfill(name, range, this.now());
      } catch (err) {
        if (storageFault(err) !== undefined || err instanceof ControlError) throw err;
        // The range and the deployment's parameters are the caller's to fix.
        throw new ControlError(400, err instanceof Error ? err.message : String(err));
      }
    });
    if (!result) throw noDeployment(name);
    return result;
  }

  deploy(registration: Parameters<ControlPlane["deploy"]>[0]) {
    return this.locked((ops) => ops.deploy(registration, this.now()));
  }

  listWorkPools() {
    return this.locked((ops) => ops.listWorkPools(this.now()));
  }

  async setWorkPoolPaused(name: string, paused: boolean) {
    const found = await this.locked((ops) => ops.setWorkPoolPaused(name, paused));
    if (!found) throw new ControlError(404, `no work pool named ${JSON.stringify(name)}`);
    return { name, paused };
  }

  async query(sql: string, options: { limit?: number } = {}): Promise<QueryResult> {
    const limit = options.limit ?? this.options.maxQueryRows ?? DEFAULT_QUERY_ROWS;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_QUERY_ROWS) {
      throw new ControlError(400, `limit must be a whole number from 1 to ${MAX_QUERY_ROWS}`);
    }
    let all: QueryResult | undefined;
    for await (const chunk of this.queryChunks(sql, { limit })) {
      all ??= { ...chunk, rows: [] };
      for (const row of chunk.rows) all.rows.push(row);
      all.truncated = chunk.truncated;
    }
    return all!;
  }

  async *queryChunks(sql: string, options: { limit?: number } = {}): AsyncGenerator<QueryResult> {
    const limit = options.limit ?? this.options.maxQueryRows ?? DEFAULT_QUERY_ROWS;
    if (!Number.isInteger(limit) || limit < 0) {
      throw new ControlError(400, "limit must be a whole number (0: every row)");
    }
    const timeoutMs = this.options.queryTimeoutMs ?? 30_000;
    try {
      // Only the statement's errors reach the catch: a reader that stops early ends the loop.
      for await (const chunk of this.backend.readOnlyChunks(sql, { limit, timeoutMs })) yield chunk;
    } catch (err) {
      throw queryError(err, timeoutMs);
    }
  }

  async close(): Promise<void> {
    await this.backend.close();
  }
}

/** A run by id or unique prefix, as a ControlError when there is none or the prefix is ambiguous. */
async function find(ops: ControlOps, idOrPrefix: string): Promise<RunRow> {
  let run: RunRow | undefined;
  try {
    run = await ops.findRun(idOrPrefix);
  } catch (err) {
    throw new ControlError(400, err instanceof Error ? err.message : String(err));
  }
  if (!run) throw new ControlError(404, `no run with id ${JSON.stringify(idOrPrefix)}`);
  return run;
}

/** A query's refusal or failure as the ControlError (400) that says why. */
function queryError(err: unknown, timeoutMs: number): ControlError {
  if (err instanceof QueryRefused) return new ControlError(400, err.message);
  if (err instanceof Error && err.name === "TimeoutError") {
    return new ControlError(400, `query stopped after the statement timeout (${timeoutMs / 1000} s)`);
  }
  // The database's own message (a syntax error, an unknown table) is the answer.
  return new ControlError(400, `query failed: ${err instanceof Error ? err.message : String(err)}`);
}

function noDeployment(name: string): ControlError {
  return new ControlError(404, `no deployment named ${JSON.stringify(name)} (run tickflow deploy first)`);
}
