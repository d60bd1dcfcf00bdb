import { z } from "zod";
import { defineStep } from "../pipeline/step-spec.js";
import { onObjects, sourceName } from "./common.js";

/**
 * How old rows must be to go: days or weeks (`400d`, `8w`), years (`2y`), or NYSE trading sessions
 * (`504 sessions`), counted back from the run date. Always a positive whole number.
 */
export const RETENTION_AGE_PATTERN = "^[1-9]\\d*(?:d|w|y| sessions?)$";

export const RETENTION_TABLES = [
  "bars_daily",
  "corporate_actions",
  "indicators",
  "quality_results",
  "runs",
  "run_logs",
] as const;
export type RetentionTable = (typeof RETENTION_TABLES)[number];

/** Tables that have a `source` column, so a rule on them can be limited to one source. */
const TABLES_WITH_SOURCE: readonly RetentionTable[] = [
  "bars_daily",
  "corporate_actions",
  "indicators",
  "quality_results",
];

const rule = z
  .strictObject({
    table: z
      .enum(RETENTION_TABLES)
      .describe(
        "Table to prune: bars_daily, corporate_actions, indicators, quality_results, runs (with their task_runs) or run_logs. Age is by date for market data and by creation time for run history.",
      ),
    older_than: z
      .string()
      .regex(new RegExp(RETENTION_AGE_PATTERN), "expected an age such as 400d, 8w, 2y or 504 sessions")
      .describe(
        "Delete rows older than this, counted back from the run date: days (400d), weeks (8w), years (2y) or NYSE trading sessions (504 sessions).",
      ),
    archive: z
      .string()
      .min(1)
      .describe(
        "Folder to archive the rows to before deleting them, as Parquet partitioned by year (hive style: year=2023/), relative to the working directory. Default: no archive.",
      )
      .optional(),
    source: sourceName
      .describe(
        "Only prune rows of this source (bars_daily, corporate_actions, indicators and quality_results only). Default: all sources.",
      )
      .optional(),
  })
  .superRefine((value, ctx) => {
    if (
      value.source !== undefined &&
      typeof value.table === "string" &&
      !TABLES_WITH_SOURCE.includes(value.table as RetentionTable)
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["source"],
        message: `${value.table} has no source column: source cannot be used with it`,
      });
    }
  }, onObjects)
  .describe("One retention rule: rows of table older than older_than are (archived and) deleted.");

export const cleanupRetention = defineStep({
  name: "cleanup.retention",
  summary: "Delete (and optionally archive to Parquet) old market data and run history, then CHECKPOINT.",
  params: z.strictObject({
    rules: z
      .array(rule)
      .min(1)
      .describe("Retention rules, applied in order, e.g. [{table: run_logs, older_than: 90d}]."),
    dry_run: z
      .boolean()
      .default(false)
      .describe("Only count what the rules would archive and delete; change nothing. Default: false."),
  }),
  outputs: {
    deleted: { type: "integer", description: "Rows deleted (or, with dry_run, that would be deleted)." },
    archived: { type: "integer", description: "Rows written to Parquet archives." },
    tables: { type: "object", description: "Rows deleted per table, by table name." },
  },
});
