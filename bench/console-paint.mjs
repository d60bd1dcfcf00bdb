// Benchmark: the console in Chromium. The overview's first meaningful paint (navigation start to
// the overview's data on screen: the "Runs, last 24 h" counts, drawn from /api/overview) over the
// big database of console-data.mjs, served by `tickflow ui` (the same console and routes as the
// daemon, read-only), a fresh browser context (cold cache) per load; against the 1 s target.
// And the first load's JS + CSS, gzipped, against the 250 KB budget (ui/size.mjs).
// Needs Debian's chromium (or TICKFLOW_CHROMIUM), the console build and the cached database
// (console-data.mjs makes it; `npm run bench` runs that first).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const LOADS = 15;
const TARGET_MS = 1000;
const root = new URL("..", import.meta.url).pathname;
const cacheDir = join(root, "bench", ".cache");

console.log("console paint: the overview's first meaningful paint in Chromium (cold context each load)");

const size = JSON.parse(
  execFileSync(process.execPath, [join(root, "ui", "size.mjs"), "--json"], { encoding: "utf8" }),
);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(
  `  first load JS + CSS: ${kb(size.first_load.raw)}, gzip ${kb(size.first_load.gzip)} (budget ${kb(size.budget_gzip)}: ${(size.first_load.gzip / size.budget_gzip).toFixed(2)}x)`,
);
for (const chunk of size.lazy) console.log(`  lazy ${chunk.file}: gzip ${kb(chunk.gzip)}`);

const chromiumPath =
  process.env.TICKFLOW_CHROMIUM ??
  ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
const database = existsSync(cacheDir)
  ? readdirSync(cacheDir)
      .filter((f) => /^console-data-.*\.duckdb$/.test(f))
      .map((f) => join(cacheDir, f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
  : undefined;

if (!chromiumPath) console.log("  paint skipped: no Chromium (apt-get install chromium)");
else if (!database) console.log("  paint skipped: no database (run: node bench/console-data.mjs)");
else await measurePaint(chromiumPath, database);

async function measurePaint(executablePath, dbPath) {
  const { chromium } = await import("playwright-core");
  // Opened for writing once, so a cache made by an older tickflow is migrated (`ui` only reads).
  const { openStore } = await import("../dist/store/index.js");
  await (await openStore(dbPath)).close();
  const ui = spawn(
    process.execPath,
    [join(root, "bin", "tickflow.js"), "ui", "--db", dbPath, "--port", "0"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  ui.stderr.on("data", (d) => {
    stderr += d;
  });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    ui.stdout.on("data", (d) => {
      out += d;
      const m = /https?:\/\/[^\s/]+\//.exec(out);
      if (m) resolve(m[0]);
    });
    ui.once("exit", (code) => reject(new Error(`tickflow ui exited ${code}: ${stderr.trim()}`)));
  });
  const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
  try {
    const times = [];
    for (let i = 0; i < LOADS + 1; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(url);
      await page.waitForSelector('[data-testid="runs-24h"]', { timeout: 30_000 });
      const ms = await page.evaluate(() => performance.now());
      if (i > 0) times.push(ms); // the first load warms the server's file cache
      await context.close();
    }
    times.sort((a, b) => a - b);
    const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
    console.log(
      `  overview paint over ${dbPath.replace(`${root}/`, "")}: p50 ${at(0.5).toFixed(0)} ms, p95 ${at(0.95).toFixed(0)} ms (target ${TARGET_MS} ms: ${(at(0.95) / TARGET_MS).toFixed(2)}x)`,
    );
  } finally {
    await browser.close();
    ui.kill("SIGTERM");
  }
}
