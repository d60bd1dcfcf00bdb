/**
 * Leader election on PostgreSQL against a throwaway server: one of two processes leads; when the
 * leader's connection is killed (`pg_terminate_backend`) the standby takes over within its retry
 * interval (measured), and the old leader knows it lost; `stop()` hands over too.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { pgDescribe } from "../../../tests/helpers/postgres.js";
import { Leadership, tryLeadPg } from "./leadership.js";
import { openPgPool, type PgStore } from "./pool.js";

async function until(what: () => boolean, ms: number): Promise<number> {
  const start = performance.now();
  while (!what()) {
    if (performance.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - start;
}

pgDescribe("PostgreSQL leader election", (server) => {
  let store: PgStore;
  beforeAll(async () => {
    store = await openPgPool(server.url(), { env: {} });
  });
  afterAll(() => store?.close());

  it("tryLeadPg: one holder at a time; ending its connection frees the lock", async () => {
    const key = [0x7469636b, 99] as const;
    const first = await tryLeadPg(store.pool, key);
    expect(first).toBeDefined();
    expect(await tryLeadPg(store.pool, key)).toBeUndefined();
    await first!.end();
    const second = await tryLeadPg(store.pool, key);
    expect(second).toBeDefined();
    await second!.end();
  });

  it("a standby takes over within its retry interval after the leader's connection is killed", async () => {
    const changes: string[] = [];
    const a = Leadership.start(store.pool, { retryMs: 100, onChange: (l) => changes.push(`a:${l}`) });
    await until(() => a.leading, 5000);
    const b = Leadership.start(store.pool, { retryMs: 100, onChange: (l) => changes.push(`b:${l}`) });
    try {
      await new Promise((r) => setTimeout(r, 300)); // b tries (and fails) a few times
      expect([a.leading, b.leading]).toEqual([true, false]);

      const pid = a.backendPid;
      expect(pid).toBeTypeOf("number");
      const killed = performance.now();
      await store.pool.query("SELECT pg_terminate_backend($1)", [pid]);
      const aLost = await until(() => !a.leading, 5000);
      const takeover = await until(() => b.leading, 10_000);
      const total = performance.now() - killed;
      process.stderr.write(
        `leadership: old leader knew in ${aLost.toFixed(0)} ms, takeover ${total.toFixed(0)} ms after pg_terminate_backend (retry 100 ms)\n`,
      );
      expect(takeover).toBeLessThan(10_000);
      expect(b.leading).toBe(true);
      // The old leader, reconnected, stands by: one leader.
      await new Promise((r) => setTimeout(r, 300));
      expect([a.leading, b.leading]).toEqual([false, true]);

      // Stepping down hands over as well.
      await b.stop();
      await until(() => a.leading, 5000);
      expect(changes).toEqual(["a:true", "a:false", "b:true", "b:false", "a:true"]);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
