/**
 * Stopping a running statement on PostgreSQL when a step's signal aborts: `pg_cancel_backend` of
 * the client's backend, sent through another connection of the pool.
 */
import type pg from "pg";
import { stoppedOnAbort } from "../interrupt.js";

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
  const pid = (client as unknown as { processID: number }).processID;
  const sent: Promise<unknown>[] = [];
  const cancel = () => {
    sent.push(pool.query("SELECT pg_cancel_backend($1)", [pid]).catch(() => undefined));
  };
  try {
    return await stoppedOnAbort(signal, cancel, work);
  } finally {
    await Promise.all(sent);
  }
}
