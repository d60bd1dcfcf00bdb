/**
 * `tickflow query`: rows printed as they are read (a million of them, in seconds, without holding
 * them), the formats, the row cap over the database and through the daemon's API.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApi } from "../src/api/app.js";
import { type ServedApi, serveApi } from "../src/api/serve.js";
import { LocalControlPlane } from "../src/control/local.js";
import { openStore, type Store } from "../src/store/index.js";
import { REPO, tempDir, tickflow, tickflowHere } from "./helpers/cli.js";

let dir: string;
let cleanup: () => Promise<void>;
let db: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  db = join(dir, "q.duckdb");
  (await openStore(db)).close();
});
afterAll(async () => {
  await cleanup();
});

describe("tickflow query over the database", () => {
  it("prints a table of 250,000 rows (--limit 0: every row), aligned to its first rows", async () => {
    const sql = "SELECT range AS n, 'x' || range AS label FROM range(250000)";
    const r = await tickflowHere(["query", "--db", db, "--limit", "0", sql]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(250_001);
    expect(lines.slice(0, 3)).toEqual(["n    label", "0    x0", "1    x1"]);
    // Widths come from the first 1000 rows: later, wider cells stick out rather than realign.
    expect(lines.slice(1000, 1002)).toEqual(["999  x999", "1000  x1000"]);
    expect(lines.at(-1)).toBe("249999  x249999");
  });

  it("prints every row by default, caps at --limit and says so; --limit is a whole number", async () => {
    const all = await tickflowHere(["query", "--db", db, "--format", "csv", "SELECT * FROM range(20000)"]);
    expect(all.code).toBe(0);
    expect(all.stdout.split("\n")).toHaveLength(20_002);
    expect(all.stderr).toBe("");
    const r = await tickflowHere([
      "query",
      "--db",
      db,
      "--format",
      "csv",
      "--limit",
      "500",
      "SELECT * FROM range(20000)",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toHaveLength(502);
    expect(r.stderr).toBe(
      "tickflow: only the first 500 rows are shown (--limit raises it; --limit 0 prints every row)\n",
    );
    for (const bad of ["-1", "1.5", "all", ""]) {
      const refused = await tickflowHere(["query", "--db", db, "--limit", bad, "SELECT 1"]);
      expect({ bad, code: refused.code, stderr: refused.stderr }).toEqual({
        bad,
        code: 2,
        stderr: `tickflow: --limit expects a whole number (0: every row), got "${bad}"\n`,
      });
    }
  });

  it("JSON: integers as numbers when they fit, timestamps ISO 8601, the same array as a whole", async () => {
    const sql = `SELECT 42::BIGINT AS big, 9007199254740993::BIGINT AS huge, 1.5::DECIMAL(4,2) AS dec,
      TIMESTAMPTZ '2026-03-02 15:00:00.123+00' AS ts, DATE '2026-03-02' AS d, NULL AS nothing,
      [1, 2] AS list, {'a': 1} AS struct FROM range(2)`;
    const r = await tickflowHere(["query", "--db", db, "--json", sql]);
    expect(r.code).toBe(0);
    const row = {
      big: 42,
      huge: "9007199254740993",
      dec: 1.5,
      ts: "2026-03-02T15:00:00.123Z",
      d: "2026-03-02",
      nothing: null,
      list: [1, 2],
      struct: { a: 1 },
    };
    expect(r.stdout).toBe(`${JSON.stringify([row, row], null, 2)}\n`);
    const none = await tickflowHere(["query", "--db", db, "--json", "SELECT 1 AS a WHERE false"]);
    expect(none.stdout).toBe("[]\n");
    const csv = await tickflowHere(["query", "--db", db, "--format", "csv", "SELECT 'a\"b' AS q, 1 AS n"]);
    expect(csv.stdout).toBe('q,n\n"a""b",1\n');
  });
});

describe("tickflow query through the daemon's API", () => {
  let store: Store;
  let api: ServedApi;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    store = await openStore(join(dir, "served.duckdb"));
    const app = createApi({
      control: new LocalControlPlane(store),
      token: undefined,
      health: async () => ({ status: "ok", database: store.path }),
      metrics: async () => "",
      onError: () => {},
    });
    api = await serveApi(app, { host: "127.0.0.1", port: 0, token: undefined });
    env = { TICKFLOW_API_URL: `http://127.0.0.1:${api.port}` };
  });
  afterAll(async () => {
    await api.close();
    await store.close();
  });

  it("keeps the API's cap: at most 100,000 rows, and --limit 0 is refused as a usage error", async () => {
    const r = await tickflowHere(["query", "--limit", "3", "SELECT * FROM range(5)"], { env });
    expect(r.stdout).toBe("range\n0\n1\n2\n");
    expect(r.stderr).toBe(
      "tickflow: only the first 3 rows are shown (--limit raises it; up to 100000 through the daemon)\n",
    );
    for (const limit of ["0", "100001"]) {
      const refused = await tickflowHere(["query", "--limit", limit, "SELECT 1"], { env });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toBe(
        `tickflow: --limit ${limit}: through the daemon's API (${env.TICKFLOW_API_URL}) at most 100000 rows; more need the database without a daemon holding it\n`,
      );
    }
  });
});

describe("tickflow query as a process", () => {
  it("prints 1,000,000 rows in seconds", async () => {
    const started = Date.now();
    const r = await tickflow(["query", "--db", db, "--limit", "1000000", "SELECT * FROM range(1000000)"]);
    const took = Date.now() - started;
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // "range\n", then 5,888,890 digits and a newline a row.
    expect(r.stdout.length).toBe(6 + 5_888_890 + 1_000_000);
    expect(r.stdout.endsWith("\n999999\n")).toBe(true);
    expect(took).toBeLessThan(10_000);
  });

  it("ends quietly with status 0 when the reader closes the pipe (| head -1), in every format", async () => {
    for (const format of ["table", "csv", "json"]) {
      // Every row: 10,000 could all fit in the pipe's buffer before it closes, and then the
      // rightful note that rows were left out would be on stderr.
      const child = spawn(
        process.execPath,
        [
          join(REPO, "bin/tickflow.js"),
          "query",
          "--db",
          db,
          "--format",
          format,
          "--limit",
          "0",
          "SELECT * FROM range(1000000)",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      // Like `head`: read the first chunk, then close the pipe.
      child.stdout.once("data", () => child.stdout.destroy());
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      expect({ format, code, stderr }).toEqual({ format, code: 0, stderr: "" });
    }
  });
});
