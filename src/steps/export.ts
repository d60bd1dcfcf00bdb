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
});
