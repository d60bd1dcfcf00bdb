import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { loadPipeline } from "../pipeline/load.js";
import { planPipeline } from "../pipeline/plan.js";
import { defineStep, type StepSpec } from "../pipeline/step-spec.js";
import { builtinSteps } from "../steps/index.js";
import type { Store } from "../store/index.js";
import { tempStore } from "../store/testing.js";
import { type EngineEvent, executeRun } from "./run.js";

/** Planted secrets: every one contains PLANTED, which must be found nowhere afterwards. */
const env = {
  X_KEY: "pk-PLANTED-9f8e7d6c",
  TICKFLOW_API_TOKEN: "tok-PLANTED-0123456789abcdef",
  /** Not named like a secret: masked because a secret parameter gets it. */
  PLAIN: "plain-PLANTED-555",
  HOME: "/home/tester",
};

/** A step with a secret parameter that is careless with it: logs it and returns it. */
const secretive = defineStep({
  name: "secretive",
  summary: "Gets a key through its secret parameter, logs it and returns it.",
  params: z.object({ api_key: z.string() }),
  outputs: {},
  secrets: ["api_key"],
  async run(ctx, params) {
    ctx.log("info", `using ${params.api_key}`);
    return { real: params.api_key === env.PLAIN, echoed: params.api_key };
  },
});
const steps: StepSpec[] = [...builtinSteps, secretive as StepSpec];

const PIPELINE = `kind: pipeline
name: leaky
tasks:
  say:
    uses: log
    with: {message: "key \${{ env.X_KEY }} token \${{ env.TICKFLOW_API_TOKEN }}"}
  dump:
    uses: log
    with: {message: "\${{ to_json(env) }}"}
  select:
    uses: sql
    with: {query: "SELECT '\${{ env.X_KEY }}' AS k, '\${{ to_json(env) }}' AS j"}
  echo:
    uses: log
    needs: [select]
    with: {message: "first.k is \${{ tasks.select.outputs.first.k }}"}
  keyed:
    uses: secretive
    if: \${{ env.X_KEY != '' }}
    with: {api_key: "\${{ env.PLAIN }}"}
  declared:
    uses: secretive
    with: {api_key: "\${{ env.X_KEY }}"}
  boom:
    uses: sql
    retries: 1
    retry_delay: 10ms
    with: {query: "SELECT error('bad key \${{ env.X_KEY }}')"}
`;

let store: Store;
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ store, dir, cleanup } = await tempStore()));
afterAll(() => cleanup());

async function load() {
  const file = join(dir, "leaky.yaml");
  await writeFile(file, PIPELINE);
  return loadPipeline(file, steps);
}

/** Line and column (1-based) of the `n`th occurrence of `text` in the pipeline. */
function positionOf(text: string, n = 0): { line: number; col: number } {
  let at = -1;
  for (let i = 0; i <= n; i++) at = PIPELINE.indexOf(text, at + 1);
  const before = PIPELINE.slice(0, at).split("\n");
  return { line: before.length, col: before.at(-1)!.length + 1 };
}

describe("secrets in a run", () => {
  it("validate warns, with the position, where a secret variable goes anywhere but a secret parameter or if", async () => {
    const { diagnostics } = await load();
    const warnings = diagnostics.map((d) => ({
      line: d.line,
      col: d.col,
      severity: d.severity,
      message: d.message,
    }));
    const warning = (name: string, n: number) => ({
      ...positionOf(name, n),
      severity: "warning",
      message: `secret ${name} used outside a secret parameter: the step gets it in clear, logs and outputs show *** instead`,
    });
    // Not to_json(env) (masked), not `if`, not the api_key parameters.
    expect(warnings).toEqual([
      warning("env.X_KEY", 0),
      warning("env.TICKFLOW_API_TOKEN", 0),
      warning("env.X_KEY", 1),
      warning("env.X_KEY", 4),
    ]);
  });

  it("masks every planted secret in logs, outputs, errors, events and the result; secret parameters get the real value", async () => {
    const { doc } = await load();
    const plan = planPipeline(doc!, {}, "2025-03-14", env);
    const events: EngineEvent[] = [];
    const result = await executeRun({
      store,
      doc: doc!,
      plan,
      steps: new Map(steps.map((s) => [s.name, s])),
      baseDir: dir,
      env,
      onEvent: (e) => events.push(e),
    });

    expect(result.state).toBe("Failed");
    const task = (id: string) => result.tasks.find((t) => t.id === id)!;
    expect(task("select").outputs.first).toMatchObject({ k: "***" });
    expect(JSON.parse(String((task("select").outputs.first as { j: string }).j))).toMatchObject({
      X_KEY: "***",
      TICKFLOW_API_TOKEN: "***",
      HOME: "/home/tester",
    });
    expect(task("keyed").outputs).toEqual({ real: true, echoed: "***" });
    expect(task("boom")).toMatchObject({ state: "Failed", attempts: 2 });
    expect(task("boom").error).toContain("bad key ***");
    expect(result.error).toContain("bad key ***");
    const logs = events.flatMap((e) => (e.type === "log" ? [`${e.taskId}: ${e.message}`] : []));
    expect(logs).toEqual(
      expect.arrayContaining(["say: key *** token ***", "echo: first.k is ***", "keyed: using ***"]),
    );

    // Everything the run wrote, as CSV files; and everything it said.
    const tables = ["runs", "task_runs", "state_transitions", "run_logs"];
    const exported: string[] = [];
    const db = await store.connect();
    for (const table of tables) {
      const file = join(dir, `${table}.csv`);
      await db.run(`COPY (SELECT * FROM ${table}) TO '${file}' (HEADER)`);
      exported.push(await readFile(file, "utf8"));
    }
    const said = JSON.stringify({ events, result });
    expect(exported[3]).toContain("key *** token ***");
    expect(exported.join("\n")).toContain("bad key ***");
    for (const text of [...exported, said]) expect(text.match(/.{0,80}PLANTED.{0,20}/g) ?? []).toEqual([]);
  });
});
