/**
 * Chaos on PostgreSQL (issue 16): 3 daemons and 3 workers (the real CLI) share one database while
 * a random one of them is killed with -9 and restarted every couple of seconds. Each run's first
 * task records (run id, process) in a table whose primary key is the run id, so a run executed
 * twice fails on it. At the end every run is in a final state, none is lost, none ran twice, the
 * pool's limit was never exceeded, and the leader's takeovers are measured.
 *
 * CI runs a short round (60 runs); `TICKFLOW_CHAOS_RUNS=300` runs the full one (it prints its
 * figures either way).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { FINAL_RUN_STATES, SLOT_RUN_STATES } from "../src/store/index.js";
import { createRunsPg, migratePg, openPgPool, type PgStore, pgQuery } from "../src/store/pg/index.js";
import { REPO } from "./helpers/cli.js";
import { pgDescribe } from "./helpers/postgres.js";

const RUNS = Number(process.env.TICKFLOW_CHAOS_RUNS ?? 60);
const KILL_EVERY_MS = Number(process.env.TICKFLOW_CHAOS_KILL_MS ?? 2000);
const POOL_LIMIT = 6;
const DEADLINE_MS = Math.max(120_000, RUNS * 1000);

interface Proc {
  name: string;
  args: string[];
  child?: ChildProcess;
  log: string;
  /** When this process last said it leads (daemons). */
  ledAt: number[];
  kills: number;
}

pgDescribe("chaos: 3 daemons and 3 workers on one PostgreSQL database", (server) => {
  let dir: string;
  let store: PgStore;
  const procs: Proc[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tickflow-chaos-"));
    mkdirSync(join(dir, "deployment"));
    mkdirSync(join(dir, "pipelines"));
    writeFileSync(
      join(dir, "pipelines", "chaos.yaml"),
      `kind: pipeline
name: chaos
parameters:
  process: {type: string, default: unknown}
tasks:
  record:
    uses: sql
    with:
      query: INSERT INTO chaos_exec (run_id, process) VALUES ($run, $process)
      params: {run: "\${{ run.id }}", process: "\${{ env.TICKFLOW_NAME }}"}
  work:
    uses: sql
    needs: [record]
    with:
      query: SELECT pg_sleep(0.2) IS NULL AS slept
`,
    );
    writeFileSync(
      join(dir, "deployment", "tickflow.yaml"),
      `kind: deployments
work_pools:
  - {name: chaos, concurrency_limit: ${POOL_LIMIT}}
deployments:
  - name: chaos
    pipeline: ../pipelines/chaos.yaml
    work_pool: {name: chaos}
`,
    );
    store = await openPgPool(server.url(), { env: {} });
    await migratePg(store.pool);
    await pgQuery(
      store.pool,
      "CREATE TABLE chaos_exec (run_id text PRIMARY KEY, process text NOT NULL, at timestamptz NOT NULL DEFAULT now())",
    );
  });

  afterAll(async () => {
    for (const p of procs) p.child?.kill("SIGKILL");
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function start(p: Proc): Promise<void> {
    const child = spawn(process.execPath, [join(REPO, "bin/tickflow.js"), ...p.args, "--name", p.name], {
      cwd: dir,
      env: {
        ...process.env,
        TICKFLOW_DB: server.url(),
        TICKFLOW_NAME: p.name,
        TICKFLOW_LOG_FORMAT: "json",
        TICKFLOW_LOG_LEVEL: "info",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    p.child = child;
    return new Promise((resolve, reject) => {
      let seen = "";
      child.stderr?.on("data", (d: Buffer) => {
        const text = String(d);
        p.log += text;
        seen += text;
        if (/"leading: this process schedules"/.test(text)) p.ledAt.push(Date.now());
        if (/listening on http|taking runs of/.test(seen)) resolve();
      });
      child.on("exit", (code, signal) => {
        if (p.child === child) p.child = undefined;
        reject(new Error(`${p.name} exited (${code ?? signal}) before it was ready:\n${seen}`));
      });
    });
  }

  async function kill(p: Proc): Promise<void> {
    const child = p.child;
    if (!child) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    p.kills++;
  }

  async function states(): Promise<Map<string, number>> {
    const rows = await pgQuery<{ state: string; n: number }>(
      store.pool,
      "SELECT state, count(*)::integer AS n FROM runs WHERE deployment = 'chaos' GROUP BY state",
    );
    return new Map(rows.rows.map((r) => [r.state, r.n]));
  }

  it(
    `${RUNS} runs while a random process is killed -9 and restarted every ${KILL_EVERY_MS} ms`,
    async () => {
      for (let i = 1; i <= 3; i++)
        procs.push({ name: `d${i}`, args: ["daemon", "--port", "0"], log: "", ledAt: [], kills: 0 });
      for (let i = 1; i <= 3; i++)
        procs.push({ name: `w${i}`, args: ["worker", "--pool", "chaos"], log: "", ledAt: [], kills: 0 });
      // The daemons register the same file at once: they must agree (an advisory lock serialises them).
      await Promise.all(procs.map(start));

      const now = new Date();
      await createRunsPg(
        store.pool,
        Array.from({ length: RUNS }, (_, i) => ({
          id: `chaos-${String(i).padStart(4, "0")}`,
          pipeline: "chaos",
          deployment: "chaos",
          state: "Scheduled" as const,
          parameters: {},
          logical_date: now.toISOString().slice(0, 10),
          pipeline_file: join(dir, "pipelines", "chaos.yaml"),
          scheduled_at: now,
          work_pool: "chaos",
        })),
        now,
        "made by the chaos test",
      );

      // Slots held in the pool, watched all along: never over its limit.
      let peak = 0;
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          const held = await pgQuery<{ n: number }>(
            store.pool,
            "SELECT count(*)::integer AS n FROM runs WHERE work_pool = 'chaos' AND state = ANY($1::text[])",
            [[...SLOT_RUN_STATES]],
          );
          peak = Math.max(peak, held.rows[0]?.n ?? 0);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();

      const takeovers: number[] = [];
      const began = Date.now();
      let kills = 0;
      const isDone = async () => {
        const s = await states();
        return [...s].every(([state]) => (FINAL_RUN_STATES as readonly string[]).includes(state));
      };
      while (!(await isDone())) {
        expect(Date.now() - began, "runs still unfinished at the deadline").toBeLessThan(DEADLINE_MS);
        await new Promise((r) => setTimeout(r, KILL_EVERY_MS * (0.5 + Math.random())));
        // Every third kill goes to the leader, so that takeovers happen and are measured.
        const leader = procs
          .filter((p) => p.args[0] === "daemon" && p.child)
          .sort((x, y) => (y.ledAt.at(-1) ?? 0) - (x.ledAt.at(-1) ?? 0))[0];
        const victim = kills % 3 === 0 && leader ? leader : procs[Math.floor(Math.random() * procs.length)]!;
        const wasLeader = victim === leader;
        const killedAt = Date.now();
        await kill(victim);
        kills++;
        if (wasLeader) {
          const others = procs.filter((p) => p !== victim && p.args[0] === "daemon");
          const deadline = Date.now() + 15_000;
          let took: number | undefined;
          while (took === undefined && Date.now() < deadline) {
            took = others.flatMap((p) => p.ledAt).find((t) => t >= killedAt);
            if (took === undefined) await new Promise((r) => setTimeout(r, 20));
          }
          expect(took, "no daemon took the lead after the leader was killed").toBeDefined();
          takeovers.push((took as number) - killedAt);
        }
        await new Promise((r) => setTimeout(r, 300));
        await start(victim);
      }
      watching = false;
      await watcher;

      const final = await states();
      const runs = await pgQuery<{ id: string; state: string; error: string | null }>(
        store.pool,
        "SELECT id, state, error FROM runs WHERE deployment = 'chaos' ORDER BY id",
      );
      const executed = await pgQuery<{ run_id: string; process: string }>(
        store.pool,
        "SELECT run_id, process FROM chaos_exec",
      );
      const summary = {
        runs: RUNS,
        seconds: Math.round((Date.now() - began) / 100) / 10,
        kills,
        states: Object.fromEntries(final),
        executed: executed.rows.length,
        peak_slots: peak,
        takeover_ms: takeovers,
      };
      console.log(`chaos: ${JSON.stringify(summary)}`);

      // None lost: every run is there, in a final state.
      expect(runs.rows).toHaveLength(RUNS);
      for (const r of runs.rows) expect(FINAL_RUN_STATES as readonly string[]).toContain(r.state);
      // None executed twice: a second execution would have failed on the primary key.
      const twice = runs.rows.filter((r) => /duplicate key|chaos_exec_pkey/.test(r.error ?? ""));
      expect(twice).toEqual([]);
      // A completed run recorded itself exactly once.
      const recorded = new Set(executed.rows.map((r) => r.run_id));
      for (const r of runs.rows.filter((x) => x.state === "Completed")) expect(recorded.has(r.id)).toBe(true);
      // The only way a run ends other than Completed here: its process was killed under it.
      for (const r of runs.rows.filter((x) => x.state !== "Completed")) expect(r.state).toBe("Crashed");
      expect(final.get("Completed") ?? 0).toBeGreaterThan(RUNS / 2);
      expect(peak).toBeLessThanOrEqual(POOL_LIMIT);
      expect(peak).toBeGreaterThan(1);
      expect(takeovers.length).toBeGreaterThan(0);
      for (const ms of takeovers) expect(ms).toBeLessThan(10_000);

      // Everyone stops cleanly on SIGTERM.
      const codes = await Promise.all(
        procs.map(
          (p) =>
            new Promise<number | null>((resolve) => {
              const child = p.child;
              if (!child) return resolve(null);
              child.once("exit", (code) => resolve(code));
              child.kill("SIGTERM");
            }),
        ),
      );
      expect(codes).toEqual(procs.map(() => 0));
    },
    DEADLINE_MS + 60_000,
  );
});
