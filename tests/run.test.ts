import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, tempDir, tickflow } from "./helpers/cli.js";

interface TaskRow {
  task_id: string;
  state: string;
  attempts: number;
  error: string | null;
  outputs: Record<string, unknown> | null;
}

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

async function pipeline(name: string, text: string): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, `kind: pipeline\nname: ${name}\n${text}`);
  return file;
}

async function query<T>(db: string, sql: string): Promise<T[]> {
  const r = await tickflow(["query", "--db", db, "--json", sql]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T[];
}

async function tasksOf(db: string, runId: string): Promise<Map<string, TaskRow>> {
  const rows = await query<TaskRow>(
    db,
    `SELECT task_id, state, attempts, error, outputs FROM task_runs WHERE run_id = '${runId}' ORDER BY task_id`,
  );
  return new Map(
    rows.map((r) => [
      r.task_id,
      { ...r, outputs: typeof r.outputs === "string" ? JSON.parse(r.outputs) : r.outputs },
    ]),
  );
}

async function runJson(file: string, db: string, args: string[] = []) {
  const r = await tickflow(["run", file, "--db", db, "--json", ...args]);
  const record = JSON.parse(r.stdout) as {
    id: string;
    state: string;
    tasks: { id: string; state: string; attempts: number }[];
  };
  return { ...r, record };
}

describe("tickflow run", () => {
  it("retries a task until it succeeds on the third attempt", async () => {
    const db = join(dir, "retries.duckdb");
    const file = await pipeline(
      "flaky",
      `tasks:
  setup: {uses: sql, with: {query: "CREATE TABLE attempts(n INTEGER)"}}
  flaky:
    uses: sql
    needs: [setup]
    retries: 3
    retry_delay: [10ms, 20ms]
    with:
      query: >-
        INSERT INTO attempts VALUES (1);
        SELECT CASE WHEN count(*) < 3 THEN error('not yet, attempt ' || count(*)) ELSE count(*) END AS attempts FROM attempts
`,
    );
    const r = await runJson(file, db);
    expect(r.code, r.stderr).toBe(0);
    expect(r.record.state).toBe("Completed");
    const tasks = await tasksOf(db, r.record.id);
    expect(tasks.get("flaky")).toMatchObject({
      state: "Completed",
      attempts: 3,
      error: null,
      outputs: { rows: 1, first: { attempts: 3 } },
    });
    const transitions = await query<{ state: string; attempt: number; message: string | null }>(
      db,
      `SELECT state, attempt, message FROM state_transitions WHERE run_id = '${r.record.id}' AND task_id = 'flaky' ORDER BY ts, attempt`,
    );
    expect(transitions.map((t) => `${t.state}#${t.attempt}`)).toEqual([
      "Running#1",
      "Retrying#1",
      "Running#2",
      "Retrying#2",
      "Running#3",
      "Completed#3",
    ]);
    expect(transitions[1]!.message).toMatch(/not yet, attempt 1/);
    const [run] = await query<{ state: string; error: string | null }>(
      db,
      `SELECT state, error FROM runs WHERE id = '${r.record.id}'`,
    );
    expect(run).toEqual({ state: "Completed", error: null });
  });

  it("fails a task that runs past its timeout, cancelling its work", async () => {
    const db = join(dir, "timeout.duckdb");
    const file = await pipeline(
      "slow",
      `tasks:
  slow: {uses: sql, timeout: 300ms, with: {query: "SELECT count(*) FROM range(1000000000000)"}}
  after: {uses: log, needs: [slow], with: {message: never}}
`,
    );
    const r = await runJson(file, db);
    expect(r.code).toBe(1);
    expect(r.record.state).toBe("Failed");
    const tasks = await tasksOf(db, r.record.id);
    expect(tasks.get("slow")).toMatchObject({ state: "Failed", attempts: 1, error: "timed out after 300ms" });
    expect(tasks.get("after")!.state).toBe("Skipped");
  });

  it("skips the dependants of a failed task, completes independent branches and runs `if: failure()`", async () => {
    const db = join(dir, "failure.duckdb");
    const file = await pipeline(
      "branches",
      `tasks:
  bad: {uses: sql, with: {query: "SELECT error('boom')"}}
  after_bad: {uses: log, needs: [bad], with: {message: unreachable}}
  after_after: {uses: log, needs: [after_bad], with: {message: unreachable}}
  independent: {uses: log, with: {message: fine}}
  independent_next: {uses: log, needs: [independent], with: {message: "still fine"}}
  notify:
    uses: log
    needs: [after_after]
    if: \${{ failure() }}
    with: {level: error, message: "branches failed on \${{ run.date }}"}
  not_notified:
    uses: log
    needs: [independent_next]
    if: \${{ failure() }}
    with: {message: unreachable}
`,
    );
    const r = await runJson(file, db, ["--date", "2025-03-14"]);
    expect(r.code).toBe(1);
    expect(r.record.state).toBe("Failed");
    const tasks = await tasksOf(db, r.record.id);
    const states = Object.fromEntries([...tasks].map(([id, t]) => [id, t.state]));
    expect(states).toEqual({
      bad: "Failed",
      after_bad: "Skipped",
      after_after: "Skipped",
      independent: "Completed",
      independent_next: "Completed",
      notify: "Completed",
      not_notified: "Skipped",
    });
    expect(tasks.get("bad")!.error).toMatch(/boom/);
    const logs = await query<{ task_id: string; level: string; message: string }>(
      db,
      `SELECT task_id, level, message FROM run_logs WHERE run_id = '${r.record.id}' ORDER BY task_id`,
    );
    expect(logs).toEqual([
      { task_id: "independent", level: "info", message: "fine" },
      { task_id: "independent_next", level: "info", message: "still fine" },
      { task_id: "notify", level: "error", message: "branches failed on 2025-03-14" },
    ]);
  });

  it("does not re-run a cached task within its expiry, and reuses its outputs", async () => {
    const db = join(dir, "cache.duckdb");
    const file = await pipeline(
      "cached",
      `tasks:
  setup: {uses: sql, with: {query: "CREATE TABLE IF NOT EXISTS work(n INTEGER)"}}
  expensive:
    uses: sql
    needs: [setup]
    cache: {key: "\${{ run.date }}", expire: 1h}
    with: {query: "INSERT INTO work VALUES (42); SELECT count(*) AS done FROM work"}
  report: {uses: log, needs: [expensive], with: {message: "done=\${{ tasks.expensive.outputs.first.done }}"}}
`,
    );
    const first = await runJson(file, db, ["--date", "2025-03-14"]);
    const second = await runJson(file, db, ["--date", "2025-03-14"]);
    const third = await runJson(file, db, ["--date", "2025-03-17"]);
    for (const r of [first, second, third]) expect(r.code, r.stderr).toBe(0);
    expect((await tasksOf(db, first.record.id)).get("expensive")!.state).toBe("Completed");
    const cached = (await tasksOf(db, second.record.id)).get("expensive")!;
    expect(cached).toMatchObject({ state: "Cached", outputs: { rows: 1, first: { done: 1 } } });
    expect((await tasksOf(db, third.record.id)).get("expensive")!.state).toBe("Completed");
    expect(await query(db, "SELECT count(*)::INTEGER AS n FROM work")).toEqual([{ n: 2 }]);
    const logs = await query<{ message: string }>(
      db,
      `SELECT message FROM run_logs WHERE run_id = '${second.record.id}'`,
    );
    expect(logs).toEqual([{ message: "done=1" }]);
  });

  it("lets a run complete when a continue_on_error task fails", async () => {
    const db = join(dir, "coe.duckdb");
    const file = await pipeline(
      "tolerant",
      `tasks:
  optional: {uses: sql, continue_on_error: true, with: {query: "SELECT error('optional data missing')"}}
  next: {uses: log, needs: [optional], with: {message: "carried on"}}
`,
    );
    const r = await runJson(file, db);
    expect(r.code, r.stderr).toBe(0);
    expect(r.record.state).toBe("Completed");
    const tasks = await tasksOf(db, r.record.id);
    expect(tasks.get("optional")).toMatchObject({
      state: "Failed",
      error: expect.stringMatching(/optional data missing/),
    });
    expect(tasks.get("next")!.state).toBe("Completed");
  });

  it("cancels on SIGINT: running tasks are aborted, the run ends Cancelled, exit 130", async () => {
    const db = join(dir, "sigint.duckdb");
    const file = await pipeline(
      "interrupted",
      `tasks:
  hello: {uses: log, with: {message: started}}
  slow: {uses: sql, needs: [hello], with: {query: "SELECT count(*) FROM range(1000000000000)"}}
  after: {uses: log, needs: [slow], with: {message: unreachable}}
`,
    );
    const child = spawn(
      process.execPath,
      [join(REPO, "bin/tickflow.js"), "run", file, "--db", db, "--json"],
      {
        env: { ...process.env, NO_COLOR: "1" },
      },
    );
    let stderr = "";
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    const started = new Promise<void>((resolve) => {
      child.stderr.on("data", (d: Buffer) => {
        stderr += d;
        if (stderr.includes("hello: started")) resolve();
      });
    });
    await started;
    await new Promise((r) => setTimeout(r, 200));
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code, stderr).toBe(130);
    const record = JSON.parse(stdout) as { id: string; state: string };
    expect(record.state).toBe("Cancelled");
    const [run] = await query<{ state: string }>(db, `SELECT state FROM runs WHERE id = '${record.id}'`);
    expect(run!.state).toBe("Cancelled");
    const tasks = await tasksOf(db, record.id);
    expect(tasks.get("hello")!.state).toBe("Completed");
    expect(tasks.get("slow")!.state).toBe("Cancelled");
    expect(tasks.get("after")!.state).toBe("Cancelled");
  });

  it("refuses a second concurrent run on the same file at once, and the first completes", async () => {
    const db = join(dir, "lock.duckdb");
    const file = await pipeline(
      "holder",
      `tasks:
  hello: {uses: log, with: {message: holding}}
  setup: {uses: sql, needs: [hello], with: {query: "CREATE TABLE t(n INTEGER)"}}
  wait:
    uses: sql
    needs: [setup]
    retries: 1
    retry_delay: 8s
    with: {query: "INSERT INTO t VALUES (1); SELECT CASE WHEN count(*) < 2 THEN error('again') END FROM t"}
`,
    );
    const first = spawn(process.execPath, [join(REPO, "bin/tickflow.js"), "run", file, "--db", db], {
      env: { ...process.env, NO_COLOR: "1" },
    });
    let firstErr = "";
    await new Promise<void>((resolve) => {
      first.stderr.on("data", (d: Buffer) => {
        firstErr += d;
        if (firstErr.includes("hello: holding")) resolve();
      });
    });
    const startedAt = Date.now();
    const second = await tickflow(["run", file, "--db", db]);
    const secondTook = Date.now() - startedAt;
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/is in use by another process \(PID \d+/);
    expect(second.stderr).not.toMatch(/\n\s+at /);
    const firstCode = await new Promise<number | null>((resolve) => first.on("close", resolve));
    expect(firstCode, firstErr).toBe(0);
    // "At once": it failed while the first still held the file (its retry waits 8 s).
    expect(secondTook).toBeLessThan(6000);
    const runs = await query<{ pipeline: string; state: string }>(db, "SELECT pipeline, state FROM runs");
    expect(runs).toEqual([{ pipeline: "holder", state: "Completed" }]);
  });

  it("passes outputs downstream and fans out for_each instances", async () => {
    const db = join(dir, "outputs.duckdb");
    const file = await pipeline(
      "fan",
      `parameters:
  symbols: {type: array, items: {type: string}, default: [AAPL, MSFT, NVDA]}
tasks:
  count:
    uses: sql
    for_each: \${{ params.symbols }}
    with: {query: "SELECT length('\${{ item }}') AS n"}
  each:
    uses: log
    for_each: \${{ params.symbols }}
    needs: [count]
    with: {message: "\${{ item }} has \${{ tasks.count.outputs.first.n }} letters"}
  total:
    uses: log
    needs: [each]
    with: {message: "all: \${{ join(tasks.count.outputs.rows, '+') }}"}
`,
    );
    const r = await runJson(file, db);
    expect(r.code, r.stderr).toBe(0);
    expect(r.record.tasks.map((t) => t.id)).toEqual([
      "count[AAPL]",
      "count[MSFT]",
      "count[NVDA]",
      "each[AAPL]",
      "each[MSFT]",
      "each[NVDA]",
      "total",
    ]);
    const logs = await query<{ task_id: string; message: string }>(
      db,
      `SELECT task_id, message FROM run_logs WHERE run_id = '${r.record.id}' ORDER BY task_id`,
    );
    expect(logs).toEqual([
      { task_id: "each[AAPL]", message: "AAPL has 4 letters" },
      { task_id: "each[MSFT]", message: "MSFT has 4 letters" },
      { task_id: "each[NVDA]", message: "NVDA has 4 letters" },
      { task_id: "total", message: "all: 1+1+1" },
    ]);
  });

  it("shows the history with runs ls, runs show and runs logs", async () => {
    const db = join(dir, "history.duckdb");
    const file = await pipeline("hist", "tasks:\n  hi: {uses: log, with: {message: hello history}}\n");
    const r = await runJson(file, db);
    const ls = await tickflow(["runs", "ls", "--db", db]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(
      new RegExp(`^ID +PIPELINE +DEPLOYMENT +STATE .*\\n${r.record.id} +hist +- +Completed `),
    );
    const show = await tickflow(["runs", "show", r.record.id.slice(0, 20), "--db", db]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/state +Completed/);
    expect(show.stdout).toMatch(/\nhi +log +Completed +1 /);
    const logs = await tickflow(["runs", "logs", r.record.id, "--db", db]);
    expect(logs.stdout).toMatch(/ info +hi: hello history\n$/);
    const missing = await tickflow(["runs", "show", "nope", "--db", db]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no run with id "nope"/);
  });

  it("keeps --json output pure: warnings about the file go to stderr", async () => {
    const file = await pipeline(
      "warned",
      'tasks:\n  hi: {uses: log, with: {message: "${{ env.DEMO_KEY }}"}}\n',
    );
    const r = await tickflow(["run", file, "--db", join(dir, "warned.duckdb"), "--json"], {
      env: { ...process.env, DEMO_KEY: "demo-secret-value" },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ state: "Completed" });
    expect(r.stderr).toMatch(/warning: secret env\.DEMO_KEY used outside a secret parameter/);
    expect(r.stdout + r.stderr).not.toContain("demo-secret-value");
  });

  it("keeps query read-only and reports SQL errors without a stack trace", async () => {
    const db = join(dir, "query.duckdb");
    const file = await pipeline(
      "q",
      'tasks:\n  make: {uses: sql, with: {query: "CREATE TABLE t AS SELECT 1 AS a"}}\n',
    );
    expect((await tickflow(["run", file, "--db", db])).code).toBe(0);
    const write = await tickflow(["query", "--db", db, "DROP TABLE t"]);
    expect(write.code).toBe(1);
    expect(write.stderr).toMatch(/^tickflow: only reads are allowed here .*, not DROP\n$/);
    const bad = await tickflow(["query", "--db", db, "SELEC 1"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^tickflow: query failed: Parser Error/);
    const csv = await tickflow(["query", "--db", db, "--format", "csv", "SELECT a, 'x,y' AS b FROM t"]);
    expect(csv.stdout).toBe('a,b\n1,"x,y"\n');
  });
});
