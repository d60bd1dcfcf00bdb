// Inputs that used to crash or stall the YAML front end (issue 12, section 6), each generated here.
// Time bounds are loose on purpose: they catch the quadratic and exponential cases (which took
// 8 to 55 seconds, or aborted out of memory), not a few hundred milliseconds of a busy machine.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_DEPTH, MAX_TOKENS } from "../src/config/yaml.js";
import { MAX_TASKS } from "../src/pipeline/load.js";
import { MAX_LINKS } from "../src/pipeline/plan.js";
import { parseDiagnostics, tempDir, tickflowHere as tickflow } from "./helpers/cli.js";

const QUICK_MS = 5000;

/** `n` tasks, each needing the one before; with `cycle`, the first needs the last. */
function chain(n: number, options: { cycle?: boolean } = {}): string {
  const lines = ["kind: pipeline", "name: chain", "tasks:"];
  for (let i = 0; i < n; i++) {
    lines.push(`  t${i}:`, "    uses: log");
    if (i > 0) lines.push(`    needs: [t${i - 1}]`);
    else if (options.cycle) lines.push(`    needs: [t${n - 1}]`);
    lines.push("    with: {message: hi}");
  }
  return `${lines.join("\n")}\n`;
}

describe("hostile input ends in diagnostics, quickly", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  async function run(verb: string, name: string, content: string) {
    const file = join(dir, name);
    await writeFile(file, content);
    const started = performance.now();
    const r = await tickflow([verb, file]);
    const ms = performance.now() - started;
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(ms).toBeLessThan(QUICK_MS);
    // validate prints its diagnostics as its output; the other verbs on stderr, beside their own.
    const printed = verb === "validate" ? r.stdout : r.stderr.replace(/^(?!.*:\d+:\d+: ).*\n?/gm, "");
    return { ...r, file, diagnostics: r.code === 1 ? parseDiagnostics(printed) : [] };
  }

  it("reports a self-referencing alias at the alias", async () => {
    const r = await run("validate", "self-alias.yaml", "kind: &a [*a]\n");
    expect(r.code).toBe(1);
    expect(r.diagnostics).toEqual([
      expect.objectContaining({ line: 1, col: 11, message: expect.stringMatching(/alias \*a .*recursive/) }),
    ]);
  });

  it("reports deployments built from a recursive alias, in validate and in deploy", async () => {
    const content = "kind: deployments\nloop: &L [*L]\ndeployments: [*L]\n";
    for (const verb of ["validate", "deploy"]) {
      const r = await run(verb, "loop.yaml", content);
      expect(r.code).toBe(1);
      expect(r.diagnostics).toEqual([
        expect.objectContaining({ line: 2, col: 11, message: expect.stringMatching(/recursive/) }),
      ]);
    }
  });

  it("reports an alias without its anchor", async () => {
    const r = await run("validate", "no-anchor.yaml", "kind: pipeline\nname: x\ntasks: *nowhere\n");
    expect(r.diagnostics).toEqual([
      expect.objectContaining({
        line: 3,
        col: 8,
        message: "alias *nowhere has no anchor &nowhere before it",
      }),
    ]);
  });

  it("reports a dependency cycle of 4,500 tasks, with its position", async () => {
    const r = await run("validate", "cycle.yaml", chain(4500, { cycle: true }));
    expect(r.code).toBe(1);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ line: 6, col: 12 });
    expect(r.diagnostics[0]!.message).toMatch(/^dependency cycle: t0 -> t4499 -> t4498 -> .* -> t1 -> t0$/);
  });

  it("stops reporting cycles after the first 20", async () => {
    // Every task needs the next and the first: a cycle back to t0 from each.
    const tasks = Array.from(
      { length: 200 },
      (_, i) => `  t${i}: {uses: log, needs: [${i < 199 ? `t${i + 1}, ` : ""}t0], with: {message: x}}`,
    );
    const r = await run("validate", "cycles.yaml", `kind: pipeline\nname: c\ntasks:\n${tasks.join("\n")}\n`);
    const cycles = r.diagnostics.filter((d) => d.message.startsWith("dependency cycle"));
    expect(cycles).toHaveLength(20);
    expect(r.diagnostics).toContainEqual(
      expect.objectContaining({
        line: 3,
        col: 1,
        message: "more dependency cycles (the first 20 are shown)",
      }),
    );
  });

  it(`validates and plans a straight chain of ${MAX_TASKS} tasks`, async () => {
    const content = chain(MAX_TASKS);
    expect((await run("validate", "chain.yaml", content)).code).toBe(0);
    const plan = await run("plan", "chain.yaml", content);
    expect(plan.code).toBe(0);
  });

  it("refuses a pipeline of more tasks than the limit, at the first one too many", async () => {
    const tasks = Array.from({ length: MAX_TASKS + 1 }, (_, i) => `  t${i}: {uses: log, with: {message: x}}`);
    const r = await run("validate", "wide.yaml", `kind: pipeline\nname: w\ntasks:\n${tasks.join("\n")}\n`);
    expect(r.diagnostics).toEqual([
      expect.objectContaining({
        line: MAX_TASKS + 4,
        col: 3,
        message: `too many tasks (more than ${MAX_TASKS} in one pipeline)`,
      }),
    ]);
  });

  it("refuses a 20,000-task chain (1.4 MB) with the limit it passes and where", async () => {
    const r = await run("validate", "chain-20000.yaml", chain(20_000));
    expect(r.diagnostics).toEqual([
      expect.objectContaining({
        message: expect.stringContaining(`too many YAML tokens (more than ${MAX_TOKENS}`),
      }),
    ]);
    expect(r.diagnostics[0]!.line).toBeGreaterThan(1000);
  });

  it("reads a file of many comments", async () => {
    const comments = "# a comment of a few words, as a long header might have\n".repeat(15_000);
    const r = await run("validate", "comments.yaml", `${comments}${chain(3)}${comments}`);
    expect(r.code).toBe(0);
  });

  it("refuses a file of only comments past the token limit, with a position", async () => {
    const r = await run("validate", "hashes.yaml", `${chain(3)}${"#\n".repeat(400_000)}`);
    expect(r.diagnostics).toEqual([
      expect.objectContaining({
        message: expect.stringContaining(`too many YAML tokens (more than ${MAX_TOKENS}`),
      }),
    ]);
  });

  it("refuses deeply nested dashes, block or compact, at the level past the limit", async () => {
    const head = "kind: pipeline\nname: d\ntasks:\n  a:\n    uses: log\n    with:\n      message:\n";
    const compact = await run("validate", "dashes.yaml", `${head}        ${"- ".repeat(200_000)}x\n`);
    expect(compact.diagnostics).toEqual([
      expect.objectContaining({ line: 8, message: `nesting too deep (more than ${MAX_DEPTH} levels)` }),
    ]);
    let indented = head;
    for (let i = 0; i < 1000; i++) indented += `${" ".repeat(8 + i)}-\n`;
    const block = await run("validate", "indented.yaml", indented);
    expect(block.diagnostics).toEqual([
      expect.objectContaining({ message: `nesting too deep (more than ${MAX_DEPTH} levels)` }),
    ]);
  });

  it("refuses nesting built from aliases", async () => {
    const deep = `${"[".repeat(150)}${"]".repeat(150)}`;
    const r = await run(
      "validate",
      "alias-depth.yaml",
      `kind: pipeline\nname: a\nx: &x ${deep}\ntasks: {t: {uses: log, with: {message: ${"[".repeat(60)}*x${"]".repeat(60)}}}}\n`,
    );
    expect(r.diagnostics).toEqual([
      expect.objectContaining({
        line: 4,
        message: expect.stringMatching(/nesting too deep through aliases/),
      }),
    ]);
  });

  it("reads one long string", async () => {
    const long = "a".repeat(1_900_000);
    const plain = await run("validate", "long.yaml", chain(1).replace("message: hi", `message: ${long}`));
    expect(plain.code).toBe(0);
    const quoted = await run(
      "validate",
      "long-q.yaml",
      chain(1).replace("message: hi", `message: "${long}"`),
    );
    expect(quoted.code).toBe(0);
  });

  it("bounds what one long string aliased many times costs", async () => {
    const aliases = Array(900).fill("*big").join(", ");
    const content = `kind: pipeline\nname: a\nx: &big "${"y".repeat(1_000_000)}"\ntasks: {t: {uses: log, with: {message: [${aliases}]}}}\n`;
    const r = await run("validate", "alias-big.yaml", content);
    expect(r.diagnostics).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/too many alias expansions/) }),
    ]);
  });

  it("reads a mapping of 25,000 keys (their uniqueness is checked in linear time)", async () => {
    const keys = Array.from({ length: 25_000 }, (_, i) => `  k${i}: 1`).join("\n");
    const r = await run("validate", "keys.yaml", `${chain(1)}parameters_x:\n${keys}\n  k7: 2\n`);
    const messages = r.diagnostics.map((d) => d.message);
    expect(messages).toEqual(["YAML: Map keys must be unique"]);
    expect(r.diagnostics[0]).toMatchObject({ line: 25_008, col: 3 });
  });

  it("reports a flow mapping of 100,000 stray commas once per line", async () => {
    const r = await run(
      "validate",
      "commas.yaml",
      chain(1).replace("{message: hi}", `{message: ${",".repeat(100_000)}}`),
    );
    expect(r.code).toBe(1);
    expect(r.diagnostics.length).toBeLessThan(5);
  });

  it("reports 30,000 expressions naming an unknown parameter, each at its column", async () => {
    const message = `"${"${{ params.x }}".repeat(30_000)}"`;
    const r = await run("validate", "exprs.yaml", chain(1).replace("message: hi", `message: ${message}`));
    expect(r.diagnostics).toHaveLength(30_000);
    expect(r.diagnostics[29_999]).toMatchObject({ line: 6, col: 26 + 15 * 29_999 });
  });

  it("refuses a plan whose for_each tasks would need each other's every instance", async () => {
    const items = (p: string) => `[${Array.from({ length: 1500 }, (_, i) => `${p}${i}`).join(", ")}]`;
    const content = `kind: pipeline\nname: f\ntasks:\n  a: {uses: log, for_each: ${items("a")}, with: {message: x}}\n  b: {uses: log, needs: [a], for_each: ${items("b")}, with: {message: x}}\n`;
    for (const verb of ["validate", "plan"]) {
      const r = await run(verb, "fan.yaml", content);
      expect(r.diagnostics).toEqual([
        expect.objectContaining({
          line: 5,
          message: expect.stringContaining(`more than ${MAX_LINKS} needs`),
        }),
      ]);
    }
  });
});
