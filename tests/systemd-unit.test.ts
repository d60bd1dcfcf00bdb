/**
 * deployment/systemd/tickflow.service: systemd accepts it, its sandbox rates below 2.5 in
 * `systemd-analyze security`, and its Documentation= points at a section of the README. The first
 * two need systemd-analyze (skipped where it is missing).
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, tempDir } from "./helpers/cli.js";

const UNIT = join(REPO, "deployment/systemd/tickflow.service");
const analyze = spawnSync("systemd-analyze", ["--version"]).status === 0;

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

describe("the systemd unit", () => {
  it.skipIf(!analyze)("rates below 2.5 in systemd-analyze security", () => {
    const r = spawnSync("systemd-analyze", ["security", "--offline=true", "--no-pager", UNIT], {
      encoding: "utf8",
    });
    const exposure = /Overall exposure level for tickflow\.service: (\d+\.\d+)/.exec(r.stdout);
    expect(exposure, r.stdout + r.stderr).not.toBeNull();
    expect(Number(exposure![1])).toBeLessThan(2.5);
  });

  it.skipIf(!analyze)("passes systemd-analyze verify (with a binary that exists here)", () => {
    // verify wants ExecStart's binary; everything else is checked as written.
    const copy = join(dir, "tickflow.service");
    writeFileSync(copy, readFileSync(UNIT, "utf8").replace(/^ExecStart=\S+/m, "ExecStart=/bin/true"));
    const r = spawnSync("systemd-analyze", ["verify", copy], { encoding: "utf8" });
    expect({ status: r.status, said: r.stdout + r.stderr }).toEqual({ status: 0, said: "" });
  });

  it("points Documentation= at a section of the README", () => {
    const anchor = /^Documentation=\S+#(\S+)$/m.exec(readFileSync(UNIT, "utf8"))?.[1];
    // GitHub's anchors: the heading in lower case, spaces as dashes, most punctuation dropped.
    const anchors = [...readFileSync(join(REPO, "README.md"), "utf8").matchAll(/^#+ (.+)$/gm)].map((m) =>
      m[1]!
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, "")
        .replaceAll(" ", "-"),
    );
    expect(anchors).toContain(anchor);
  });
});
