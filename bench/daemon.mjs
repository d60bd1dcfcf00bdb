// Benchmark: the daemon with 1,000 deployments with cron schedules (varied patterns and zones, a
// third on XNYS). (1) One scheduler pass against the real database (read schedules, compute fire
// times for the horizon, insert new runs, mark Late): the first pass, which creates the hour's
// runs, and the steady passes after it (median), against the 50 ms target. (2) The idle memory
// (RSS) of a real `tickflow daemon` process holding those deployments, against 200 MB.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { registerDeployments } from "../dist/daemon/deploy.js";
import { schedulePass } from "../dist/daemon/scheduler.js";
import { scheduleId } from "../dist/schedule/run-key.js";
import { openStore } from "../dist/store/index.js";

const N = 1000;
const bin = new URL("../bin/tickflow.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "tickflow-bench-daemon-"));
const zones = ["America/New_York", "UTC", "Europe/London", "Asia/Tokyo", "America/Chicago"];
const cron = (i) =>
  [`${i % 60} ${i % 24} * * *`, `${i % 60} 17 * * 1-5`, `*/${5 + (i % 10)} * * * *`, `0 ${i % 24} * * 1,3,5`][
    i % 4
  ];
const schedule = (i) => ({
  cron: cron(i),
  timezone: zones[i % zones.length],
  ...(i % 3 === 0 ? { calendar: "XNYS" } : {}),
});
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function passes() {
  const store = await openStore(join(dir, "pass.duckdb"));
  const now = new Date("2026-03-09T14:00:00Z");
  const records = Array.from({ length: N }, (_, i) => ({
    name: `dep-${i}`,
    pipeline: "p",
    pipelineFile: join(dir, "p.yaml"),
    parameters: {},
    workPool: null,
    workQueue: null,
    concurrencyLimit: null,
    collisionStrategy: "enqueue",
    missedRuns: "latest",
    tags: [],
    paused: false,
    schedules: [{ id: scheduleId(schedule(i)), position: 0, definition: schedule(i), active: true }],
  }));
  await registerDeployments(store.db, records, [], now);
  let t = performance.now();
  const first = await schedulePass(store.db, now);
  const firstMs = performance.now() - t;
  const steady = [];
  for (let k = 1; k <= 15; k++) {
    t = performance.now();
    await schedulePass(store.db, new Date(now.getTime() + k * 10_000));
    steady.push(performance.now() - t);
  }
  await store.close();
  return { firstMs, created: first.created, steadyMs: median(steady) };
}

async function idleRss() {
  mkdirSync(join(dir, "project/pipelines"), { recursive: true });
  mkdirSync(join(dir, "project/deployment"), { recursive: true });
  writeFileSync(
    join(dir, "project/pipelines/p.yaml"),
    "kind: pipeline\nname: p\ntasks:\n  hello: {uses: log, with: {message: hi}}\n",
  );
  const lines = ["kind: deployments", "deployments:"];
  for (let i = 0; i < N; i++) {
    const s = schedule(i);
    lines.push(
      `  - name: dep-${i}`,
      "    pipeline: ../pipelines/p.yaml",
      `    schedules: [{cron: "${s.cron}", timezone: ${s.timezone}${s.calendar ? ", calendar: XNYS" : ""}, active: false}]`,
    );
  }
  writeFileSync(join(dir, "project/deployment/tickflow.yaml"), `${lines.join("\n")}\n`);
  // Schedules inactive: the daemon holds 1,000 deployments but runs nothing, so it is idle.
  const child = spawn(process.execPath, [bin, "daemon", "--db", join(dir, "daemon.duckdb"), "--port", "0"], {
    cwd: join(dir, "project"),
    env: { ...process.env, TICKFLOW_LOG_FORMAT: "json" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  await new Promise((resolve, reject) => {
    child.stderr.on("data", (d) => {
      err += d;
      if (err.includes("listening on")) resolve();
    });
    child.on("close", () => reject(new Error(`daemon exited: ${err}`)));
  });
  await new Promise((r) => setTimeout(r, 12_000)); // past the first scheduler pass, then idle
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  child.kill("SIGTERM");
  await new Promise((r) => child.on("close", r));
  return rssKb / 1024;
}

try {
  const p = await passes();
  const rss = await idleRss();
  console.log(`daemon: ${N} deployments with cron schedules`);
  console.log(
    `  scheduler pass (database): first ${p.firstMs.toFixed(1)} ms (created ${p.created} runs for the hour), steady median ${p.steadyMs.toFixed(1)} ms   target < 50 ms: ${p.steadyMs < 50 ? "met" : "MISSED"}`,
  );
  console.log(`  daemon idle RSS ${rss.toFixed(0)} MB   target < 200 MB: ${rss < 200 ? "met" : "MISSED"}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
