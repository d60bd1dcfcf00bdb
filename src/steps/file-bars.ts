import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { DuckDBConnection, DuckDBResult } from "@duckdb/node-api";
import { glob, isDynamicPattern } from "tinyglobby";
import { z } from "zod";
import { countBarsWritten } from "../metrics/record.js";
import { defineStep, type StepContext } from "../pipeline/step-spec.js";
import { abortReason, interruptibly } from "../store/interrupt.js";
import type { CsvValue } from "../store/pg/copy.js";
import type { PgDb } from "../store/pg/transaction.js";
import { formatFromExtension, onObjects, sourceName, symbol, symbols } from "./common.js";

/** The bars_daily columns a file can provide, with what each holds. */
export const BAR_COLUMNS = {
  symbol: "the ticker symbol",
  date: "the session date (YYYY-MM-DD, or a timestamp)",
  open: "the opening price",
  high: "the high price",
  low: "the low price",
  close: "the closing price",
  volume: "the volume in shares",
  vwap: "the volume-weighted average price (optional)",
  trades: "the number of trades (optional)",
  adj_close: "the dividend- and split-adjusted close (optional)",
} as const;

export type BarColumn = keyof typeof BAR_COLUMNS;

const columnsShape = Object.fromEntries(
  Object.entries(BAR_COLUMNS).map(([column, holds]) => [
    column,
    z
      .string()
      .min(1)
      .describe(
        `Name of the file's column holding ${holds}, stored as bars_daily.${column}. Default: ${column}.`,
      )
      .optional(),
  ]),
) as Record<BarColumn, z.ZodOptional<z.ZodString>>;

export const FILE_BAR_FORMATS = ["csv", "parquet", "polygon_flat_files"] as const;

export const fileBars = defineStep({
  name: "file.bars",
  summary: "Import daily bars from CSV, CSV.gz, Parquet or Polygon flat files into bars_daily.",
  params: z
    .strictObject({
      path: z
        .string()
        .min(1)
        .describe(
          "A file or a glob (e.g. data/*.csv.gz), relative to the folder of the pipeline file. Every matching file is imported.",
        ),
      format: z
        .enum(FILE_BAR_FORMATS)
        .describe(
          "File format: csv (also .csv.gz), parquet, or polygon_flat_files (Polygon's day_aggs_v1 CSV: ticker, volume, open, close, high, low, window_start in ns, transactions). Default: from the extension (.csv and .csv.gz: csv, .parquet: parquet).",
        )
        .optional(),
      source: sourceName.describe("Label stored in bars_daily.source for the imported bars, e.g. sample."),
      columns: z
        .strictObject(columnsShape)
        .describe(
          "Which file column feeds which bars_daily column, for files whose column names differ. Default: the same names.",
        )
        .optional(),
      symbol: symbol
        .describe("The symbol of every row, for files that have no symbol column (one file per symbol).")
        .optional(),
      symbols: symbols
        .describe("Import only these ticker symbols. Default: every symbol in the files.")
        .optional(),
    })
    .superRefine((value, ctx) => {
      if (value.format === undefined && typeof value.path === "string" && value.path !== "") {
        if (formatFromExtension(value.path) === undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["format"],
            message: `cannot tell the format from "${value.path}": give format (csv, parquet or polygon_flat_files)`,
          });
        }
      }
      if (value.symbol !== undefined && value.columns?.symbol !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["symbol"],
          message: "give either symbol (files without a symbol column) or columns.symbol, not both",
        });
      }
    }, onObjects),
  outputs: {
    bars: { type: "integer", description: "Bars written (inserted or replaced) in bars_daily." },
    symbols: { type: "integer", description: "Distinct symbols imported." },
    files: { type: "integer", description: "Files read." },
  },
  async run(ctx, params) {
    const pattern = resolve(ctx.baseDir, params.path);
    const files = await matchFiles(pattern);
    if (files.length === 0) {
      throw new Error(`no file matches ${params.path} (looked for ${pattern})`);
    }
    const format = params.format ?? formatFromExtension(params.path) ?? "csv";
    const result = await importBars(ctx, {
      files,
      format,
      source: params.source,
      columns: params.columns ?? {},
      symbol: params.symbol,
      symbols: params.symbols,
    });
    ctx.log(
      "info",
      `imported ${result.bars} bars of ${result.symbols} symbols from ${files.length} file(s) matching ${params.path}`,
    );
    return { bars: result.bars, symbols: result.symbols, files: files.length };
  },
});

/** The files `pattern` (an absolute path or glob) names, sorted. A path that exists is taken literally. */
async function matchFiles(pattern: string): Promise<string[]> {
  if (existsSync(pattern)) return statSync(pattern).isFile() ? [pattern] : [];
  if (!isDynamicPattern(pattern)) return [];
  const found = await glob(pattern, { absolute: true, onlyFiles: true, expandDirectories: false });
  return found.sort();
}

interface ImportOptions {
  files: string[];
  format: (typeof FILE_BAR_FORMATS)[number];
  source: string;
  columns: Partial<Record<BarColumn, string>>;
  symbol: string | undefined;
  symbols: string[] | undefined;
}

const REQUIRED: readonly BarColumn[] = ["symbol", "date", "open", "high", "low", "close", "volume"];
const NUMERIC: readonly BarColumn[] = [
  "open",
  "high",
  "low",
  "close",
  "volume",
  "vwap",
  "trades",
  "adj_close",
];
/** Polygon's day_aggs_v1 names, where they differ from ours. */
const POLYGON_COLUMNS: Partial<Record<BarColumn, string>> = {
  symbol: "ticker",
  date: "window_start",
  trades: "transactions",
};
/** Name of the column holding the file name in the staging table (not a bars_daily column). */
const FILE_COLUMN = "_tickflow_file";

/**
 * Reads every file through DuckDB's reader into a TEMP staging table (one statement), checks it,
 * then upserts it into bars_daily in one transaction: everything lands, or nothing does. On
 * PostgreSQL (`ctx.pg`) the reading and checks are the same, in the scratch DuckDB (`ctx.db`), and
 * the rows go to PostgreSQL's bars_daily (`writeBarsPg`).
 */
async function importBars(
  ctx: StepContext,
  options: ImportOptions,
): Promise<{ bars: number; symbols: number }> {
  const db = ctx.db;
  const exec = (sql: string) => runInterruptibly(db, sql, ctx.signal);
  const fileList = `[${options.files.map(quoteString).join(", ")}]`;
  const reader =
    options.format === "parquet"
      ? `read_parquet(${fileList}, filename = ${quoteString(FILE_COLUMN)}, union_by_name = true)`
      : `read_csv(${fileList}, header = true, all_varchar = true, filename = ${quoteString(FILE_COLUMN)}, union_by_name = true)`;
  const described = await exec(`DESCRIBE SELECT * FROM ${reader}`).catch((err: unknown) => {
    throw readError(options.files, err, ctx.signal);
  });
  const available = new Map<string, string>();
  for (const row of described.getRowObjectsJson()) {
    const name = String(row.column_name);
    if (name !== FILE_COLUMN) available.set(name.toLowerCase(), name);
  }
  const defaults = options.format === "polygon_flat_files" ? POLYGON_COLUMNS : {};
  const selected: string[] = [`${quoteIdent(FILE_COLUMN)} AS file`];
  for (const column of Object.keys(BAR_COLUMNS) as BarColumn[]) {
    if (column === "symbol" && options.symbol !== undefined) {
      selected.push(`${quoteString(options.symbol)} AS symbol`);
      continue;
    }
    const explicit = options.columns[column];
    const wanted = explicit ?? defaults[column] ?? column;
    const actual = available.get(wanted.toLowerCase());
    if (actual === undefined) {
      if (explicit !== undefined || REQUIRED.includes(column)) {
        const hint =
          column === "symbol" ? " (give symbol for files without a symbol column, or columns.symbol)" : "";
        throw new Error(
          `${describeFiles(options.files)} has no column "${wanted}" for bars_daily.${column}${hint}; columns: ${[...available.values()].join(", ")}`,
        );
      }
      selected.push(`NULL AS ${column}`);
    } else {
      selected.push(`${quoteIdent(actual)} AS ${column}`);
    }
  }
  const filter =
    options.symbols === undefined
      ? ""
      : `WHERE ${options.symbol !== undefined ? quoteString(options.symbol) : quoteIdent(available.get((options.columns.symbol ?? defaults.symbol ?? "symbol").toLowerCase()) ?? "symbol")} IN (${options.symbols.map(quoteString).join(", ")})`;

  const staging = `file_bars_staging_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  await exec(
    `CREATE OR REPLACE TEMP TABLE ${staging} AS SELECT ${selected.join(", ")} FROM ${reader} ${filter}`,
  ).catch((err: unknown) => {
    throw readError(options.files, err, ctx.signal);
  });
  try {
    const dateExpr =
      options.format === "polygon_flat_files"
        ? "(make_timestamp(TRY_CAST(date AS BIGINT) // 1000) AT TIME ZONE 'UTC' AT TIME ZONE 'America/New_York')::DATE"
        : "COALESCE(TRY_CAST(date AS DATE), TRY_CAST(TRY_CAST(date AS TIMESTAMP) AS DATE))";
    await validate(exec, staging, dateExpr, options);
    const counts = await exec(
      `SELECT count(*)::BIGINT AS bars, count(DISTINCT symbol)::BIGINT AS symbols FROM ${staging}`,
    );
    const row = counts.getRowObjectsJson()[0] ?? {};
    const stored = storedColumns(dateExpr);
    if (ctx.pg !== undefined) {
      await writeBarsPg(ctx, ctx.pg, options.source, stored, staging, Number(row.bars ?? 0));
    } else {
      // Loaded when a step runs: `validate` and `plan` should not load DuckDB's native addon.
      const { recordBarsWrite } = await import("../store/bar-symbols.js");
      await exec("BEGIN TRANSACTION");
      try {
        await recordBarsWrite(
          db,
          options.source,
          `SELECT ${stored.symbol} AS symbol, ${stored.date} AS date FROM ${staging}`,
        );
        await exec(`INSERT OR REPLACE INTO bars_daily
          (source, ${Object.keys(stored).join(", ")}, ingested_at)
          SELECT ${quoteString(options.source)}, ${Object.values(stored).join(", ")}, now()
          FROM ${staging}`);
        await exec("COMMIT");
      } catch (err) {
        await db.run("ROLLBACK").catch(() => undefined);
        throw err;
      }
    }
    countBarsWritten(options.source, Number(row.bars ?? 0));
    return { bars: Number(row.bars ?? 0), symbols: Number(row.symbols ?? 0) };
  } finally {
    await db.run(`DROP TABLE IF EXISTS ${staging}`).catch(() => undefined);
  }
}

/** Per bars_daily column (but source and ingested_at), its value computed from a staged row. */
function storedColumns(dateExpr: string): Record<BarColumn, string> {
  const number = (c: string) => `TRY_CAST(${c} AS DOUBLE)`;
  return {
    symbol: "CAST(symbol AS VARCHAR)",
    date: dateExpr,
    open: number("open"),
    high: number("high"),
    low: number("low"),
    close: number("close"),
    volume: number("volume"),
    vwap: number("vwap"),
    trades: `CAST(round(${number("trades")}) AS BIGINT)`,
    adj_close: number("adj_close"),
  };
}

/**
 * PostgreSQL's side of the import: the staged rows, computed in the scratch DuckDB as DuckDB's
 * import computes them, streamed chunk by chunk through COPY into a PostgreSQL staging table and
 * upserted there, in one transaction (the whole import lands, or nothing).
 *
 * The values are computed into a table first: a DuckDB streaming result that fails (a value out of
 * BIGINT's range, an interrupt) just ends, its error lost (@duckdb/node-api 1.5), so an error must
 * happen before streaming; and the rows PostgreSQL received are counted against the staged rows.
 */
async function writeBarsPg(
  ctx: StepContext,
  pg: PgDb,
  source: string,
  stored: Record<BarColumn, string>,
  staging: string,
  expected: number,
): Promise<void> {
  const { withPgTransaction, createBarsStagingPg, copyCsvPg, upsertBarsPg, BAR_STAGING_COLUMNS } =
    await import("../store/pg/index.js");
  // The date as its `YYYY-MM-DD` text: what PostgreSQL's date input reads back as the same day.
  const values = BAR_STAGING_COLUMNS.map((c) =>
    c === "date" ? `CAST(${stored.date} AS VARCHAR)` : stored[c],
  );
  const db = ctx.db;
  const typed = `${staging}_typed`;
  await runInterruptibly(
    db,
    `CREATE TEMP TABLE ${typed} AS SELECT ${values.join(", ")} FROM ${staging}`,
    ctx.signal,
  );
  try {
    await interruptibly(db, ctx.signal, async () => {
      const result = await db.stream(`SELECT * FROM ${typed}`);
      await withPgTransaction(pg, async (tx) => {
        const into = await createBarsStagingPg(tx);
        const copied = await copyCsvPg(tx, into, BAR_STAGING_COLUMNS, csvChunks(result), ctx.signal);
        if (ctx.signal.aborted) throw abortReason(ctx.signal);
        if (copied !== expected) {
          throw new Error(
            `file.bars: only ${copied} of ${expected} rows were read back from the staging table`,
          );
        }
        await upsertBarsPg(tx, source, into);
      });
    });
  } finally {
    await db.run(`DROP TABLE IF EXISTS ${typed}`).catch(() => undefined);
  }
}

/** A streamed DuckDB result as CSV text, a chunk (up to 2048 rows) at a time. */
async function* csvChunks(result: DuckDBResult): AsyncGenerator<string> {
  const { csvLine } = await import("../store/pg/index.js");
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) return;
    yield chunk
      .getRows()
      .map((r) => csvLine(r as CsvValue[]))
      .join("");
  }
}

/** Fails with a message naming the file, the column and the row when the staged bars are unusable. */
async function validate(
  exec: (sql: string) => Promise<{ getRowObjectsJson(): Record<string, unknown>[] }>,
  staging: string,
  dateExpr: string,
  options: ImportOptions,
): Promise<void> {
  const where = (condition: string) =>
    `SELECT file, CAST(symbol AS VARCHAR) AS symbol, CAST(date AS VARCHAR) AS date, * EXCLUDE (file, symbol, date) FROM ${staging} WHERE ${condition} LIMIT 1`;
  const first = async (condition: string) => (await exec(where(condition))).getRowObjectsJson()[0];
  const at = (row: Record<string, unknown>) =>
    `${String(row.file)}: row with symbol ${JSON.stringify(row.symbol)}, date ${JSON.stringify(row.date)}`;
  let bad = await first("symbol IS NULL OR trim(CAST(symbol AS VARCHAR)) = ''");
  if (bad !== undefined) {
    throw new Error(`${String(bad.file)}: a row (date ${JSON.stringify(bad.date)}) has no symbol`);
  }
  const dateColumn =
    options.format === "polygon_flat_files"
      ? (options.columns.date ?? "window_start")
      : (options.columns.date ?? "date");
  bad = await first(`${dateExpr} IS NULL`);
  if (bad !== undefined) {
    throw new Error(
      `${at(bad)}: column ${dateColumn} is ${bad.date === null ? "empty" : `not a date (${JSON.stringify(bad.date)})`}`,
    );
  }
  for (const column of NUMERIC) {
    bad = await first(`${column} IS NOT NULL AND TRY_CAST(${column} AS DOUBLE) IS NULL`);
    if (bad !== undefined) {
      const name =
        options.columns[column] ??
        (options.format === "polygon_flat_files" ? POLYGON_COLUMNS[column] : undefined) ??
        column;
      throw new Error(`${at(bad)}: column ${name} is not a number (${JSON.stringify(bad[column])})`);
    }
  }
  const dup = (
    await exec(
      `SELECT CAST(symbol AS VARCHAR) AS symbol, CAST(${dateExpr} AS VARCHAR) AS date, count(*)::INTEGER AS n,
        string_agg(DISTINCT file, ', ' ORDER BY file) AS files
       FROM ${staging} GROUP BY ALL HAVING count(*) > 1 LIMIT 1`,
    )
  ).getRowObjectsJson()[0];
  if (dup !== undefined) {
    throw new Error(
      `${String(dup.files)}: ${String(dup.n)} rows for symbol ${JSON.stringify(dup.symbol)}, date ${String(dup.date)}: each (symbol, date) must appear once`,
    );
  }
}

/** Runs one statement; an abort of `signal` interrupts it and rejects. */
function runInterruptibly(db: DuckDBConnection, sql: string, signal: AbortSignal) {
  return interruptibly(db, signal, () => db.runAndReadAll(sql));
}

function readError(files: string[], err: unknown, signal: AbortSignal): Error {
  if (signal.aborted) return abortReason(signal);
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`cannot read ${describeFiles(files)}: ${message}`, { cause: err });
}

function describeFiles(files: string[]): string {
  if (files.length === 1) return files[0] ?? "";
  const shown = files.slice(0, 3).join(", ");
  return files.length > 3 ? `${files.length} files (${shown}, ...)` : `files ${shown}`;
}

/** A SQL string literal: single quotes doubled. */
function quoteString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A SQL identifier: double quotes doubled. */
function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
