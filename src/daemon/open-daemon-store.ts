/** Opens the database a daemon or worker runs on: the DuckDB file, or PostgreSQL for a URL. */
import { type AnyStore, isPostgresUrl, openAnyStore } from "../store/index.js";
import { type DaemonStore, duckDaemonStore } from "./daemon-store.js";
import { pgDaemonStore } from "./daemon-store-pg.js";

export async function openDaemonStore(
  location: string,
  options: { worker: boolean },
): Promise<{ store: AnyStore; daemonStore: DaemonStore }> {
  if (options.worker && !isPostgresUrl(location)) {
    throw new Error(
      "tickflow worker needs a PostgreSQL database (TICKFLOW_DB=postgresql://...): a DuckDB file is held by its one daemon, which runs every run itself",
    );
  }
  const store = await openAnyStore(location);
  try {
    if ("pool" in store) return { store, daemonStore: pgDaemonStore(store) };
    // A long-lived process: hand freed memory back to the system sooner than DuckDB's defaults
    // (128 MiB kept in the allocator's caches) so the idle daemon stays small.
    await store.db.run("SET allocator_flush_threshold = '16MiB'");
    return { store, daemonStore: await duckDaemonStore(store) };
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}
