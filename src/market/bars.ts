/**
 * Daily bars and corporate actions as tickflow handles them: what sources return, what steps hand
 * to a sink, and what the store writes. Neutral ground, so that neither side imports the other.
 */

/** One daily bar as bars_daily stores it (the source label is the sink's). */
export interface Bar {
  symbol: string;
  /** Session date `YYYY-MM-DD` in the exchange time zone. */
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number | null;
  /** Volume-weighted average price (Polygon). */
  vwap?: number | null;
  /** Number of trades (Polygon). */
  trades?: number | null;
  /** Split- and dividend-adjusted close (Yahoo). */
  adj_close?: number | null;
}

/** A split or dividend as corporate_actions stores it (the source label is the sink's). */
export interface CorporateAction {
  symbol: string;
  /** `YYYY-MM-DD`: the execution date of a split, the ex-dividend date of a dividend. */
  date: string;
  kind: "split" | "dividend";
  /** Split: new shares per old share (4:1 is 4); dividend: cash per share. */
  value: number;
  /** A dividend's currency (null when unknown); null for splits. */
  currency: string | null;
}

/** Rows that must land together: one symbol's bars (and actions), or one session's bars. */
export interface BarsEntry {
  bars: readonly Bar[];
  actions?: readonly CorporateAction[];
}

/** Rows an entry wrote (inserted or replaced), duplicate keys within the entry counted once. */
export interface WriteResult {
  bars: number;
  actions: number;
}

/**
 * Where a step writes bars (the store provides it): entries queue and are committed in the
 * background, each whole or not at all, so that the step can go on fetching meanwhile.
 */
export interface BarsSink {
  /** Resolves when the sink has room for more rows: wait before fetching the next entry. */
  whenReady(): Promise<void>;
  /** Queues an entry; resolves with its counts once committed, rejects when it could not be. */
  write(entry: BarsEntry): Promise<WriteResult>;
  /** Waits for every queued entry, then releases what the sink holds. */
  close(): Promise<void>;
}

/** The sinks a step reaches the store through. */
export interface StepSinks {
  /** A sink whose rows are stored under the source label `source`. */
  bars(source: string): BarsSink;
}

/** Session dates `YYYY-MM-DD`, both inclusive. */
export interface DateRange {
  from: string;
  to: string;
}
