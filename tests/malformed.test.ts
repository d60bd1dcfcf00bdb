import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDiagnostics, tempDir, tickflowHere as tickflow } from "./helpers/cli.js";

/** "Billion laughs": each level doubles by aliasing the one before. */
function yamlBomb(levels: number): string {
  const lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"];
  for (let i = 1; i < levels; i++)
    lines.push(
      `a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(", ")}]`,
    );
  return `kind: pipeline\nname: bomb\n${lines.join("\n")}\ntasks: {t: {uses: log, with: {message: *a${levels - 1}}}}\n`;
}

const cases: { name: string; content: () => string | Buffer; message: RegExp }[] = [
  {
    name: "binary junk",
    content: () => Buffer.concat([Buffer.from("kind: pipe"), randomBytes(4096)]),
    message: /not a YAML text file/,
  },
  { name: "a YAML bomb of deep aliases", content: () => yamlBomb(12), message: /too many alias expansions/ },
  {
    name: "a 10 MB file",
    content: () =>
      `kind: pipeline\nname: big\ntasks:\n${"  # padding padding padding padding padding padding padding\n".repeat(170_000)}`,
    message: /file is too large \(\d+\.\d MiB; the limit is 2 MiB\)/,
  },
  {
    name: "tabs as indentation",
    content: () => "kind: pipeline\nname: tabs\ntasks:\n\tt:\n\t\tuses: log\n",
    message: /YAML: Tabs are not allowed as indentation/,
  },
  {
    name: "duplicate keys",
    content: () =>
      "kind: pipeline\nname: dup\ntasks:\n  t: {uses: log, with: {message: a}}\n  t: {uses: log, with: {message: b}}\n",
    message: /YAML: Map keys must be unique/,
  },
  {
    name: "deep nesting",
    content: () => `kind: pipeline\nname: deep\nx: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n`,
    message: /./,
  },
  { name: "an empty file", content: () => "", message: /expected a mapping with `kind:`|the file is empty/ },
  { name: "a scalar document", content: () => "just a string\n", message: /expected a mapping with `kind:`/ },
  {
    name: "a list document",
    content: () => "- kind: pipeline\n",
    message: /expected a mapping with `kind:`/,
  },
  {
    name: "an unknown kind",
    content: () => "kind: flow\nname: x\n",
    message: /unknown kind "flow": expected one of pipeline, work_pool, deployments/,
  },
  {
    name: "two documents",
    content: () => "kind: work_pool\nname: a\n---\nkind: work_pool\nname: b\n",
    message: /only one YAML document per file/,
  },
  {
    name: "an unterminated string",
    content: () => 'kind: pipeline\nname: "oops\ntasks: {}\n',
    message: /YAML: /,
  },
  {
    name: "a huge expression",
    content: () =>
      `kind: pipeline\nname: x\ntasks:\n  t: {uses: log, with: {message: "\${{ ${"(".repeat(5000)}1${")".repeat(5000)} }}"}}\n`,
    message: /invalid expression/,
  },
];

describe("malformed input never ends in a stack trace", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  for (const c of cases) {
    it(`reports ${c.name} cleanly with exit 1`, async () => {
      const file = join(dir, `${c.name.replaceAll(" ", "-")}.yaml`);
      await writeFile(file, c.content());
      const r = await tickflow(["validate", file]);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at |Error:/);
      const diagnostics = parseDiagnostics(r.stdout);
      expect(diagnostics.length).toBeGreaterThan(0);
      expect(diagnostics.length).toBeLessThan(20); // the cause, not a cascade
      expect(
        diagnostics.some((d) => c.message.test(d.message)),
        r.stdout,
      ).toBe(true);
      for (const d of diagnostics) {
        expect(d.file).toBe(file);
        expect(d.line).toBeGreaterThanOrEqual(1);
        expect(d.col).toBeGreaterThanOrEqual(1);
      }
    });
  }

  it("plan reports a malformed file the same way", async () => {
    const file = join(dir, "plan-bomb.yaml");
    await writeFile(file, yamlBomb(12));
    const r = await tickflow(["plan", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/too many alias expansions/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
