/**
 * The real daemon as a child process: systemd notify through a fake NOTIFY_SOCKET (a unix datagram
 * socket held by a small python3 receiver, as Node has none), runs through the API, SIGTERM with a
 * run in flight, kill -9 and restart, and the API's token rules.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { positionOf, REPO, tempDir, tickflow } from "./helpers/cli.js";
import { api, type Daemon, spawnDaemon, waitFor } from "./helpers/daemon.js";
import { type ManySymbols, SESSIONS, startManySymbols } from "./servers/many-symbols.js";

let dir: string;
let cleanup: () => Promise<void>;

const SLOW = `kind: pipeline
name: slow
tasks:
  setup: {uses: sql, with: {query: "CREATE TABLE IF NOT EXISTS t(n INTEGER)"}}
  wait:
    uses: sql
    needs: [setup]
    retries: 1
    retry_delay: 3s
    with: {query: "INSERT INTO t VALUES (1); SELECT CASE WHEN count(*) % 2 = 1 THEN error('again') END FROM t"}
`;

const CHATTY = `kind: pipeline
name: chatty
parameters:
  rows: {type: integer, default: 1000000000, minimum: 1}
tasks:
  first: {uses: log, with: {message: first line}}
  busy: {uses: sql, needs: [first], with: {query: "SELECT sum(i) FROM range(\${{ params.rows }}) t(i)"}}
  last: {uses: log, needs: [busy], with: {message: last line}}
`;

/** A line at each level, one quoting a secret. */
const LEVELS = `kind: pipeline
name: levels
tasks:
  quiet: {uses: log, with: {message: a debug line, level: debug}}
  chat: {uses: log, with: {message: an info line}}
  note: {uses: log, with: {message: "quota low for \${{ env.LEVELS_API_KEY }}", level: warn}}
  bad: {uses: log, with: {message: an error line, level: error}}
`;
const LEVELS_KEY = "levels-secret-value-9876";

let many: ManySymbols;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  many = await startManySymbols();
  mkdirSync(join(dir, "pipelines"));
  writeFileSync(join(dir, "pipelines/chatty.yaml"), CHATTY);
  writeFileSync(join(dir, "pipelines/ingest.yaml"), many.pipeline("ingest"));
  mkdirSync(join(dir, "deployment/work-pools"), { recursive: true });
  writeFileSync(join(dir, "pipelines/slow.yaml"), SLOW);
  writeFileSync(join(dir, "pipelines/levels.yaml"), LEVELS);
  // Its own file: the secret's warning stays out of the other tests' logs.
  writeFileSync(
    join(dir, "deployment/journal.yaml"),
    "kind: deployments\ndeployments:\n  - name: levels\n    pipeline: ../pipelines/levels.yaml\n",
  );
  writeFileSync(
    join(dir, "deployment/work-pools/default.yaml"),
    "kind: work_pool\nname: default\nconcurrency_limit: 2\n",
  );
  writeFileSync(
    join(dir, "deployment/tickflow.yaml"),
    `kind: deployments
work_pools: [work-pools/*.yaml]
deployments:
  - name: slow
    pipeline: ../pipelines/slow.yaml
    work_pool: {name: default}
    concurrency_limit: {limit: 1}
  - name: chatty
    pipeline: ../pipelines/chatty.yaml
    work_pool: {name: default}
  - name: ingest
    pipeline: ../pipelines/ingest.yaml
    work_pool: {name: default}
`,
  );
});
afterAll(async () => {
  await many.server.close();
  await cleanup();
});

const startDaemon = (db: string, env: Record<string, string> = {}, args: string[] = []) =>
  spawnDaemon(dir, db, env, args);

/** A systemd notify socket (a unix datagram socket: Node has none, so a small python3 receiver). */
async function notifyReceiver(socket: string) {
  const receiver = spawn("python3", [
    "-c",
    "import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint('bound',flush=True)\nwhile True:\n  print(s.recv(4096).decode().replace(chr(10),'|'),flush=True)",
    socket,
  ]);
  let heard = "";
  await new Promise<void>((resolve) =>
    receiver.stdout.on("data", (d: Buffer) => {
      heard += d;
      if (heard.includes("bound")) resolve();
    }),
  );
  return { receiver, heard: () => heard };
}

/** The daemon's JSON log lines (a `<N>` priority prefix, if any, removed). */
function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l.replace(/^<\d>/, "")) as Record<string, unknown>);
}

/** Waits for the line saying the run ended, and returns it. */
const runEnded = (stderr: () => string, id: string) =>
  waitFor("the run's end", async () =>
    jsonLines(stderr()).find((l) => l.run_id === id && /^run \S+ (Completed|Failed)/.test(String(l.msg))),
  );

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const runState = async (d: Daemon, id: string) =>
  (await api(d, "GET", `/api/runs/${id}`)).json.state as string;

describe("tickflow daemon", () => {
  it("tells systemd READY, WATCHDOG, STATUS and STOPPING, drains a run in flight on SIGTERM and exits 0", async () => {
    const socket = join(dir, "notify.sock");
    const { receiver, heard } = await notifyReceiver(socket);
    const db = join(dir, "term.duckdb");
    const daemon = await startDaemon(db, { NOTIFY_SOCKET: socket, WATCHDOG_USEC: "400000" });
    try {
      await waitFor("READY=1", async () => (heard().includes("READY=1") ? true : undefined));
      // WATCHDOG_USEC 0.4 s: pings every 0.2 s.
      await waitFor("WATCHDOG=1", async () => (heard().includes("WATCHDOG=1") ? true : undefined), 3000);
      const made = await api(daemon, "POST", "/api/deployments/slow/runs");
      expect(made.status).toBe(201);
      const id = String(made.json.id);
      await waitFor("the run to start", async () =>
        (await runState(daemon, id)) === "Running" ? true : undefined,
      );
      // STATUS= follows the runs (read at most once a second).
      await waitFor("STATUS with the run", async () =>
        heard().includes("; 1 run running;") ? true : undefined,
      );
      const stoppedAt = Date.now();
      daemon.child.kill("SIGTERM");
      expect(await daemon.exited).toBe(0);
      expect(Date.now() - stoppedAt).toBeLessThan(30_000);
      await waitFor("STOPPING=1", async () => (heard().includes("STOPPING=1") ? true : undefined), 2000);
      // The run was let finish within the grace period; nothing is left Running.
      const q = await tickflow(["query", "--db", db, "--json", "SELECT state FROM runs"]);
      expect(JSON.parse(q.stdout)).toEqual([{ state: "Completed" }]);
      expect(daemon.stderr()).toContain('"msg":"stopped"');
    } finally {
      receiver.kill();
      daemon.child.kill("SIGKILL");
    }
  });

  it("after kill -9 mid-run, a restart marks the run Crashed, frees its slot and runs the next", async () => {
    const db = join(dir, "crash.duckdb");
    const first = await startDaemon(db);
    const made = await api(first, "POST", "/api/deployments/slow/runs");
    const id = String(made.json.id);
    await waitFor("the run to start", async () =>
      (await runState(first, id)) === "Running" ? true : undefined,
    );
    first.child.kill("SIGKILL");
    await first.exited;

    const second = await startDaemon(db);
    try {
      expect(await runState(second, id)).toBe("Crashed");
      // The deployment's limit is 1: the next run can only start if the crashed one freed it.
      const next = String((await api(second, "POST", "/api/deployments/slow/runs")).json.id);
      await waitFor("the next run to complete", async () =>
        (await runState(second, next)) === "Completed" ? true : undefined,
      );
      // The CLI reads the history through the API while the daemon holds the file.
      const ls = await tickflow(["runs", "ls", "--db", db, "--json"], {
        cwd: dir,
        env: { ...process.env, TICKFLOW_API_URL: `http://127.0.0.1:${second.port}` },
      });
      expect(ls.code, ls.stderr).toBe(0);
      expect((JSON.parse(ls.stdout) as { id: string; state: string }[]).map((r) => [r.id, r.state])).toEqual(
        expect.arrayContaining([
          [id, "Crashed"],
          [next, "Completed"],
        ]),
      );
      const show = await tickflow(["runs", "show", next, "--db", db], {
        cwd: dir,
        env: { ...process.env, TICKFLOW_API_URL: `http://127.0.0.1:${second.port}` },
      });
      expect(show.stdout).toMatch(/wait +sql +Completed/);
      const health = await api(second, "GET", "/api/health");
      expect(health.json.status).toBe("ok");
      const metrics = await fetch(`http://127.0.0.1:${second.port}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(/^tickflow_runs_finished_total\{deployment="slow",state="Crashed"\} 1$/m);
    } finally {
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    }
    // The database opens after all that.
    const q = await tickflow(["query", "--db", db, "--json", "SELECT count(*)::INT AS n FROM runs"]);
    expect(JSON.parse(q.stdout)).toEqual([{ n: 2 }]);
  });

  it("cancels a run still going when the grace period ends, and exits 0", async () => {
    const db = join(dir, "grace.duckdb");
    const daemon = await startDaemon(db, { TICKFLOW_SHUTDOWN_GRACE: "500ms" });
    const id = String((await api(daemon, "POST", "/api/deployments/slow/runs")).json.id);
    await waitFor("the run to start", async () =>
      (await runState(daemon, id)) === "Running" ? true : undefined,
    );
    daemon.child.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
    const q = await tickflow([
      "query",
      "--db",
      db,
      "--json",
      "SELECT state FROM runs UNION ALL SELECT state FROM task_runs WHERE state = 'Running'",
    ]);
    expect(JSON.parse(q.stdout)).toEqual([{ state: "Cancelled" }]);
    expect(daemon.stderr()).toMatch(/grace period over: cancelling 1 run/);
  });

  it("grace over mid-ingestion: cancels the run, writes nothing partial and exits 0 within grace + 2 s", async () => {
    const db = join(dir, "grace-ingest.duckdb");
    const daemon = await startDaemon(db, {
      TICKFLOW_SHUTDOWN_GRACE: "1s",
      POLYGON_API_KEY: "k-daemon-test-12345",
    });
    const served = many.server.requests.length;
    const id = String((await api(daemon, "POST", "/api/deployments/ingest/runs")).json.id);
    await waitFor("20 symbols served", async () =>
      many.server.requests.length - served >= 20 ? true : undefined,
    );
    const sentAt = Date.now();
    daemon.child.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
    expect(Date.now() - sentAt).toBeLessThan(3000);
    expect(daemon.stderr()).toMatch(/grace period over: cancelling 1 run/);
    const q = await tickflow(["query", "--db", db, "--json", "SELECT id, state FROM runs"]);
    expect(JSON.parse(q.stdout)).toEqual([{ id, state: "Cancelled" }]);
    const partial = await tickflow([
      "query",
      "--db",
      db,
      "--json",
      `SELECT symbol FROM bars_daily GROUP BY symbol HAVING count(*) <> ${SESSIONS.length}`,
    ]);
    expect(JSON.parse(partial.stdout)).toEqual([]);
  });

  it("keeps running when its log pipe closes (a journald restart)", async () => {
    const daemon = await startDaemon(join(dir, "pipe.duckdb"));
    let exited = false;
    daemon.exited.then(() => (exited = true));
    daemon.child.stderr.destroy();
    // Each run logs a few lines into the closed pipe.
    for (let i = 0; i < 3; i++) {
      expect((await api(daemon, "POST", "/api/deployments/chatty/runs", {})).status).toBe(201);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect((await api(daemon, "GET", "/api/health")).status).toBe(200);
    expect(exited).toBe(false);
    daemon.child.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  });

  it("on a full disk: health 503, the watchdog unfed, writes 503, reads served; a clean exit 1; a restart recovers", async () => {
    const mnt = join(dir, "small-disk");
    mkdirSync(mnt, { recursive: true });
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt]).status === 0;
    if (!mounted) return; // needs root (CI runs as root); nothing to test without a small disk
    const db = join(mnt, "t.duckdb");
    const socket = join(dir, "full.sock");
    const { receiver, heard } = await notifyReceiver(socket);
    const daemon = await startDaemon(db, { NOTIFY_SOCKET: socket, WATCHDOG_USEC: "400000" });
    const filler = join(mnt, "filler");
    // To the last byte: blocks of 64 KiB, then smaller ones as each no longer fits.
    const fill = () => {
      const fd = openSync(filler, "a");
      try {
        for (let size = 64 * 1024; size >= 1; size = Math.floor(size / 2)) {
          const block = Buffer.alloc(size);
          try {
            for (;;) writeSync(fd, block);
          } catch {
            // ENOSPC at this size: try a smaller one
          }
        }
      } finally {
        closeSync(fd);
      }
    };
    const pings = () => heard().split("WATCHDOG=1").length;
    try {
      await waitFor("READY=1", async () => (heard().includes("READY=1") ? true : undefined));
      fill();
      // A few small writes may still fit in the last page of the WAL file.
      let refused = await api(daemon, "POST", "/api/deployments/chatty/runs");
      for (let i = 0; i < 100 && refused.status === 201; i++) {
        refused = await api(daemon, "POST", "/api/deployments/chatty/runs");
      }
      expect(refused.status).toBe(503);
      expect(String(refused.json.error)).toMatch(
        /^database unusable: cannot write database .*: no space left on device$/,
      );
      const health = await api(daemon, "GET", "/api/health");
      expect(health.status).toBe(503);
      expect(health.json).toMatchObject({
        status: "database unusable",
        error: expect.stringMatching(/no space left/),
      });
      const before = pings();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(pings(), "no WATCHDOG=1 while the database is unusable").toBe(before);
      // Reads are still served; writes are refused without touching the database.
      expect((await api(daemon, "GET", "/api/runs")).status).toBe(200);
      expect((await api(daemon, "POST", "/api/deployments/chatty/pause")).status).toBe(503);
      daemon.child.kill("SIGTERM");
      expect(await daemon.exited).toBe(1);
      const log = daemon.stderr();
      expect(log.match(/"msg":"database unusable: /g)).toHaveLength(1);
      expect(log).toMatch(/"msg":"stopped; database unusable: /);
      expect(log).not.toMatch(/Unhandled|terminate called|\n\s+at /);
      // Room again: a restart opens the database and serves as before.
      rmSync(filler);
      const again = await startDaemon(db);
      try {
        expect((await api(again, "GET", "/api/health")).json.status).toBe("ok");
        expect((await api(again, "POST", "/api/deployments/chatty/pause")).status).toBe(200);
      } finally {
        again.child.kill("SIGTERM");
        expect(await again.exited).toBe(0);
      }
    } finally {
      receiver.kill();
      daemon.child.kill("SIGKILL");
      await daemon.exited;
      spawnSync("umount", ["-l", mnt]);
    }
  });

  it("on SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1; a failed reload logs each reason at its position", async () => {
    const file = join(dir, "deployment/tickflow.yaml");
    const before = readFileSync(file, "utf8");
    const socket = join(dir, "hup.sock");
    const { receiver, heard } = await notifyReceiver(socket);
    const daemon = await startDaemon(join(dir, "hup.duckdb"), { NOTIFY_SOCKET: socket });
    const readies = () =>
      heard()
        .split("\n")
        .filter((l) => l.startsWith("READY=1")).length;
    try {
      await waitFor("READY=1", async () => (readies() === 1 ? true : undefined));
      expect(heard()).toMatch(/READY=1\|STATUS=API on 127\.0\.0\.1:\d+; 0 runs running; no run scheduled/);
      writeFileSync(file, `${before}  - name: slow-again\n    pipeline: ../pipelines/slow.yaml\n`);
      const sentAt = process.hrtime.bigint() / 1000n;
      daemon.child.kill("SIGHUP");
      await waitFor("READY=1 after the reload", async () => (readies() === 2 ? true : undefined));
      const reloading = /RELOADING=1\|MONOTONIC_USEC=(\d+)\|/.exec(heard());
      expect(reloading, heard()).not.toBeNull();
      // CLOCK_MONOTONIC is the machine's: the daemon's reading falls between the signal and now.
      const usec = BigInt(reloading![1]!);
      expect(usec >= sentAt && usec <= process.hrtime.bigint() / 1000n).toBe(true);
      expect(heard().indexOf("RELOADING=1")).toBeLessThan(heard().lastIndexOf("READY=1"));
      expect(daemon.stderr()).toMatch(/reload: deployment slow-again added/);
      const names = (
        (await api(daemon, "GET", "/api/deployments")).json as unknown as { name: string }[]
      ).map((d) => d.name);
      expect(names).toContain("slow-again");

      // Two errors: each in the log line with its file, line and column; the registered ones kept.
      const broken = `${before}  - name: broken\n    pipeline: ../pipelines/none.yaml\n    shedules: []\n`;
      writeFileSync(file, broken);
      daemon.child.kill("SIGHUP");
      await waitFor("READY=1 after the failed reload", async () => (readies() === 3 ? true : undefined));
      const failed = jsonLines(daemon.stderr()).find((l) => String(l.msg).startsWith("reload failed"));
      const at = (needle: string) => {
        const { line, col } = positionOf(broken, needle);
        return `${file}:${line}:${col}: error: `;
      };
      expect(failed).toMatchObject({
        level: "error",
        msg: "reload failed, keeping the registered deployments: deployment/tickflow.yaml: 2 errors",
        diagnostics: [
          expect.stringContaining(at("../pipelines/none.yaml")),
          expect.stringContaining(at("shedules")),
        ],
      });
      expect((await api(daemon, "GET", "/api/deployments")).json).toContainEqual(
        expect.objectContaining({ name: "slow-again" }),
      );
    } finally {
      writeFileSync(file, before);
      receiver.kill();
      daemon.child.kill("SIGTERM");
      await daemon.exited;
    }
  });

  it("copies a run's warnings and errors to its log with run_id, deployment, task_id and step, secrets masked", async () => {
    const daemon = await startDaemon(join(dir, "fields.duckdb"), { LEVELS_API_KEY: LEVELS_KEY }, [
      "--config",
      "deployment/journal.yaml",
    ]);
    try {
      const id = String((await api(daemon, "POST", "/api/deployments/levels/runs")).json.id);
      await runEnded(daemon.stderr, id);
      const lines = jsonLines(daemon.stderr());
      const fields = { run_id: id, deployment: "levels", step: "log" };
      expect(lines).toContainEqual({
        ts: expect.any(String),
        level: "warn",
        msg: "note: quota low for ***",
        ...fields,
        task_id: "note",
      });
      expect(lines).toContainEqual(expect.objectContaining({ level: "error", task_id: "bad", ...fields }));
      expect(lines).toContainEqual(
        expect.objectContaining({
          msg: expect.stringMatching(/^run \S+ starting/),
          run_id: id,
          deployment: "levels",
        }),
      );
      // Below warn, the run's lines stay in run_logs only (unless TICKFLOW_LOG_LEVEL=debug).
      expect(daemon.stderr()).not.toMatch(/an info line|a debug line/);
      expect(daemon.stderr()).not.toContain(LEVELS_KEY);
    } finally {
      daemon.child.kill("SIGTERM");
      await daemon.exited;
    }
  });

  it("under journald (JOURNAL_STREAM naming its stderr) each line carries its syslog priority", async () => {
    const logFile = join(dir, "journal.log");
    const fd = openSync(logFile, "w");
    const { dev, ino } = fstatSync(fd, { bigint: true });
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [join(REPO, "bin/tickflow.js"), "daemon", "--db", join(dir, "journal.duckdb"), "--port", String(port)],
      {
        cwd: dir,
        stdio: ["ignore", "ignore", fd],
        env: {
          ...process.env,
          TICKFLOW_CONFIG: "deployment/journal.yaml",
          TICKFLOW_LOG_FORMAT: "json",
          TICKFLOW_LOG_LEVEL: "debug",
          JOURNAL_STREAM: `${dev}:${ino}`,
        },
      },
    );
    closeSync(fd);
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    const logged = () => readFileSync(logFile, "utf8");
    try {
      await waitFor("listening", async () => (logged().includes("listening on") ? true : undefined));
      const made = await fetch(`http://127.0.0.1:${port}/api/deployments/levels/runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      const id = String(((await made.json()) as { id: string }).id);
      await runEnded(logged, id);
      const prefixOf = (msg: string) =>
        logged()
          .split("\n")
          .find((l) => l.includes(`"msg":"${msg}`))
          ?.slice(0, 3);
      expect({
        debug: prefixOf("quiet: a debug line"),
        info: prefixOf("chat: an info line"),
        warn: prefixOf("note: quota low"),
        error: prefixOf("bad: an error line"),
        listening: prefixOf("listening on"),
      }).toEqual({ debug: "<7>", info: "<6>", warn: "<4>", error: "<3>", listening: "<6>" });
      expect(
        logged()
          .split("\n")
          .filter((l) => l && !/^<[3467]>\{/.test(l)),
      ).toEqual([]);
    } finally {
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  });

  it("refuses a non-loopback address without a token; with one, requests without it get 401", async () => {
    const refused = await tickflow(
      ["daemon", "--db", join(dir, "token.duckdb"), "--host", "0.0.0.0", "--port", "0"],
      {
        cwd: dir,
        env: { ...process.env, TICKFLOW_API_TOKEN: "" },
      },
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refusing to serve the API on 0\.0\.0\.0 without TICKFLOW_API_TOKEN/);

    const token = "a-long-enough-test-token-123";
    const daemon = await startDaemon(join(dir, "token.duckdb"), { TICKFLOW_API_TOKEN: token }, [
      "--host",
      "0.0.0.0",
    ]);
    try {
      expect((await api(daemon, "GET", "/api/runs")).status).toBe(401);
      expect((await api(daemon, "GET", "/api/runs", { authorization: "Bearer wrong" })).status).toBe(401);
      expect((await api(daemon, "GET", "/api/runs", { authorization: `Bearer ${token}` })).status).toBe(200);
      expect(daemon.stderr()).not.toContain(token);
      // The CLI with a wrong token is told so (not "database in use"), through the lock or the URL.
      for (const env of [
        { TICKFLOW_API_PORT: String(daemon.port) },
        { TICKFLOW_API_URL: `http://127.0.0.1:${daemon.port}` },
      ]) {
        const ls = await tickflow(
          ["deployments", "ls", ...(env.TICKFLOW_API_PORT ? ["--db", join(dir, "token.duckdb")] : [])],
          {
            cwd: dir,
            env: { ...process.env, ...env, TICKFLOW_API_TOKEN: "a-wrong-token-of-some-length" },
          },
        );
        expect({ env, code: ls.code, stderr: ls.stderr }).toEqual({
          env,
          code: 1,
          stderr: "tickflow: missing or wrong bearer token\n",
        });
      }
    } finally {
      daemon.child.kill("SIGTERM");
      await daemon.exited;
    }
  });

  it("serves every verb to a CLI in a folder with no database, on the daemon's port", async () => {
    const port = await freePort();
    const daemon = await startDaemon(join(dir, "everywhere.duckdb"), {}, ["--port", String(port)]);
    const { dir: elsewhere, cleanup: removeElsewhere } = await tempDir();
    // No TICKFLOW_DB, no TICKFLOW_API_URL: only the port the daemon was told (4200 unless set).
    const env = { ...process.env, TICKFLOW_DB: "", TICKFLOW_API_URL: "", TICKFLOW_API_PORT: String(port) };
    const cli = (args: string[]) => tickflow(args, { cwd: elsewhere, env });
    try {
      const bad = await cli(["deployment", "run", "chatty", "-p", "rows=none"]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^tickflow: parameters of deployment chatty: rows: /);
      const made = await cli(["deployment", "run", "chatty", "--json"]);
      expect(made.code, made.stderr).toBe(0);
      const id = (JSON.parse(made.stdout) as { id: string }).id;

      // Follow the run's log as it runs: lines come as they are written, and it stops at the end.
      const started = Date.now();
      const arrivals: { at: number; text: string }[] = [];
      const follow = spawn(
        process.execPath,
        [join(REPO, "bin/tickflow.js"), "runs", "logs", id, "--follow"],
        {
          cwd: elsewhere,
          env,
        },
      );
      follow.stdout.setEncoding("utf8").on("data", (text: string) => arrivals.push({ at: Date.now(), text }));
      let followErr = "";
      follow.stderr.setEncoding("utf8").on("data", (text: string) => (followErr += text));
      const followCode = await new Promise<number | null>((resolve) => follow.on("close", resolve));
      expect(followCode, followErr).toBe(0);
      expect(followErr).toBe(`run ${id} Completed\n`);
      const printed = arrivals.map((a) => a.text).join("");
      expect(printed).toMatch(/ info +first: first line\n.* info +last: last line\n$/s);
      const firstAt = arrivals.find((a) => a.text.includes("first line"))!.at;
      const lastAt = arrivals.find((a) => a.text.includes("last line"))!.at;
      expect(lastAt - firstAt, "the first line came while the run was still going").toBeGreaterThan(200);
      expect(lastAt - started).toBeLessThan(30_000);

      const ls = await cli(["runs", "ls", "--json"]);
      expect(ls.code, ls.stderr).toBe(0);
      expect(JSON.parse(ls.stdout)).toEqual([expect.objectContaining({ id, state: "Completed" })]);
      const show = await cli(["runs", "show", id.slice(0, 28)]);
      expect(show.stdout).toMatch(/history +Scheduled .* -> Pending .* -> Running .* -> Completed /);
      expect(show.stdout).toMatch(/\nbusy +sql +Completed +1 /);
      const query = await cli(["query", "SELECT count(*) AS n FROM bars_daily", "--json"]);
      expect(query.code, query.stderr).toBe(0);
      expect(JSON.parse(query.stdout)).toEqual([{ n: 0 }]);
      const deployments = await cli(["deployments", "ls"]);
      expect(deployments.stdout).toMatch(/\nchatty +chatty +default\/- +no /);
      const pools = await cli(["work-pools", "ls", "--json"]);
      expect(JSON.parse(pools.stdout)).toEqual([
        expect.objectContaining({ name: "default", concurrency_limit: 2, slots_in_use: 0 }),
      ]);
      const retry = await cli(["runs", "retry", id]);
      expect(retry.stdout).toMatch(new RegExp(`^run \\S+ scheduled, a retry of ${id}\n$`));
    } finally {
      daemon.child.kill("SIGTERM");
      await daemon.exited;
      await removeElsewhere();
    }
  });
});
