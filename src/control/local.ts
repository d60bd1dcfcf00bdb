/**
 * The control plane over the DuckDB file: `StoreControlPlane` (store-control.ts) over DuckDB's
 * store operations. Reads and writes take turns on the shared connection (the daemon's control
 * connection, or the store's main one); `query` runs on a connection of its own.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { backfill } from "../daemon/backfill.js";
import { registerDeployments, setDeploymentPaused, setWorkPoolPaused } from "../daemon/deploy.js";
import {
  createRuns,
  findDeployment,
  findRun,
  type Locked,
  listDeployments,
  listRuns,
  listWorkPools,
  logsOf,
  readOnlyChunks,
  type Store,
  taskRunsOf,
  transitionRuns,
  transitionsOf,
  withConnectionLock,
} from "../store/index.js";
import {
  type ControlBackend,
  type ControlOps,
  type ControlOptions,
  StoreControlPlane,
} from "./store-control.js";

export type { LiveRuns } from "./store-control.js";

export interface LocalOptions extends ControlOptions {
  /** The connection to share (the daemon's control connection). Default: the store's main one. */
  db?: DuckDBConnection;
}

export class LocalControlPlane extends StoreControlPlane {
  constructor(store: Store, options: LocalOptions = {}) {
    super(duckControlBackend(store, options.db ?? store.db), options);
  }
}

/** DuckDB's backend: the operations on the shared connection, under its lock. */
function duckControlBackend(store: Store, shared: DuckDBConnection): ControlBackend {
  return {
    path: store.path,
    session: (fn) => withConnectionLock(shared, (held) => fn(duckControlOps(held))),
    async *readOnlyChunks(sql, options) {
      // A connection of its own: a long query must not hold up the scheduler or other requests.
      const db = await store.connect();
      try {
        yield* readOnlyChunks(db, sql, options);
      } finally {
        store.release(db);
      }
    },
    close: () => store.close(),
  };
}

/** Reads on the held connection; writes given `held` (they join its lock and transaction). */
function duckControlOps(held: Locked): ControlOps {
  const { db } = held;
  return {
    findRun: (idOrPrefix) => findRun(db, idOrPrefix),
    listRuns: (options) => listRuns(db, options),
    taskRunsOf: (runId) => taskRunsOf(db, runId),
    transitionsOf: (runId) => transitionsOf(db, runId),
    logsOf: (runId, options) => logsOf(db, runId, options),
    transitionRuns: (select, t) => transitionRuns(held, select, t),
    createRuns: (runs, at, message) => createRuns(held, runs, at, message),
    findDeployment: (name) => findDeployment(db, name),
    listDeployments: () => listDeployments(db),
    listWorkPools: (now) => listWorkPools(db, now),
    setDeploymentPaused: (name, paused, now) => setDeploymentPaused(held, name, paused, now),
    setWorkPoolPaused: (name, paused) => setWorkPoolPaused(held, name, paused),
    backfill: (name, range, now) => backfill(held, name, range, now),
    deploy: (registration, now) =>
      registerDeployments(held, registration.deployments, registration.pools, now, registration.notify),
  };
}
