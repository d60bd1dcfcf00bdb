// Benchmark: one scheduler pass over 1,000 deployments with cron schedules (varied patterns and
// zones, a third on the XNYS calendar): every deployment's fire times in the next 10 minutes.
// Median of several passes, against the 50 ms target. The first pass (cold: patterns parsed,
// triggers compiled) is shown apart; the scheduler keeps compiled schedules between passes.
import { fireTimes } from "../dist/schedule/fire-times.js";

const PASSES = 21;
const WINDOW_MS = 10 * 60_000;
const zones = [
  "America/New_York",
  "UTC",
  "Europe/London",
  "Asia/Tokyo",
  "America/Chicago",
  "Australia/Sydney",
];
const patterns = [
  (i) => `${i % 60} ${i % 24} * * *`,
  (i) => `${i % 60} 17 * * 1-5`,
  (i) => `*/${1 + (i % 15)} * * * *`,
  (i) => `${i % 60} */2 * * *`,
  (i) => `0 ${i % 24} * * 1,3,5`,
  (i) => `${i % 60} 9-16 * * 1-5`,
  () => "* * * * *",
  (i) => `0 ${i % 60} ${i % 24} 1 * *`, // six fields, with seconds
];

const deployments = Array.from({ length: 1000 }, (_, i) => ({
  name: `dep-${i}`,
  schedules: [
    {
      cron: patterns[i % patterns.length](i),
      timezone: zones[i % zones.length],
      ...(i % 3 === 0 ? { calendar: "XNYS" } : {}),
    },
  ],
}));

function pass(now) {
  const until = new Date(now.getTime() + WINDOW_MS);
  let fires = 0;
  for (const d of deployments) for (const s of d.schedules) fires += fireTimes(s, now, until).fires.length;
  return fires;
}

// A weekday afternoon in New York, passes 10 minutes apart as the scheduler would make them.
const start = Date.parse("2026-03-09T19:00:00Z");
let fires = 0;
let t = process.hrtime.bigint();
pass(new Date(start));
const cold = Number(process.hrtime.bigint() - t) / 1e6;
const times = [];
for (let i = 1; i <= PASSES; i++) {
  t = process.hrtime.bigint();
  fires = pass(new Date(start + i * WINDOW_MS));
  times.push(Number(process.hrtime.bigint() - t) / 1e6);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];

console.log("schedule: one scheduler pass, 1,000 cron deployments, next 10 minutes (median of %d)", PASSES);
console.log(`  first pass (cold)            ${cold.toFixed(1).padStart(6)} ms`);
console.log(
  `  pass (${fires} fires)       ${median.toFixed(1).padStart(6)} ms   target < 50 ms: ${median < 50 ? "met" : "MISSED"}`,
);
