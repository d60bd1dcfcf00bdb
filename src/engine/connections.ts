import type { DuckDBConnection } from "@duckdb/node-api";
import type { Store } from "../store/index.js";

/**
 * The connections of one run: each running task gets one of its own (a connection runs one
 * statement at a time, its interrupt() stops whatever it runs, and an appender on a busy one blocks
 * the event loop). One comes back only once its steps' own work has settled (a step past its
 * timeout may still be using it); when the run ends they are closed, so that a daemon running
 * thousands of runs keeps none of them.
 */
export class RunConnections {
  private readonly idle: DuckDBConnection[] = [];
  /** Step work still running on a connection, and whether its task is done with it. */
  private readonly busy = new Map<DuckDBConnection, { pending: number; givenBack: boolean }>();
  private ended = false;

  constructor(private readonly store: Store) {}

  async take(): Promise<DuckDBConnection> {
    return this.idle.pop() ?? (await this.store.connect());
  }

  /** `work` (a step's attempt) runs on `db`: the connection is not handed on before it settles. */
  track(db: DuckDBConnection, work: Promise<unknown>): void {
    this.store.busyWhile(db, work);
    const state = this.busy.get(db) ?? { pending: 0, givenBack: false };
    state.pending++;
    this.busy.set(db, state);
    const settled = () => {
      state.pending--;
      if (state.pending === 0) {
        this.busy.delete(db);
        if (state.givenBack) this.back(db);
      }
    };
    work.then(settled, settled);
  }

  /** The task is done with `db`: back now, or once the work still running on it settles. */
  giveBack(db: DuckDBConnection): void {
    const state = this.busy.get(db);
    if (state) state.givenBack = true;
    else this.back(db);
  }

  /** The run has ended: idle connections close now, busy ones as their work settles. */
  end(): void {
    this.ended = true;
    for (const db of this.idle.splice(0)) this.store.release(db);
  }

  private back(db: DuckDBConnection): void {
    if (this.ended) this.store.release(db);
    else this.idle.push(db);
  }
}
