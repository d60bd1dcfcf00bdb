import { resolve } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { z } from "zod";
import { defineStep } from "../pipeline/step-spec.js";
import type { ApplyOptions } from "../retention/apply.js";
import type { Part } from "../retention/parts.js";
import type { PgDb } from "../store/pg/transaction.js";
import { onObjects, sourceName } from "./common.js";

/**
 * How old rows must be to go: days or weeks (`400d`, `8w`), years (`2y`), or NYSE trading sessions
 * (`504 sessions`), counted back from the run date (market data) or from now (run history). Always
 * a positive whole number. See src/retention/README.md.
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
        "Table to prune: bars_daily, corporate_actions, indicators, quality_results, runs (finished ones only, with their task_runs, state_transitions and run_logs) or run_logs. Age is by date for market data (quality_results without a date: by created_at) and by creation time for run history.",
      ),
    older_than: z
      .string()
      .regex(new RegExp(RETENTION_AGE_PATTERN), "expected an age such as 400d, 8w, 2y or 504 sessions")
      .describe(
        "Delete rows older than this, counted back from the run date for market data and from now for runs and run_logs: days (400d), weeks (8w), years (2y) or NYSE trading sessions (504 sessions).",
      ),
    archive: z
      .string()
      .min(1)
      .describe(
        "Folder to archive the rows to before deleting them, as Parquet partitioned by year (hive style: year=2023/), relative to the folder of the pipeline file; files are named after the run, never replacing earlier archives. Default: no archive.",
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
    files: { type: "array", description: "Parquet archive files written, as absolute paths." },
  },
  async run(ctx, params) {
    // Loaded when a step runs: `validate` and `plan` should not load DuckDB's native addon.
    const { historyCutoff, marketCutoff, parseAge } = await import("../retention/cutoff.js");
    const { HISTORY_TABLES, retentionParts, tableExists } = await import("../retention/parts.js");
    const { applyRule, checkpoint } = await import("../retention/apply.js");
    // On PostgreSQL the rules run there; archives are written through the scratch DuckDB.
    const onPg = ctx.pg === undefined ? undefined : await pgRetention(ctx.pg);
    const { archiveStem } = await import("../retention/archive.js");
    const now = new Date();
    const tables: Record<string, number> = {};
    let deleted = 0;
    let archived = 0;
    const files: string[] = [];
    for (const [index, rule] of params.rules.entries()) {
      ctx.signal.throwIfAborted();
      const age = parseAge(rule.older_than);
      const cutoff = HISTORY_TABLES.includes(rule.table)
        ? historyCutoff(age, now)
        : marketCutoff(age, ctx.runDate);
      const parts = await retentionParts(
        (name) => (onPg === undefined ? tableExists(ctx.db, name) : onPg.tableExists(name)),
        rule,
        cutoff,
      );
      const archive = rule.archive === undefined ? undefined : resolve(ctx.baseDir, rule.archive);
      const options = {
        dryRun: params.dry_run,
        archive,
        stem: archiveStem(ctx.runId, index, ctx.attempt),
        signal: ctx.signal,
      };
      const outcome =
        onPg === undefined
          ? await applyRule(ctx.db, parts, options)
          : await onPg.applyRule(ctx.db, parts, options);
      for (const [table, n] of Object.entries(outcome.tables)) tables[table] = (tables[table] ?? 0) + n;
      deleted += outcome.deleted;
      archived += outcome.archived;
      files.push(...outcome.files);
      const counts = Object.entries(outcome.tables)
        .map(([table, n]) => `${n} ${table}`)
        .join(", ");
      const older = HISTORY_TABLES.includes(rule.table)
        ? `before ${cutoff.instant.toISOString()}`
        : `dated before ${cutoff.date}`;
      const scope = rule.source === undefined ? "" : ` of source ${rule.source}`;
      ctx.log(
        "info",
        params.dry_run
          ? `${rule.table}: would delete ${counts} rows${scope} ${older} (dry run${archive === undefined ? "" : `, would archive to ${archive}`})`
          : `${rule.table}: deleted ${counts} rows${scope} ${older}${archive === undefined ? "" : `, archived ${outcome.archived} rows to ${archive} (${outcome.files.length} files)`}`,
      );
    }
    if (!params.dry_run && onPg === undefined) {
      // The rows are gone already: a CHECKPOINT that cannot run now only delays freeing the space.
      await checkpoint(ctx.db, ctx.signal).catch((err: unknown) => {
        ctx.signal.throwIfAborted();
        ctx.log("warn", `CHECKPOINT failed (space is freed at the next one): ${(err as Error).message}`);
      });
    }
    return { deleted, archived, tables, files };
  },
});

/** Retention's PostgreSQL side over `db` (the pool): its table check and its `applyRule`. */
async function pgRetention(db: PgDb) {
  const { applyRulePg } = await import("../retention/apply-pg.js");
  const { tableExistsPg } = await import("../store/pg/retention.js");
  const { poolOf } = await import("../store/pg/step-pool.js");
  const pool = poolOf(db);
  return {
    tableExists: (name: string) => tableExistsPg(pool, name),
    applyRule: (duck: DuckDBConnection, parts: readonly Part[], options: ApplyOptions) =>
      applyRulePg(pool, duck, parts, options),
  };
}
