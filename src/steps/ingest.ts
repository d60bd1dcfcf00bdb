/**
 * How the ingestion steps fetch and write: the date range of their parameters, a small bounded
 * worker pool, and fetch-then-write over it into a `BarsSink`.
 */
import { sessionsBack } from "../calendar/index.js";
import type { BarsEntry, BarsSink, DateRange, WriteResult } from "../market/bars.js";

/** `start`..`end` (end defaults to the run date), or the `days_back` NYSE sessions ending at the run date. */
export function resolveRange(
  params: { start?: string | undefined; end?: string | undefined; days_back?: number | undefined },
  runDate: string,
): DateRange {
  if (params.start !== undefined) {
    const to = params.end ?? runDate;
    if (to < params.start) {
      throw new Error(
        `start (${params.start}) is after the end of the range (${to}, the run date when end is not given)`,
      );
    }
    return { from: params.start, to };
  }
  if (params.days_back !== undefined) {
    const range = sessionsBack(runDate, params.days_back);
    return { from: range.start, to: range.end };
  }
  throw new Error("give either start (and optionally end) or days_back");
}

/** Runs `fn` over `items` with at most `limit` at once; every item runs, failures are collected. */
export async function settleAll<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
  signal?: AbortSignal,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index] as T;
      if (signal?.aborted) {
        results[index] = { status: "rejected", reason: signal.reason };
        continue;
      }
      try {
        results[index] = { status: "fulfilled", value: await fn(item) };
      } catch (reason) {
        results[index] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

export interface IngestOptions<T> {
  /** Items fetched at once. */
  concurrency: number;
  signal: AbortSignal;
  /** Called as an item's rows are committed (per-item progress). */
  onWritten?: (item: T, result: WriteResult) => void;
}

/**
 * Fetches items `concurrency` at a time and hands each one's rows to `sink` without waiting for
 * the write: fetching goes on while earlier rows are committed (the sink batches them). An item's
 * result is its write's, or the fetch's failure; the sink is closed before this returns.
 */
export async function ingestAll<T>(
  items: readonly T[],
  sink: BarsSink,
  fetchOne: (item: T) => Promise<BarsEntry>,
  options: IngestOptions<T>,
): Promise<PromiseSettledResult<WriteResult>[]> {
  const { onWritten } = options;
  const written: Promise<WriteResult>[] = new Array(items.length);
  const fetched = await settleAll(
    items.map((item, index) => ({ item, index })),
    options.concurrency,
    async ({ item, index }) => {
      await sink.whenReady();
      const entry = await fetchOne(item);
      let result = sink.write(entry);
      if (onWritten !== undefined) {
        result = result.then((counts) => {
          onWritten(item, counts);
          return counts;
        });
      }
      // Settled below; keep Node from calling a rejection unhandled in the meantime.
      result.catch(() => undefined);
      written[index] = result;
    },
    options.signal,
  );
  await sink.close();
  return Promise.all(
    fetched.map(async (outcome, index): Promise<PromiseSettledResult<WriteResult>> => {
      if (outcome.status === "rejected") return outcome;
      try {
        return { status: "fulfilled", value: await written[index]! };
      } catch (reason) {
        return { status: "rejected", reason };
      }
    }),
  );
}

/** The message of a failed item, prefixed with its name unless it already starts with it. */
export function failureMessage(name: string, reason: unknown): string {
  const message = reason instanceof Error ? reason.message : String(reason);
  return message.startsWith(`${name}:`) ? message : `${name}: ${message}`;
}

/** The abort reason of `signal` as an Error. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error("cancelled");
}
