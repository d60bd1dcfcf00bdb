/**
 * The console's views over the DuckDB file (`ConsoleViews`): `StoreConsoleViews` (store-views.ts)
 * over DuckDB's read functions. Reads take turns on the shared connection, as the control plane's
 * do; nothing here writes, so a read-only store serves it as well.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { checkFreshness, freshnessRules } from "../notify/freshness.js";
import {
  barColumns,
  coverageRows,
  findDeployment,
  findSymbols,
  hasBars,
  type Locked,
  latestQualitySummary,
  listRuns,
  listWorkPools,
  queuedRunsOf,
  runCountsByState,
  runNotifications,
  runsPage,
  type Store,
  schedulesOf,
  sourceExtents,
  symbolEvents,
  unknownIndicators,
  withConnectionLock,
} from "../store/index.js";
import { type ConsoleReads, StoreConsoleViews } from "./store-views.js";

export { encodeCursor, runJson } from "./store-views.js";

export interface LocalViewsOptions {
  /** The connection to share (the daemon's control connection). Default: the store's main one. */
  db?: DuckDBConnection;
  /** The clock (tests). */
  now?: () => Date;
}

export class LocalConsoleViews extends StoreConsoleViews {
  constructor(store: Store, options: LocalViewsOptions = {}) {
    super(
      (fn) => withConnectionLock(options.db ?? store.db, (held) => fn(duckConsoleReads(held))),
      options.now,
    );
  }
}

/** DuckDB's reads on the held connection; `held` is for the operations that take the lock (they join). */
function duckConsoleReads(held: Locked): ConsoleReads {
  const { db } = held;
  return {
    runsPage: (options) => runsPage(db, options),
    listRuns: (options) => listRuns(db, options),
    runNotifications: (runId) => runNotifications(db, runId),
    findDeployment: (name) => findDeployment(db, name),
    schedulesOf: (deployment) => schedulesOf(db, deployment),
    listWorkPools: (now) => listWorkPools(db, now),
    queuedRunsOf: (pool, now, limit) => queuedRunsOf(db, pool, now, limit),
    runCountsByState: (since, now) => runCountsByState(db, since, now),
    // Through the held lock: taking it again would wait forever.
    overdueSeconds: async (now) =>
      (await checkFreshness(held, await freshnessRules(held), now, { enqueue: false })).seconds,
    sourceExtents: () => sourceExtents(db),
    latestQualitySummary: () => latestQualitySummary(db),
    findSymbols: (options) => findSymbols(db, options),
    unknownIndicators: (wanted) => unknownIndicators(db, wanted),
    barColumns: (source, symbol, options) => barColumns(db, source, symbol, options),
    hasBars: (source, symbol) => hasBars(db, source, symbol),
    symbolEvents: (source, symbol, maxQuality) => symbolEvents(db, source, symbol, maxQuality),
    coverageRows: (options) => coverageRows(db, options),
  };
}
