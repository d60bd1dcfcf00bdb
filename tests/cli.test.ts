/**
 * The CLI's verbs in process (`tickflowHere`): `runs ls` and its filters, exit codes and their
 * messages for a missing file, an unknown run or deployment, a date out of range.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApi } from "../src/api/app.js";
import { serveApi } from "../src/api/serve.js";
import { LocalControlPlane } from "../src/control/local.js";
import { createRuns, openStore, transitionRuns } from "../src/store/index.js";
import { tempDir, tickflowHere } from "./helpers/cli.js";

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(async () => {
  await cleanup();
});

describe("runs ls", () => {
  let db: string;
  const now = Date.now();
  const at = (minutes: number) => new Date(now + minutes * 60_000);

  beforeAll(async () => {
    db = join(dir, "runs.duckdb");
    const store = await openStore(db);
    const run = (id: string, deployment: string, scheduled: number, state: "Scheduled" | "Running") => ({
      id,
      pipeline: "daily",
      deployment,
      state,
      parameters: {},
      logical_date: "2026-03-02",
      scheduled_at: at(scheduled),
      pipeline_file: "pipelines/daily.yaml",
      ...(state === "Running" ? { started_at: at(scheduled + 3) } : {}),
    });
    await createRuns(
      store.db,
      [
        run("ran-3m-late", "yahoo", -120, "Running"),
        run("waits", "polygon", -10, "Scheduled"),
        run("in-an-hour", "yahoo", 60, "Scheduled"),
        run("tomorrow", "polygon", 24 * 60, "Scheduled"),
      ],
      at(-24 * 60),
      "test",
    );
    await transitionRuns(
      store.db,
      { ids: ["ran-3m-late"] },
      { to: "Completed", at: at(-100), set: { ended_at: at(-100) } },
    );
    await transitionRuns(store.db, { ids: ["waits"] }, { to: "Late", at: at(-5) });
    await store.close();
  });

  const ids = async (...args: string[]) => {
    const r = await tickflowHere(["runs", "ls", "--db", db, "--json", ...args]);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { id: string }[]).map((run) => run.id);
  };

  it("shows what ran or is due, newest first, with deployment, scheduled time and lateness", async () => {
    const r = await tickflowHere(["runs", "ls", "--db", db]);
    expect(r.code, r.stderr).toBe(0);
    const [header, ...rows] = r.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^ID +PIPELINE +DEPLOYMENT +STATE +DATE +SCHEDULED +STARTED +LATE +TOOK$/);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(
      /^waits +daily +polygon +Late +2026-03-02 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ +10m\d+s$/,
    );
    expect(rows[1]).toMatch(
      /^ran-3m-late +daily +yahoo +Completed +2026-03-02 +\S+ \S+ +\S+ \S+ +3m0s +17m0s$/,
    );
    const json = JSON.parse((await tickflowHere(["runs", "ls", "--db", db, "--json"])).stdout);
    expect(json[1]).toMatchObject({
      id: "ran-3m-late",
      deployment: "yahoo",
      scheduled_at: at(-120).toISOString(),
      late_ms: 180_000,
    });
  });

  it("--upcoming: the scheduled runs to come, soonest first; --state, --deployment, --since", async () => {
    expect(await ids("--upcoming")).toEqual(["in-an-hour", "tomorrow"]);
    expect(await ids("--upcoming", "--deployment", "polygon")).toEqual(["tomorrow"]);
    expect(await ids("--state", "completed")).toEqual(["ran-3m-late"]);
    expect(await ids("--since", "1h")).toEqual(["waits"]);
    expect(await ids("--since", at(-200).toISOString())).toEqual(["waits", "ran-3m-late"]);
    expect(await ids("--since", "2999-01-01")).toEqual([]);
    for (const [args, message] of [
      [["--state", "done"], /^tickflow: --state expects one of Scheduled, Late, .*, got "done"\n$/],
      [["--since", "yesterday"], /^tickflow: --since expects a duration \(2h, 7d\), a date .*"yesterday"\n$/],
    ] as const) {
      const r = await tickflowHere(["runs", "ls", "--db", db, ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe("exit codes", () => {
  it("a missing file is a usage error (exit 2) for every verb that reads one", async () => {
    const db = join(dir, "exit.duckdb");
    for (const args of [
      ["validate", "nope.yaml"],
      ["plan", "nope.yaml"],
      ["run", "nope.yaml", "--db", db],
      ["deploy", "nope.yaml", "--db", db],
      ["schedule", "explain", "daily", "--file", "nope.yaml"],
      ["daemon", "--config", "nope.yaml", "--db", db, "--port", "0"],
    ]) {
      const r = await tickflowHere(args, { cwd: dir });
      // The daemon says it in its log's form (a JSON line for the journal).
      const said =
        args[0] === "daemon"
          ? /^\{"ts":"[^"]+","level":"error","msg":"cannot start: no such file: nope\.yaml"\}\n$/
          : /^tickflow: no such file( or folder)?: nope\.yaml\n$/;
      expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
        args,
        code: 2,
        stdout: "",
        stderr: expect.stringMatching(said),
      });
    }
    // The deployments file of the settings, when none is named.
    const r = await tickflowHere(["schedule", "explain", "daily"], {
      cwd: dir,
      env: { TICKFLOW_CONFIG: "missing.yaml" },
    });
    expect([r.code, r.stderr]).toEqual([2, "tickflow: no such file: missing.yaml\n"]);
  });

  it("an unknown run id or deployment is a failure (exit 1) that names it", async () => {
    const db = join(dir, "unknown.duckdb");
    (await openStore(db)).close();
    for (const verb of ["show", "logs", "cancel", "retry"]) {
      const r = await tickflowHere(["runs", verb, "nope", "--db", db]);
      expect({ verb, code: r.code, stderr: r.stderr }).toEqual({
        verb,
        code: 1,
        stderr: 'tickflow: no run with id "nope"\n',
      });
    }
    for (const args of [
      ["deployment", "run", "nope"],
      ["deployment", "pause", "nope"],
      ["deployment", "resume", "nope"],
      ["backfill", "nope", "--from", "2026-03-02", "--to", "2026-03-03"],
    ]) {
      const r = await tickflowHere([...args, "--db", db]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({
        args,
        code: 1,
        stderr: 'tickflow: no deployment named "nope" (run tickflow deploy first)\n',
      });
    }
    const explain = await tickflowHere(["schedule", "explain", "nope"]);
    expect(explain.code).toBe(1);
    expect(explain.stderr).toMatch(
      /^tickflow: no deployment "nope" in deployment\/tickflow\.yaml; deployments: /,
    );
  });

  it("a --date outside the calendar's years is a usage error", async () => {
    for (const args of [
      ["plan", "pipelines/demo.yaml", "--date", "1800-01-02"],
      ["run", "pipelines/demo.yaml", "--date", "2200-01-03", "--db", join(dir, "dates.duckdb")],
    ]) {
      const r = await tickflowHere(args);
      expect([r.code, r.stderr]).toEqual([
        2,
        `tickflow: --date: XNYS calendar: date "${args[3]}" is outside the supported range 1990-2100\n`,
      ]);
    }
  });
});

describe("run", () => {
  it("TICKFLOW_LOG_FORMAT=json: a JSON line per engine event on stderr; --json the record on stdout", async () => {
    const r = await tickflowHere(
      ["run", "pipelines/demo.yaml", "--json", "--db", join(dir, "json-log.duckdb")],
      { env: { TICKFLOW_LOG_FORMAT: "json" } },
    );
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as { id: string; state: string };
    expect(record.state).toBe("Completed");
    const lines = r.stderr
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { ts: string; run: string; event: string; state?: string; task?: string });
    expect(lines.every((l) => l.run === record.id && !Number.isNaN(Date.parse(l.ts)))).toBe(true);
    expect(lines.at(-1)).toMatchObject({ event: "run", state: "Completed" });
    expect(lines).toContainEqual(
      expect.objectContaining({ event: "task", task: "load", state: "Completed" }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ event: "log", task: "report" }));
  });
});

describe("the same output with or without the daemon", () => {
  it("deployments ls, runs ls and show, work-pools ls and query print the same JSON either way", async () => {
    const db = join(dir, "same.duckdb");
    expect((await tickflowHere(["deploy", "--db", db])).code).toBe(0);
    const queued = await tickflowHere(["deployment", "run", "yahoo-daily", "--json", "--db", db]);
    const { id } = JSON.parse(queued.stdout) as { id: string };
    const verbs = [
      ["deployments", "ls", "--json"],
      ["runs", "ls", "--json"],
      ["runs", "show", id, "--json"],
      ["work-pools", "ls", "--json"],
      [
        "query",
        "--json",
        "SELECT 1::BIGINT AS n, TIMESTAMPTZ '2026-03-02 15:00:00+00' AS t, now() > t AS after",
      ],
    ];
    // A waiting run's lateness grows between the two calls.
    const stable = (stdout: string) => stdout.replace(/"late_ms": \d+/g, '"late_ms": 0');
    const local = [];
    for (const args of verbs) {
      const r = await tickflowHere([...args, "--db", db]);
      expect(r.code, r.stderr).toBe(0);
      local.push(stable(r.stdout));
    }
    expect(JSON.parse(local[0]!)).toContainEqual(
      expect.objectContaining({ name: "yahoo-daily", next_run: expect.stringMatching(/Z$/) }),
    );

    const store = await openStore(db);
    const api = await serveApi(
      createApi({
        control: new LocalControlPlane(store),
        token: undefined,
        health: async () => ({ status: "ok", database: store.path }),
        metrics: async () => "",
        onError: () => {},
      }),
      { host: "127.0.0.1", port: 0, token: undefined },
    );
    try {
      for (const [i, args] of verbs.entries()) {
        const r = await tickflowHere(args, { env: { TICKFLOW_API_URL: `http://127.0.0.1:${api.port}` } });
        expect(r.code, r.stderr).toBe(0);
        expect({ args, stdout: stable(r.stdout) }).toEqual({ args, stdout: local[i] });
      }
    } finally {
      await api.close();
      await store.close();
    }
  });
});
