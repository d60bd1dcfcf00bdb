import type { DuckDBConnection } from "@duckdb/node-api";

const INTERRUPT_REPEAT_MS = 50;

/** The abort reason of `signal` as an Error. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(reason === undefined ? "cancelled" : String(reason));
}

/**
 * Runs `work` (statements on `db`); an abort of `signal` meanwhile interrupts the connection and
 * the call rejects with the abort reason. DuckDB forgets an interrupt that arrives before a
 * statement starts (it may wait for a thread, or for the connection), so the interrupt is repeated
 * until `work` has settled.
 */
export function interruptibly<T>(
  db: DuckDBConnection,
  signal: AbortSignal | undefined,
  work: () => Promise<T>,
): Promise<T> {
  return stoppedOnAbort(signal, () => db.interrupt(), work);
}

/**
 * Runs `work`; once `signal` aborts, `stop()` is called at once and every few ms until `work` has
 * settled (a stop between two statements is lost), and the call rejects with the abort reason.
 * Both backends' ways to stop a statement (DuckDB's interrupt, PostgreSQL's cancel) go through it.
 */
export async function stoppedOnAbort<T>(
  signal: AbortSignal | undefined,
  stop: () => void,
  work: () => Promise<T>,
): Promise<T> {
  if (signal?.aborted) throw abortReason(signal);
  let repeat: NodeJS.Timeout | undefined;
  const onAbort = () => {
    stop();
    repeat ??= setInterval(stop, INTERRUPT_REPEAT_MS);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await work();
  } catch (err) {
    if (signal?.aborted) throw abortReason(signal);
    throw err;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    if (repeat !== undefined) clearInterval(repeat);
  }
}
