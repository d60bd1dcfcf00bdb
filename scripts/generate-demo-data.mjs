#!/usr/bin/env node
/**
 * Generates the synthetic daily-bar sample of the offline demo: pipelines/data/demo-synthetic-bars.csv.gz.
 *
 * Deterministic: a seeded PRNG (mulberry32) drives a geometric random walk per symbol over the NYSE
 * sessions from 2016-01-04 to 2025-12-31 (the repo's own calendar, so run `npm run build:ts` first).
 * The prices are made up; no corporate actions (adj_close = close). Run: node scripts/generate-demo-data.mjs
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { sessionsBetween } from "../dist/calendar/index.js";
import { mulberry32 } from "./lib/prng.mjs";

const SEED = 20160104;
const START = "2016-01-04";
const END = "2025-12-31";
/** symbol -> [first close, yearly drift, yearly volatility, mean daily volume] */
const SYMBOLS = {
  SYNA: [42.5, 0.08, 0.22, 3_500_000],
  SYNB: [118.0, 0.05, 0.3, 1_200_000],
  SYNC: [17.25, 0.11, 0.45, 8_000_000],
  SYND: [63.8, 0.02, 0.16, 600_000],
};

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "pipelines", "data", "demo-synthetic-bars.csv.gz");

const random = mulberry32(SEED);
/** Standard normal (Box-Muller). */
function normal() {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
const round4 = (x) => Math.round(x * 10_000) / 10_000;

const sessions = sessionsBetween(START, END);
const lines = ["symbol,date,open,high,low,close,volume,vwap,trades,adj_close"];
for (const [symbol, [first, drift, vol, meanVolume]] of Object.entries(SYMBOLS)) {
  const dailyVol = vol / Math.sqrt(252);
  const dailyDrift = drift / 252 - (dailyVol * dailyVol) / 2;
  let previousClose = first;
  for (const date of sessions) {
    const gap = 0.25 * dailyVol * normal();
    const open = round4(previousClose * Math.exp(gap));
    const close = round4(open * Math.exp(dailyDrift + dailyVol * normal()));
    const range = dailyVol * (0.3 + 0.7 * random());
    const high = round4(Math.max(open, close) * (1 + range * random()));
    const low = round4(Math.min(open, close) * (1 - range * random()));
    const volume = Math.round(meanVolume * Math.exp(0.35 * normal()));
    const weight = random();
    // Between low and high, leaning to the middle of open and close.
    const vwap = round4(
      Math.min(high, Math.max(low, weight * ((open + close) / 2) + (1 - weight) * ((high + low) / 2))),
    );
    const trades = Math.max(1, Math.round(volume / (80 + 40 * random())));
    lines.push(`${symbol},${date},${open},${high},${low},${close},${volume},${vwap},${trades},${close}`);
    previousClose = close;
  }
}

mkdirSync(dirname(out), { recursive: true });
const gz = gzipSync(`${lines.join("\n")}\n`, { level: 9 });
writeFileSync(out, gz);
console.log(
  `wrote ${out}: ${lines.length - 1} rows (${Object.keys(SYMBOLS).length} symbols x ${sessions.length} sessions), ${gz.length} bytes`,
);
