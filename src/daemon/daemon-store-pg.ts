/**
 * The daemon store on PostgreSQL: many daemons and workers on one database (SPEC section 12). No
 * lock of ours serialises them: claims take advisory locks and skip locked rows, transitions are
 * guarded updates, the leader (a session advisory lock) alone schedules, reaps expired leases and
 * sends notifications; `LISTEN` wakes a process when runs become claimable elsewhere.
 */
import type { ConsoleViews } from "../control/console-views.js";
import { ControlError, type ControlPlane } from "../control/control-plane.js";
import type { DatabaseGauges } from "../metrics/daemon-metrics.js";
import { WAITING_RUN_STATES } from "../store/index.js";
import { daemonSeenPg, forgetDaemonPg, registerDaemonPg } from "../store/pg/daemons.js";
import { holdNameLock, type NameLock } from "../store/pg/name-lock.js";
import {
  claimRunsPg,
  crashExpiredLeasesPg,
  Leadership,
  listenForRuns,
  type PgStore,
  pgQuery,
  recoverOwnRunsPg,
  renewLeasesPg,
  transitionRunsPg,
} from "../store/pg/index.js";
import { type DaemonStore, handBackTransition, jobDefaults } from "./daemon-store.js";

export function pgDaemonStore(store: PgStore): DaemonStore {
  const pool = store.pool;
  let name: NameLock | undefined;
  const notYet = (what: string) => () => {
    throw new ControlError(503, `${what}: not yet on PostgreSQL`);
  };
  return {
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
    registerDeployments: async () => notYet("registering deployments")(),
    poolDefaults: async (name) => {
      if (name === null) return { env: {} };
      const rows = (
        await pgQuery<{ j: string }>(pool, "SELECT job_defaults::text AS j FROM work_pools WHERE name = $1", [
          name,
        ])
      ).rows;
      return jobDefaults(rows[0]?.j);
    },
    schedulePass: async () => notYet("the scheduler")(),
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
    deploymentsOfRuns: async (ids) =>
      (
        await pgQuery<{ deployment: string | null }>(
          pool,
          "SELECT r.deployment FROM unnest($1::text[]) AS i(id) JOIN runs r ON r.id = i.id",
          [[...ids]],
        )
      ).rows.map((row) => row.deployment),
    waitingRuns: async (now) => {
      const row = (
        await pgQuery<{ due: number; next: Date | null }>(
          pool,
          `SELECT count(*) FILTER (WHERE r.scheduled_at <= $1)::integer AS due,
             min(r.scheduled_at) FILTER (WHERE r.scheduled_at > $1) AS next
           FROM runs r
           LEFT JOIN deployments d ON d.name = r.deployment
           LEFT JOIN work_pools p ON p.name = r.work_pool
           WHERE r.state = ANY($2::text[]) AND NOT coalesce(d.paused, false) AND NOT coalesce(p.paused, false)`,
          [now, [...WAITING_RUN_STATES]],
        )
      ).rows[0];
      return { due: Number(row?.due ?? 0), next: row?.next ?? undefined };
    },
    gauges: async (): Promise<DatabaseGauges> => ({ pools: [], deployments: [] }),
    notifyPass: async ({ sender }) => {
      await sender.pass();
    },
    notifySender: () => ({ pass: async () => undefined, close: () => {} }),
    controlPlane: (): ControlPlane => notYet("the API")() as never,
    consoleViews: (): ConsoleViews => notYet("the console")() as never,
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
