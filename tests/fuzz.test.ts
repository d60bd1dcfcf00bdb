// Mutants of the example files through the whole front end (YAML, schema, checks, plan with the
// defaults): every one must end in diagnostics or success, never in an exception, and quickly.
// TICKFLOW_FUZZ_MS runs it longer (the default keeps `npm test` fast).
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkKind } from "../src/cli/validate.js";
import type { Diagnostic } from "../src/config/diagnostics.js";
import { kindOf } from "../src/config/document.js";
import { parseYaml } from "../src/config/yaml.js";
import { newLoadCache } from "../src/schedule/load.js";
import { copyExamples } from "./helpers/cli.js";

const BUDGET_MS = Number(process.env.TICKFLOW_FUZZ_MS ?? 3000);
/** A mutant is a few kilobytes: anything near this is a stall, whatever the machine. */
const SLOW_MS = 2000;

/** What `validate` does with one file's text, without reading or printing. */
async function check(
  file: string,
  text: string,
  cache: ReturnType<typeof newLoadCache>,
): Promise<Diagnostic[]> {
  const parsed = parseYaml(file, text);
  if (!parsed.ok) return parsed.diagnostics;
  const kind = kindOf(parsed.yaml);
  return typeof kind === "string"
    ? checkKind(parsed.yaml, kind, parsed.diagnostics, cache)
    : [...parsed.diagnostics, kind];
}

// Pieces of YAML, of our files and of expressions, and near misses: what mutants are made of.
const FRAGMENTS = [
  ..."\n |\n |  |\t|- |: |? |[|]|{|}|,|#|'|\"|&a |*a|&b |*b|!!str |!!int |!!binary |!!set |!foo |! |%|@|`".split(
    "|",
  ),
  ..."| |>-|~|null|true|0x1F|1e999|-.inf|.nan|2024-01-02|<<: *a|---\n|...\n|%YAML 1.1\n|\\|\\u0000".split(
    "|",
  ),
  ..."${{ | }}|${{ params.symbols }}|${{ tasks.fetch.outputs.rows }}|${{ item }}|${{ failure() }}".split("|"),
  ..."needs: [fetch]|needs: [|for_each: [a, b]|for_each: ${{ params.symbols }}|uses: log|with:".split("|"),
  ..."kind: pipeline\n|kind: deployments\n|kind: work_pool\n|tasks:|deployments:|schedules:|cron: ".split(
    "|",
  ),
  ..."api_key: secret|é|\uFEFF|\r\n|\u2028|constructor|__proto__|toString".split("|"),
];

type Mutation =
  | { op: "delete"; at: number; length: number }
  | { op: "insert"; at: number; text: string }
  | { op: "replace"; at: number; length: number; text: string }
  | { op: "repeat"; at: number; length: number; times: number }
  | { op: "swap-lines"; a: number; b: number }
  | { op: "anchor"; at: number; to: number; name: string }
  | { op: "self-alias"; at: number };

const text = fc.oneof(
  fc.constantFrom(...FRAGMENTS).chain((f) => fc.integer({ min: 1, max: 400 }).map((n) => f.repeat(n))),
  fc.constantFrom(...FRAGMENTS),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: "binary", maxLength: 3 }),
);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 60 }) }),
  { arbitrary: fc.record({ op: fc.constant("insert" as const), at: fc.nat(), text }), weight: 3 },
  fc.record({
    op: fc.constant("replace" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 8 }),
    text,
  }),
  fc.record({
    op: fc.constant("repeat" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 120 }),
    times: fc.integer({ min: 2, max: 300 }),
  }),
  fc.record({ op: fc.constant("swap-lines" as const), a: fc.nat(), b: fc.nat() }),
  // An anchor and an alias after it: inside the anchored node, a structure containing itself.
  fc.record({
    op: fc.constant("anchor" as const),
    at: fc.nat(),
    to: fc.nat(),
    name: fc.constantFrom("a", "b"),
  }),
);

function apply(source: string, m: Mutation): string {
  const at = source.length ? ("at" in m ? m.at % (source.length + 1) : 0) : 0;
  switch (m.op) {
    case "delete":
      return source.slice(0, at) + source.slice(at + m.length);
    case "insert":
      return source.slice(0, at) + m.text + source.slice(at);
    case "replace":
      return source.slice(0, at) + m.text + source.slice(at + m.length);
    case "repeat":
      return source.slice(0, at) + source.slice(at, at + m.length).repeat(m.times) + source.slice(at);
    case "anchor": {
      const to = source.length ? m.to % (source.length + 1) : 0;
      const [first, second] = at <= to ? [at, to] : [to, at];
      return `${source.slice(0, first)}&${m.name} ${source.slice(first, second)}*${m.name}${source.slice(second)}`;
    }
    case "self-alias": {
      // The value after the next `: ` becomes a list holding itself: `key: &s [*s, value]`.
      const colon = source.indexOf(": ", at);
      if (colon < 0) return source;
      const end = source.indexOf("\n", colon);
      const value = source.slice(colon + 2, end < 0 ? undefined : end);
      const items = /^[^[\]{}#,]+$/.test(value) ? `*s, ${value}` : "*s";
      return `${source.slice(0, colon + 2)}&s [${items}]${end < 0 ? "" : source.slice(end)}`;
    }
    case "swap-lines": {
      const lines = source.split("\n");
      const a = m.a % lines.length;
      const b = m.b % lines.length;
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      return lines.join("\n");
    }
  }
}

describe("mutated examples", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const examples: { file: string; text: string }[] = [];
  beforeAll(async () => {
    ({ dir, cleanup } = await copyExamples());
    const entries = await readdir(dir, { recursive: true });
    for (const entry of entries.filter((e) => e.endsWith(".yaml")).sort()) {
      const file = join(dir, entry);
      examples.push({ file, text: await readFile(file, "utf8") });
    }
  });
  afterAll(() => cleanup());

  it(
    "end in diagnostics or success, never in an exception or a stall",
    async () => {
      expect(examples.length).toBeGreaterThanOrEqual(9);
      const cache = newLoadCache();
      let mutants = 0;
      let slowest = { ms: 0, example: "" };
      await fc.assert(
        fc.asyncProperty(
          fc.nat(),
          fc.array(mutation, { minLength: 1, maxLength: 4 }),
          async (which, mutations) => {
            const example = examples[which % examples.length]!;
            const mutant = mutations.reduce(apply, example.text);
            const started = performance.now();
            const diagnostics = await check(example.file, mutant, cache);
            const ms = performance.now() - started;
            mutants++;
            if (ms > slowest.ms) slowest = { ms, example: relative(dir, example.file) };
            expect(ms).toBeLessThan(SLOW_MS);
            for (const d of diagnostics) {
              expect(d.line).toBeGreaterThanOrEqual(1);
              expect(d.col).toBeGreaterThanOrEqual(1);
              expect(d.message).not.toBe("");
              expect(d.message).not.toMatch(/internal error|Maximum call stack|undefined|\[object /);
            }
          },
        ),
        { numRuns: 1_000_000, interruptAfterTimeLimit: BUDGET_MS, markInterruptAsFailure: false },
      );
      // Shown with --reporter=verbose or TICKFLOW_FUZZ_MS: how much ground a run covered.
      if (process.env.TICKFLOW_FUZZ_MS)
        console.log(`${mutants} mutants, slowest ${slowest.ms.toFixed(0)} ms (${slowest.example})`);
      expect(mutants).toBeGreaterThan(50);
    },
    BUDGET_MS + 30_000,
  );
});
