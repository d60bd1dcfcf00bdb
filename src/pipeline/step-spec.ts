import type { z } from "zod";

/** What a step type publishes as `tasks.<id>.outputs.<name>`. */
export interface StepOutput {
  type: "integer" | "number" | "string" | "boolean" | "object" | "array";
  description: string;
}

/** What the engine hands a running step. Filled in by the engine (a later issue). */
export interface StepContext {
  readonly runId: string;
  readonly taskId: string;
  /** The run's logical date, `YYYY-MM-DD` in the exchange time zone. */
  readonly runDate: string;
  readonly signal: AbortSignal;
  log(level: "debug" | "info" | "warn" | "error", message: string): void;
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
