import type { DuckDBConnection } from "@duckdb/node-api";
import type { z } from "zod";
import type { StepSinks } from "../market/bars.js";
import type { PgDb } from "../store/pg/transaction.js";

/** What a step type publishes as `tasks.<id>.outputs.<name>`. */
export interface StepOutput {
  type: "integer" | "number" | "string" | "boolean" | "object" | "array";
  description: string;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/** What the engine hands a running step. */
export interface StepContext {
  readonly runId: string;
  /** The instance id (`fetch[AAPL]` for a for_each instance). */
  readonly taskId: string;
  /** The run's logical date, `YYYY-MM-DD` in the exchange time zone. */
  readonly runDate: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Aborted on timeout or cancellation: stop work, then throw. */
  readonly signal: AbortSignal;
  /**
   * The task's DuckDB connection: to the store's file, or, when the store is PostgreSQL (`pg` set),
   * to an in-memory DuckDB where the step may compute (files, checks) but finds no stored data.
   */
  readonly db: DuckDBConnection;
  /**
   * Set when the store is PostgreSQL (SPEC section 12): stored tables are read and written here,
   * never through `db`. A step that reads the store checks it first.
   */
  readonly pg?: PgDb;
  /** Where ingested rows go: the store's writers, over `db`. */
  readonly sinks: StepSinks;
  /** Folder of the pipeline file: relative paths in parameters resolve against it. */
  readonly baseDir: string;
  /** The environment the run sees (secrets included: never log them). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Writes to the run log (`run_logs`), batched by the engine. */
  log(level: LogLevel, message: string): void;
}

/**
 * A built-in step type. The zod `params` schema is the single source of truth: it parses `with`,
 * and generates the JSON Schema, the `tickflow steps` docs and the editor hovers.
 */
export interface StepSpec<P extends z.ZodObject = z.ZodObject> {
  /** Type name used in `uses:` (e.g. `polygon.daily_bars`). */
  name: string;
  /** One line, shown by `tickflow steps` and in the schema. */
  summary: string;
  params: P;
  outputs: Record<string, StepOutput>;
  /** Parameter names that hold secrets: they must be written as `${{ env.NAME }}`, never as literals. */
  secrets?: readonly string[];
  run?: (ctx: StepContext, params: z.output<P>) => Promise<Record<string, unknown>>;
}

export function defineStep<P extends z.ZodObject>(spec: StepSpec<P>): StepSpec<P> {
  return spec;
}
