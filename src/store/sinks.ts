/** The store's side of `StepContext.sinks`: where steps write without knowing the store. */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { StepSinks } from "../market/bars.js";
import { BarsWriter } from "./bars-writer.js";

/**
 * Sinks that write on `db`, the connection of the task the step runs in, and stop taking rows
 * when the attempt's `signal` aborts.
 */
export function stepSinks(db: DuckDBConnection, signal?: AbortSignal): StepSinks {
  return { bars: (source) => new BarsWriter(db, source, signal ? { signal } : {}) };
}
