/**
 * Deployments, the scheduler and their reads on either backend, chosen in one place (as
 * `runRecordsOf` does for a run's records): registration, scheduler passes, backfills, pauses, and
 * what the API, the metrics and the status line read about deployments and pools. DuckDB's take
 * the daemon's control connection, each call under its lock (a caller already holding the lock
 * calls the DuckDB functions directly); PostgreSQL's take the pool, each call its own transaction.
 * The daemon's own operations (its row, claims, leases, leadership) are `DaemonStore`'s.
 */
import {
  type Connection,
  type DeploymentRow,
  deploymentsOfRuns,
  findDeployment,
  type JobDefaults,
  lastSuccesses,
  listDeployments,
  listWorkPools,
  type NotifyRecords,
  type ScheduleRow,
  schedulesOf,
  type WorkPoolRow,
  withConnectionLock,
  workPoolJobDefaults,
} from "../store/index.js";
import {
  deploymentsOfRunsPg,
  findDeploymentPg,
  lastSuccessesPg,
  listDeploymentsPg,
  listWorkPoolsPg,
  type PgStore,
  schedulesOfPg,
  setDeploymentPausedPg,
  setWorkPoolPausedPg,
  waitingRunsPg,
  workPoolJobDefaultsPg,
} from "../store/pg/index.js";
import { type BackfillRange, type BackfillResult, backfill, backfillPg } from "./backfill.js";
import {
  type DeployChange,
  type DeploymentRecord,
  registerDeployments,
  registerDeploymentsPg,
  setDeploymentPaused,
  setWorkPoolPaused,
  type WorkPoolRecord,
} from "./deploy.js";
import { type PassResult, type SchedulerOptions, schedulePass, schedulePassPg } from "./scheduler.js";
import { type Waiting, waitingRuns } from "./status.js";

export interface SchedulerStore {
  registerDeployments(
    deployments: readonly DeploymentRecord[],
    pools: readonly WorkPoolRecord[],
    now: Date,
    notify?: NotifyRecords,
  ): Promise<DeployChange[]>;
  /** On PostgreSQL, only the leader runs it (`Leadership`). */
  schedulePass(now: Date, options?: SchedulerOptions): Promise<PassResult>;
  backfill(deployment: string, range: BackfillRange, now: Date): Promise<BackfillResult | undefined>;
  setDeploymentPaused(name: string, paused: boolean, now: Date): Promise<boolean>;
  setWorkPoolPaused(name: string, paused: boolean): Promise<boolean>;
  listDeployments(): Promise<DeploymentRow[]>;
  findDeployment(name: string): Promise<DeploymentRow | undefined>;
  schedulesOf(deployment: string): Promise<ScheduleRow[]>;
  listWorkPools(now: Date): Promise<WorkPoolRow[]>;
  lastSuccesses(): Promise<{ deployment: string; at: Date | null }[]>;
  deploymentsOfRuns(ids: readonly string[]): Promise<(string | null)[]>;
  /** What a run of `pool` gets from it (`job_defaults`): the daemon's `poolDefaults`. */
  poolDefaults(pool: string | null): Promise<JobDefaults>;
  waitingRuns(now: Date): Promise<Waiting>;
}

function isPg(on: Connection | PgStore): on is PgStore {
  return (on as PgStore).backend === "postgresql";
}

/** The operations over the daemon's DuckDB control connection, or over a PostgreSQL store's pool. */
export function schedulerStoreOf(on: Connection | PgStore): SchedulerStore {
  if (isPg(on)) {
    const pool = on.pool;
    return {
      registerDeployments: (deployments, pools, now, notify) =>
        registerDeploymentsPg(pool, deployments, pools, now, notify),
      schedulePass: (now, options) => schedulePassPg(pool, now, options),
      backfill: (deployment, range, now) => backfillPg(pool, deployment, range, now),
      setDeploymentPaused: (name, paused, now) => setDeploymentPausedPg(pool, name, paused, now),
      setWorkPoolPaused: (name, paused) => setWorkPoolPausedPg(pool, name, paused),
      listDeployments: () => listDeploymentsPg(pool),
      findDeployment: (name) => findDeploymentPg(pool, name),
      schedulesOf: (deployment) => schedulesOfPg(pool, deployment),
      listWorkPools: (now) => listWorkPoolsPg(pool, now),
      lastSuccesses: () => lastSuccessesPg(pool),
      deploymentsOfRuns: (ids) => deploymentsOfRunsPg(pool, ids),
      poolDefaults: (name) => workPoolJobDefaultsPg(pool, name),
      waitingRuns: (now) => waitingRunsPg(pool, now),
    };
  }
  const read = <T>(fn: (db: Parameters<typeof listDeployments>[0]) => Promise<T>) =>
    withConnectionLock(on, ({ db }) => fn(db));
  return {
    registerDeployments: (deployments, pools, now, notify) =>
      registerDeployments(on, deployments, pools, now, notify),
    schedulePass: (now, options) => schedulePass(on, now, options),
    backfill: (deployment, range, now) => backfill(on, deployment, range, now),
    setDeploymentPaused: (name, paused, now) => setDeploymentPaused(on, name, paused, now),
    setWorkPoolPaused: (name, paused) => setWorkPoolPaused(on, name, paused),
    listDeployments: () => read((db) => listDeployments(db)),
    findDeployment: (name) => read((db) => findDeployment(db, name)),
    schedulesOf: (deployment) => read((db) => schedulesOf(db, deployment)),
    listWorkPools: (now) => read((db) => listWorkPools(db, now)),
    lastSuccesses: () => read((db) => lastSuccesses(db)),
    deploymentsOfRuns: (ids) => read((db) => deploymentsOfRuns(db, ids)),
    poolDefaults: (name) => read((db) => workPoolJobDefaults(db, name)),
    waitingRuns: (now) => waitingRuns(on, now),
  };
}
