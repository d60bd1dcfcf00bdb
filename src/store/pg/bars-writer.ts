/** `BarsWriter`'s twin on PostgreSQL (COPY). (Stub: filled in by the bars port.) */
import type { BarsEntry, BarsSink, StepSinks, WriteResult } from "../../market/bars.js";
import type { PgDb } from "./transaction.js";

export class BarsWriterPg implements BarsSink {
  constructor(
    readonly db: PgDb,
    readonly source: string,
    readonly options: { signal?: AbortSignal } = {},
  ) {}
  async whenReady(): Promise<void> {}
  async write(_entry: BarsEntry): Promise<WriteResult> {
    throw new Error("BarsWriterPg: not yet");
  }
  async close(): Promise<void> {}
}

/** Sinks writing to PostgreSQL through `db` (the pool), stopping when `signal` aborts. */
export function stepSinksPg(db: PgDb, signal?: AbortSignal): StepSinks {
  return { bars: (source) => new BarsWriterPg(db, source, signal ? { signal } : {}) };
}
