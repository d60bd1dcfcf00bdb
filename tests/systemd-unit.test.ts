/**
 * deployment/systemd/tickflow.service and tickflow-worker@.service (as instance `default`): systemd accepts each, its sandbox rates below 2.5 in
 * `systemd-analyze security`, and its Documentation= points at a section of the README. The first
 * two need systemd-analyze (skipped where it is missing).
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, tempDir } from "./helpers/cli.js";

const UNITS = [
  { file: join(REPO, "deployment/systemd/tickflow.service"), name: "tickflow.service" },
  {
    file: join(REPO, "deployment/systemd/tickflow-worker@.service"),
    name: "tickflow-worker@default.service",
  },
];
const analyze = spawnSync("systemd-analyze", ["--version"]).status === 0;

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

describe.each(UNITS)("the systemd unit $name", ({ file: UNIT, name }) => {
  it.skipIf(!analyze)("rates below 2.5 in systemd-analyze security", () => {
    // An instance of a template is rated under its instance's name.
    const unit = join(dir, name);
    writeFileSync(unit, readFileSync(UNIT, "utf8"));
    const r = spawnSync("systemd-analyze", ["security", "--offline=true", "--no-pager", unit], {
      encoding: "utf8",
    });
    const exposure = new RegExp(
      `Overall exposure level for ${name.replace(/[.@]/g, "\\$&")}: (\\d+\\.\\d+)`,
    ).exec(r.stdout);
    expect(exposure, r.stdout + r.stderr).not.toBeNull();
    expect(Number(exposure![1])).toBeLessThan(2.5);
  });

  it.skipIf(!analyze)("passes systemd-analyze verify (with a binary that exists here)", () => {
    // verify wants ExecStart's binary and an environment file that exists; the rest as written.
    const copy = join(dir, name);
    writeFileSync(
      copy,
      readFileSync(UNIT, "utf8")
        .replace(/^ExecStart=\S+/m, "ExecStart=/bin/true")
        .replace(/^EnvironmentFile=\//m, "EnvironmentFile=-/"),
    );
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
