import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { z } from "zod";
import { defineStep, type StepContext } from "../pipeline/step-spec.js";
import type { ScriptOptions, ScriptResult } from "../store/script.js";
import { onObjects, sqlParams } from "./common.js";

export const sql = defineStep({
  name: "sql",
  summary: "Run SQL against the database; outputs the row count and the first row.",
  params: z
    .strictObject({
      query: z
        .string()
        .min(1)
        .describe("The SQL to run, with $name placeholders for params. Give either query or file.")
        .optional(),
      file: z
        .string()
        .min(1)
        .describe(
          "Path of a .sql file to run, relative to the folder of the pipeline file. Give either query or file.",
        )
        .optional(),
      params: sqlParams,
    })
    .superRefine((value, ctx) => {
      if (value.query !== undefined && value.file !== undefined) {
        ctx.addIssue({ code: "custom", path: ["file"], message: "give either query or file, not both" });
      } else if (value.query === undefined && value.file === undefined) {
        ctx.addIssue({ code: "custom", path: [], message: "give either query or file" });
      }
    }, onObjects),
  outputs: {
    rows: { type: "integer", description: "Rows returned (or affected, for statements that return none)." },
    first: {
      type: "object",
      description:
        "The first row returned, columns by name (e.g. tasks.t.outputs.first.answer); {} when none.",
    },
  },
  async run(ctx, params) {
    let sql: string;
    if (params.query !== undefined) {
      sql = params.query;
    } else {
      const file = resolve(ctx.baseDir, params.file ?? "");
      try {
        sql = await readFile(file, "utf8");
      } catch (err) {
        const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(err);
        throw new Error(`cannot read SQL file ${file}: ${reason}`, { cause: err });
      }
    }
    const options = { params: params.params ?? {}, signal: ctx.signal };
    const result = await runOnStore(ctx, sql, options);
    if (result.unusedParams.length > 0) {
      ctx.log("warn", `params not used by the query: ${result.unusedParams.join(", ")}`);
    }
    return { rows: result.rows, first: result.first };
  },
});

/**
 * Whether a script may change bars_daily: it names the table and some statement could write
 * (conservative: `COPY bars_daily TO` counts too; a false yes only costs a rebuild).
 */
export function mayWriteBars(sql: string): boolean {
  return (
    /bars_daily/i.test(sql) &&
    /\b(insert|update|delete|copy|alter|drop|create|truncate|merge|attach|import|replace|rename)\b/i.test(sql)
  );
}

/**
 * Runs `sql` in the store's own dialect and database: DuckDB's (on the task's connection), or
 * PostgreSQL's (`ctx.pg`). A script that may change bars_daily keeps bar_symbols exact.
 */
async function runOnStore(ctx: StepContext, sql: string, options: ScriptOptions): Promise<ScriptResult> {
  // Loaded when a step runs: `validate` and `plan` should not load DuckDB's native addon.
  if (ctx.pg !== undefined) {
    const pg = ctx.pg;
    const { runScriptPg } = await import("../store/pg/script.js");
    const { poolOf } = await import("../store/pg/step-pool.js");
    const { invalidateBarSymbolsPg, rebuildBarSymbolsPg } = await import("../store/pg/bar-symbols.js");
    const run = () => runScriptPg(poolOf(pg), sql, options);
    if (!mayWriteBars(sql)) return run();
    return keepingBarSymbols(ctx, run, {
      invalidate: () => invalidateBarSymbolsPg(pg),
      rebuild: () => rebuildBarSymbolsPg(pg),
    });
  }
  const { runScript } = await import("../store/script.js");
  const run = () => runScript(ctx.db, sql, options);
  if (!mayWriteBars(sql)) return run();
  const { invalidateBarSymbols, rebuildBarSymbols } = await import("../store/bar-symbols.js");
  const { withTransaction } = await import("../store/transaction.js");
  return keepingBarSymbols(ctx, run, {
    invalidate: () => invalidateBarSymbols(ctx.db),
    rebuild: () => withTransaction(ctx.db, ({ db }) => rebuildBarSymbols(db)),
  });
}

/**
 * Runs `script`, which may change bars_daily, keeping the per-symbol summary (bar_symbols) exact:
 * emptied first, so that until it is rebuilt readers see it disagree and count from the bars
 * themselves (also when the script fails half-way, its earlier statements committed), then
 * rebuilt in a transaction of its own.
 */
async function keepingBarSymbols<T>(
  ctx: StepContext,
  script: () => Promise<T>,
  summary: { invalidate(): Promise<void>; rebuild(): Promise<unknown> },
): Promise<T> {
  await summary.invalidate();
  try {
    return await script();
  } finally {
    const rebuilt = await summary.rebuild().then(
      () => undefined,
      (err: unknown) => err,
    );
    if (rebuilt !== undefined) {
      ctx.log(
        "warn",
        `bar_symbols not rebuilt (readers count from bars_daily meanwhile): ${String(rebuilt)}`,
      );
    }
  }
}
