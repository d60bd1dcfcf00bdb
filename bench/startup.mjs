// Benchmark: start-up of the single executable, `build/tickflow --version` (which must not load
// DuckDB), against the floor of starting Node itself (`node -e 0`), side by side; and its size.
// Runs alternate between the two commands so that load on the machine hits both alike.
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const RUNS = 20;
const TARGET_RATIO = 1.3;
const TARGET_MB = 180;
const bin = new URL("../build/tickflow", import.meta.url).pathname;

console.log("startup: build/tickflow --version vs node -e 0 (median of %d runs, whole process)", RUNS);
if (!existsSync(bin)) {
  console.log("  skipped: build/tickflow is missing (run: npm run build)");
} else {
  const time = (file, args) => {
    const t = process.hrtime.bigint();
    execFileSync(file, args, { stdio: "ignore" });
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  time(bin, ["--version"]); // warm the page cache
  const node = [];
  const tickflow = [];
  for (let i = 0; i < RUNS; i++) {
    node.push(time(process.execPath, ["-e", "0"]));
    tickflow.push(time(bin, ["--version"]));
  }
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2;
  };
  const floor = median(node);
  const ours = median(tickflow);
  const ratio = ours / floor;
  const mb = statSync(bin).size / 1e6;
  console.log(`  node -e 0 (floor)            ${floor.toFixed(0).padStart(6)} ms`);
  console.log(
    `  tickflow --version           ${ours.toFixed(0).padStart(6)} ms   ${ratio.toFixed(2)}x floor (target <= ${TARGET_RATIO}x: ${ratio <= TARGET_RATIO ? "ok" : "OVER"})`,
  );
  console.log(
    `  binary size                  ${mb.toFixed(1).padStart(6)} MB   (target < ${TARGET_MB} MB: ${mb < TARGET_MB ? "ok" : "OVER"})`,
  );
}
