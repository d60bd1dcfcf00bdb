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
import { createRunsPg, migratePg, openPgPool, type PgStore, pgQuery } from "../store/pg/index.js";
import { startDaemon } from "./daemon.js";

pgDescribe("tickflow worker on PostgreSQL", (server) => {
  let dir: string;
  let store: PgStore;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tickflow-worker-"));
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

  const state = async (id: string) =>
    (await pgQuery<{ state: string }>(store.pool, "SELECT state FROM runs WHERE id = $1", [id])).rows[0]
      ?.state;

  it("is woken by NOTIFY, runs its pool's runs only, and stops cleanly", async () => {
    const lines: string[] = [];
    const worker = await startDaemon({
      dbPath: server.url(),
      host: "127.0.0.1",
      port: 0,
      token: undefined,
      env: {},
      log: (_level, message) => lines.push(message),
      worker: true,
      claim: { pools: ["p"] },
      name: "test:worker:p",
      pollMs: 60_000,
      version: "test",
    });
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
});
