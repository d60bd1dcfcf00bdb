// Benchmark: `tickflow plan` of a pipeline whose for_each runs over 500 symbols (1,001 instances),
// the whole CLI process timed, against the floor of starting Node itself, side by side.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const RUNS = 9;
const bin = new URL("../bin/tickflow.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "tickflow-bench-"));
const symbols = Array.from({ length: 500 }, (_, i) => `S${String(i).padStart(3, "0")}`);
const file = join(dir, "fan-out.yaml");
writeFileSync(
  file,
  `kind: pipeline
name: fan-out
parameters:
  symbols: {type: array, items: {type: string}, default: [${symbols.join(", ")}]}
tasks:
  fetch:
    uses: yahoo.daily_bars
    for_each: \${{ params.symbols }}
    with: {symbols: ["\${{ item }}"], days_back: 5}
  check:
    uses: validate.ohlcv
    for_each: \${{ params.symbols }}
    needs: [fetch]
    with: {source: yahoo, symbols: ["\${{ item }}"]}
  summary: {uses: log, needs: [check], with: {message: done}}
`,
);

function median(fn) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const floor = median(() => execFileSync(process.execPath, ["-e", "0"]));
let instances = 0;
const plan = median(() => {
  const out = execFileSync(process.execPath, [bin, "plan", file, "--format", "json"], {
    maxBuffer: 64 << 20,
  });
  instances = JSON.parse(out).tasks.length;
});
const validate = median(() => execFileSync(process.execPath, [bin, "validate", file], { stdio: "pipe" }));
rmSync(dir, { recursive: true, force: true });

console.log("plan: 500-symbol for_each (median of %d runs, whole process)", RUNS);
console.log(`  node -e 0 (floor)            ${floor.toFixed(0).padStart(6)} ms`);
console.log(
  `  tickflow validate            ${validate.toFixed(0).padStart(6)} ms   ${(validate / floor).toFixed(1)}x floor`,
);
console.log(
  `  tickflow plan (${instances} tasks)    ${plan.toFixed(0).padStart(6)} ms   ${(plan / floor).toFixed(1)}x floor   target < 1000 ms: ${plan < 1000 ? "met" : "MISSED"}`,
);
