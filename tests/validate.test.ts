import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  copyExamples,
  parseDiagnostics,
  positionOf,
  replaceOnce,
  tickflowHere as tickflow,
} from "./helpers/cli.js";

describe("tickflow validate on the examples", () => {
  it("accepts every example file, with no warning", async () => {
    const r = await tickflow(["validate", "pipelines", "deployment"]);
    // 9 of ours, and deployment/prometheus's 3 (not ours: skipped).
    expect(r.stderr).toMatch(/^12 files checked: 0 errors, 0 warnings/);
    expect(r.stdout).toBe("");
    expect(r.code).toBe(0);
  });

  it("finds all three kinds in the folders", async () => {
    const r = await tickflow([
      "validate",
      "--json",
      "pipelines/demo.yaml",
      "deployment/work-pools/default.yaml",
      "deployment/tickflow.yaml",
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});

/**
 * Each example broken one way: the error names the problem at the line and column of the
 * offending node. The copies live in a temporary folder so relative paths still resolve.
 */
describe("broken copies of the examples", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pipeline: string;
  let deployments: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await copyExamples());
    pipeline = await readFile(join(dir, "pipelines/polygon_daily.yaml"), "utf8");
    deployments = await readFile(join(dir, "deployment/tickflow.yaml"), "utf8");
  });
  afterAll(() => cleanup());

  async function validatePipeline(text: string, name: string) {
    await writeFile(join(dir, "pipelines", name), text);
    const r = await tickflow(["validate", `pipelines/${name}`], { cwd: dir });
    return { ...r, diagnostics: r.code === 1 ? parseDiagnostics(r.stdout) : [] };
  }

  const pipelineCases: {
    name: string;
    from: string;
    to: string;
    at: string;
    shift?: number;
    message: RegExp;
  }[] = [
    {
      name: "unknown key",
      from: "    retries: 3\n",
      to: "    retries: 3\n    retires: 3\n",
      at: "retires",
      message: /unknown key "retires" in tasks\.fetch \(did you mean "retries"\?\)/,
    },
    {
      name: "wrong type",
      from: "max_parallel: 8",
      to: "max_parallel: eight",
      at: "eight",
      message: /"max_parallel" must be integer, got string "eight"/,
    },
    {
      name: "wrong type in a step's parameters",
      from: "      rate_limit: 5 ",
      to: "      rate_limit: lots ",
      at: "lots",
      message: /"tasks\.fetch\.with\.rate_limit" must be number, got string "lots"/,
    },
    {
      name: "missing uses",
      from: "    uses: validate.ohlcv\n",
      to: "",
      at: "needs: [fetch]",
      message: /missing required key "uses" in tasks\.validate/,
    },
    {
      name: "unknown step type",
      from: "uses: indicators.compute",
      to: "uses: indicators.compte",
      at: "indicators.compte",
      message: /must be one of the allowed values.*\(did you mean "indicators\.compute"\?\)/,
    },
    {
      name: "cycle",
      from: "    uses: polygon.daily_bars\n",
      to: "    uses: polygon.daily_bars\n    needs: [indicators]\n",
      at: "[indicators]\n    with",
      message: /dependency cycle: fetch -> indicators -> validate -> fetch/,
    },
    {
      name: "unknown needs",
      from: "needs: [validate]\n    with:\n",
      to: "needs: [validate, indicatorz]\n    with:\n",
      at: "indicatorz]",
      message: /unknown task "indicatorz" in needs of "indicators" \(did you mean "indicators"\?\)/,
    },
    {
      name: "bad expression",
      from: "      symbols: ${{ params.symbols }}\n      days_back",
      to: "      symbols: ${{ params.symbols ) }}\n      days_back",
      at: "symbols ) }}",
      shift: 8,
      message: /invalid expression: unexpected '\)'/,
    },
    {
      name: "expression naming an unknown parameter",
      from: "days_back: ${{ params.days_back }}\n      api_key",
      to: "days_back: ${{ params.day_back }}\n      api_key",
      at: "params.day_back",
      message: /unknown parameter "params\.day_back" \(did you mean "params\.days_back"\?\)/,
    },
    {
      name: "literal key",
      from: "api_key: ${{ env.POLYGON_API_KEY }}",
      to: "api_key: pk_9f8e7d6c5b4a",
      at: "pk_9f8e7d6c5b4a",
      message: /"api_key" holds a literal secret: secrets must come from the environment/,
    },
  ];

  for (const c of pipelineCases) {
    it(`reports ${c.name} at its line and column`, async () => {
      const broken = replaceOnce(pipeline, c.from, c.to);
      const r = await validatePipeline(broken, `broken-${c.name.replaceAll(" ", "-")}.yaml`);
      expect(r.code).toBe(1);
      const want = positionOf(broken, c.at, c.shift ?? 0);
      const hit = r.diagnostics.find((d) => c.message.test(d.message));
      expect(hit, r.stdout).toBeDefined();
      expect({ line: hit!.line, col: hit!.col }).toEqual(want);
      expect(hit!.severity).toBe("error");
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  }

  it("reports every pipeline error of one file in one pass", async () => {
    let broken = pipeline;
    for (const c of pipelineCases.filter((x) => x.name !== "wrong type in a step's parameters")) {
      broken = replaceOnce(broken, c.from, c.to);
    }
    const r = await validatePipeline(broken, "broken-all.yaml");
    expect(r.code).toBe(1);
    const messages = r.diagnostics.map((d) => d.message);
    for (const c of pipelineCases.filter((x) => x.name !== "wrong type in a step's parameters")) {
      expect(
        messages.some((m) => c.message.test(m)),
        `${c.name} in:\n${r.stdout}`,
      ).toBe(true);
    }
    for (const d of r.diagnostics) expect(d.file).toBe("pipelines/broken-all.yaml");
  });

  const deploymentCases: { name: string; from: string; to: string; at: string; message: RegExp }[] = [
    {
      name: "bad cron",
      from: '{cron: "30 17 * * 1-5"',
      to: '{cron: "30 25 * * 1-5"',
      at: '"30 25 * * 1-5"',
      message: /invalid cron "30 25 \* \* 1-5": .*hour/i,
    },
    {
      name: "unknown time zone",
      from: '{cron: "45 17 * * 1-5", timezone: America/New_York',
      to: '{cron: "45 17 * * 1-5", timezone: America/New_Yrok',
      at: "America/New_Yrok",
      message: /unknown time zone "America\/New_Yrok" \(did you mean "America\/New_York"\?\)/,
    },
    {
      name: "missing pipeline file",
      from: "pipeline: ../pipelines/validation.yaml",
      to: "pipeline: ../pipelines/validations.yaml",
      at: "../pipelines/validations.yaml",
      message: /pipeline file "\.\.\/pipelines\/validations\.yaml" not found/,
    },
    {
      name: "unknown work pool",
      from: "work_pool: {name: maintenance}\n    missed_runs: skip",
      to: "work_pool: {name: maintenanse}\n    missed_runs: skip",
      at: "maintenanse",
      message: /unknown work pool "maintenanse" \(known: default, maintenance\)/,
    },
    {
      name: "unknown queue",
      from: "work_pool: {name: default, queue: high}\n    concurrency_limit: {limit: 1, collision_strategy: enqueue}",
      to: "work_pool: {name: default, queue: urgent}\n    concurrency_limit: {limit: 1, collision_strategy: enqueue}",
      at: "urgent",
      message: /work pool "default" has no queue "urgent"/,
    },
    {
      name: "wrong parameter type for the pipeline",
      from: "parameters: {days_back: 5}",
      to: 'parameters: {days_back: "five"}',
      at: '"five"',
      message: /parameter "days_back" of pipeline polygon-daily must be integer/,
    },
    {
      name: "unknown key",
      from: "    missed_runs: skip\n",
      to: "    missed_run: skip\n",
      at: "missed_run:",
      message: /unknown key "missed_run" in deployments\.4 \(did you mean "missed_runs"\?\)/,
    },
    {
      name: "bad rrule",
      from: "FREQ=WEEKLY;BYDAY=SA;BYHOUR=6;BYMINUTE=0",
      to: "FREQ=WEEKLY;BYDAY=XX",
      at: '"FREQ=WEEKLY;BYDAY=XX"',
      message: /invalid rrule "FREQ=WEEKLY;BYDAY=XX"/,
    },
  ];

  async function validateDeployments(text: string, name: string) {
    await writeFile(join(dir, "deployment", name), text);
    const r = await tickflow(["validate", `deployment/${name}`], { cwd: dir });
    return { ...r, diagnostics: r.code === 1 ? parseDiagnostics(r.stdout) : [] };
  }

  for (const c of deploymentCases) {
    it(`reports a deployment's ${c.name} at its line and column`, async () => {
      const broken = replaceOnce(deployments, c.from, c.to);
      const r = await validateDeployments(broken, `broken-${c.name.replaceAll(" ", "-")}.yaml`);
      expect(r.code).toBe(1);
      const hit = r.diagnostics.find((d) => c.message.test(d.message));
      expect(hit, r.stdout).toBeDefined();
      expect({ line: hit!.line, col: hit!.col }).toEqual(positionOf(broken, c.at));
    });
  }

  it("reports every deployments error in one pass", async () => {
    let broken = deployments;
    for (const c of deploymentCases) broken = replaceOnce(broken, c.from, c.to);
    const r = await validateDeployments(broken, "broken-all.yaml");
    expect(r.code).toBe(1);
    for (const c of deploymentCases) {
      expect(
        r.diagnostics.some((d) => c.message.test(d.message)),
        `${c.name} in:\n${r.stdout}`,
      ).toBe(true);
    }
  });

  it("reports a literal secret in a work pool's env", async () => {
    const pool = await readFile(join(dir, "deployment/work-pools/default.yaml"), "utf8");
    const broken = replaceOnce(
      pool,
      "env: {TZ: America/New_York}",
      "env: {TZ: America/New_York, POLYGON_API_KEY: abc123}",
    );
    await writeFile(
      join(dir, "deployment/work-pools/broken.yaml"),
      broken.replace("name: default", "name: broken"),
    );
    const r = await tickflow(["validate", "deployment/work-pools/broken.yaml"], { cwd: dir });
    expect(r.code).toBe(1);
    const [d] = parseDiagnostics(r.stdout);
    expect(d!.message).toMatch(/"POLYGON_API_KEY" holds a literal secret/);
    expect({ line: d!.line, col: d!.col }).toEqual(positionOf(broken, "abc123"));
  });

  it("prints the same diagnostics as JSON objects with a JSON pointer", async () => {
    const broken = replaceOnce(pipeline, "max_parallel: 8", "max_parallel: eight");
    await writeFile(join(dir, "pipelines/json.yaml"), broken);
    const r = await tickflow(["validate", "--format", "json", "pipelines/json.yaml"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual([
      {
        file: "pipelines/json.yaml",
        ...positionOf(broken, "eight"),
        severity: "error",
        message: '"max_parallel" must be integer, got string "eight"',
        path: "/max_parallel",
      },
    ]);
  });
});

describe("values given by expressions", () => {
  it("are checked against the step's schema with the parameters' defaults", async () => {
    const { dir, cleanup } = await copyExamples();
    try {
      const text = `kind: pipeline
name: range
parameters:
  lookback: {type: integer, default: 0}
tasks:
  fetch:
    uses: polygon.daily_bars
    with: {symbols: [AAPL], start: "2024-01-02", days_back: "\${{ params.lookback }}"}
`;
      await writeFile(join(dir, "range.yaml"), text);
      const r = await tickflow(["validate", "range.yaml"], { cwd: dir });
      expect(r.code).toBe(1);
      const diagnostics = parseDiagnostics(r.stdout);
      const at = positionOf(text, '"${{ params.lookback }}"');
      expect(diagnostics.map((d) => [d.line, d.col, d.message])).toEqual([
        [
          at.line,
          at.col,
          expect.stringMatching(/^with\.days_back: start and days_back cannot be used together/),
        ],
        [at.line, at.col, expect.stringMatching(/^with\.days_back: .*>=1/)],
      ]);
    } finally {
      await cleanup();
    }
  });
});

describe("exit codes", () => {
  it("exits 2 on usage errors", async () => {
    expect((await tickflow(["validate"])).code).toBe(2);
    expect((await tickflow(["validate", "no/such/file.yaml"])).code).toBe(2);
    expect((await tickflow(["frobnicate"])).code).toBe(2);
    expect((await tickflow([])).code).toBe(2);
  });

  it("exits 0 for --help on every verb", async () => {
    for (const verb of ["validate", "plan", "steps", "schemas"]) {
      const r = await tickflow([verb, "--help"]);
      expect(r.code, verb).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Usage: tickflow ${verb}`));
    }
  });
});
