/**
 * Stopping a running statement on PostgreSQL when a step's signal aborts: `pg_cancel_backend` of
 * the client's backend, sent through another connection of the pool.
 */
import type pg from "pg";
import { abortReason } from "../interrupt.js";

const CANCEL_REPEAT_MS = 50;

/**
 * Runs `work` (statements on `client`); an abort of `signal` meanwhile cancels the client's
 * statement and the call rejects with the abort reason. A cancel that arrives between two
 * statements is lost, so it is repeated until `work` settles; every cancel sent has finished
 * before this returns, so none can reach a later user of the client.
 */
export async function cancellablyPg<T>(
  pool: pg.Pool,
  client: pg.PoolClient,
  signal: AbortSignal | undefined,
  work: () => Promise<T>,
): Promise<T> {
  if (signal?.aborted) throw abortReason(signal);
  const pid = (client as unknown as { processID: number }).processID;
  const sent: Promise<unknown>[] = [];
  let repeat: NodeJS.Timeout | undefined;
  const cancel = () => {
    sent.push(pool.query("SELECT pg_cancel_backend($1)", [pid]).catch(() => undefined));
  };
  const onAbort = () => {
    cancel();
    repeat ??= setInterval(cancel, CANCEL_REPEAT_MS);
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
    await Promise.all(sent);
  }
}
