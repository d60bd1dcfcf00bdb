/**
 * The database the CLI is given, when it cannot be used: a URL this build does not open, a SQLite
 * file, a path below a file, a read-only folder, a full disk; and backfill dates outside the
 * calendar. Each is one line naming the database and the cause (never "internal error", never a
 * password), with the exit code of SPEC section 6.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyExamples, tickflow, tickflowHere } from "./helpers/cli.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await copyExamples()));
afterAll(() => cleanup());

/** A fresh folder inside the examples copy (so `deploy` finds deployment/tickflow.yaml). */
function folder(name: string): string {
  const path = join(dir, name);
  mkdirSync(path);
  return path;
}

async function deployed(db: string): Promise<void> {
  const r = await tickflowHere(["deploy", "--db", db], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
}

describe("a URL as the database", () => {
  // Nothing listens on port 1: every verb that works on PostgreSQL tries it and says so in one line.
  const URL = "postgresql://bob:s3cret@127.0.0.1:1/tf";
  const refused =
    "cannot connect to PostgreSQL at 127.0.0.1:1/tf: connection refused (is the server running and listening on port 1?)";

  it("TICKFLOW_DB=postgresql://... is used by every verb: an unreachable server is one line, no password, nothing created", async () => {
    const cwd = folder("url-env");
    for (const args of [["runs", "ls"], ["deploy"], ["run", join(dir, "pipelines/demo.yaml")], ["daemon"]]) {
      const r = await tickflowHere(args, {
        cwd,
        env: {
          TICKFLOW_DB: URL,
          TICKFLOW_CONFIG: join(dir, "deployment/tickflow.yaml"),
          TICKFLOW_LOG_FORMAT: "json",
        },
      });
      expect(r.code, args.join(" ")).toBe(1);
      // The daemon's start-up errors are log lines like the rest of its output (JSON off a TTY).
      if (args[0] === "daemon")
        expect(JSON.parse(r.stderr)).toMatchObject({ level: "error", msg: `cannot start: ${refused}` });
      else expect(r.stderr).toBe(`tickflow: ${refused}\n`);
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("--db postgres://... likewise; tickflow ui refuses it (a usage error); other schemes too", async () => {
    const cwd = folder("url-flag");
    for (const args of [
      ["runs", "ls"],
      ["backfill", "demo-hourly", "--from", "2024-01-02", "--to", "2024-01-05"],
      ["run", join(dir, "pipelines/demo.yaml")],
    ]) {
      const r = await tickflowHere(
        [...args, "--db", "postgres://bob:s3cret@127.0.0.1:1/tf?sslmode=disable"],
        {
          cwd,
        },
      );
      expect([r.code, r.stderr], args.join(" ")).toEqual([1, `tickflow: ${refused}\n`]);
    }
    const ui = await tickflowHere(["ui", "--db", "postgres://bob:s3cret@127.0.0.1:1/tf"], { cwd });
    expect([ui.code, ui.stderr]).toEqual([
      2,
      "tickflow: tickflow ui reads a DuckDB file that no daemon holds; on PostgreSQL every `tickflow daemon` serves the console (open its address)\n",
    ]);
    const s3 = await tickflowHere(["runs", "ls", "--db", "s3://bucket/t.duckdb"], { cwd });
    expect([s3.code, s3.stderr]).toEqual([
      2,
      "tickflow: --db: s3:// URLs are not supported by this build: use a DuckDB file path or a postgresql:// URL\n",
    ]);
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe("a file that cannot be the database", () => {
  it("a SQLite file: not a DuckDB database (not 'Extension sqlite_scanner not found')", async () => {
    // DuckDB recognises SQLite by its header alone.
    const db = join(folder("sqlite"), "data.db");
    writeFileSync(db, Buffer.concat([Buffer.from("SQLite format 3\0"), Buffer.alloc(4080)]));
    for (const args of [["runs", "ls"], ["deploy"]]) {
      const r = await tickflowHere([...args, "--db", db], { cwd: dir });
      expect([r.code, r.stderr]).toEqual([
        1,
        `tickflow: cannot open database ${db}: the file is a SQLite database, not a DuckDB database\n`,
      ]);
    }
  });

  it("a path below a regular file: that parent is a file (not EEXIST)", async () => {
    const file = join(folder("parent-file"), "afile");
    writeFileSync(file, "x");
    const write = await tickflowHere(["deploy", "--db", join(file, "x.duckdb")], { cwd: dir });
    expect([write.code, write.stderr]).toEqual([
      1,
      `tickflow: cannot create the folder of database ${join(file, "x.duckdb")}: ${file} is a file, not a folder\n`,
    ]);
    const read = await tickflowHere(["runs", "ls", "--db", join(file, "sub", "x.duckdb")], { cwd: dir });
    expect([read.code, read.stderr]).toEqual([
      1,
      `tickflow: cannot open database ${join(file, "sub", "x.duckdb")}: ${file} is a file, not a folder\n`,
    ]);
  });
});

/**
 * How to run the CLI so that a folder's permissions bind it: as is when not root; as root, without
 * the capabilities that bypass them (undefined when setpriv cannot drop them here).
 */
function withoutOverride(): string[] | undefined {
  if (process.getuid?.() !== 0) return [];
  const wrap = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"];
  return spawnSync(wrap[0]!, [...wrap.slice(1), "true"]).status === 0 ? wrap : undefined;
}

describe("a database that cannot be written", () => {
  it("a read-only folder: the WAL cannot be created beside the file (not 'internal error')", async (ctx) => {
    const wrap = withoutOverride();
    if (!wrap) return ctx.skip("cannot drop CAP_DAC_OVERRIDE here");
    const ro = folder("read-only");
    const db = join(ro, "t.duckdb");
    await deployed(db);
    chmodSync(ro, 0o555);
    try {
      // backfill goes through the control plane (which answers a 400), run through the engine.
      for (const args of [
        ["backfill", "demo-hourly", "--from", "2024-01-02", "--to", "2024-01-05"],
        ["run", "pipelines/demo.yaml"],
      ]) {
        const r = await tickflow([...args, "--db", db], { cwd: dir, wrap });
        expect([r.code, r.stderr], args[0]).toEqual([
          1,
          `tickflow: cannot write database ${db}: the folder ${ro} is read-only\n`,
        ]);
      }
      // A new database there cannot even be created.
      const fresh = await tickflow(["deploy", "--db", join(ro, "new.duckdb")], { cwd: dir, wrap });
      expect([fresh.code, fresh.stderr]).toEqual([
        1,
        `tickflow: cannot open database ${join(ro, "new.duckdb")}: the folder ${ro} is read-only\n`,
      ]);
    } finally {
      chmodSync(ro, 0o755);
    }
  });

  it("a full disk (a 2 MB tmpfs, filled): no space left on device (not 'internal error')", async (ctx) => {
    const full = folder("full");
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", full], { stdio: "ignore" });
    } catch {
      return ctx.skip("cannot mount a tmpfs here (needs root)");
    }
    try {
      const db = join(full, "t.duckdb");
      await deployed(db);
      fill(join(full, "filler"));
      // Processes of their own: DuckDB may abort the process on a failed commit of an UPDATE.
      for (const args of [
        ["backfill", "demo-hourly", "--from", "2024-01-02", "--to", "2024-03-01"],
        ["run", "pipelines/demo.yaml"],
      ]) {
        const r = await tickflow([...args, "--db", db], { cwd: dir });
        expect(r.code, args[0]).toBe(1);
        expect(r.stderr.split("\n").filter(Boolean).at(-1)).toBe(
          `tickflow: cannot write database ${db}: no space left on device`,
        );
      }
    } finally {
      execFileSync("umount", [full]);
    }
  });
});

/** Writes zeros to `file` until the file system is full. */
function fill(file: string): void {
  const fd = openSync(file, "w");
  const block = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd);
  }
}

describe("backfill dates outside the calendar (1990-2100)", () => {
  it("is a usage error (exit 2) in the calendar's words", async () => {
    const db = join(folder("backfill"), "t.duckdb");
    await deployed(db);
    for (const [from, to, flag, bad] of [
      ["1980-01-01", "1980-02-01", "--from", "1980-01-01"],
      ["2099-12-01", "2101-01-05", "--to", "2101-01-05"],
    ] as const) {
      const r = await tickflowHere(["backfill", "demo-hourly", "--from", from, "--to", to, "--db", db], {
        cwd: dir,
      });
      expect([r.code, r.stderr]).toEqual([
        2,
        `tickflow: ${flag}: XNYS calendar: date "${bad}" is outside the supported range 1990-2100\n`,
      ]);
    }
  });
});
