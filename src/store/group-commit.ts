/**
 * Group commit of bars (and corporate actions), whatever the backend: ingestion steps hand over one
 * symbol's (or one session's) rows at a time and go on fetching; a single drain loop writes whatever
 * has queued up in one transaction. Each entry still lands whole or not at all: an entry is never
 * split across transactions, and when a batch fails its entries are written one by one, so only the
 * entry at fault is rejected.
 *
 * The backends differ only in how one batch of rows is written (`writeRows`: DuckDB's appender and
 * INSERT OR REPLACE in `bars-writer.ts`, PostgreSQL's COPY and ON CONFLICT in `pg/bars-writer.ts`)
 * and what they release at the end (`release`): the queue, batching, back-pressure, cancellation,
 * de-duplication and counting are this class's, the same for both.
 *
 * Why: a transaction per symbol cost ~25 ms of commit and index work each on DuckDB, four times the
 * whole fetch-and-parse time of a symbol (bench/ingest.mjs).
 */
import type { Bar, BarsEntry, BarsSink, CorporateAction, WriteResult } from "../market/bars.js";
import { countBarsWritten } from "../metrics/record.js";

export interface BarsWriterOptions {
  /**
   * The step's signal: once it aborts, entries not yet written are refused with its reason and
   * nothing more is started (on DuckDB, the batch being written is interrupted by the engine and
   * rolled back; on PostgreSQL it finishes, its transaction being short).
   */
  signal?: AbortSignal;
  /** Rows queued (not yet written) above which `whenReady` waits: bounds memory. Default 300,000. */
  maxQueuedRows?: number;
  /** Most rows written in one transaction. Default 300,000. */
  maxBatchRows?: number;
}

/** The rows of one batch: no key twice (entries de-duplicated, overlapping entries in other batches). */
export interface BarsBatch {
  bars: readonly Bar[];
  actions: readonly CorporateAction[];
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

export abstract class GroupCommitWriter implements BarsSink {
  private readonly queue: Pending[] = [];
  private queuedRows = 0;
  private draining: Promise<void> | undefined;
  private readyWaiters: (() => void)[] = [];
  private readonly maxQueuedRows: number;
  private readonly maxBatchRows: number;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = () => this.refuseQueued();

  constructor(
    protected readonly source: string,
    options: BarsWriterOptions = {},
  ) {
    this.maxQueuedRows = options.maxQueuedRows ?? 300_000;
    this.maxBatchRows = options.maxBatchRows ?? 300_000;
    this.signal = options.signal;
    this.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  /** Writes one batch under `this.source` in one transaction: all of it, or nothing (then throws). */
  protected abstract writeRows(batch: BarsBatch): Promise<void>;

  /** Releases what the writes held (staging tables), once every entry is settled. */
  protected abstract release(): Promise<void>;

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

  /** Waits for every queued entry, then releases the staging. */
  async close(): Promise<void> {
    while (this.draining) await this.draining;
    this.signal?.removeEventListener("abort", this.onAbort);
    await this.release();
  }

  private async drain(): Promise<void> {
    // Let the entries that arrive in the same tick join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      const batch: Pending[] = [];
      const spans = new Map<string, Span>();
      let rows = 0;
      // An entry whose keys may repeat one already in the batch waits for the next batch: one
      // INSERT OR REPLACE (or ON CONFLICT DO UPDATE) cannot say which of two rows with one key wins.
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
  private async writeBatch(entries: readonly BarsEntry[]): Promise<WriteResult[]> {
    const deduped = entries.map((e) => ({
      bars: dedupe(e.bars, (b) => b.date),
      actions: dedupe(e.actions ?? [], (a) => `${a.date}\u0000${a.kind}`),
    }));
    const bars = deduped.flatMap((e) => e.bars);
    await this.writeRows({ bars, actions: deduped.flatMap((e) => e.actions) });
    countBarsWritten(this.source, bars.length);
    return deduped.map((e) => ({ bars: e.bars.length, actions: e.actions.length }));
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

/** A bar's trade count as stored (a BIGINT): rounded; null when unknown. Throws on NaN/infinities. */
export function tradesOf(bar: Bar): bigint | null {
  return bar.trades == null ? null : BigInt(Math.round(bar.trades));
}
