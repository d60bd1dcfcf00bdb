/**
 * `tickflow ui` as a process: the URL it prints, a clean stop on SIGINT (130) and SIGTERM (143),
 * and its refusals as one line with exit 2: no database, a database a daemon holds (naming the
 * daemon's console), a bad port, a public address without a token.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, tempDir, tickflow } from "./helpers/cli.js";
import { spawnDaemon } from "./helpers/daemon.js";

let dir: string;
let cleanup: () => Promise<void>;
let db: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  db = join(dir, "t.duckdb");
  writeFileSync(
    join(dir, "hello.yaml"),
    'kind: pipeline\nname: hello\ntasks:\n  q: {uses: sql, with: {query: "SELECT 1"}}\n',
  );
  const r = await tickflow(["run", "hello.yaml", "--db", db], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await cleanup();
});

/** `tickflow ui` with `args`; resolves with its URL once it prints it. */
async function startUi(args: string[], env: Record<string, string> = {}) {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [join(REPO, "bin/tickflow.js"), "ui", ...args],
    { cwd: dir, env: { ...process.env, NO_COLOR: "1", ...env } },
  );
  let out = "";
  let err = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /^console at (\S+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    exited.then(() => reject(new Error(`tickflow ui exited: ${err}`)));
  });
  return { child, url, exited, stderr: () => err };
}

describe("tickflow ui", () => {
  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)("prints its URL, serves read-only, and stops on %s with %i", async (signal, code) => {
    const ui = await startUi(["--port", "0", "--db", db]);
    expect(ui.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const health = await fetch(new URL("/api/health", ui.url));
    expect(await health.json()).toMatchObject({ status: "read-only", database: db });
    const refused = await fetch(new URL("/api/runs/x/retry", ui.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(refused.status).toBe(403);
    ui.child.kill(signal);
    expect(await ui.exited).toBe(code);
    expect(ui.stderr()).not.toMatch(/internal error|\n\s+at /);
  });

  it("two can read one database at once (read-only opens share it)", async () => {
    const a = await startUi(["--port", "0", "--db", db]);
    const b = await startUi(["--port", "0", "--db", db]);
    for (const ui of [a, b]) {
      expect((await fetch(new URL("/api/runs", ui.url))).status).toBe(200);
      ui.child.kill("SIGINT");
      expect(await ui.exited).toBe(130);
    }
  });

  it("a missing database: one line, exit 2, nothing created", async () => {
    const r = await tickflow(["ui", "--port", "0", "--db", join(dir, "none.duckdb")], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^tickflow: database .*none\.duckdb does not exist/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stdout).toBe("");
  });

  it("a database a daemon holds: says so with the daemon's console URL, exit 2", async () => {
    const project = join(dir, "held");
    mkdirSync(join(project, "deployment"), { recursive: true });
    writeFileSync(join(project, "deployment/tickflow.yaml"), "kind: deployments\ndeployments: []\n");
    const heldDb = join(project, "held.duckdb");
    const daemon = await spawnDaemon(project, heldDb);
    try {
      const r = await tickflow(["ui", "--port", "0", "--db", heldDb], {
        cwd: project,
        env: { TICKFLOW_API_PORT: String(daemon.port) },
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/is in use by another process/);
      expect(r.stderr).toContain(`a daemon holds it: its console is at http://127.0.0.1:${daemon.port}/`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      daemon.child.kill("SIGTERM");
      await daemon.exited;
    }
  });

  it.each([
    [["--port", "http"], /--port: not a port: http/],
    [["--port", "70000"], /--port: not a port: 70000/],
    [["--host", "0.0.0.0", "--port", "0"], /refusing to serve .* without TICKFLOW_API_TOKEN/],
  ])("%j: a usage error, exit 2", async (args, message) => {
    const r = await tickflow(["ui", ...args, "--db", db], { cwd: dir, env: { TICKFLOW_API_TOKEN: "" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it("--help says the default port", async () => {
    const r = await tickflow(["ui", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--port <port>\s+port \(default: 4200/);
  });
});
