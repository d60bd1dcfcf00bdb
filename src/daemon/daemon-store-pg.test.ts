/**
 * The daemon store on PostgreSQL, against a throwaway server: a process's name is held for its life
 * (a second live process under it is refused; the name comes back once its connection ends), a
 * worker's `--pool`/`--queue` filter, LISTEN wake-ups when runs become claimable, and handing back
 * taken runs at stop.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { pgDescribe } from "../../tests/helpers/postgres.js";
import type { NewRun } from "../store/create-runs.js";
import {
  createRunsPg,
  migratePg,
  openPgPool,
  type PgStore,
  pgQuery,
  transitionRunsPg,
} from "../store/pg/index.js";
import { pgDaemonStore } from "./daemon-store-pg.js";

const T0 = new Date("2026-01-05T09:00:00Z");

function run(id: string, over: Partial<NewRun> = {}): NewRun {
  return {
    id,
    pipeline: "p",
    deployment: null,
    state: "Scheduled",
    parameters: {},
    logical_date: "2026-01-05",
    pipeline_file: "/x/p.yaml",
    scheduled_at: T0,
    ...over,
  };
}

pgDescribe("the daemon store on PostgreSQL", (server) => {
  let a: PgStore;
  let b: PgStore;
  beforeAll(async () => {
    a = await openPgPool(server.url(), { env: {} });
    b = await openPgPool(server.url(), { env: {} });
    await migratePg(a.pool);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it("holds a process's name: a second live process is refused, a restart after the end is not", async () => {
    const first = pgDaemonStore(await openPgPool(server.url(), { env: {} }));
    await first.recoverAtStart("host:worker:x", T0);
    const second = pgDaemonStore(b);
    await expect(second.recoverAtStart("host:worker:x", T0)).rejects.toThrow(
      /another live process on .* is named host:worker:x: give each daemon and worker its own name/,
    );
    await first.close();
    // The lock went with the first one's connection: the name is free again.
    const again = pgDaemonStore(await openPgPool(server.url(), { env: {} }));
    await expect(again.recoverAtStart("host:worker:x", T0)).resolves.toEqual([]);
    await again.close();
  });

  it("recovers only its own runs at start", async () => {
    await createRunsPg(a.pool, [run("own-1"), run("other-1")], T0, "made");
    await transitionRunsPg(a.pool, { ids: ["own-1"] }, { to: "Pending", at: T0, set: { lease_owner: "me" } });
    await transitionRunsPg(
      a.pool,
      { ids: ["other-1"] },
      { to: "Pending", at: T0, set: { lease_owner: "you" } },
    );
    const store = pgDaemonStore(await openPgPool(server.url(), { env: {} }));
    expect(await store.recoverAtStart("me", T0)).toEqual(["own-1"]);
    await store.close();
    const states = await pgQuery<{ id: string; state: string }>(
      a.pool,
      "SELECT id, state FROM runs WHERE id IN ('own-1', 'other-1') ORDER BY id",
    );
    expect(states.rows).toEqual([
      { id: "other-1", state: "Pending" },
      { id: "own-1", state: "Crashed" },
    ]);
  });

  it("a worker takes only its pool's runs (and its queues')", async () => {
    await createRunsPg(
      a.pool,
      [
        run("q-a1", { work_pool: "pa", work_queue: "high" }),
        run("q-a2", { work_pool: "pa", work_queue: "low" }),
        run("q-b1", { work_pool: "pb", work_queue: "high" }),
        run("q-none"),
      ],
      T0,
      "made",
    );
    const store = pgDaemonStore(a);
    const high = await store.claimRuns(T0, "w1", 60_000, 10, { pools: ["pa"], queues: ["high"] });
    expect(high.claimed.map((r) => r.id)).toEqual(["q-a1"]);
    const pa = await store.claimRuns(T0, "w1", 60_000, 10, { pools: ["pa"] });
    expect(pa.claimed.map((r) => r.id)).toEqual(["q-a2"]);
    const left = await pgQuery<{ id: string; state: string; lease_owner: string | null }>(
      a.pool,
      "SELECT id, state, lease_owner FROM runs WHERE id LIKE 'q-%' ORDER BY id",
    );
    expect(left.rows).toEqual([
      { id: "q-a1", state: "Pending", lease_owner: "w1" },
      { id: "q-a2", state: "Pending", lease_owner: "w1" },
      { id: "q-b1", state: "Scheduled", lease_owner: null },
      { id: "q-none", state: "Scheduled", lease_owner: null },
    ]);
  });

  it("wakes a listener when runs become claimable or a slot frees, not when one is taken", async () => {
    const store = pgDaemonStore(a);
    let wakes = 0;
    const listening = await store.listen(() => {
      wakes++;
    });
    try {
      const settle = () => new Promise((r) => setTimeout(r, 150));
      await settle();
      wakes = 0;
      await createRunsPg(b.pool, [run("w-1", { work_pool: "pw" })], T0, "made");
      await settle();
      expect(wakes).toBe(1);
      const taken = await pgDaemonStore(b).claimRuns(T0, "w2", 60_000, 1, { pools: ["pw"] });
      expect(taken.claimed.map((r) => r.id)).toEqual(["w-1"]);
      await settle();
      expect(wakes).toBe(1);
      await transitionRunsPg(b.pool, { ids: ["w-1"] }, { to: "Running", at: T0 });
      await transitionRunsPg(b.pool, { ids: ["w-1"] }, { to: "Completed", at: T0 });
      await settle();
      expect(wakes).toBe(2);
    } finally {
      await listening.stop();
    }
  });
});
