import { randomBytes } from "node:crypto";
import { existsSync, linkSync, mkdirSync, renameSync, rmSync, unlinkSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { z } from "zod";
import { defineStep, type StepContext } from "../pipeline/step-spec.js";
import type { PgDb } from "../store/pg/transaction.js";
import type { SqlParam } from "../store/sql-text.js";
import { formatFromExtension, onObjects, sqlParams } from "./common.js";

export const exportStep = defineStep({
  name: "export",
  summary: "Write the result of a query, or a whole table, to a Parquet or CSV file.",
  params: z
    .strictObject({
      query: z
        .string()
        .min(1)
        .describe(
          "SQL whose result to write, with $name placeholders for params. Give either query or table.",
        )
        .optional(),
      table: z
        .string()
        .regex(
          /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?$/,
          "expected a table name such as bars_daily",
        )
        .describe("Table (or view) to write whole, e.g. bars_daily. Give either query or table.")
        .optional(),
      path: z
        .string()
        .min(1)
        .describe("Output file, relative to the working directory; missing parent folders are created."),
      format: z
        .enum(["parquet", "csv"])
        .describe(
          "File format: parquet or csv. Default: from the extension of path (.parquet, .csv, .csv.gz).",
        )
        .optional(),
      overwrite: z
        .boolean()
        .default(true)
        .describe("Replace path when it exists; when false, an existing file fails the task. Default: true."),
      params: sqlParams,
    })
    .superRefine((value, ctx) => {
      if (value.query !== undefined && value.table !== undefined) {
        ctx.addIssue({ code: "custom", path: ["table"], message: "give either query or table, not both" });
      } else if (value.query === undefined && value.table === undefined) {
        ctx.addIssue({ code: "custom", path: [], message: "give either query or table" });
      }
      if (value.params !== undefined && value.table !== undefined) {
        ctx.addIssue({ code: "custom", path: ["params"], message: "params need a query" });
      }
      if (value.format === undefined && typeof value.path === "string" && value.path !== "") {
        if (formatFromExtension(value.path) === undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["format"],
            message: `cannot tell the format from "${value.path}": give format (parquet or csv) or use a .parquet or .csv path`,
          });
        }
      }
    }, onObjects),
  outputs: {
    rows: { type: "integer", description: "Rows written." },
    path: { type: "string", description: "The file written, as an absolute path." },
  },
  async run(ctx, params) {
    // Loaded when a step runs: `validate` and `plan` should not load DuckDB's native addon.
    const { runScript, singleStatement } = await import("../store/script.js");
    const query = params.query === undefined ? undefined : singleStatement(params.query);
    const path = resolve(process.cwd(), params.path);
    const format = params.format ?? formatFromExtension(params.path) ?? "parquet";
    if (!params.overwrite && existsSync(path)) {
      throw new Error(`${path} exists and overwrite is false: remove it or set overwrite: true`);
    }
    mkdirSync(dirname(path), { recursive: true });
    // Written beside the target, then renamed: a failed or cancelled export leaves no partial file.
    const temp = join(
      dirname(path),
      `.${basename(path)}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`,
    );
    const options =
      format === "csv"
        ? `FORMAT csv, HEADER true${/\.gz$/i.test(path) ? ", COMPRESSION gzip" : ""}`
        : "FORMAT parquet";
    let staged: string | undefined;
    try {
      let source: string;
      let sourceParams = params.params ?? {};
      if (ctx.pg !== undefined) {
        // The rows come from PostgreSQL (the query in its dialect) into the scratch DuckDB, which
        // writes the file as it does on DuckDB.
        staged = `export_${process.pid}_${++exports}`;
        await stagePgSource(ctx, ctx.pg, query, params.table, sourceParams, staged);
        source = `temp.main.${staged}`;
        sourceParams = {};
      } else {
        // On lines of their own: a comment inside the query must not swallow the parenthesis.
        source = query !== undefined ? `(\n${query}\n)` : quoteTable(params.table ?? "");
      }
      const result = await runScript(ctx.db, `COPY ${source} TO ${quoteString(temp)} (${options})`, {
        params: sourceParams,
        signal: ctx.signal,
      });
      publish(temp, path, params.overwrite);
      return { rows: result.rows, path };
    } finally {
      rmSync(temp, { force: true });
      if (staged !== undefined) await ctx.db.run(`DROP TABLE IF EXISTS temp.main.${staged}`).catch(() => {});
    }
  },
});

let exports = 0;

/** Copies the export's source (a query in PostgreSQL's dialect, or a table) into TEMP table `table` of `ctx.db`. */
async function stagePgSource(
  ctx: StepContext,
  pgDb: PgDb,
  query: string | undefined,
  table: string | undefined,
  params: Readonly<Record<string, SqlParam>>,
  staged: string,
): Promise<void> {
  const { copyQueryToScratchPg } = await import("../store/pg/to-scratch.js");
  const { poolOf } = await import("../store/pg/step-pool.js");
  const { positionalQuery } = await import("../store/pg/script.js");
  const text =
    query !== undefined
      ? positionalQuery(query, params)
      : { text: `SELECT * FROM ${quoteTable(table ?? "")}`, values: [] };
  await copyQueryToScratchPg(poolOf(pgDb), text, ctx.db, staged, ctx.signal);
}

/** Moves the finished file into place; without overwrite, never replaces a file that appeared meanwhile. */
function publish(temp: string, path: string, overwrite: boolean): void {
  if (overwrite) {
    renameSync(temp, path);
    return;
  }
  try {
    linkSync(temp, path); // fails with EEXIST instead of replacing
    unlinkSync(temp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST")
      throw new Error(`${path} exists and overwrite is false: remove it or set overwrite: true`);
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EXDEV") throw err;
    // No hard links here: check, then rename.
    if (existsSync(path))
      throw new Error(`${path} exists and overwrite is false: remove it or set overwrite: true`);
    renameSync(temp, path);
  }
}

/** A SQL string literal: single quotes doubled. */
function quoteString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** `schema.table` (already checked against the params pattern) as quoted identifiers. */
function quoteTable(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(name)) {
    throw new Error(`invalid table name "${name}"`);
  }
  return name
    .split(".")
    .map((part) => `"${part}"`)
    .join(".");
}
