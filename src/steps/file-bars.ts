import { z } from "zod";
import { defineStep } from "../pipeline/step-spec.js";
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
});
