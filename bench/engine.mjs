// Benchmark: engine overhead per task with every state and log persisted. Pipelines whose for_each
// makes 10,000 and 100 `log` instances; `tickflow run` against `tickflow plan` of the same file
// (the floor: start-up, loading, checking and planning), side by side. Overhead per task =
// (run - plan) / instances: scheduling, expressions, parameters, the step, states and logs in DuckDB.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = new URL("../bin/tickflow.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "tickflow-bench-"));

function pipelineFile(n) {
  const items = Array.from({ length: n }, (_, i) => `i${i}`);
  const file = join(dir, `log-${n}.yaml`);
  writeFileSync(
    file,
    `kind: pipeline
name: log-${n}
max_parallel: 64
parameters:
  items: {type: array, items: {type: string}, default: [${items.join(", ")}]}
tasks:
  say:
    uses: log
    for_each: \${{ params.items }}
    with: {message: "hello \${{ item }}"}
`,
  );
  return file;
}

function time(fn) {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

console.log("engine: for_each of `log` tasks, all states and logs persisted (median of 3, whole process)");
for (const n of [100, 10_000]) {
  const file = pipelineFile(n);
  const plans = [];
  const runs = [];
  for (let k = 0; k < 3; k++) {
    plans.push(
      time(() =>
        execFileSync(process.execPath, [bin, "plan", file, "--format", "json"], {
          stdio: "pipe",
          maxBuffer: 256 << 20,
        }),
      ),
    );
    const db = join(dir, `run-${n}-${k}.duckdb`);
    runs.push(
      time(() =>
        execFileSync(process.execPath, [bin, "run", file, "--db", db], {
          stdio: "pipe",
          maxBuffer: 256 << 20,
        }),
      ),
    );
    const count = execFileSync(
      process.execPath,
      [
        bin,
        "query",
        "--db",
        db,
        "--format",
        "csv",
        "SELECT (SELECT count(*) FROM task_runs WHERE state = 'Completed') || '/' || (SELECT count(*) FROM run_logs) || '/' || (SELECT count(*) FROM state_transitions) AS c",
      ],
      { stdio: "pipe" },
    )
      .toString()
      .split("\n")[1];
    if (k === 0)
      console.log(
        `  ${String(n).padStart(6)} tasks: persisted task_runs/run_logs/state_transitions = ${count}`,
      );
  }
  const plan = median(plans);
  const run = median(runs);
  const perTask = ((run - plan) * 1000) / n;
  console.log(
    `  ${String(n).padStart(6)} tasks: run ${run.toFixed(0).padStart(5)} ms, plan (floor) ${plan.toFixed(0).padStart(5)} ms, engine ${(run - plan).toFixed(0).padStart(5)} ms = ${perTask.toFixed(1)} µs/task` +
      (n === 10_000
        ? `   target: engine <= 1000 ms (100 µs/task): ${run - plan <= 1000 ? "met" : "MISSED"}`
        : ""),
  );
}
rmSync(dir, { recursive: true, force: true });
