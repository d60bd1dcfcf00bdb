// Benchmark: bars into PostgreSQL (issue 16), SYMBOLS symbols x ~2,514 sessions (bench/ingest.mjs's
// bars: its server's price walk and calendar), generated in memory first (untimed). tickflow:
// `BarsWriterPg` (what the ingestion steps' sinks are on PostgreSQL) fed one entry per symbol as the
// steps feed it (`whenReady`, then `write`), closed, into an empty database: group commit, COPY,
// bar_symbols kept. Floor, in the same run: the same rows encoded as CSV and sent by ONE bare
// `COPY bars_daily FROM STDIN` into an empty bars_daily (its primary key, no staging, no upsert, no
// bar_symbols). Target: tickflow within 1.5x of the floor. A second tickflow pass writes the same
// bars again (every key exists: the upsert path) for reference.
// Needs `npm run build:ts` (dist/) and PostgreSQL (else skipped: bench/lib/postgres.mjs).
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { from as copyFrom } from "pg-copy-streams";
import { benchPostgres } from "./lib/postgres.mjs";

const dist = (path) => new URL(`../dist/${path}`, import.meta.url).href;
const { sessionsBetween } = await import(dist("calendar/index.js"));
const { openPgPool } = await import(dist("store/pg/pool.js"));
const { migratePg } = await import(dist("store/pg/migrate.js"));
const { BarsWriterPg } = await import(dist("store/pg/bars-writer.js"));
const { barSymbolsDifferencesPg } = await import(dist("store/pg/bar-symbols.js"));

const SYMBOLS = Number(process.env.BENCH_SYMBOLS ?? 500);
const SOURCE = "polygon";

/** Per symbol, its bars (bench/lib/polygon-server.mjs's walk, scaled per symbol). */
function generateBars() {
  const sessions = sessionsBetween("2016-01-04", "2025-12-31");
  return Array.from({ length: SYMBOLS }, (_, s) => {
    const symbol = `S${String(s).padStart(3, "0")}`;
    let price = 20 + s;
    return sessions.map((date, i) => {
      price *= 1 + Math.sin(i + s) * 0.01;
      const open = +price.toFixed(4);
      return {
        symbol,
        date,
        open,
        high: +(open * 1.01).toFixed(4),
        low: +(open * 0.99).toFixed(4),
        close: +(open * 1.001).toFixed(4),
        volume: 1000000 + i,
        vwap: open,
        trades: 5000 + i,
      };
    });
  });
}

/** The floor: the rows as CSV lines, ~1 MiB per write, through one COPY into bars_daily. */
async function copyFloor(url, entries) {
  const store = await openPgPool(url, { env: {} });
  try {
    await migratePg(store.pool);
    const client = await store.pool.connect();
    try {
      const ingestedAt = new Date().toISOString();
      const started = performance.now();
      function* csv() {
        let block = "";
        for (const bars of entries) {
          for (const b of bars) {
            block += `${SOURCE},${b.symbol},${b.date},${b.open},${b.high},${b.low},${b.close},${b.volume},${b.vwap},${b.trades},,${ingestedAt}\n`;
            if (block.length >= 1 << 20) {
              yield block;
              block = "";
            }
          }
        }
        if (block) yield block;
      }
      const copy = client.query(
        copyFrom(
          "COPY bars_daily (source, symbol, date, open, high, low, close, volume, vwap, trades, adj_close, ingested_at) FROM STDIN WITH (FORMAT csv)",
        ),
      );
      await pipeline(Readable.from(csv(), { objectMode: false }), copy);
      return { ms: performance.now() - started, rows: Number(copy.rowCount) };
    } finally {
      client.release();
    }
  } finally {
    await store.close();
  }
}

/** tickflow: BarsWriterPg, one entry per symbol, as the ingestion steps write (twice over the same bars). */
async function writerRuns(url, entries) {
  const store = await openPgPool(url, { env: {} });
  try {
    await migratePg(store.pool);
    const pass = async () => {
      const started = performance.now();
      const writer = new BarsWriterPg(store.pool, SOURCE);
      const written = [];
      for (const bars of entries) {
        await writer.whenReady();
        written.push(writer.write({ bars }));
      }
      const results = await Promise.all(written);
      await writer.close();
      return { ms: performance.now() - started, rows: results.reduce((n, r) => n + r.bars, 0) };
    };
    const first = await pass();
    const again = await pass();
    const [{ n }] = (await store.pool.query("SELECT count(*)::integer AS n FROM bars_daily")).rows;
    const differences = await barSymbolsDifferencesPg(store.pool);
    if (n !== first.rows || differences.length > 0)
      throw new Error(
        `ingest: ${n} rows stored of ${first.rows}, ${differences.length} bar_symbols differences`,
      );
    return { first, again };
  } finally {
    await store.close();
  }
}

const pg = await benchPostgres();
if (pg.skipped) console.log(`postgres-ingest: skipped: ${pg.skipped}`);
else {
  try {
    const entries = generateBars();
    const floor = await copyFloor(await pg.database("floor"), entries);
    const { first, again } = await writerRuns(await pg.database("writer"), entries);
    const rate = (x) => Math.round((x.rows / x.ms) * 1000).toLocaleString("en-US");
    const row = (label, x) =>
      `  ${label.padEnd(58)} ${x.ms.toFixed(0).padStart(6)} ms  ${rate(x).padStart(10)} rows/s`;
    console.log(
      `postgres-ingest: ${SYMBOLS} symbols x ${entries[0].length} sessions (${floor.rows} bars) into PostgreSQL`,
    );
    console.log(row("floor: one bare COPY bars_daily FROM STDIN (CSV encoded)", floor));
    console.log(row("BarsWriterPg, one entry per symbol, empty table", first));
    console.log(row("BarsWriterPg again, every key exists (reference)", again));
    console.log(
      `  ratio BarsWriterPg/floor ${(first.ms / floor.ms).toFixed(2)}x   target <= 1.5x: ${first.ms / floor.ms <= 1.5 ? "met" : "MISSED"}   (again: ${(again.ms / floor.ms).toFixed(2)}x)`,
    );
  } finally {
    await pg.close();
  }
}
