import {
  DATE,
  DOUBLE,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBDateValue,
  type DuckDBType,
  INTEGER,
  VARCHAR,
} from "@duckdb/node-api";
import { z } from "zod";
import type { StepContext } from "../pipeline/step-spec.js";
import { defineStep } from "../pipeline/step-spec.js";
import { appendChunks, appendColumns } from "../store/append.js";
import {
  deleteRewrittenRows,
  ensureIndicatorColumns,
  ensureSeries,
  INDICATOR_TABLE,
  type IndicatorStaging,
  lastIndicatorDays,
  mergeIndicatorBatch,
  overlappingRows,
} from "../store/indicators.js";
import { abortReason, interruptibly } from "../store/interrupt.js";
import { sourceName, symbols } from "./common.js";
import { computeIndicatorsPg } from "./indicators-compute-pg.js";
import {
  BATCH_BARS,
  type BatchSymbol,
  barsBySymbol,
  batchesOf,
  type ComputeOptions,
  computedMessage,
  computeOutputs,
  type IndicatorPlan,
  isWritten,
  type PlannedIndicator,
  pendingSymbols,
  type SymbolBars,
  writtenAfter,
} from "./indicators-work.js";

export type { ComputeOptions } from "./indicators-work.js";

/** A period: a positive integer without leading zeros. */
const N = "[1-9]\\d*";
/** The Bollinger Bands width in standard deviations: 2 or 2.5, written without redundant zeros. */
const K = "(?:0|[1-9]\\d*)(?:\\.\\d*[1-9])?";

/**
 * The indicator names of SPEC section 3, as a JSON Schema / RegExp pattern. Periods are positive
 * integers without leading zeros, so every indicator has exactly one spelling (`sma_20`, not `sma_020`).
 */
export const INDICATOR_PATTERN = `^(?:(?:sma|ema|wma|rsi|atr|adx|willr|roc|vwap)_${N}|macd_${N}_${N}_${N}|bbands_${N}_${K}|stoch_${N}_${N}_${N}|obv)$`;
const INDICATOR_RE = new RegExp(INDICATOR_PATTERN);

export const INDICATOR_KINDS = [
  "sma",
  "ema",
  "wma",
  "rsi",
  "macd",
  "bbands",
  "atr",
  "adx",
  "stoch",
  "willr",
  "roc",
  "obv",
  "vwap",
] as const;
export type IndicatorKind = (typeof INDICATOR_KINDS)[number];

export interface ParsedIndicator {
  kind: IndicatorKind;
  /** The numbers after the kind, in order: [N], [F, S, G], [N, K], [K, SK, SD], or [] for obv. */
  params: number[];
}

/** The kind and parameters of an indicator name, or undefined when it does not match INDICATOR_PATTERN. */
export function parseIndicatorName(name: string): ParsedIndicator | undefined {
  if (!INDICATOR_RE.test(name)) return undefined;
  const [kind, ...rest] = name.split("_");
  return { kind: kind as IndicatorKind, params: rest.map(Number) };
}

/** Why a name that matches the pattern is still not a usable indicator, or undefined when it is. */
export function indicatorProblem(name: string): string | undefined {
  const parsed = parseIndicatorName(name);
  if (parsed === undefined) return undefined;
  const [a = 0, b = 0] = parsed.params;
  if (parsed.kind === "macd" && a >= b) {
    return `${name}: the fast period (${a}) must be shorter than the slow period (${b})`;
  }
  if (parsed.kind === "bbands" && b <= 0) return `${name}: the band width K must be greater than 0`;
  return undefined;
}

/** The `indicators.name` values one indicator writes (multi-output indicators name each output). */
export function indicatorOutputNames(name: string): string[] {
  const parsed = parseIndicatorName(name);
  if (parsed === undefined) return [name];
  const suffix = name.slice(parsed.kind.length);
  switch (parsed.kind) {
    case "macd":
      return [name, `macd_signal${suffix}`, `macd_hist${suffix}`];
    case "bbands":
      return [`bbands_upper${suffix}`, `bbands_middle${suffix}`, `bbands_lower${suffix}`];
    case "stoch":
      return [`stoch_k${suffix}`, `stoch_d${suffix}`];
    default:
      return [name];
  }
}

const indicatorName = z
  .string()
  .regex(INDICATOR_RE, {
    error: (issue) =>
      `unknown indicator ${JSON.stringify(issue.input)}: expected sma_N, ema_N, wma_N, rsi_N, macd_F_S_G, bbands_N_K, atr_N, adx_N, stoch_K_SK_SD, willr_N, roc_N, obv or vwap_N (periods are integers >= 1)`,
  })
  .superRefine((name, ctx) => {
    const problem = indicatorProblem(name);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  })
  .describe(
    "An indicator: sma_N, ema_N, wma_N, rsi_N, macd_F_S_G (fast, slow, signal), bbands_N_K (K standard deviations, e.g. bbands_20_2 or bbands_20_2.5), atr_N, adx_N, stoch_K_SK_SD, willr_N, roc_N, obv or vwap_N. Periods are in sessions. Values follow TA-Lib, warm-up included; vwap_N (not in TA-Lib) is sum(typical price x volume) / sum(volume) over the last N sessions, typical price = (high + low + close) / 3, first value on the N-th session.",
  );

export const indicatorsCompute = defineStep({
  name: "indicators.compute",
  summary: "Compute technical indicators (TA-Lib definitions) over bars_daily into the indicators table.",
  params: z.strictObject({
    source: sourceName.describe("The bars_daily.source to compute over, e.g. polygon."),
    symbols: symbols
      .describe("Compute only for these ticker symbols. Default: every symbol of the source.")
      .optional(),
    indicators: z
      .array(indicatorName)
      .min(1)
      .describe(
        "Indicators to compute, e.g. [sma_20, ema_12, rsi_14, macd_12_26_9, bbands_20_2, atr_14]. Multi-output indicators write one name per output (macd_signal_12_26_9, bbands_upper_20_2, stoch_k_14_3_3, ...).",
      ),
    full_refresh: z
      .boolean()
      .default(false)
      .describe(
        "Recompute every date instead of only the dates after the last computed one (plus each indicator's warm-up). Default: false.",
      ),
  }),
  outputs: {
    rows: {
      type: "integer",
      description: "Indicator values written (one per source, symbol, date and name).",
    },
    symbols: { type: "integer", description: "Symbols computed." },
  },
  async run(ctx, params) {
    return computeIndicators(ctx, {
      source: params.source,
      symbols: params.symbols,
      indicators: params.indicators,
      fullRefresh: params.full_refresh,
    });
  },
});

/** DuckDB's vector size: the most rows one data chunk holds. */
const CHUNK_ROWS = 2048;

/** The outputs to write (each once) and the indicators giving them; a clear error on a bad name. */
export function planIndicators(names: readonly string[]): IndicatorPlan {
  const written: string[] = [];
  const planned: PlannedIndicator[] = [];
  for (const name of new Set(names)) {
    const parsed = parseIndicatorName(name);
    if (parsed === undefined) throw new Error(`unknown indicator ${JSON.stringify(name)}`);
    const problem = indicatorProblem(name);
    if (problem !== undefined) throw new Error(problem);
    const columns = indicatorOutputNames(name).map((output) => {
      const at = written.indexOf(output);
      if (at >= 0) return at;
      written.push(output);
      return written.length - 1;
    });
    planned.push({ kind: parsed.kind, params: parsed.params, columns });
  }
  return { written, planned };
}

/**
 * The step's work. Per batch of symbols (one transaction): read their bars in one columnar query,
 * compute every indicator over each symbol's whole series (EMA-family and Wilder-smoothed values
 * depend on all history, so this is what makes an incremental run exactly equal a full refresh),
 * keep the values after the last date stored for that output (all of them with `fullRefresh`), and
 * merge them into indicator_values. On PostgreSQL (`ctx.pg`) the same, stored there.
 */
export async function computeIndicators(
  ctx: StepContext,
  options: ComputeOptions,
): Promise<{ rows: number; symbols: number }> {
  const plan = planIndicators(options.indicators);
  if (ctx.signal.aborted) throw abortReason(ctx.signal);
  if (ctx.pg !== undefined) return computeIndicatorsPg(ctx, ctx.pg, options, plan);
  const { written } = plan;
  const db = ctx.db;
  const exec = (sql: string, params?: Record<string, string>) =>
    interruptibly(db, ctx.signal, () => db.runAndReadAll(sql, params));
  const all = await ensureIndicatorColumns(db, written);

  const filter =
    options.symbols === undefined ? "" : ` AND symbol IN (${options.symbols.map(quoteString).join(", ")})`;
  await ensureSeries(db, options.source, filter, exec);
  const counted = await exec(
    `SELECT b.symbol, s.id, count(*)::INTEGER, CAST(max(b.date) - DATE '1970-01-01' AS INTEGER)
     FROM bars_daily b JOIN indicator_series s ON s.source = b.source AND s.symbol = b.symbol
     WHERE b.source = $source${filter.replace("symbol IN", "b.symbol IN")} GROUP BY ALL ORDER BY b.symbol`,
    { source: options.source },
  );
  const last = options.fullRefresh
    ? new Map<number, (number | null)[]>()
    : await lastIndicatorDays(db, options.source, written);
  const symbolCounts = pendingSymbols(
    counted.getRows().map((r) => ({
      symbol: String(r[0]),
      series: Number(r[1]),
      bars: Number(r[2]),
      lastBar: Number(r[3]),
    })),
    last,
  );

  const suffix = `${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const batchSymbols = `indicators_batch_${suffix}`;
  const staging: IndicatorStaging = {
    range: `indicators_range_${suffix}`,
    values: `indicators_stage_${suffix}`,
  };
  const tableTypes = [INTEGER, DATE, ...all.map(() => DOUBLE)];
  const columnOf = written.map((c) => 2 + all.indexOf(c));
  const others = all.filter((c) => !written.includes(c));
  let rows = 0;
  let symbolsDone = 0;
  try {
    await exec(`CREATE OR REPLACE TEMP TABLE ${batchSymbols} (idx INTEGER, symbol VARCHAR)`);
    await exec(`CREATE OR REPLACE TEMP TABLE ${staging.range} (series INTEGER, from_date DATE)`);
    const batches = batchesOf(symbolCounts, options.batchBars ?? BATCH_BARS);

    /** Reads a batch's bars (one query). */
    const read = async (batch: BatchSymbol[]) => {
      await exec(`DELETE FROM ${batchSymbols}`);
      await appendColumns(
        db,
        batchSymbols,
        [
          { type: INTEGER, values: batch.map((_, i) => i) },
          { type: VARCHAR, values: batch.map((b) => b.symbol) },
        ],
        { catalog: "temp" },
      );
      return { batch, series: await readBars(db, ctx.signal, options.source, batchSymbols, batch.length) };
    };
    /** Computes a batch and builds its rows as data chunks (synchronous: no database work). */
    const build = ({ batch, series }: Awaited<ReturnType<typeof read>>) => {
      const chunks = new RowChunks(tableTypes);
      const range: { series: number; from: number | null }[] = [];
      let values = 0;
      for (const [idx, bars] of series.entries()) {
        const { series: id } = batch[idx]!;
        if (bars === undefined) continue;
        const outputs = computeOutputs(plan, bars);
        const added = chunks.addSeries(id, bars.days, outputs, columnOf, last.get(id));
        values += added.values;
        range.push({ series: id, from: options.fullRefresh ? FULL_FROM : added.firstDay });
      }
      return { chunks: chunks.take(), range, values };
    };
    /** Writes a built batch (inside the open transaction). */
    const write = async (built: ReturnType<typeof build>) => {
      await exec(`DELETE FROM ${staging.range}`);
      await appendColumns(
        db,
        staging.range,
        [
          { type: INTEGER, values: built.range.map((r) => r.series) },
          {
            type: DATE,
            values: built.range.map((r) => (r.from === null ? null : new DuckDBDateValue(r.from))),
          },
        ],
        { catalog: "temp" },
      );
      const overlap = await overlappingRows(db, staging.range, others, exec);
      if (overlap.rows === 0 || (options.fullRefresh && overlap.withOthers === 0)) {
        // Nothing stored to keep in the rewritten range: append straight into the table.
        if (overlap.rows > 0) await deleteRewrittenRows(db, staging.range, exec);
        await appendChunks(db, INDICATOR_TABLE, built.chunks);
      } else {
        await exec(
          `CREATE OR REPLACE TEMP TABLE ${staging.values} AS SELECT * FROM ${INDICATOR_TABLE} LIMIT 0`,
        );
        await appendChunks(db, staging.values, built.chunks, { catalog: "temp" });
        await mergeIndicatorBatch(db, {
          staging,
          written,
          all,
          full: options.fullRefresh,
          run: exec,
        });
      }
    };

    // One transaction per batch. The next batch's bars are read inside it, and computed while
    // DuckDB commits (on its own thread): computing overlaps storing.
    let built = batches.length > 0 ? build(await read(batches[0]!)) : undefined;
    for (let k = 0; k < batches.length; k++) {
      if (ctx.signal.aborted) throw abortReason(ctx.signal);
      await exec("BEGIN TRANSACTION");
      let next: ReturnType<typeof build> | undefined;
      try {
        await write(built!);
        const nextBars = k + 1 < batches.length ? await read(batches[k + 1]!) : undefined;
        if (ctx.signal.aborted) throw abortReason(ctx.signal);
        const commit = exec("COMMIT");
        let buildError: unknown;
        try {
          next = nextBars === undefined ? undefined : build(nextBars);
        } catch (err) {
          buildError = err;
        }
        await commit;
        if (buildError !== undefined) throw buildError;
      } catch (err) {
        await db.run("ROLLBACK").catch(() => undefined);
        throw err;
      }
      rows += built!.values;
      symbolsDone += built!.range.length;
      built = next;
    }
  } finally {
    for (const table of [batchSymbols, staging.range, staging.values]) {
      await db.run(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    }
  }
  ctx.log("info", computedMessage(options, written.length, symbolsDone, rows));
  return { rows, symbols: symbolsDone };
}

/**
 * The bars of the batch's symbols in one query, ordered by symbol and date, split per symbol
 * (indexed like the symbols table). Columnar: every value is read straight off DuckDB's vectors.
 */
async function readBars(
  db: DuckDBConnection,
  signal: AbortSignal,
  source: string,
  symbolsTable: string,
  count: number,
): Promise<(SymbolBars | undefined)[]> {
  // Chunk by chunk with getItem into typed arrays: materialising JS arrays of every column
  // (getColumns) cost more than computing all the indicators.
  const chunks = await interruptibly(db, signal, async () => {
    const result = await db.run(
      `SELECT s.idx, CAST(b.date - DATE '1970-01-01' AS INTEGER) AS d, b.high, b.low, b.close, b.volume
         FROM bars_daily b JOIN ${symbolsTable} s ON s.symbol = b.symbol
         WHERE b.source = $source ORDER BY s.idx, b.date`,
      { source },
    );
    const out: DuckDBDataChunk[] = [];
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      out.push(chunk);
    }
    return out;
  });
  const n = chunks.reduce((sum, c) => sum + c.rowCount, 0);
  const idx = new Int32Array(n);
  const day = new Int32Array(n);
  const values = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  let at = 0;
  for (const chunk of chunks) {
    const rows = chunk.rowCount;
    const idxVector = chunk.getColumnVector(0);
    const dayVector = chunk.getColumnVector(1);
    for (let i = 0; i < rows; i++) {
      idx[at + i] = idxVector.getItem(i) as number;
      day[at + i] = dayVector.getItem(i) as number;
    }
    for (let c = 0; c < 4; c++) {
      const vector = chunk.getColumnVector(c + 2);
      const target = values[c]!;
      for (let i = 0; i < rows; i++) {
        const v = vector.getItem(i);
        target[at + i] = v === null ? Number.NaN : (v as number);
      }
    }
    at += rows;
  }
  return barsBySymbol(
    { idx, day, high: values[0]!, low: values[1]!, close: values[2]!, volume: values[3]! },
    count,
  );
}

/** The from_date of a full refresh: every stored row of the symbol is rewritten. */
const FULL_FROM = -719_162; // 0001-01-01

/**
 * Rows in indicator_values' own layout, `(series, date, <every value column>)`, turned into
 * DuckDB data chunks as they come. A row is added when one of its values is to be written: not NaN
 * (warm-up), and after the last date stored for that column. Other values are NULL.
 */
class RowChunks {
  private chunks: DuckDBDataChunk[] = [];
  private chunk: DuckDBDataChunk | undefined;
  private filled = 0;
  /** (row, column) pairs of the current chunk that are NULL, set when it is sealed. */
  private nulls: number[] = [];

  constructor(private readonly types: readonly DuckDBType[]) {}

  /**
   * Adds one series' rows: `values[c]` goes to table column `columnOf[c]`, after day
   * `lastDays[c]`. Returns the values added and the first day written (null: none).
   */
  addSeries(
    series: number,
    days: Int32Array,
    values: Float64Array[],
    columnOf: readonly number[],
    lastDays: readonly (number | null)[] | undefined,
  ): { values: number; firstDay: number | null } {
    const columns = values.length;
    const after = writtenAfter(columns, lastDays);
    // The table's value columns this run does not compute: always NULL in the new rows.
    const nulls: number[] = [];
    for (let t = 2; t < this.types.length; t++) if (!columnOf.includes(t)) nulls.push(t);
    let added = 0;
    let firstDay: number | null = null;
    let vectors = this.vectors();
    for (let i = 0; i < days.length; i++) {
      const day = days[i]!;
      let any = false;
      for (let c = 0; c < columns; c++) {
        if (isWritten(day, after[c]!, values[c]![i]!)) {
          any = true;
          break;
        }
      }
      if (!any) continue;
      firstDay ??= day;
      const row = this.filled;
      vectors[0]!.setItem(row, series);
      vectors[1]!.setItem(row, new DuckDBDateValue(day));
      for (let t = 0; t < nulls.length; t++) this.nulls.push(row, nulls[t]!);
      for (let c = 0; c < columns; c++) {
        const v = values[c]![i]!;
        if (isWritten(day, after[c]!, v)) {
          vectors[columnOf[c]!]!.setItem(row, v);
          added++;
        } else {
          this.nulls.push(row, columnOf[c]!);
        }
      }
      this.filled++;
      if (this.filled === CHUNK_ROWS) {
        this.seal();
        vectors = this.vectors();
      }
    }
    return { values: added, firstDay };
  }

  /** Every row added, as chunks. */
  take(): DuckDBDataChunk[] {
    this.seal();
    const chunks = this.chunks;
    this.chunks = [];
    return chunks;
  }

  private vectors() {
    this.chunk ??= DuckDBDataChunk.create(this.types, CHUNK_ROWS);
    const chunk = this.chunk;
    return this.types.map((_, c) => chunk.getColumnVector(c));
  }

  private seal(): void {
    const chunk = this.chunk;
    if (chunk === undefined || this.filled === 0) return;
    // NULLs last: a vector's validity mask exists from its first NULL on, and from then every
    // setItem pays for BigInt bit operations; values set before it cost a plain array store.
    const nulls = this.nulls;
    for (let k = 0; k < nulls.length; k += 2) chunk.getColumnVector(nulls[k + 1]!).setItem(nulls[k]!, null);
    this.nulls = [];
    for (let c = 0; c < this.types.length; c++) chunk.getColumnVector(c).flush();
    chunk.rowCount = this.filled;
    this.chunks.push(chunk);
    this.chunk = undefined;
    this.filled = 0;
  }
}

/** A SQL string literal: single quotes doubled. */
function quoteString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
