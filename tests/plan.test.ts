import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDiagnostics, tempDir, tickflowHere as tickflow } from "./helpers/cli.js";

interface PlanJson {
  pipeline: string;
  run_date: string;
  params: Record<string, unknown>;
  tasks: { id: string; uses: string; needs: string[] }[];
}

const symbols = Array.from({ length: 500 }, (_, i) => `S${String(i).padStart(3, "0")}`);

const fanOut = `kind: pipeline
name: fan-out
parameters:
  symbols: {type: array, items: {type: string}, default: [${symbols.join(", ")}]}
  days_back: {type: integer, default: 5, minimum: 1}
tasks:
  fetch:
    uses: yahoo.daily_bars
    for_each: \${{ params.symbols }}
    with: {symbols: ["\${{ item }}"], days_back: "\${{ params.days_back }}"}
  check:
    uses: validate.ohlcv
    for_each: \${{ params.symbols }}
    needs: [fetch]
    with: {source: yahoo, symbols: ["\${{ item }}"]}
  summary:
    uses: log
    needs: [check]
    with: {message: "checked \${{ run.date }}"}
`;

describe("tickflow plan", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeFile(join(dir, "fan-out.yaml"), fanOut);
  });
  afterAll(() => cleanup());

  it("fans a 500-symbol for_each out into instances with their needs rewired", async () => {
    const r = await tickflow(["plan", join(dir, "fan-out.yaml"), "--format", "json", "--date", "2025-01-10"]);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as PlanJson;
    expect(plan.pipeline).toBe("fan-out");
    expect(plan.run_date).toBe("2025-01-10");
    expect(plan.tasks).toHaveLength(1001);
    const fetches = plan.tasks.filter((t) => t.uses === "yahoo.daily_bars");
    const checks = plan.tasks.filter((t) => t.uses === "validate.ohlcv");
    expect(fetches.map((t) => t.id)).toEqual(symbols.map((s) => `fetch[${s}]`));
    expect(checks.map((t) => t.id)).toEqual(symbols.map((s) => `check[${s}]`));
    for (const t of fetches) expect(t.needs).toEqual([]);
    // Same items on both sides: each instance waits for its own symbol only.
    for (const [i, t] of checks.entries()) expect(t.needs).toEqual([`fetch[${symbols[i]}]`]);
    // A plain task after a fan-out waits for every instance.
    const summary = plan.tasks.at(-1)!;
    expect(summary).toEqual({ id: "summary", uses: "log", needs: symbols.map((s) => `check[${s}]`) });
    // Topological: every need comes earlier.
    const position = new Map(plan.tasks.map((t, i) => [t.id, i]));
    for (const t of plan.tasks)
      for (const n of t.needs) expect(position.get(n)!).toBeLessThan(position.get(t.id)!);
  });

  it("takes --param values converted to their declared types", async () => {
    const r = await tickflow([
      "plan",
      join(dir, "fan-out.yaml"),
      "--json",
      "--param",
      "symbols=AAPL, MSFT",
      "-p",
      "days_back=3",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as PlanJson;
    expect(plan.params).toEqual({ symbols: ["AAPL", "MSFT"], days_back: 3 });
    expect(plan.tasks.map((t) => t.id)).toEqual([
      "fetch[AAPL]",
      "fetch[MSFT]",
      "check[AAPL]",
      "check[MSFT]",
      "summary",
    ]);
    expect(plan.tasks[2]!.needs).toEqual(["fetch[AAPL]"]);
  });

  it("rejects bad --param values as usage errors (exit 2)", async () => {
    const file = join(dir, "fan-out.yaml");
    const cases: [string[], RegExp][] = [
      [["--param", "days_back=three"], /--param days_back: expected an integer, got "three"/],
      [["--param", "days_back=0"], /--param days_back: must be >= 1/],
      [
        ["--param", "day_back=3"],
        /--param day_back: is not a parameter of this pipeline \(known: symbols, days_back\)/,
      ],
      [["--param", "days_back"], /--param expects NAME=VALUE/],
      [["--date", "2025-02-30"], /--date expects YYYY-MM-DD/],
      [["--format", "dot"], /argument 'dot' is invalid/],
    ];
    for (const [args, message] of cases) {
      const r = await tickflow(["plan", file, ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it("checks resolved parameters against the step's schema", async () => {
    const file = join(dir, "range.yaml");
    const text = `kind: pipeline
name: range
parameters:
  start: {type: date, default: "2024-01-02"}
tasks:
  fetch:
    uses: polygon.daily_bars
    with: {symbols: [AAPL], start: "\${{ params.start }}", days_back: 5}
`;
    await writeFile(file, text);
    const r = await tickflow(["plan", file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const [d] = parseDiagnostics(r.stderr);
    expect(d!.message).toMatch(/^with\.days_back: .*start/);
    expect(d!.line).toBe(8);
  });

  it("resolves required parameters from --param and reports them missing otherwise", async () => {
    const file = join(dir, "required.yaml");
    await writeFile(
      file,
      "kind: pipeline\nname: req\nparameters:\n  who: {type: string}\ntasks:\n  hi: {uses: log, with: {message: 'hi ${{ params.who }}'}}\n",
    );
    expect((await tickflow(["plan", file])).stderr).toMatch(/--param who: is required/);
    const r = await tickflow(["plan", file, "--param", "who=world"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^pipeline req {2}run date \d{4}-\d{2}-\d{2} {2}who="world"\n {3}1 {2}hi {4}log\n1 task instance\n$/,
    );
  });

  it("prints a mermaid flowchart", async () => {
    const r = await tickflow([
      "plan",
      "pipelines/yahoo_daily.yaml",
      "--format",
      "mermaid",
      "--param",
      "symbols=AAPL,SPY",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        "flowchart TD",
        '  t0["fetch[AAPL]<br/><small>yahoo.daily_bars</small>"]',
        '  t1["fetch[SPY]<br/><small>yahoo.daily_bars</small>"]',
        '  t2["validate<br/><small>validate.ohlcv</small>"]',
        '  t3["summary<br/><small>sql</small>"]',
        '  t4["report<br/><small>log</small>"]',
        "  t0 --> t2",
        "  t1 --> t2",
        "  t2 --> t3",
        "  t3 --> t4",
        "",
      ].join("\n"),
    );
  });

  it("plans every example pipeline", async () => {
    for (const name of ["polygon_daily", "yahoo_daily", "validation", "indicators", "cleanup", "demo"]) {
      const r = await tickflow(["plan", `pipelines/${name}.yaml`, "--json", "--date", "2025-03-03"]);
      expect(r.code, `${name}: ${r.stdout}${r.stderr}`).toBe(0);
      expect((JSON.parse(r.stdout) as PlanJson).tasks.length).toBeGreaterThan(0);
    }
  });

  it("reports a for_each that does not give a list at its position", async () => {
    const file = join(dir, "bad-for-each.yaml");
    await writeFile(
      file,
      "kind: pipeline\nname: x\nparameters:\n  n: {type: integer, default: 3}\ntasks:\n  t:\n    uses: log\n    for_each: ${{ params.n }}\n    with: {message: x}\n",
    );
    const r = await tickflow(["plan", file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(parseDiagnostics(r.stderr)[0]).toMatchObject({
      line: 8,
      col: 15,
      message: "for_each must give a list, got 3",
    });
  });
});
