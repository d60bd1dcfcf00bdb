import { randomBytes } from "node:crypto";
import { existsSync, linkSync, mkdirSync, renameSync, rmSync, unlinkSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { z } from "zod";
import { defineStep } from "../pipeline/step-spec.js";
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
    // On lines of their own: a comment inside the query must not swallow the parenthesis.
    const source =
      params.query !== undefined ? `(\n${singleStatement(params.query)}\n)` : quoteTable(params.table ?? "");
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
    try {
      const result = await runScript(ctx.db, `COPY ${source} TO ${quoteString(temp)} (${options})`, {
        params: params.params ?? {},
        signal: ctx.signal,
      });
      publish(temp, path, params.overwrite);
      return { rows: result.rows, path };
    } finally {
      rmSync(temp, { force: true });
    }
  },
});

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
