import type { DuckDBConnection } from "@duckdb/node-api";
import type { Store } from "../store/index.js";

/**
 * The connections of one run: each running task gets one of its own (a connection runs one
 * statement at a time, its interrupt() stops whatever it runs, and an appender on a busy one blocks
 * the event loop). One comes back only once its step's own work has settled (a step past its
 * timeout may still be using it); when the run ends they are closed, so that a daemon running
 * thousands of runs keeps none of them.
 */
export class RunConnections {
  private readonly idle: DuckDBConnection[] = [];
  private ended = false;

  constructor(private readonly store: Store) {}

  async take(): Promise<DuckDBConnection> {
    return this.idle.pop() ?? (await this.store.connect());
  }

  /** Hands `db` back once `settled` (the step's work on it) has, never while it may be busy. */
  giveBack(db: DuckDBConnection, settled: Promise<unknown>): void {
    const back = () => {
      if (this.ended) this.store.release(db);
      else this.idle.push(db);
    };
    settled.then(back, back);
  }

  /** The run has ended: idle connections close now, busy ones as their work settles. */
  end(): void {
    this.ended = true;
    for (const db of this.idle.splice(0)) this.store.release(db);
  }
}
