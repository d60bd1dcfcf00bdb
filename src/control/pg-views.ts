/**
 * The console's views over PostgreSQL (`ConsoleViews`): `StoreConsoleViews` (store-views.ts) over
 * the PostgreSQL reads of `src/store/pg/`, on the pool. Every daemon sharing the database serves
 * them (SPEC section 12); each read is a statement of its own (no lock to take turns on).
 */
import { overdueSeconds } from "../notify/freshness.js";
import {
  barColumnsPg,
  coverageRowsPg,
  findDeploymentPg,
  findSymbolsPg,
  freshnessRulesPg,
  hasBarsPg,
  hasSessionBarsPg,
  latestQualitySummaryPg,
  listRunsPg,
  listWorkPoolsPg,
  type PgDb,
  type PgStore,
  queuedRunsOfPg,
  runCountsByStatePg,
  runNotificationsPg,
  runsPagePg,
  schedulesOfPg,
  sourceExtentsPg,
  symbolEventsPg,
  unknownIndicatorsPg,
} from "../store/pg/index.js";
import { type ConsoleReads, StoreConsoleViews } from "./store-views.js";

export interface PgViewsOptions {
  /** The clock (tests). */
  now?: () => Date;
}

export class PgConsoleViews extends StoreConsoleViews {
  constructor(store: PgStore, options: PgViewsOptions = {}) {
    const reads = pgConsoleReads(store.pool);
    super((fn) => fn(reads), options.now);
  }
}

/** The console's reads on PostgreSQL. */
export function pgConsoleReads(db: PgDb): ConsoleReads {
  return {
    runsPage: (options) => runsPagePg(db, options),
    listRuns: (options) => listRunsPg(db, options),
    runNotifications: (runId) => runNotificationsPg(db, runId),
    findDeployment: (name) => findDeploymentPg(db, name),
    schedulesOf: (deployment) => schedulesOfPg(db, deployment),
    listWorkPools: (now) => listWorkPoolsPg(db, now),
    queuedRunsOf: (pool, now, limit) => queuedRunsOfPg(db, pool, now, limit),
    runCountsByState: (since, now) => runCountsByStatePg(db, since, now),
    overdueSeconds: async (now) =>
      overdueSeconds(await freshnessRulesPg(db), now, (source, session) =>
        hasSessionBarsPg(db, source, session),
      ),
    sourceExtents: () => sourceExtentsPg(db),
    latestQualitySummary: () => latestQualitySummaryPg(db),
    findSymbols: (options) => findSymbolsPg(db, options),
    unknownIndicators: (wanted) => unknownIndicatorsPg(db, wanted),
    barColumns: (source, symbol, options) => barColumnsPg(db, source, symbol, options),
    hasBars: (source, symbol) => hasBarsPg(db, source, symbol),
    symbolEvents: (source, symbol, maxQuality) => symbolEventsPg(db, source, symbol, maxQuality),
    coverageRows: (options) => coverageRowsPg(db, options),
  };
}
