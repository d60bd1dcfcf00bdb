import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, tempDir, tickflow } from "./helpers/cli.js";

describe("tickflow init (from the repo)", () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(() => cleanup());

  it("writes the starter project: examples, demo data, deployments, schemas", async () => {
    const r = await tickflow(["init", dir]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote \d+ files to /);
    for (const file of [
      "pipelines/demo.yaml",
      "pipelines/data/demo-synthetic-bars.csv.gz",
      "deployment/tickflow.yaml",
      "deployment/work-pools/default.yaml",
      "schemas/pipeline.schema.json",
      "schemas/deployments.schema.json",
      "schemas/work-pool.schema.json",
    ]) {
      expect(await readFile(join(dir, file))).toEqual(await readFile(join(REPO, file)));
    }
    expect(r.stdout).toContain("\n  .gitignore (written)\n");
    expect(
      (await readFile(join(dir, ".gitignore"), "utf8")).split("\n").filter((l) => !l.startsWith("#")),
    ).toEqual(["*.duckdb*", "build/", "archive/", "reports/", ""]);
    const demo = await readFile(join(dir, "pipelines/demo.yaml"), "utf8");
    expect(demo.split("\n")[0]).toBe("# yaml-language-server: $schema=../schemas/pipeline.schema.json");
  });

  it("makes a project that validates", async () => {
    const r = await tickflow(["validate", "pipelines", "deployment"], { cwd: dir });
    expect(r.stderr).toMatch(/ 0 errors, 0 warnings/);
    expect(r.code).toBe(0);
  });

  it("refuses to overwrite, writing nothing, unless --force", async () => {
    await writeFile(join(dir, "pipelines/demo.yaml"), "mine\n");
    const only = await tempDir();
    await writeFile(join(only.dir, "x"), "");
    await tickflow(["init", only.dir]).then(async (r) => {
      await only.cleanup();
      expect(r.code).toBe(0); // unrelated files are fine
    });
    const refused = await tickflow(["init", dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /init: \d+ of the starter's files exist in .*nothing written \(use --force/,
    );
    expect(await readFile(join(dir, "pipelines/demo.yaml"), "utf8")).toBe("mine\n");
    // A project's own .gitignore is kept, even with --force: only the missing patterns are added.
    await writeFile(join(dir, ".gitignore"), "node_modules/\n*.duckdb*\n");
    const forced = await tickflow(["init", "--force", dir]);
    expect(forced.code).toBe(0);
    expect(await readFile(join(dir, "pipelines/demo.yaml"), "utf8")).not.toBe("mine\n");
    expect(forced.stdout).toContain("\n  .gitignore (added build/ archive/ reports/)\n");
    expect(await readFile(join(dir, ".gitignore"), "utf8")).toBe(
      "node_modules/\n*.duckdb*\n\n# Added by tickflow init\nbuild/\narchive/\nreports/\n",
    );
    expect((await tickflow(["init", "--force", dir])).stdout).not.toContain(".gitignore");
  });
});
