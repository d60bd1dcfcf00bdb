/**
 * The control plane over PostgreSQL: `StoreControlPlane` (store-control.ts) over the PostgreSQL
 * operations of `src/store/pg/`, on the pool. Many daemons may serve it on one database (SPEC
 * section 12): no lock of ours is needed, since every state change is a guarded statement
 * (`transitionRunsPg` moves a run only from the states it names; of two racing cancels one moves).
 */

import { backfillPg } from "../daemon/backfill.js";
import { registerDeploymentsPg } from "../daemon/deploy.js";
import {
  createRunsPg,
  findDeploymentPg,
  findRunPg,
  listDeploymentsPg,
  listRunsPg,
  listWorkPoolsPg,
  logsOfPg,
  type PgDb,
  type PgStore,
  readOnlyChunksPg,
  setDeploymentPausedPg,
  setWorkPoolPausedPg,
  taskRunsOfPg,
  transitionRunsPg,
  transitionsOfPg,
} from "../store/pg/index.js";
import { type ControlOps, type ControlOptions, StoreControlPlane } from "./store-control.js";

export class PgControlPlane extends StoreControlPlane {
  constructor(store: PgStore, options: ControlOptions = {}) {
    const ops = pgControlOps(store.pool);
    super(
      {
        path: store.display,
        session: (fn) => fn(ops),
        // A client of its own, in a READ ONLY transaction.
        readOnlyChunks: (sql, chunkOptions) => readOnlyChunksPg(store.pool, sql, chunkOptions),
        close: () => store.close(),
      },
      options,
    );
  }
}

/** The control plane's operations on PostgreSQL. */
export function pgControlOps(db: PgDb): ControlOps {
  return {
    findRun: (idOrPrefix) => findRunPg(db, idOrPrefix),
    listRuns: (options) => listRunsPg(db, options),
    taskRunsOf: (runId) => taskRunsOfPg(db, runId),
    transitionsOf: (runId) => transitionsOfPg(db, runId),
    logsOf: (runId, options) => logsOfPg(db, runId, options),
    transitionRuns: (select, t) => transitionRunsPg(db, select, t),
    createRuns: (runs, at, message) => createRunsPg(db, runs, at, message),
    findDeployment: (name) => findDeploymentPg(db, name),
    listDeployments: () => listDeploymentsPg(db),
    listWorkPools: (now) => listWorkPoolsPg(db, now),
    setDeploymentPaused: (name, paused, now) => setDeploymentPausedPg(db, name, paused, now),
    setWorkPoolPaused: (name, paused) => setWorkPoolPausedPg(db, name, paused),
    backfill: (name, range, now) => backfillPg(db, name, range, now),
    deploy: (registration, now) =>
      registerDeploymentsPg(db, registration.deployments, registration.pools, now, registration.notify),
  };
}
