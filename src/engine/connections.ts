import type { DuckDBConnection } from "@duckdb/node-api";
import type { Store } from "../store/index.js";

/** How often statements of aborted work are interrupted again (one between two statements is lost). */
const INTERRUPT_EVERY_MS = 50;

interface Busy {
  /** Attempts whose step still runs on the connection. */
  pending: number;
  /** The task is done with it: it goes back once `pending` is 0. */
  givenBack: boolean;
  /** Aborted work runs on it: its statements are interrupted until it settles. */
  aborted: boolean;
}

/**
 * The connections of one run: each running task gets one of its own (a connection runs one
 * statement at a time, its interrupt() stops whatever it runs, and an appender on a busy one blocks
 * the event loop). One comes back only once its steps' own work has settled (a step past its
 * timeout may still be using it); when the run ends they are closed, so that a daemon running
 * thousands of runs keeps none of them. Once a step's signal aborts, the statements on its
 * connection are interrupted until the step settles: DuckDB must never be asked to close a
 * connection whose statement still runs (that deadlocks a worker thread, and the process with it).
 */
export class RunConnections {
  private readonly idle: DuckDBConnection[] = [];
  private readonly busy = new Map<DuckDBConnection, Busy>();
  private ended = false;
  private interrupting: NodeJS.Timeout | undefined;

  /** @param runSignal the run's own signal (cancel, pipeline timeout): one listener for every step. */
  constructor(
    private readonly store: Store,
    private readonly runSignal: AbortSignal,
  ) {
    if (runSignal.aborted) this.abortAll();
    else runSignal.addEventListener("abort", () => this.abortAll(), { once: true });
  }

  async take(): Promise<DuckDBConnection> {
    return this.idle.pop() ?? (await this.store.connect());
  }

  /**
   * `work` (a step's attempt, under `signal`) runs on `db`: the connection is not handed on, nor
   * closed, before it settles, and its statements stop when `signal` aborts.
   */
  track(db: DuckDBConnection, work: Promise<unknown>, signal: AbortSignal): void {
    let state = this.busy.get(db);
    if (state === undefined) {
      state = { pending: 0, givenBack: false, aborted: this.runSignal.aborted };
      this.busy.set(db, state);
      this.store.markBusy(db, true);
    }
    state.pending++;
    const busy = state;
    // A task timeout is the attempt's own signal; the run's is watched once for all (constructor).
    const onAbort = () => this.abort(db, busy);
    const own = signal !== this.runSignal;
    if (own) {
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    }
    const settled = () => {
      if (own) signal.removeEventListener("abort", onAbort);
      busy.pending--;
      if (busy.pending > 0) return;
      this.busy.delete(db);
      this.store.markBusy(db, false);
      if (busy.givenBack) this.back(db);
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

  private abortAll(): void {
    for (const [db, state] of this.busy) this.abort(db, state);
  }

  /** Interrupts `db` now, and every few ms while aborted work runs on any connection. */
  private abort(db: DuckDBConnection, state: Busy): void {
    state.aborted = true;
    db.interrupt();
    this.interrupting ??= setInterval(() => {
      let any = false;
      for (const [busyDb, busy] of this.busy) {
        if (!busy.aborted) continue;
        any = true;
        busyDb.interrupt();
      }
      if (!any) {
        clearInterval(this.interrupting);
        this.interrupting = undefined;
      }
    }, INTERRUPT_EVERY_MS);
  }
}
