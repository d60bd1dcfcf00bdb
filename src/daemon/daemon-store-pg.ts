/**
 * The daemon store on PostgreSQL: many daemons and workers on one database (SPEC section 12). No
 * lock of ours serialises them: claims take advisory locks and skip locked rows, transitions are
 * guarded updates, the leader (a session advisory lock) alone schedules, reaps expired leases and
 * sends notifications; `LISTEN` wakes a process when runs become claimable elsewhere.
 */
import { PgControlPlane } from "../control/pg.js";
import { PgConsoleViews } from "../control/pg-views.js";
import type { DatabaseGauges } from "../metrics/daemon-metrics.js";
import { checkFreshness, freshnessRules } from "../notify/freshness.js";
import { NotifySender } from "../notify/sender.js";
import { daemonSeenPg, forgetDaemonPg, registerDaemonPg } from "../store/pg/daemons.js";
import {
  claimRunsPg,
  crashExpiredLeasesPg,
  Leadership,
  listenForRuns,
  type PgStore,
  recoverOwnRunsPg,
  renewLeasesPg,
  transitionRunsPg,
} from "../store/pg/index.js";
import { holdNameLock, type NameLock } from "../store/pg/name-lock.js";
import { type DaemonStore, freshnessThenSend, handBackTransition } from "./daemon-store.js";
import { schedulerStoreOf } from "./scheduler-store.js";

export function pgDaemonStore(store: PgStore): DaemonStore {
  const pool = store.pool;
  let name: NameLock | undefined;
  const scheduler = schedulerStoreOf(store);
  return {
    ...scheduler,
    backend: "postgresql",
    display: store.display,
    // Only this name's runs (its previous life's): other processes' runs are theirs until their
    // leases expire. The name is held first: a live process under it keeps its runs.
    recoverAtStart: async (owner, now) => {
      name ??= await holdNameLock(pool, owner, store.display);
      return recoverOwnRunsPg(pool, owner, now);
    },
    registerDaemon: (row, now) => registerDaemonPg(pool, row, now),
    daemonSeen: (owner, now) => daemonSeenPg(pool, owner, now),
    forgetDaemon: (owner) => forgetDaemonPg(pool, owner),
    claimRuns: (now, owner, leaseMs, capacity, filter) =>
      claimRunsPg(pool, {
        owner,
        now,
        leaseUntil: new Date(now.getTime() + leaseMs),
        limit: capacity,
        ...(filter?.pools ? { pools: filter.pools } : {}),
        ...(filter?.queues ? { queues: filter.queues } : {}),
      }),
    renewLeases: (owner, ids, until) => renewLeasesPg(pool, owner, ids, until),
    // Live runs of this process have fresh leases: whatever expired belongs to a dead or cut-off one.
    crashExpired: (now) => crashExpiredLeasesPg(pool, now),
    handBack: async (owner, now) => {
      await transitionRunsPg(pool, { leaseOwner: owner }, handBackTransition(now));
    },
    gauges: async (now): Promise<DatabaseGauges> => ({
      pools: await scheduler.listWorkPools(now),
      deployments: await scheduler.lastSuccesses(),
      freshness: (await checkFreshness(store, await freshnessRules(store), now, { enqueue: false })).seconds,
    }),
    // The leader's: freshness rules enqueue their messages, then due messages go out (senders on
    // other daemons would not collide either: each takes its messages with SKIP LOCKED and a hold).
    notifyPass: (pass) => freshnessThenSend(store, pass),
    notifySender: (options) => new NotifySender(store, options),
    controlPlane: (live, now) => new PgControlPlane(store, { live, now }),
    consoleViews: (now) => new PgConsoleViews(store, { now }),
    lead: ({ retryMs, onChange }) => {
      const leadership = Leadership.start(pool, { retryMs, onChange });
      return { stop: () => leadership.stop() };
    },
    listen: (wake) => listenForRuns(pool, wake),
    close: async () => {
      await name?.release();
      await store.close();
    },
  };
}
