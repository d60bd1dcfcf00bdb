/** `RunRecorder`'s twin on PostgreSQL. (Stub: filled in by the recorder port.) */
import type { TaskRunRow } from "../runs.js";
import type { PgDb } from "./transaction.js";

export class RunRecorderPg {
  constructor(
    readonly db: PgDb,
    readonly runId: string,
  ) {}
  task(_row: TaskRunRow, _at: Date, _message?: string | null): void {
    throw new Error("RunRecorderPg: not yet");
  }
  log(_taskId: string | null, _level: string, _message: string, _ts: Date): void {
    throw new Error("RunRecorderPg: not yet");
  }
  startAutoFlush(_intervalMs: number): void {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}
