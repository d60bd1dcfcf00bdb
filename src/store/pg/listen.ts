/**
 * Waking processes that wait for runs: `LISTEN tickflow_runs` on a connection of its own; every
 * transaction that makes a run claimable or frees a slot sends a `NOTIFY` (`recordRunTransitionsPg`).
 * A lost connection is re-opened (after `retryMs`), and a wake-up is sent then too: a NOTIFY sent
 * while it was down is lost, and polling (the caller's fallback) alone would wait a whole interval.
 */
import type pg from "pg";
import { dedicatedClient } from "./leadership.js";
import { RUNS_CHANNEL } from "./run-transitions.js";

export interface RunsListener {
  stop(): Promise<void>;
}

export async function listenForRuns(
  pool: pg.Pool,
  wake: () => void,
  options: { retryMs?: number } = {},
): Promise<RunsListener> {
  const retryMs = options.retryMs ?? 1000;
  let stopped = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const fresh = dedicatedClient(pool, 10_000);
    const lost = () => {
      if (client !== fresh) return;
      client = undefined;
      fresh.end().catch(() => {});
      if (!stopped) retry = setTimeout(reconnect, retryMs);
    };
    fresh.on("error", lost);
    fresh.on("end", lost);
    fresh.on("notification", (message) => {
      if (message.channel === RUNS_CHANNEL) wake();
    });
    client = fresh;
    await fresh.connect();
    await fresh.query(`LISTEN ${RUNS_CHANNEL}`);
  };
  const reconnect = () => {
    retry = undefined;
    connect().then(wake, () => {
      if (stopped) return;
      const failed = client;
      client = undefined;
      failed?.end().catch(() => {});
      retry = setTimeout(reconnect, retryMs);
    });
  };
  await connect().catch(() => {
    // Polling covers the time without it.
    const failed = client;
    client = undefined;
    failed?.end().catch(() => {});
    retry = setTimeout(reconnect, retryMs);
  });
  return {
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      const open = client;
      client = undefined;
      await open?.end().catch(() => {});
    },
  };
}
