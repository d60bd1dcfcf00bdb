// End to end: the single executable `build/tickflow` copied ALONE into an empty temporary folder,
// run with an empty HOME, XDG_CACHE_HOME unset and no Node on the PATH.
import { spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSmtpSink } from "../../src/notify/testing.js";
import {
  adminStatement,
  noThrowawayServerReason,
  startThrowawayPostgres,
} from "../../src/store/pg/throwaway-server.js";

const REPO = resolve(import.meta.dirname, "../..");
const BUILT = join(REPO, "build", "tickflow");
const VERSION = (JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { version: string })
  .version;

let root: string; // the temp folder: bin/tickflow, home/, an empty path/, work folders
let home: string;
let binary: string;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Result> {
  return new Promise((done, fail) => {
    const child = spawn(binary, args, {
      cwd: options.cwd ?? root,
      // Nothing from ours: no XDG_CACHE_HOME, no NODE_*, a PATH with nothing on it (so no node).
      env: { HOME: home, PATH: join(root, "path"), NO_COLOR: "1", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

const cacheRoot = () => join(home, ".cache", "tickflow");

const HELLO = `kind: pipeline
name: hello
tasks:
  count: {uses: sql, with: {query: "SELECT 42 AS answer"}}
  say: {uses: log, needs: [count], with: {message: "answer \${{ tasks.count.outputs.first.answer }}"}}
`;

beforeAll(async () => {
  await stat(BUILT).catch(() => {
    throw new Error(`${BUILT} is missing: run npm run build first`);
  });
  root = await mkdtemp(join(tmpdir(), "tickflow-e2e-"));
  home = join(root, "home");
  await mkdir(home);
  await mkdir(join(root, "path"));
  await mkdir(join(root, "bin"));
  binary = join(root, "bin", "tickflow");
  await copyFile(BUILT, binary);
  await stat(binary).then((s) => expect(s.mode & 0o111).not.toBe(0));
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe("build/tickflow copied alone", () => {
  it("--version prints the version without touching DuckDB (no cache folder)", async () => {
    const r = await run(["--version"]);
    expect(r).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: "" });
    await expect(stat(cacheRoot())).rejects.toThrow();
  });

  it("ignores NODE_OPTIONS (a preload that does not exist, an unknown flag)", async () => {
    const r = await run(["--version"], {
      env: { NODE_OPTIONS: "--require=/nonexistent/preload.js --no-such-flag" },
    });
    expect(r).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: "" });
  });

  it("validate, plan and steps do not load DuckDB either", async () => {
    const work = join(root, "lazy");
    await mkdir(work);
    await writeFile(join(work, "hello.yaml"), HELLO);
    for (const args of [["validate", "hello.yaml"], ["plan", "hello.yaml"], ["steps"]]) {
      const r = await run(args, { cwd: work });
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
    }
    await expect(stat(cacheRoot())).rejects.toThrow();
  });

  it("two copies started at once on a cold cache both work, sharing one extracted native pair", async () => {
    const work = join(root, "concurrent");
    await mkdir(work);
    await writeFile(join(work, "hello.yaml"), HELLO);
    const [a, b] = await Promise.all([
      run(["run", "hello.yaml", "--json", "--db", "a.duckdb"], { cwd: work }),
      run(["run", "hello.yaml", "--json", "--db", "b.duckdb"], { cwd: work }),
    ]);
    for (const r of [a, b]) {
      expect(r.stderr).not.toMatch(/error/i);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ pipeline: "hello", state: "Completed" });
    }
    const versions = await readdir(cacheRoot());
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatch(new RegExp(`^${VERSION.replaceAll(".", "\\.")}-[0-9a-f]{16}$`));
    const folder = join(cacheRoot(), versions[0]!);
    expect((await readdir(folder)).sort()).toEqual(["duckdb.node", "libduckdb.so"]); // no temp files left
    for (const dir of [cacheRoot(), folder]) {
      const s = await stat(dir);
      expect(s.mode & 0o777).toBe(0o700);
      expect(s.uid).toBe(process.getuid?.());
    }
  });

  it("removes the native pairs of other versions from the cache", async () => {
    const old = join(cacheRoot(), "0.0.1-0123456789abcdef");
    await mkdir(old);
    await writeFile(join(old, "libduckdb.so"), "old");
    const r = await run(["query", "SELECT 1 AS one", "--db", join(root, "concurrent", "a.duckdb"), "--json"]);
    expect(r.code).toBe(0);
    await expect(stat(old)).rejects.toThrow();
    expect(await readdir(cacheRoot())).toHaveLength(1);
  });
});

describe("a project made by the binary's init", () => {
  let project: string;

  beforeAll(async () => {
    project = join(root, "project");
  });

  it("init writes the starter project from the binary's assets", async () => {
    const r = await run(["init", project]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    for (const file of [
      "pipelines/demo.yaml",
      "pipelines/data/demo-synthetic-bars.csv.gz",
      "deployment/tickflow.yaml",
      "deployment/work-pools/default.yaml",
      "schemas/pipeline.schema.json",
    ]) {
      expect(await readFile(join(project, file))).toEqual(await readFile(join(REPO, file)));
    }
    // The console is in the binary, but not a project file.
    for (const name of ["dist", "console", "index.html", "assets"]) {
      await expect(stat(join(project, name))).rejects.toThrow();
    }
    const again = await run(["init", project]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/nothing written \(use --force/);
  });

  it("validate accepts the project", async () => {
    const r = await run(["validate", "pipelines", "deployment"], { cwd: project });
    expect(r.stderr).toMatch(/files checked: 0 errors, 0 warnings/);
    expect(r.code).toBe(0);
  });

  it("plan shows the demo's task graph", async () => {
    const r = await run(["plan", "pipelines/demo.yaml", "--json", "--date", "2025-06-02"], { cwd: project });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const ids = (JSON.parse(r.stdout) as { tasks: { id: string }[] }).tasks.map((t) => t.id);
    expect(ids).toEqual(expect.arrayContaining(["load", "validate", "indicators", "summary", "report"]));
  });

  it("runs the offline demo into ./tickflow.duckdb, then runs ls and query read the history", async () => {
    const r = await run(["run", "pipelines/demo.yaml", "--json"], { cwd: project });
    const record = JSON.parse(r.stdout) as {
      id: string;
      pipeline: string;
      state: string;
      tasks: { id: string; state: string; outputs?: Record<string, unknown> }[];
    };
    expect(record.pipeline).toBe("demo");
    expect(r.stderr).toMatch(/demo: 10056 bars of 4 symbols/);
    expect(record.state).toBe("Completed");
    expect(record.tasks.map((t) => [t.id, t.state])).toEqual(
      ["load", "validate", "indicators", "summary", "report"].map((id) => [id, "Completed"]),
    );
    expect(r.code).toBe(0);
    await stat(join(project, "tickflow.duckdb"));

    const ls = await run(["runs", "ls", "--json"], { cwd: project });
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain(record.id);

    const q = await run(
      ["query", "SELECT count(*)::INTEGER AS n FROM bars_daily WHERE source = 'demo-synthetic'", "--json"],
      {
        cwd: project,
      },
    );
    expect(q.stderr).toBe("");
    expect(q.code).toBe(0);
    expect(JSON.parse(q.stdout)).toEqual([{ n: 10056 }]);
  });

  it.skipIf(noThrowawayServerReason() !== undefined)(
    "on PostgreSQL too: the demo runs and query reads it (pg and pg-copy-streams compiled from their assets)",
    async () => {
      const server = await startThrowawayPostgres();
      try {
        await adminStatement(server.base, "CREATE DATABASE e2e");
        const env = { TICKFLOW_DB: `${server.base}/e2e` };
        const r = await run(["run", "pipelines/demo.yaml"], { cwd: project, env });
        expect(r.stderr).toMatch(/demo: 10056 bars of 4 symbols .* 99704 indicator values/);
        expect(r.code).toBe(0);
        const q = await run(["query", "SELECT count(*)::integer AS n FROM indicators", "--json"], {
          cwd: project,
          env,
        });
        expect([q.code, q.stderr, JSON.parse(q.stdout)]).toEqual([0, "", [{ n: 99704 }]]);
      } finally {
        server.stop();
      }
    },
  );

  it("tickflow ui serves the console packed in the binary and the API's reads, and stops on SIGINT with 130", async () => {
    const child = spawn(binary, ["ui", "--port", "0", "--db", "tickflow.duckdb"], {
      cwd: project,
      env: { HOME: home, PATH: join(root, "path"), NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const exited = new Promise<number | null>((done) => child.on("close", (code) => done(code)));
    try {
      const url = await new Promise<string>((done, fail) => {
        child.stdout.setEncoding("utf8").on("data", (d: string) => {
          out += d;
          const m = /^console at (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out);
          if (m) done(m[1]!);
        });
        exited.then(() => fail(new Error(`tickflow ui exited: ${err}`)));
      });
      const shell = await fetch(url);
      expect(shell.status).toBe(200);
      expect(shell.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(shell.headers.get("content-security-policy")).toMatch(/^default-src 'self'/);
      const html = await shell.text();
      const script = /<script[^>]+src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script, html).toBeDefined();
      const js = await fetch(new URL(script!, url));
      expect(js.status).toBe(200);
      expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
      expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect((await js.arrayBuffer()).byteLength).toBeGreaterThan(0);
      expect((await fetch(new URL("/runs/abc?state=Failed", url))).status).toBe(200);
      const health = await fetch(new URL("/api/health", url));
      expect(await health.json()).toMatchObject({ status: "read-only", version: VERSION });
      const runs = (await (await fetch(new URL("/api/runs", url))).json()) as unknown[];
      expect(runs.length).toBeGreaterThan(0);
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(130);
    expect(err).not.toMatch(/internal error|at .*\.js:\d+/);
  });

  it("the daemon serves its API, runs a deployment on demand and stops on SIGTERM with exit 0", async () => {
    const child = spawn(binary, ["daemon", "--port", "0", "--db", "daemon.duckdb"], {
      cwd: project,
      env: { HOME: home, PATH: join(root, "path"), NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    const exited = new Promise<number | null>((done) => child.on("close", (code) => done(code)));
    try {
      const port = await new Promise<number>((done, fail) => {
        child.stderr.setEncoding("utf8").on("data", (d: string) => {
          err += d;
          const m = /listening on http:\/\/[^:]+:(\d+)/.exec(err);
          if (m) done(Number(m[1]));
        });
        exited.then(() => fail(new Error(`daemon exited: ${err}`)));
      });
      const api = async (method: string, path: string) => {
        const json = method === "GET" ? {} : { headers: { "content-type": "application/json" }, body: "{}" };
        const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, ...json });
        return { status: res.status, json: (await res.json()) as Record<string, unknown> };
      };
      expect((await api("GET", "/api/health")).status).toBe(200);
      const shell = await fetch(`http://127.0.0.1:${port}/deployments/demo-hourly`);
      expect(shell.status).toBe(200);
      expect(shell.headers.get("content-security-policy")).toMatch(/^default-src 'self'/);
      expect(await shell.text()).toMatch(/<script[^>]+src="\/assets\//);
      const started = await api("POST", "/api/deployments/demo-hourly/runs");
      expect(started.status, JSON.stringify(started.json)).toBeLessThan(300);
      const id = String(started.json.id);
      let state = "";
      for (const end = Date.now() + 60_000; Date.now() < end; ) {
        state = String((await api("GET", `/api/runs/${id}`)).json.state);
        if (["Completed", "Failed", "Crashed", "Cancelled"].includes(state)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(state).toBe("Completed");
      // prom-client, bundled: the run counted, the process's own metrics there.
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(
        /^tickflow_runs_finished_total\{deployment="demo-hourly",state="Completed"\} 1$/m,
      );
      expect(metrics).toMatch(/^process_resident_memory_bytes \d+$/m);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });

  it("sends an email (nodemailer, a lazily compiled asset of the binary) with notify test", async () => {
    const smtp = await startSmtpSink();
    try {
      const dir = join(root, "mail");
      await mkdir(dir);
      await writeFile(
        join(dir, "tickflow.yaml"),
        `kind: deployments
deployments: []
channels:
  ops-mail: {type: email, to: [ops@example.com], from: tickflow@example.com,
             smtp: {host: 127.0.0.1, port: ${smtp.port}, tls: none}}
`,
      );
      const sent = await run(["notify", "test", "ops-mail", "--file", "tickflow.yaml"], { cwd: dir });
      expect([sent.code, sent.stderr, sent.stdout]).toEqual([
        0,
        "",
        "sent a test message to ops-mail (email)\n",
      ]);
      expect(smtp.mails).toHaveLength(1);
      expect(smtp.mails[0]!.data).toContain("Test message from tickflow");
    } finally {
      await smtp.close();
    }
  });
});
