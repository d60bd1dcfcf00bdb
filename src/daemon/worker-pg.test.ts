/**
 * A worker on PostgreSQL, in process: it takes only its pool's runs, a NOTIFY wakes it at once
 * (its poll interval here is a minute, so only the wake-up can explain a quick start), it executes
 * the run to the end, and stopping it leaves no row of it behind.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { pgDescribe } from "../../tests/helpers/postgres.js";
import {
  crashRunsPg,
  createRunsPg,
  migratePg,
  openPgPool,
  type PgStore,
  pgQuery,
} from "../store/pg/index.js";
import { type DaemonOptions, startDaemon } from "./daemon.js";

pgDescribe("tickflow worker on PostgreSQL", (server) => {
  let dir: string;
  let store: PgStore;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tickflow-worker-"));
    writeFileSync(
      join(dir, "slow.yaml"),
      "kind: pipeline\nname: slow\ntasks:\n  wait:\n    uses: sql\n    with: {query: SELECT pg_sleep(20) IS NULL AS slept}\n",
    );
    writeFileSync(
      join(dir, "hello.yaml"),
      "kind: pipeline\nname: hello\ntasks:\n  say:\n    uses: log\n    with: {message: hello}\n",
    );
    store = await openPgPool(server.url(), { env: {} });
    await migratePg(store.pool);
  });
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A worker of `pool` in this process; what it logs goes to `lines`. */
  const startWorker = (pool: string, lines: string[], more: Partial<DaemonOptions>) =>
    startDaemon({
      dbPath: server.url(),
      host: "127.0.0.1",
      port: 0,
      token: undefined,
      env: {},
      log: (_level, message) => lines.push(message),
      worker: true,
      claim: { pools: [pool] },
      name: `test:worker:${pool}`,
      version: "test",
      ...more,
    });

  const state = async (id: string) =>
    (await pgQuery<{ state: string }>(store.pool, "SELECT state FROM runs WHERE id = $1", [id])).rows[0]
      ?.state;

  it("is woken by NOTIFY, runs its pool's runs only, and stops cleanly", async () => {
    const lines: string[] = [];
    const worker = await startWorker("p", lines, { pollMs: 60_000 });
    try {
      // Its first look found nothing; from now on only a NOTIFY (or a minute) makes it look again.
      await new Promise((r) => setTimeout(r, 300));
      const now = new Date();
      const run = (id: string, pool: string) => ({
        id,
        pipeline: "hello",
        deployment: null,
        state: "Scheduled" as const,
        parameters: {},
        logical_date: "2026-01-05",
        pipeline_file: join(dir, "hello.yaml"),
        scheduled_at: now,
        work_pool: pool,
      });
      const made = Date.now();
      await createRunsPg(store.pool, [run("mine", "p"), run("theirs", "q")], now, "made by the test");
      while ((await state("mine")) !== "Completed") {
        expect(Date.now() - made, `run not done; worker said: ${lines.join(" | ")}`).toBeLessThan(5000);
        await new Promise((r) => setTimeout(r, 25));
      }
      console.log(`worker: created to Completed in ${Date.now() - made} ms (poll interval 60 s)`);
      expect(await state("theirs")).toBe("Scheduled");
      const owners = await pgQuery(store.pool, "SELECT owner FROM daemons");
      expect(owners.rows).toEqual([{ owner: "test:worker:p" }]);
    } finally {
      expect(await worker.stop()).toBe(0);
    }
    expect((await pgQuery(store.pool, "SELECT owner FROM daemons")).rows).toEqual([]);
    expect(lines.some((l) => /^worker test:worker:p taking runs of p/.test(l))).toBe(true);
  });

  it("stops executing a run that another process crashed (its lease lost)", async () => {
    const lines: string[] = [];
    const worker = await startWorker("slow", lines, { leaseMs: 600 });
    try {
      const now = new Date();
      await createRunsPg(
        store.pool,
        [
          {
            id: "slow-1",
            pipeline: "slow",
            deployment: null,
            state: "Scheduled",
            parameters: {},
            logical_date: "2026-01-05",
            pipeline_file: join(dir, "slow.yaml"),
            scheduled_at: now,
            work_pool: "slow",
          },
        ],
        now,
        "made by the test",
      );
      const sleeping = async () =>
        (await pgQuery(store.pool, "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(20)%'"))
          .rows.length > 0;
      while (!(await sleeping())) await new Promise((r) => setTimeout(r, 25));
      // What a leader does to a run whose lease it found expired.
      expect(await crashRunsPg(store.pool, ["slow-1"], new Date(), "crashed: its lease expired")).toEqual([
        "slow-1",
      ]);
      const crashedAt = Date.now();
      // Its statement (pg_sleep(20)) is cancelled: nothing runs it any more.
      while (await sleeping()) {
        expect(Date.now() - crashedAt, lines.join(" | ")).toBeLessThan(5000);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(lines).toContain("run slow-1 lost its lease (marked Crashed elsewhere): stopping it");
      expect(await state("slow-1")).toBe("Crashed");
    } finally {
      expect(await worker.stop()).toBe(0);
    }
  });
});
