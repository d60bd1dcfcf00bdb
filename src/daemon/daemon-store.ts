/**
 * What a daemon (or a worker) asks of its database, on either backend: the embedded DuckDB file
 * (`duckDaemonStore`: one process holds it, so one control connection serialises the scheduler, the
 * claims and the API) or PostgreSQL (`pgDaemonStore` in `daemon-store-pg.ts`: many processes share
 * it). The daemon's loops (`daemon.ts`) are the same on both; only these operations differ.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { ConsoleViews } from "../control/console-views.js";
import type { ControlPlane } from "../control/control-plane.js";
import { type LiveRuns, LocalControlPlane } from "../control/local.js";
import { LocalConsoleViews } from "../control/local-views.js";
import type { DatabaseGauges } from "../metrics/daemon-metrics.js";
import { checkFreshness, freshnessRules } from "../notify/freshness.js";
import type { OutboxSource } from "../notify/outbox-store.js";
import { NotifySender, type SenderOptions } from "../notify/sender.js";
import {
  type DaemonRow,
  daemonSeen,
  forgetDaemon,
  lastSuccesses,
  listWorkPools,
  registerDaemon,
  type Store,
  transitionRuns,
  withConnectionLock,
} from "../store/index.js";
import { type ClaimedRun, claimRuns, recoverCrashedRuns, renewLeases } from "./claim.js";
import { type SchedulerStore, schedulerStoreOf } from "./scheduler-store.js";

/** Which runs a process takes: a worker's `--pool` and `--queue`; absent, every pool's. */
export interface ClaimFilter {
  pools?: readonly string[];
  queues?: readonly string[];
}

export interface DaemonStore
  extends Pick<
    SchedulerStore,
    "registerDeployments" | "schedulePass" | "poolDefaults" | "waitingRuns" | "deploymentsOfRuns"
  > {
  readonly backend: "duckdb" | "postgresql";
  /** The database as messages name it (a path, or the URL with its password masked). */
  readonly display: string;
  /**
   * Runs a dead process left holding a slot, now Crashed: DuckDB, every such run (one process holds
   * the file); PostgreSQL, only those of `owner` (this process's name: its previous life).
   */
  recoverAtStart(owner: string, now: Date): Promise<string[]>;
  registerDaemon(row: DaemonRow, now: Date): Promise<void>;
  daemonSeen(owner: string, now: Date): Promise<void>;
  forgetDaemon(owner: string): Promise<void>;
  claimRuns(
    now: Date,
    owner: string,
    leaseMs: number,
    capacity: number,
    filter?: ClaimFilter,
  ): Promise<{ claimed: ClaimedRun[]; cancelled: string[] }>;
  /** Extends the leases of `ids`; returns those still held (a missing one was crashed meanwhile). */
  renewLeases(owner: string, ids: readonly string[], until: Date): Promise<string[]>;
  /** Runs whose lease expired (and that `live` does not hold), now Crashed. */
  crashExpired(now: Date, live: ReadonlySet<string>): Promise<string[]>;
  /** Runs taken by `owner` but not started go back to the queue (a stopping process). */
  handBack(owner: string, now: Date): Promise<void>;
  /** What `/metrics` reads from the database at each scrape. */
  gauges(now: Date): Promise<DatabaseGauges>;
  /** Freshness rules checked (their messages enqueued), then due notifications sent. */
  notifyPass(options: { now: Date; checkFreshness: boolean; sender: NotifySenderLike }): Promise<void>;
  notifySender(options: SenderOptions): NotifySenderLike;
  controlPlane(live: LiveRuns, now: () => Date): ControlPlane;
  /**
   * Runs `onChange(true)` once this process leads (runs the scheduler and the lease reaper), and
   * `onChange(false)` when it no longer does. DuckDB: at once and for good (one process holds the
   * file). PostgreSQL: a session advisory lock; a standby takes over within `retryMs`.
   */
  lead(options: { retryMs: number; onChange: (leading: boolean) => void }): { stop(): Promise<void> };
  /**
   * Calls `wake` when runs may have become claimable elsewhere (PostgreSQL's LISTEN/NOTIFY), so
   * that a process need not poll often. DuckDB: never (this process makes every change).
   */
  listen(wake: () => void): Promise<{ stop(): Promise<void> }>;
  consoleViews(now: () => Date): ConsoleViews;
  close(): Promise<void>;
}

export interface NotifySenderLike {
  pass(): Promise<unknown>;
  close(): void;
}

/** The DuckDB file's daemon store: every operation on one control connection, taken in turns. */
export async function duckDaemonStore(store: Store): Promise<DaemonStore> {
  const db: DuckDBConnection = await store.connect();
  const scheduler = schedulerStoreOf(db);
  return {
    ...scheduler,
    backend: "duckdb",
    display: store.path,
    // The file was opened for writing: whatever held a slot then belonged to a dead process.
    recoverAtStart: async () => [...store.crashedAtOpen],
    registerDaemon: (row, now) => registerDaemon(db, row, now),
    daemonSeen: (owner, now) => daemonSeen(db, owner, now),
    forgetDaemon: (owner) => forgetDaemon(db, owner),
    claimRuns: (now, owner, leaseMs, capacity) => claimRuns(db, now, owner, leaseMs, capacity),
    renewLeases: (owner, ids, until) => renewLeases(db, owner, ids, until),
    crashExpired: (now, live) => recoverCrashedRuns(db, now, { atStart: false, live }),
    handBack: async (owner, now) => {
      await transitionRuns(db, { leaseOwner: owner }, handBackTransition(now));
    },
    // The freshness gauge reads through the held lock (`held`): taking it again would wait forever.
    gauges: (now) =>
      withConnectionLock(db, async (held) => ({
        pools: await listWorkPools(db, now),
        deployments: await lastSuccesses(db),
        freshness: (await checkFreshness(held, await freshnessRules(held), now, { enqueue: false })).seconds,
      })),
    notifyPass: (pass) => freshnessThenSend(db, pass),
    notifySender: (options) => new NotifySender(db, options),
    controlPlane: (live, now) => new LocalControlPlane(store, { db, now, live }),
    lead: ({ onChange }) => {
      onChange(true);
      return { stop: async () => {} };
    },
    listen: async () => ({ stop: async () => {} }),
    consoleViews: (now) => new LocalConsoleViews(store, { db, now }),
    close: () => store.close(),
  };
}

/** A notification pass: the freshness rules' messages enqueued (when due), then due messages sent. */
export async function freshnessThenSend(
  on: OutboxSource,
  pass: { now: Date; checkFreshness: boolean; sender: NotifySenderLike },
): Promise<void> {
  if (pass.checkFreshness) {
    const rules = await freshnessRules(on);
    if (rules.length > 0) await checkFreshness(on, rules, pass.now);
  }
  await pass.sender.pass();
}

/** A stopping process's taken-but-not-started runs, back to the queue. */
export function handBackTransition(now: Date) {
  return {
    to: "Scheduled" as const,
    from: ["Pending" as const],
    at: now,
    message: "handed back: the daemon stopped before starting it",
    set: { lease_owner: null, lease_expires_at: null },
  };
}
