/**
 * Group commit for bars_daily (and corporate_actions): ingestion steps hand over one symbol's (or
 * one session's) rows at a time and go on fetching; a single drain loop writes whatever has queued
 * up in one transaction (staging table, then INSERT OR REPLACE). Each entry still lands whole or not
 * at all: an entry is never split across transactions, and when a batch fails its entries are
 * written one by one, so only the entry at fault is rejected.
 *
 * Why: a transaction per symbol cost ~25 ms of commit and index work each, four times the whole
 * fetch-and-parse time of a symbol (bench/ingest.mjs).
 */
import { BIGINT, DATE, DOUBLE, type DuckDBConnection, VARCHAR } from "@duckdb/node-api";
import type { Bar, BarsEntry, BarsSink, CorporateAction, WriteResult } from "../market/bars.js";
import { countBarsWritten } from "../metrics/record.js";
import { appendChunks, type RowColumn, rowsToChunks } from "./append.js";
import { recordBarsWrite } from "./bar-symbols.js";
import { withConnectionLock } from "./connection-lock.js";
import { dateValue } from "./values.js";

export interface BarsWriterOptions {
  /**
   * The step's signal: once it aborts, entries not yet written are refused with its reason and
   * nothing more is started (the batch being written is interrupted by the engine and rolled back).
   */
  signal?: AbortSignal;
  /** Rows queued (not yet written) above which `whenReady` waits: bounds memory. Default 300,000. */
  maxQueuedRows?: number;
  /** Most rows written in one transaction. Default 300,000. */
  maxBatchRows?: number;
}

interface Pending {
  entry: BarsEntry;
  rows: number;
  /** The dates each symbol of the entry spans, bars and actions together. */
  spans: Map<string, Span>;
  resolve: (result: WriteResult) => void;
  reject: (error: unknown) => void;
}

interface Span {
  first: string;
  last: string;
}

let stagingCounter = 0;

export class BarsWriter implements BarsSink {
  private readonly queue: Pending[] = [];
  private queuedRows = 0;
  private draining: Promise<void> | undefined;
  private staging: string | undefined;
  private readyWaiters: (() => void)[] = [];
  private readonly maxQueuedRows: number;
  private readonly maxBatchRows: number;

  constructor(
    private readonly db: DuckDBConnection,
    private readonly source: string,
    options: BarsWriterOptions = {},
  ) {
    this.maxQueuedRows = options.maxQueuedRows ?? 300_000;
    this.maxBatchRows = options.maxBatchRows ?? 300_000;
    this.signal = options.signal;
    this.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = () => this.refuseQueued();

  /** Cancelled: what waits is refused, and whoever waits for room goes on (to see the abort). */
  private refuseQueued(): void {
    for (const p of this.queue.splice(0)) {
      this.queuedRows -= p.rows;
      p.reject(this.signal?.reason);
    }
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves when the queue has room for more rows (call before fetching the next entry). */
  whenReady(): Promise<void> {
    if (this.queuedRows < this.maxQueuedRows || this.signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Queues an entry; resolves with its row counts once committed, rejects if it could not be. */
  write(entry: BarsEntry): Promise<WriteResult> {
    const rows = entry.bars.length + (entry.actions?.length ?? 0);
    if (rows === 0) return Promise.resolve({ bars: 0, actions: 0 });
    if (this.signal?.aborted) return Promise.reject(this.signal.reason);
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, rows, spans: spansOf(entry), resolve, reject });
      this.queuedRows += rows;
      this.draining ??= this.drain().finally(() => {
        this.draining = undefined;
      });
    });
  }

  /** Waits for every queued entry, then drops the staging tables. */
  async close(): Promise<void> {
    while (this.draining) await this.draining;
    this.signal?.removeEventListener("abort", this.onAbort);
    if (this.staging !== undefined) {
      const staging = this.staging;
      this.staging = undefined;
      await withConnectionLock(this.db, async () => {
        await this.db.run(`DROP TABLE IF EXISTS temp.main.${staging}_bars`).catch(() => undefined);
        await this.db.run(`DROP TABLE IF EXISTS temp.main.${staging}_actions`).catch(() => undefined);
      });
    }
  }

  private async drain(): Promise<void> {
    // Let the entries that arrive in the same tick join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      const batch: Pending[] = [];
      const spans = new Map<string, Span>();
      let rows = 0;
      // An entry whose keys may repeat one already in the batch waits for the next batch: one
      // INSERT OR REPLACE cannot say which of two rows with one key wins.
      while (this.queue.length > 0) {
        const next = this.queue[0]!;
        if (batch.length > 0 && (rows + next.rows > this.maxBatchRows || overlaps(spans, next.spans))) break;
        this.queue.shift();
        batch.push(next);
        rows += next.rows;
        for (const [symbol, span] of next.spans) {
          const hull = spans.get(symbol);
          spans.set(
            symbol,
            hull === undefined
              ? span
              : {
                  // biome-ignore lint/complexity/useMathMinMax: ISO date strings, not numbers
                  first: span.first < hull.first ? span.first : hull.first,
                  // biome-ignore lint/complexity/useMathMinMax: ISO date strings, not numbers
                  last: span.last > hull.last ? span.last : hull.last,
                },
          );
        }
      }
      try {
        const results = await this.writeBatch(batch.map((p) => p.entry));
        for (const [i, p] of batch.entries()) p.resolve(results[i]!);
      } catch (err) {
        if (batch.length === 1) batch[0]!.reject(err);
        else if (this.signal?.aborted) for (const p of batch) p.reject(this.signal.reason);
        else {
          // One bad entry must not take the others down: write them one by one.
          for (const p of batch) {
            try {
              p.resolve((await this.writeBatch([p.entry]))[0]!);
            } catch (single) {
              p.reject(single);
            }
          }
        }
      }
      this.queuedRows -= rows;
      if (this.queuedRows < this.maxQueuedRows) {
        const waiters = this.readyWaiters;
        this.readyWaiters = [];
        for (const wake of waiters) wake();
      }
    }
  }

  /** Writes entries in one transaction; returns each entry's counts. */
  private writeBatch(entries: readonly BarsEntry[]): Promise<WriteResult[]> {
    const deduped = entries.map((e) => ({
      bars: dedupe(e.bars, (b) => b.date),
      actions: dedupe(e.actions ?? [], (a) => `${a.date}\u0000${a.kind}`),
    }));
    const bars = deduped.flatMap((e) => e.bars);
    const actions = deduped.flatMap((e) => e.actions);
    return withConnectionLock(this.db, async () => {
      const staging = await this.ensureStaging();
      const temp = { schema: "main", catalog: "temp" };
      try {
        await appendChunks(this.db, `${staging}_bars`, rowsToChunks(bars, BAR_COLUMNS), temp);
        await appendChunks(this.db, `${staging}_actions`, rowsToChunks(actions, ACTION_COLUMNS), temp);
        await this.db.run("BEGIN TRANSACTION");
        try {
          const source = sqlString(this.source);
          if (bars.length > 0) {
            await recordBarsWrite(this.db, this.source, `SELECT symbol, date FROM temp.main.${staging}_bars`);
            await this.db.run(`INSERT OR REPLACE INTO bars_daily
              (source, symbol, date, open, high, low, close, volume, vwap, trades, adj_close, ingested_at)
              SELECT ${source}, symbol, date, open, high, low, close, volume, vwap, trades, adj_close, now()
              FROM temp.main.${staging}_bars`);
          }
          if (actions.length > 0) {
            await this.db.run(`INSERT OR REPLACE INTO corporate_actions
              (source, symbol, date, kind, value, currency, ingested_at)
              SELECT ${source}, symbol, date, kind, value, currency, now()
              FROM temp.main.${staging}_actions`);
          }
          await this.db.run("COMMIT");
          countBarsWritten(this.source, bars.length);
        } catch (err) {
          await this.db.run("ROLLBACK").catch(() => undefined);
          throw err;
        }
      } finally {
        await this.db.run(`DELETE FROM temp.main.${staging}_bars`).catch(() => undefined);
        await this.db.run(`DELETE FROM temp.main.${staging}_actions`).catch(() => undefined);
      }
      return deduped.map((e) => ({ bars: e.bars.length, actions: e.actions.length }));
    });
  }

  private async ensureStaging(): Promise<string> {
    if (this.staging !== undefined) return this.staging;
    const staging = `bars_writer_${process.pid}_${++stagingCounter}`;
    await this.db.run(`CREATE TEMP TABLE ${staging}_bars (symbol VARCHAR, date DATE, open DOUBLE,
      high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, vwap DOUBLE, trades BIGINT, adj_close DOUBLE)`);
    await this.db.run(
      `CREATE TEMP TABLE ${staging}_actions (symbol VARCHAR, date DATE, kind VARCHAR, value DOUBLE, currency VARCHAR)`,
    );
    this.staging = staging;
    return staging;
  }
}

/** Per symbol, the first and last date of an entry's rows. */
function spansOf(entry: BarsEntry): Map<string, Span> {
  const spans = new Map<string, Span>();
  const add = (symbol: string, date: string): void => {
    const span = spans.get(symbol);
    if (span === undefined) spans.set(symbol, { first: date, last: date });
    else if (date < span.first) span.first = date;
    else if (date > span.last) span.last = date;
  };
  for (const bar of entry.bars) add(bar.symbol, bar.date);
  for (const action of entry.actions ?? []) add(action.symbol, action.date);
  return spans;
}

/** Whether any symbol of `entry` has dates within the span the batch holds for it. */
function overlaps(batch: Map<string, Span>, entry: Map<string, Span>): boolean {
  for (const [symbol, span] of entry) {
    const held = batch.get(symbol);
    if (held !== undefined && span.first <= held.last && held.first <= span.last) return true;
  }
  return false;
}

/** Rows of one entry keyed by `key` (and symbol), the last one winning; as given when all differ. */
function dedupe<T extends { symbol: string }>(rows: readonly T[], key: (row: T) => string): readonly T[] {
  // Vendors send rows in key order: one pass proves there is nothing to merge.
  let ordered = true;
  for (let i = 1; i < rows.length && ordered; i++) {
    const a = rows[i - 1]!;
    const b = rows[i]!;
    ordered = a.symbol < b.symbol || (a.symbol === b.symbol && key(a) < key(b));
  }
  if (ordered) return rows;
  const byKey = new Map<string, T>();
  for (const row of rows) byKey.set(`${row.symbol}\u0000${key(row)}`, row);
  return [...byKey.values()];
}

/** The staging tables' columns, in their order. */
const BAR_COLUMNS: RowColumn<Bar>[] = [
  { type: VARCHAR, value: (b) => b.symbol },
  { type: DATE, value: (b) => dateValue(b.date) },
  { type: DOUBLE, value: (b) => b.open },
  { type: DOUBLE, value: (b) => b.high },
  { type: DOUBLE, value: (b) => b.low },
  { type: DOUBLE, value: (b) => b.close },
  { type: DOUBLE, value: (b) => b.volume },
  { type: DOUBLE, value: (b) => b.vwap ?? null },
  { type: BIGINT, value: (b) => (b.trades == null ? null : BigInt(Math.round(b.trades))) },
  { type: DOUBLE, value: (b) => b.adj_close ?? null },
];

const ACTION_COLUMNS: RowColumn<CorporateAction>[] = [
  { type: VARCHAR, value: (a) => a.symbol },
  { type: DATE, value: (a) => dateValue(a.date) },
  { type: VARCHAR, value: (a) => a.kind },
  { type: DOUBLE, value: (a) => a.value },
  { type: VARCHAR, value: (a) => a.currency },
];

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
