// Writes tests/fixtures/indicators/talib-golden.json.gz: a deterministic OHLCV data set and
// TA-Lib's outputs for it, which src/indicators and the indicators.compute step are tested against.
// Not run in CI: it needs a built `talib` (node-talib 2.0.5, TA-Lib's C code) module. Usage:
//   node scripts/talib-golden.mjs /tmp/talib-build/node_modules/talib
//   TALIB_MODULE=/path/to/node_modules/talib node scripts/talib-golden.mjs
// See tests/fixtures/indicators/SOURCE.md for how to build that module.
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { mulberry32 as prng } from "./lib/prng.mjs";

const modulePath = process.argv[2] ?? process.env.TALIB_MODULE;
if (!modulePath) {
  console.error("usage: node scripts/talib-golden.mjs <path to a built talib module> (or set TALIB_MODULE)");
  process.exit(2);
}
const talib = createRequire(import.meta.url)(resolve(modulePath));

const SESSIONS = 600;
/** Weekdays from 2022-01-03 (holidays are not skipped: the indicators only see the row order). */
function sessionDates(count) {
  const dates = [];
  const day = new Date(Date.UTC(2022, 0, 3));
  while (dates.length < count) {
    const weekday = day.getUTCDay();
    if (weekday !== 0 && weekday !== 6) dates.push(day.toISOString().slice(0, 10));
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return dates;
}

const round = (x, digits) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * A random walk of `SESSIONS` bars, prices rounded to cents. `flat` is a range of rows where the
 * price does not move at all (open = high = low = close), to exercise TA-Lib's 0-on-flat-range
 * cases (RSI, Stochastic, Williams %R, Bollinger width, ADX carried); one session has no volume.
 */
function series(seed, start, volatility, flat) {
  const random = prng(seed);
  const gauss = () => {
    const u = random() || 1e-12;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  const bars = { open: [], high: [], low: [], close: [], volume: [] };
  let close = start;
  for (let i = 0; i < SESSIONS; i++) {
    if (i >= flat[0] && i < flat[1]) {
      bars.open.push(close);
      bars.high.push(close);
      bars.low.push(close);
      bars.close.push(close);
      bars.volume.push(i === flat[0] + 3 ? 0 : Math.round(200_000 + random() * 50_000));
      continue;
    }
    const open = round(close * (1 + (volatility / 3) * gauss()), 2);
    const next = Math.max(0.5, round(close * (1 + volatility * gauss()), 2));
    const high = round(Math.max(open, next) * (1 + Math.abs(volatility / 2) * random()), 2);
    const low = round(Math.min(open, next) * (1 - Math.abs(volatility / 2) * random()), 2);
    bars.open.push(open);
    bars.high.push(high);
    bars.low.push(low);
    bars.close.push(next);
    bars.volume.push(Math.round(1_000_000 * Math.exp(gauss() * 0.5)));
    close = next;
  }
  return bars;
}

const SYMBOLS = [
  { symbol: "AAA", bars: series(1, 100, 0.02, [300, 340]) },
  { symbol: "BBB", bars: series(2, 12.5, 0.035, [0, 45]) },
  { symbol: "CCC", bars: series(3, 2500, 0.012, [560, 600]) },
];

/** Our indicator name -> the TA-Lib function and options, and the outputs in our order. */
const INDICATORS = {
  sma_5: ["SMA", { optInTimePeriod: 5 }],
  sma_20: ["SMA", { optInTimePeriod: 20 }],
  ema_12: ["EMA", { optInTimePeriod: 12 }],
  ema_26: ["EMA", { optInTimePeriod: 26 }],
  wma_10: ["WMA", { optInTimePeriod: 10 }],
  rsi_14: ["RSI", { optInTimePeriod: 14 }],
  rsi_2: ["RSI", { optInTimePeriod: 2 }],
  macd_12_26_9: ["MACD", { optInFastPeriod: 12, optInSlowPeriod: 26, optInSignalPeriod: 9 }],
  macd_5_35_5: ["MACD", { optInFastPeriod: 5, optInSlowPeriod: 35, optInSignalPeriod: 5 }],
  bbands_20_2: ["BBANDS", { optInTimePeriod: 20, optInNbDevUp: 2, optInNbDevDn: 2, optInMAType: 0 }],
  bbands_10_1: ["BBANDS", { optInTimePeriod: 10, optInNbDevUp: 1, optInNbDevDn: 1, optInMAType: 0 }],
  "bbands_20_2.5": ["BBANDS", { optInTimePeriod: 20, optInNbDevUp: 2.5, optInNbDevDn: 2.5, optInMAType: 0 }],
  atr_14: ["ATR", { optInTimePeriod: 14 }],
  atr_1: ["ATR", { optInTimePeriod: 1 }],
  adx_14: ["ADX", { optInTimePeriod: 14 }],
  adx_5: ["ADX", { optInTimePeriod: 5 }],
  stoch_14_3_3: [
    "STOCH",
    {
      optInFastK_Period: 14,
      optInSlowK_Period: 3,
      optInSlowK_MAType: 0,
      optInSlowD_Period: 3,
      optInSlowD_MAType: 0,
    },
  ],
  stoch_5_1_3: [
    "STOCH",
    {
      optInFastK_Period: 5,
      optInSlowK_Period: 1,
      optInSlowK_MAType: 0,
      optInSlowD_Period: 3,
      optInSlowD_MAType: 0,
    },
  ],
  willr_14: ["WILLR", { optInTimePeriod: 14 }],
  roc_10: ["ROC", { optInTimePeriod: 10 }],
  roc_1: ["ROC", { optInTimePeriod: 1 }],
  obv: ["OBV", {}],
};

const dates = sessionDates(SESSIONS);
const symbols = [];
for (const { symbol, bars } of SYMBOLS) {
  const outputs = {};
  for (const [name, [fn, options]] of Object.entries(INDICATORS)) {
    let result;
    try {
      result = talib.execute({
        name: fn,
        startIdx: 0,
        endIdx: SESSIONS - 1,
        inReal: bars.close,
        open: bars.open,
        high: bars.high,
        low: bars.low,
        close: bars.close,
        volume: bars.volume,
        ...options,
      });
    } catch (err) {
      // TA-Lib refuses some periods (e.g. EMA 1): those names get no golden values.
      console.warn(`${symbol} ${name}: TA-Lib refused it (${err.message}), left out`);
      continue;
    }
    if (result.error) throw new Error(`${name}: ${JSON.stringify(result.error)}`);
    // Every output, in TA-Lib's order (= the order of indicatorOutputNames).
    outputs[name] = {
      begIndex: result.begIndex,
      values: Object.values(result.result),
    };
  }
  symbols.push({ symbol, dates, ...bars, outputs });
}

const out = new URL("../tests/fixtures/indicators/", import.meta.url);
mkdirSync(out, { recursive: true });
const json = JSON.stringify({ talib: talib.version, sessions: SESSIONS, symbols });
writeFileSync(new URL("talib-golden.json.gz", out), gzipSync(json, { level: 9 }));
console.log(
  `wrote ${SYMBOLS.length} symbols x ${SESSIONS} sessions, ${Object.keys(INDICATORS).length} indicators (${json.length} bytes of JSON)`,
);
